package analyzer

import (
	"fmt"
	"strings"
	"sync"

	ko "github.com/ikawaha/kagome-dict-ko"
	"github.com/ikawaha/kagome-dict/ipa"
	kagome "github.com/ikawaha/kagome/v2/tokenizer"
)

// The lindera tokenizer (Milvus 2.6 tantivy-binding lindera_tokenizer.rs) is
// a MeCab-style morphological analyzer: a Viterbi search over a lattice of
// dictionary words with the dictionary's connection costs. Milvago runs the
// same algorithm over the same dictionaries with github.com/ikawaha/kagome/v2
// (pure Go, dictionaries embedded in Go modules):
//
//	dict_kind  dictionary                              module
//	ipadic     mecab-ipadic-2.7.0-20070801 (Japanese)  github.com/ikawaha/kagome-dict/ipa
//	ko-dic     mecab-ko-dic (Korean)                   github.com/ikawaha/kagome-dict-ko
//
// cc-cedict (Chinese), unidic and ipadic-neologd have no pure-Go dictionary
// module Milvago embeds, and are refused as unsupported dict kinds.

type dictKind string

const (
	dictIPADIC dictKind = "ipadic"
	dictKoDic  dictKind = "ko-dic"
)

// morphToken is one word of the morphological analysis.
type morphToken struct {
	Surface    string
	Start, End int      // bytes in the analyzed text
	Details    []string // part-of-speech and other features of the dictionary entry
}

type morphAnalyzer struct{ t *kagome.Tokenizer }

var (
	kagomeMu   sync.Mutex
	kagomeDict = map[dictKind]*morphAnalyzer{}
)

// kagomeTokenizer loads a dictionary on its first use (a second or two) and
// keeps it for the life of the process.
func kagomeTokenizer(kind dictKind) (*morphAnalyzer, error) {
	kagomeMu.Lock()
	defer kagomeMu.Unlock()
	if m, ok := kagomeDict[kind]; ok {
		return m, nil
	}
	var t *kagome.Tokenizer
	var err error
	switch kind {
	case dictIPADIC:
		t, err = kagome.New(ipa.Dict(), kagome.OmitBosEos())
	case dictKoDic:
		t, err = kagome.New(ko.Dict(), kagome.OmitBosEos())
	default:
		return nil, fmt.Errorf("no dictionary for %s", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s dictionary: %w", kind, err)
	}
	m := &morphAnalyzer{t: t}
	kagomeDict[kind] = m
	return m, nil
}

// Tokens analyzes text in normal mode. As lindera, the text is first cut
// after each '。', '、', newline and tab, and each piece analyzed alone.
func (m *morphAnalyzer) Tokens(text string) []morphToken {
	var out []morphToken
	base := 0
	for base < len(text) {
		end := len(text)
		if i := strings.IndexAny(text[base:], "。、\n\t"); i >= 0 {
			_, n := firstRune(text[base+i:])
			end = base + i + n
		}
		for _, tk := range m.t.Analyze(text[base:end], kagome.Normal) {
			if tk.Class == kagome.DUMMY || tk.Surface == "" {
				continue
			}
			s := base + tk.Position
			out = append(out, morphToken{Surface: tk.Surface, Start: s, End: s + len(tk.Surface), Details: tk.Features()})
		}
		base = end
	}
	return out
}

func firstRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}

// linderaTokenizer is the lindera tokenizer with its own token filters
// (applied to the dictionary words before Milvus's filters see them).
type linderaTokenizer struct {
	kind    dictKind
	filters []morphFilter
}

type morphFilter func([]ltoken) []ltoken

// ltoken is a morphological token with its lindera position.
type ltoken struct {
	morphToken
	pos, posLen int
}

func newLindera(params map[string]any) (tokenizer, error) {
	if params == nil {
		return nil, errorf("lindera tokenizer must be customized")
	}
	v, ok := params["dict_kind"]
	if !ok {
		return nil, errorf("lindera tokenizer dict_kind must be set")
	}
	s, ok := v.(string)
	if !ok {
		return nil, errorf("lindera tokenizer dict kind should be string")
	}
	var kind dictKind
	switch s {
	case "ipadic":
		kind = dictIPADIC
	case "ko-dic":
		kind = dictKoDic
	default:
		// ipadic-neologd, unidic and cc-cedict are lindera kinds Milvus knows,
		// but Milvago has no pure-Go dictionary for them.
		return nil, errorf("unsupported lindera dict type: %s", s)
	}
	if v, ok := params["dict_build_dir"]; ok {
		if _, ok := v.(string); !ok {
			return nil, errorf("dict build dir must be string")
		}
	}
	if v, ok := params["download_urls"]; ok {
		if _, err := stringList(v, "lindera dict download urls"); err != nil {
			return nil, err
		}
	}
	t := &linderaTokenizer{kind: kind}
	if v, ok := params["filter"]; ok {
		list, ok := v.([]any)
		if !ok {
			return nil, errorf("lindera filters should be array")
		}
		for _, fp := range list {
			f, err := newMorphFilter(fp)
			if err != nil {
				return nil, err
			}
			t.filters = append(t.filters, f)
		}
	}
	if _, err := kagomeTokenizer(kind); err != nil {
		return nil, errorf("%v", err)
	}
	return t, nil
}

