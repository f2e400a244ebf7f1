package analyzer

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestICUTokenizer(t *testing.T) {
	// Milvus's own test text (tantivy-binding icu_tokneizer.rs): ICU4X
	// yields 24 segments, spaces and punctuation included.
	text := "tokenizer for global doc, 中文分词测试, 東京スカイツリーの最寄り駅はとうきょうスカイツリー駅です"
	a, err := New(`{"tokenizer":"icu"}`)
	if err != nil {
		t.Fatal(err)
	}
	toks := a.Analyze(text)
	got := make([]string, len(toks))
	for i, tk := range toks {
		got[i] = tk.Text
	}
	if len(got) != 24 {
		t.Errorf("icu gave %d tokens, want 24 as Milvus: %q", len(got), got)
	}
	wantPrefix := []string{"tokenizer", " ", "for", " ", "global", " ", "doc", ",", " ", "中文", "分词", "测试", ",", " ", "東京"}
	if !slices.Equal(got[:min(len(got), len(wantPrefix))], wantPrefix) {
		t.Errorf("icu tokens = %q, want prefix %q", got, wantPrefix)
	}
	// Tokens tile the text; positions count characters, as Milvus's.
	var b strings.Builder
	pos := 0
	for _, tk := range toks {
		if text[tk.Start:tk.End] != tk.Text {
			t.Fatalf("token %q has offsets %d..%d", tk.Text, tk.Start, tk.End)
		}
		if tk.Position != pos || tk.PositionLength != len([]rune(tk.Text)) {
			t.Fatalf("token %q at position %d/%d, want %d/%d", tk.Text, tk.Position, tk.PositionLength, pos, len([]rune(tk.Text)))
		}
		pos += tk.PositionLength
		b.WriteString(tk.Text)
	}
	if b.String() != text {
		t.Errorf("tokens do not tile the text")
	}

	// UAX #29 keeps apostrophes and decimal points inside words;
	// removepunct drops every token holding punctuation or space (Milvus's
	// regex [\p{Punct}\s]+ matched anywhere), so "don't" goes too.
	got = terms(t, `{"tokenizer":"icu"}`, "Don't pay 3.14 dollars, O'Neil!")
	if want := []string{"Don't", " ", "pay", " ", "3.14", " ", "dollars", ",", " ", "O'Neil", "!"}; !slices.Equal(got, want) {
		t.Errorf("icu = %q, want %q", got, want)
	}
	got = terms(t, `{"tokenizer":"icu","filter":["removepunct","lowercase"]}`, "Don't pay 3.14 dollars, O'Neil!")
	if want := []string{"pay", "dollars"}; !slices.Equal(got, want) {
		t.Errorf("icu+removepunct = %q, want %q", got, want)
	}
}

func TestLinderaIPADIC(t *testing.T) {
	// Milvus's lindera test (lindera_tokenizer.rs) with its stop tags.
	params := `{"tokenizer":{"type":"lindera","dict_kind":"ipadic","filter":[{"kind":"japanese_stop_tags","tags":["接続詞","助詞","助詞,格助詞","助詞,連体化"]}]}}`
	got := terms(t, params, "東京スカイツリーの最寄り駅はとうきょうスカイツリー駅です")
	// の (助詞,連体化) is dropped; は (助詞,係助詞) is not in the list.
	want := []string{"東京", "スカイ", "ツリー", "最寄り駅", "は", "とう", "きょう", "スカイ", "ツリー", "駅", "です"}
	if !slices.Equal(got, want) {
		t.Errorf("lindera ipadic = %q, want %q", got, want)
	}
	a, _ := New(params)
	toks := a.Analyze("東京スカイツリーの最寄り駅")
	// Positions keep the dropped word's place: 東京 0, スカイ 1, ツリー 2, (の 3), 最寄り駅 4.
	if len(toks) != 4 || toks[3].Position != 4 || toks[3].Start != len("東京スカイツリーの") {
		t.Errorf("positions/offsets = %+v", toks)
	}

	// Keep only nouns; join numbers and counters into one word.
	got = terms(t, `{"tokenizer":{"type":"lindera","dict_kind":"ipadic","filter":[{"kind":"japanese_keep_tags","tags":["名詞,固有名詞,地域,一般","名詞,一般"]}]}}`, "東京の駅です")
	if want := []string{"東京", "駅"}; !slices.Equal(got, want) {
		t.Errorf("keep tags = %q, want %q", got, want)
	}
	// After スカイツリー, 駅 is a suffix (名詞,接尾,地域,*): not kept.
	got = terms(t, `{"tokenizer":{"type":"lindera","dict_kind":"ipadic","filter":[{"kind":"japanese_keep_tags","tags":["名詞,固有名詞,地域,一般","名詞,一般"]}]}}`, "スカイツリー駅")
	if want := []string{"スカイ", "ツリー"}; !slices.Equal(got, want) {
		t.Errorf("keep tags = %q, want %q", got, want)
	}
	got = terms(t, `{"tokenizer":{"type":"lindera","dict_kind":"ipadic","filter":[{"kind":"japanese_compound_word","tags":["名詞,数","名詞,接尾,助数詞"],"new_tag":"名詞,数"}]}}`, "123個のりんご")
	if want := []string{"123個", "の", "りんご"}; !slices.Equal(got, want) {
		t.Errorf("compound word = %q, want %q", got, want)
	}
	// Sentences are cut after 。 as lindera does; spaces are words.
	got = terms(t, `{"tokenizer":{"type":"lindera","dict_kind":"ipadic"}}`, "雨です。 晴れ")
	if want := []string{"雨", "です", "。", " ", "晴れ"}; !slices.Equal(got, want) {
		t.Errorf("lindera sentences = %q, want %q", got, want)
	}
}

