package analyzer

import (
	"strings"
	"sync"
	"unicode"

	"github.com/go-ego/gse"
)

func newTokenizer(v any) (tokenizer, error) {
	var name string
	var params map[string]any
	switch t := v.(type) {
	case string:
		name = t
	case map[string]any:
		typ, ok := t["type"]
		if !ok {
			return nil, errorf("customized tokenizer must set type")
		}
		if name, ok = typ.(string); !ok {
			return nil, errorf("tokenizer type should be string")
		}
		params = t
	default:
		return nil, errorf("tokenizer name should be string or dict")
	}
	switch name {
	case "standard":
		return standardTokenizer{}, nil
	case "whitespace":
		return whitespaceTokenizer{}, nil
	case "jieba":
		return newJieba(params)
	case "icu":
		return icuTokenizer{}, nil
	case "lindera":
		return newLindera(params)
	}
	return nil, errorf("unsupported tokenizer: %s", name)
}

// standardTokenizer is tantivy's SimpleTokenizer, which Milvus calls
// "standard": maximal runs of Unicode alphanumeric characters.
type standardTokenizer struct{}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

func (standardTokenizer) tokenize(text string) []Token {
	return runs(text, isAlnum)
}

// whitespaceTokenizer is tantivy's WhitespaceTokenizer: maximal runs of
// characters that are not white space.
type whitespaceTokenizer struct{}

func (whitespaceTokenizer) tokenize(text string) []Token {
	return runs(text, func(r rune) bool { return !unicode.IsSpace(r) })
}

// runs returns the maximal runs of characters for which in holds.
func runs(text string, in func(rune) bool) []Token {
	var toks []Token
	start := -1
	for i, r := range text {
		if in(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			toks = append(toks, Token{Text: text[start:i], Start: start, End: i, Position: len(toks), PositionLength: 1})
			start = -1
		}
	}
	if start >= 0 {
		toks = append(toks, Token{Text: text[start:], Start: start, End: len(text), Position: len(toks), PositionLength: 1})
	}
	return toks
}

// jiebaTokenizer segments Chinese text with github.com/go-ego/gse (a
// pure-Go jieba: the same prefix dictionary, DAG and HMM) over its
// embedded simplified-Chinese dictionary. Mode search (Milvus's default)
// also emits the dictionary words inside long words; exact does not.
type jiebaTokenizer struct {
	search, hmm bool
}

var (
	jiebaOnce sync.Once
	jiebaSeg  *gse.Segmenter
	jiebaErr  error
)

func jieba() (*gse.Segmenter, error) {
	jiebaOnce.Do(func() {
		seg := &gse.Segmenter{}
		seg.SkipLog = true
		if err := seg.LoadDictEmbed("zh_s"); err != nil {
			jiebaErr = err
			return
		}
		jiebaSeg = seg
	})
	return jiebaSeg, jiebaErr
}

func newJieba(params map[string]any) (tokenizer, error) {
	t := jiebaTokenizer{search: true, hmm: true}
	if v, ok := params["mode"]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, errorf("jieba tokenizer mode must be string")
		}
		switch s {
		case "exact":
			t.search = false
		case "search":
		default:
			return nil, errorf("jieba tokenizer mode must be \"exact\" or \"search\"")
		}
	}
	if v, ok := params["hmm"]; ok {
		b, ok := v.(bool)
		if !ok {
			return nil, errorf("jieba tokenizer mode must be boolean")
		}
		t.hmm = b
	}
	for k := range params {
		switch k {
		case "type", "mode", "hmm":
		case "dict":
			return nil, errorf("jieba tokenizer: custom dict is not supported by Milvago")
		default:
			return nil, errorf("unknown jieba tokenizer option: %s", k)
		}
	}
	if _, err := jieba(); err != nil {
		return nil, errorf("load jieba dictionary: %v", err)
	}
	return t, nil
}

func (t jiebaTokenizer) tokenize(text string) []Token {
	seg, err := jieba()
	if err != nil {
		return nil
	}
	var toks []Token
	add := func(w string, start int) {
		toks = append(toks, Token{Text: w, Start: start, End: start + len(w), Position: len(toks), PositionLength: 1})
	}
	from := 0
	for _, w := range seg.Cut(text, t.hmm) {
		i := strings.Index(text[from:], w)
		if w == "" || i < 0 {
			continue
		}
		start := from + i
		from = start + len(w)
		if t.search {
			// jieba's cut_for_search: a word's dictionary 2- and 3-grams first.
			rs := []rune(w)
			for _, n := range []int{2, 3} {
				if len(rs) <= n {
					continue
				}
				off := 0
				for j := 0; j+n <= len(rs); j++ {
					gram := string(rs[j : j+n])
					if v, _, ok := seg.Find(gram); ok && v > 0 {
						add(gram, start+off)
					}
					off += len(string(rs[j]))
				}
			}
		}
		add(w, start)
	}
	return toks
}
