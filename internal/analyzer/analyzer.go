// Package analyzer turns text into tokens the way Milvus 2.6's analyzers
// (tantivy-binding, internal/core/thirdparty/tantivy) do: a tokenizer
// followed by a chain of token filters, configured by the JSON
// analyzer_params of a VarChar field with enable_analyzer.
//
// Built-in analyzers ("type"): standard (standard tokenizer + lowercase),
// english (+ English stemmer and stop words), chinese (jieba +
// cnalphanumonly). Tokenizers: standard, whitespace, jieba, icu, lindera
// (ipadic, ko-dic). Filters:
// lowercase, asciifolding, alphanumonly, cncharonly, cnalphanumonly,
// removepunct, length, stop, decompounder, stemmer, regex.
package analyzer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid marks analyzer parameters Milvus would refuse.
var ErrInvalid = errors.New("invalid analyzer params")

// Token is one token of a text: its text after filtering, its byte
// offsets in the original text and its position (the index of the token
// the tokenizer produced, before filters dropped any).
type Token struct {
	Text           string
	Start, End     int
	Position       int
	PositionLength int
}

// Analyzer tokenizes text. It is safe for concurrent use.
type Analyzer struct {
	tok     tokenizer
	filters []filter
}

type tokenizer interface {
	tokenize(text string) []Token
}

// filter transforms a token stream; it may drop, change or split tokens.
type filter interface {
	apply(toks []Token) []Token
}

func errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalid)
}

// New builds an analyzer from Milvus's analyzer_params JSON; "" (or {})
// is the standard analyzer.
func New(params string) (*Analyzer, error) {
	if strings.TrimSpace(params) == "" {
		return Standard(), nil
	}
	var v any
	if err := json.Unmarshal([]byte(params), &v); err != nil {
		return nil, errorf("json error: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf("params should be a json map")
	}
	return FromMap(m)
}

// Standard is Milvus's default analyzer: the standard tokenizer and lowercase.
func Standard() *Analyzer {
	return &Analyzer{tok: standardTokenizer{}, filters: []filter{lowercase{}}}
}

// FromMap builds an analyzer from decoded analyzer_params.
func FromMap(m map[string]any) (*Analyzer, error) {
	if len(m) == 0 {
		return Standard(), nil
	}
	if t, ok := m["type"]; ok {
		name, ok := t.(string)
		if !ok {
			return nil, errorf("analyzer type shoud be string")
		}
		return builtIn(name, m)
	}
	tp, ok := m["tokenizer"]
	if !ok {
		return nil, errorf("tokenizer name or type must be set")
	}
	tok, err := newTokenizer(tp)
	if err != nil {
		return nil, err
	}
	a := &Analyzer{tok: tok}
	for key, val := range m {
		switch key {
		case "tokenizer":
		case "filter":
			list, ok := val.([]any)
			if !ok {
				return nil, errorf("filter params should be array")
			}
			for _, f := range list {
				flt, err := newFilter(f)
				if err != nil {
					return nil, err
				}
				a.filters = append(a.filters, flt)
			}
		default:
			return nil, errorf("unknown analyzer option key: %s", key)
		}
	}
	return a, nil
}

func builtIn(name string, m map[string]any) (*Analyzer, error) {
	var extra []string
	if sw, ok := m["stop_words"]; ok {
		list, err := stringList(sw, "filter stop_words")
		if err != nil {
			return nil, err
		}
		extra = expandStopWords(list)
	}
	var a *Analyzer
	switch name {
	case "standard":
		a = Standard()
	case "english":
		a = &Analyzer{tok: standardTokenizer{}, filters: []filter{
			lowercase{}, mustStemmer("english"), newStop(stopWordLists["_english_"]),
		}}
	case "chinese":
		if _, err := jieba(); err != nil {
			return nil, errorf("load jieba dictionary: %v", err)
		}
		a = &Analyzer{tok: jiebaTokenizer{search: true, hmm: true}, filters: []filter{cnAlphaNumOnly{}}}
	default:
		return nil, errorf("unknown build-in analyzer type: %s", name)
	}
	if len(extra) > 0 {
		a.filters = append(a.filters, newStop(extra))
	}
	return a, nil
}

// Analyze returns the tokens of text.
func (a *Analyzer) Analyze(text string) []Token {
	toks := a.tok.tokenize(text)
	for _, f := range a.filters {
		toks = f.apply(toks)
	}
	return toks
}

// Terms returns the token texts of text.
func (a *Analyzer) Terms(text string) []string {
	toks := a.Analyze(text)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Text
	}
	return out
}

func stringList(v any, label string) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errorf("%s should be array", label)
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, errorf("%s list item should be string", label)
		}
		out = append(out, s)
	}
	return out, nil
}

// expandStopWords replaces language names (_english_, ...) by their lists.
func expandStopWords(list []string) []string {
	var out []string
	for _, w := range list {
		if strings.HasPrefix(w, "_") {
			if words, ok := stopWordLists[w]; ok {
				out = append(out, words...)
				continue
			}
		}
		out = append(out, w)
	}
	return out
}