func TestLinderaKoDic(t *testing.T) {
	got := terms(t, `{"tokenizer":{"type":"lindera","dict_kind":"ko-dic"}}`, "공원에 갔다")
	if want := []string{"공원", "에", " ", "갔", "다"}; !slices.Equal(got, want) {
		t.Errorf("ko-dic = %q, want %q", got, want)
	}
	got = terms(t, `{"tokenizer":{"type":"lindera","dict_kind":"ko-dic","filter":[{"kind":"korean_stop_tags","tags":["JKB","SP","EC"]}]}}`, "공원에 갔다")
	if want := []string{"공원", "갔"}; !slices.Equal(got, want) {
		t.Errorf("korean_stop_tags = %q, want %q", got, want)
	}
	got = terms(t, `{"tokenizer":{"type":"lindera","dict_kind":"ko-dic","filter":[{"kind":"korean_keep_tags","tags":["NNG"]}]}}`, "공원에 갔다")
	if want := []string{"공원"}; !slices.Equal(got, want) {
		t.Errorf("korean_keep_tags = %q, want %q", got, want)
	}
}

func TestLinderaErrors(t *testing.T) {
	cases := map[string]string{
		`{"tokenizer":"lindera"}`:                                                                        "lindera tokenizer must be customized",
		`{"tokenizer":{"type":"lindera"}}`:                                                               "lindera tokenizer dict_kind must be set",
		`{"tokenizer":{"type":"lindera","dict_kind":1}}`:                                                 "lindera tokenizer dict kind should be string",
		`{"tokenizer":{"type":"lindera","dict_kind":"klingon"}}`:                                         "unsupported lindera dict type: klingon",
		`{"tokenizer":{"type":"lindera","dict_kind":"cc-cedict"}}`:                                       "unsupported lindera dict type: cc-cedict",
		`{"tokenizer":{"type":"lindera","dict_kind":"ipadic","filter":1}}`:                               "lindera filters should be array",
		`{"tokenizer":{"type":"lindera","dict_kind":"ipadic","filter":["japanese_stop_tags"]}}`:          "lindera japanese stop tags filter must use with params",
		`{"tokenizer":{"type":"lindera","dict_kind":"ipadic","filter":["nope"]}}`:                        "unknown lindera filter type",
		`{"tokenizer":{"type":"lindera","dict_kind":"ipadic","filter":[{"tags":[]}]}}`:                   "lindera tokenizer filter must have type",
		`{"tokenizer":{"type":"lindera","dict_kind":"ipadic","filter":[{"kind":"japanese_keep_tags"}]}}`: "lindera japanese stop tag filter tags must be set",
	}
	for params, want := range cases {
		_, err := New(params)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%s) = %v, want %q", params, err, want)
		}
	}
}
