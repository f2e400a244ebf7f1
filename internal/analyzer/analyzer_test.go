package analyzer

import (
	"errors"
	"slices"
	"testing"
)

func terms(t *testing.T, params, text string) []string {
	t.Helper()
	a, err := New(params)
	if err != nil {
		t.Fatalf("New(%s): %v", params, err)
	}
	return a.Terms(text)
}

func TestAnalyzers(t *testing.T) {
	cases := []struct {
		params, text string
		want         []string
	}{
		{``, "Hello, World! It's 2024-ok", []string{"hello", "world", "it", "s", "2024", "ok"}},
		{`{"type":"standard","stop_words":["_english_","hello"]}`, "Hello the world", []string{"world"}},
		{`{"type":"english"}`, "The runners were running quickly", []string{"runner", "were", "run", "quick"}},
		{`{"tokenizer":"whitespace"}`, "Hello, World!", []string{"Hello,", "World!"}},
		{`{"tokenizer":"standard","filter":["lowercase","asciifolding"]}`, "Café Straße Ærø", []string{"cafe", "strasse", "aero"}},
		{`{"tokenizer":"standard","filter":["alphanumonly"]}`, "abc 中文 x1", []string{"abc", "x1"}},
		{`{"tokenizer":"standard","filter":[{"type":"length","max":3}]}`, "a abc abcd", []string{"a", "abc"}},
		{`{"tokenizer":"standard","filter":[{"type":"stop","stop_words":["a","_french_"]}]}`, "a le chat", []string{"chat"}},
		{`{"tokenizer":"standard","filter":[{"type":"decompounder","word_list":["dampf","schiff","fahrt"]}]}`, "dampfschifffahrt brot", []string{"dampf", "schiff", "fahrt", "brot"}},
		{`{"tokenizer":"standard","filter":[{"type":"stemmer","language":"French"}]}`, "continuation", []string{"continu"}},
		{`{"tokenizer":"standard","filter":[{"type":"regex","expr":"^[a-z]+$"}]}`, "abc ABC a1", []string{"abc"}},
		{`{"tokenizer":"whitespace","filter":["removepunct"]}`, "abc , d.e f", []string{"abc", "f"}},
	}
	for _, c := range cases {
		if got := terms(t, c.params, c.text); !slices.Equal(got, c.want) {
			t.Errorf("%s on %q = %q, want %q", c.params, c.text, got, c.want)
		}
	}
}

func TestJieba(t *testing.T) {
	got := terms(t, `{"type":"chinese"}`, "我来到北京清华大学。")
	for _, w := range []string{"北京", "清华", "大学", "清华大学"} {
		if !slices.Contains(got, w) {
			t.Errorf("chinese analyzer: %q lacks %q", got, w)
		}
	}
	if slices.Contains(got, "。") {
		t.Errorf("chinese analyzer kept punctuation: %q", got)
	}
	exact := terms(t, `{"tokenizer":{"type":"jieba","mode":"exact"}}`, "我来到北京清华大学")
	if slices.Contains(exact, "清华") || !slices.Contains(exact, "清华大学") {
		t.Errorf("exact mode: %q", exact)
	}
}

func TestOffsets(t *testing.T) {
	a := Standard()
	toks := a.Analyze("Ab  cd")
	if len(toks) != 2 || toks[1].Start != 4 || toks[1].End != 6 || toks[1].Position != 1 {
		t.Fatalf("tokens %+v", toks)
	}
}

func TestInvalid(t *testing.T) {
	for params, msg := range map[string]string{
		`{"tokenizer":"nope"}`:                       "unsupported tokenizer: nope",
		`{"type":"nope"}`:                            "unknown build-in analyzer type: nope",
		`{"filter":["lowercase"]}`:                   "tokenizer name or type must be set",
		`{"tokenizer":"standard","filter":["nope"]}`: "build analyzer failed, filter not found :nope",
		`{"tokenizer":"standard","filter":[{"type":"stemmer","language":"klingon"}]}`: "unsupport language: klingon",
		`{"tokenizer":"standard","x":1}`:                                              "unknown analyzer option key: x",
		`[1]`:                                                                         "params should be a json map",
	} {
		_, err := New(params)
		if err == nil || !errors.Is(err, ErrInvalid) || !contains(err.Error(), msg) {
			t.Errorf("New(%s) = %v, want %q", params, err, msg)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}
