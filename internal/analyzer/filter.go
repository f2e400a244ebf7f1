package analyzer

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/snowballstem"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

func newFilter(v any) (filter, error) {
	switch f := v.(type) {
	case string:
		switch f {
		case "lowercase":
			return lowercase{}, nil
		case "asciifolding":
			return asciiFolding{}, nil
		case "alphanumonly":
			return keepIf(func(s string) bool { return allRunes(s, isASCIIAlnum) }), nil
		case "cncharonly":
			return keepIf(func(s string) bool { return strings.ContainsFunc(s, isHan) }), nil
		case "cnalphanumonly":
			return cnAlphaNumOnly{}, nil
		case "removepunct":
			return keepIf(func(s string) bool {
				return !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
			}), nil
		}
		return nil, errorf("build analyzer failed, filter not found :%s", f)
	case map[string]any:
		t, ok := f["type"]
		if !ok {
			return nil, errorf("no type field in filter params")
		}
		typ, ok := t.(string)
		if !ok {
			return nil, errorf("filter type should be string")
		}
		switch typ {
		case "length":
			max, ok := f["max"].(float64)
			if !ok || max < 0 || max != float64(int(max)) {
				return nil, errorf("lenth max param was none or not uint")
			}
			limit := int(max)
			return keepIf(func(s string) bool { return len(s) <= limit }), nil
		case "stop":
			sw, ok := f["stop_words"]
			if !ok {
				return nil, errorf("stop filter stop_words can't be empty")
			}
			list, err := stringList(sw, "stop_words filter")
			if err != nil {
				return nil, err
			}
			return newStop(expandStopWords(list)), nil
		case "decompounder":
			list, ok := f["word_list"].([]any)
			if !ok {
				return nil, errorf("decompounder word list should be array")
			}
			d := decompounder{words: map[string]bool{}}
			for _, e := range list {
				s, ok := e.(string)
				if !ok {
					return nil, errorf("decompounder word list item should be string")
				}
				d.words[s] = true
				d.maxLen = max(d.maxLen, len(s))
			}
			return d, nil
		case "stemmer":
			lang, ok := f["language"].(string)
			if !ok {
				return nil, errorf("stemmer language field should be string")
			}
			st, err := newStemmer(lang)
			if err != nil {
				return nil, err
			}
			return st, nil
		case "regex":
			e, ok := f["expr"]
			if !ok {
				return nil, errorf("must set expr for regex filter")
			}
			expr, ok := e.(string)
			if !ok {
				return nil, errorf("expr must be string")
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, errorf("regex expression invalid, expr:%s, err: %v", expr, err)
			}
			return keepIf(re.MatchString), nil
		}
		return nil, errorf("unsupport filter type: %s", typ)
	}
	return nil, errorf("filter params should be string or dict")
}

func allRunes(s string, f func(rune) bool) bool {
	for _, r := range s {
		if !f(r) {
			return false
		}
	}
	return true
}

func isASCIIAlnum(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

// keepIf keeps the tokens whose text satisfies keep.
type keepIf func(string) bool

func (k keepIf) apply(toks []Token) []Token {
	out := toks[:0]
	for _, t := range toks {
		if k(t.Text) {
			out = append(out, t)
		}
	}
	return out
}

// cnAlphaNumOnly keeps tokens holding a Han character or an ASCII letter
// or digit (Milvus's CnAlphaNumOnlyFilter: regex [\p{Han}a-zA-Z0-9]+).
type cnAlphaNumOnly struct{}

func (cnAlphaNumOnly) apply(toks []Token) []Token {
	return keepIf(func(s string) bool {
		return strings.ContainsFunc(s, func(r rune) bool { return isHan(r) || isASCIIAlnum(r) })
	}).apply(toks)
}

type lowercase struct{}

func (lowercase) apply(toks []Token) []Token {
	for i := range toks {
		toks[i].Text = strings.ToLower(toks[i].Text)
	}
	return toks
}

// asciiFolding maps letters to their ASCII base letters: the canonical
// decomposition without combining marks, plus the letters that do not
// decompose (ß, æ, ø, ł, ...), as Lucene's ASCIIFoldingFilter does.
type asciiFolding struct{}

var foldExtra = strings.NewReplacer(
	"ß", "ss", "Æ", "AE", "æ", "ae", "Ø", "O", "ø", "o", "Œ", "OE", "œ", "oe",
	"Ł", "L", "ł", "l", "Đ", "D", "đ", "d", "Ð", "D", "ð", "d", "Þ", "TH", "þ", "th",
	"ı", "i", "ĸ", "q", "ŉ", "'n", "Ŋ", "N", "ŋ", "n", "Ħ", "H", "ħ", "h", "Ŧ", "T", "ŧ", "t",
	"“", "\"", "”", "\"", "‘", "'", "’", "'", "–", "-", "—", "-",
)

func (asciiFolding) apply(toks []Token) []Token {
	for i := range toks {
		s := toks[i].Text
		if allRunes(s, func(r rune) bool { return r < utf8.RuneSelf }) {
			continue
		}
		t := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
		if folded, _, err := transform.String(t, foldExtra.Replace(s)); err == nil {
			toks[i].Text = folded
		}
	}
	return toks
}

type stop map[string]bool

func newStop(words []string) stop {
	s := make(stop, len(words))
	for _, w := range words {
		s[w] = true
	}
	return s
}

func (s stop) apply(toks []Token) []Token {
	return keepIf(func(t string) bool { return !s[t] }).apply(toks)
}

// decompounder splits a token into dictionary words when the whole token
// is a sequence of them (tantivy's SplitCompoundWords, leftmost-longest);
// other tokens pass unchanged.
type decompounder struct {
	words  map[string]bool
	maxLen int
}

func (d decompounder) apply(toks []Token) []Token {
	var out []Token
	for _, t := range toks {
		parts := d.split(t.Text)
		if parts == nil {
			out = append(out, t)
			continue
		}
		for _, p := range parts {
			nt := t
			nt.Text = p
			out = append(out, nt)
		}
	}
	return out
}

func (d decompounder) split(s string) []string {
	var parts []string
	for i := 0; i < len(s); {
		n := 0
		for l := min(d.maxLen, len(s)-i); l > 0; l-- {
			if d.words[s[i:i+l]] {
				n = l
				break
			}
		}
		if n == 0 {
			return nil
		}
		parts = append(parts, s[i:i+n])
		i += n
	}
	return parts
}

// stemmer is a Snowball stemmer (github.com/blevesearch/snowballstem,
// the Snowball project's generated Go stemmers).
type stemmer struct {
	stem func(*snowballstem.Env) bool
}

func (s stemmer) apply(toks []Token) []Token {
	for i := range toks {
		env := snowballstem.NewEnv(toks[i].Text)
		s.stem(env)
		toks[i].Text = env.Current()
	}
	return toks
}

func mustStemmer(lang string) stemmer {
	s, err := newStemmer(lang)
	if err != nil {
		panic(err)
	}
	return s
}