func (t *linderaTokenizer) tokenize(text string) []Token {
	m, err := kagomeTokenizer(t.kind)
	if err != nil {
		return nil
	}
	mt := m.Tokens(text)
	lt := make([]ltoken, len(mt))
	for i, tk := range mt {
		lt[i] = ltoken{morphToken: tk, pos: i, posLen: 1}
	}
	for _, f := range t.filters {
		lt = f(lt)
	}
	out := make([]Token, len(lt))
	for i, tk := range lt {
		out[i] = Token{Text: tk.Surface, Start: tk.Start, End: tk.End, Position: tk.pos, PositionLength: tk.posLen}
	}
	return out
}

func newMorphFilter(v any) (morphFilter, error) {
	var name string
	var params map[string]any
	switch f := v.(type) {
	case string:
		name = f
	case map[string]any:
		k, ok := f["kind"]
		if !ok {
			return nil, errorf("lindera tokenizer filter must have type")
		}
		if name, ok = k.(string); !ok {
			return nil, errorf("lindera tokenizer filter type should be string")
		}
		params = f
	default:
		return nil, errorf("lindera tokenizer filter params must be object")
	}
	switch name {
	case "japanese_compound_word":
		if params == nil {
			return nil, errorf("lindera japanese compound word filter must use with params")
		}
		tags, err := linderaTags(params)
		if err != nil {
			return nil, err
		}
		var newTag []string
		if v, ok := params["new_tag"]; ok {
			s, ok := v.(string)
			if !ok {
				return nil, errorf("lindera japanese compound word filter new_tag must be string")
			}
			newTag = strings.Split(s, ",")
		}
		return compoundWords(japaneseTags(tags), newTag), nil
	case "japanese_keep_tags", "japanese_stop_tags":
		if params == nil {
			return nil, errorf("lindera %s filter must use with params", strings.ReplaceAll(name, "_", " "))
		}
		tags, err := linderaTags(params)
		if err != nil {
			return nil, err
		}
		set := japaneseTags(tags)
		keep := name == "japanese_keep_tags"
		return retain(func(t ltoken) bool { return set[japaneseTag(t.Details)] == keep }), nil
	case "korean_keep_tags", "korean_stop_tags":
		if params == nil {
			return nil, errorf("lindera %s filter must use with params", strings.ReplaceAll(name, "_", " "))
		}
		tags, err := linderaTags(params)
		if err != nil {
			return nil, err
		}
		set := map[string]bool{}
		for _, t := range tags {
			set[t] = true
		}
		keep := name == "korean_keep_tags"
		return retain(func(t ltoken) bool {
			first := ""
			if len(t.Details) > 0 {
				first = t.Details[0]
			}
			return set[first] == keep
		}), nil
	}
	return nil, errorf("unknown lindera filter type")
}

// linderaTags reads a filter's "tags" (Milvus's texts name the stop-tags
// filter for every lindera filter).
func linderaTags(params map[string]any) ([]string, error) {
	v, ok := params["tags"]
	if !ok {
		return nil, errorf("lindera japanese stop tag filter tags must be set")
	}
	list, ok := v.([]any)
	if !ok {
		return nil, errorf("lindera japanese stop tags filter tags must be array")
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, errorf("lindera japanese stop tags filter tags must be string")
		}
		out = append(out, s)
	}
	return out, nil
}

// japaneseTags pads each tag to lindera's four part-of-speech levels with
// "*": "助詞,連体化" matches a word whose first four features are
// 助詞,連体化,*,* and no other.
func japaneseTags(tags []string) map[string]bool {
	set := map[string]bool{}
	for _, t := range tags {
		set[japaneseTag(strings.Split(t, ","))] = true
	}
	return set
}

func japaneseTag(details []string) string {
	f := []string{"*", "*", "*", "*"}
	for i := 0; i < len(details) && i < 4; i++ {
		f[i] = details[i]
	}
	return strings.Join(f, ",")
}

func retain(keep func(ltoken) bool) morphFilter {
	return func(toks []ltoken) []ltoken {
		out := toks[:0]
		for _, t := range toks {
			if keep(t) {
				out = append(out, t)
			}
		}
		return out
	}
}

// compoundWords joins each run of consecutive words whose tag is in tags
// into one word (lindera's japanese_compound_word), tagged newTag if given.
func compoundWords(tags map[string]bool, newTag []string) morphFilter {
	return func(toks []ltoken) []ltoken {
		var out []ltoken
		var cur *ltoken
		flush := func() {
			if cur != nil {
				out = append(out, *cur)
				cur = nil
			}
		}
		for _, t := range toks {
			if !tags[japaneseTag(t.Details)] {
				flush()
				out = append(out, t)
				continue
			}
			if cur == nil {
				c := t
				if newTag != nil {
					c.Details = newTag
				}
				cur = &c
				continue
			}
			cur.Surface += t.Surface
			cur.End = t.End
			cur.posLen += t.posLen
		}
		flush()
		return out
	}
}
