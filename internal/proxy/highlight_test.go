package proxy

import (
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
)

func TestMergeSpans(t *testing.T) {
	// Overlapping and touching spans (an n-gram analyzer's tokens) merge,
	// as in Milvus's mergeOffsets.
	got := mergeSpans([]hlSpan{{4, 6}, {0, 2}, {1, 3}, {3, 4}, {4, 5}, {10, 12}})
	want := []hlSpan{{0, 6}, {10, 12}}
	if !slices.Equal(got, want) {
		t.Fatalf("mergeSpans: %v, want %v", got, want)
	}
}

func TestFragments(t *testing.T) {
	text := "aaaa bbbb cccc dddd eeee"
	spans := []hlSpan{{0, 4}, {5, 9}, {20, 24}}
	h := &lexicalHighlighter{preTags: []string{"<", "("}, postTags: []string{">", ")"}}
	render := func(frags []hlFragment) []string { return h.render(text, frags).GetFragments() }
	if got := render(fragments(text, spans, 0, 6, 5)); !slices.Equal(got, []string{"<aaaa> (bbbb)", "<eeee>"}) {
		t.Fatalf("fragments: %q", got)
	}
	if got := render(fragments(text, spans, 0, 6, 1)); !slices.Equal(got, []string{"<aaaa> (bbbb)"}) {
		t.Fatalf("one fragment: %q", got)
	}
	if got := render(fragments(text, spans, 3, 100, 5)); !slices.Equal(got, []string{"<aaaa> (bbbb) cccc dddd <eeee>"}) {
		t.Fatalf("one long fragment: %q", got)
	}
	if got := fragments(text, spans, 0, 6, 0); len(got) != 0 {
		t.Fatalf("num_of_fragments 0: %v", got)
	}
	// Character offsets: multi-byte text.
	u := "größe größe"
	sp := []hlSpan{{int64(len("größe ")), int64(len(u))}}
	runeSpans(u, sp)
	if sp[0] != (hlSpan{6, 11}) {
		t.Fatalf("runeSpans: %v", sp)
	}
}

func TestParseHighlighterErrors(t *testing.T) {
	for params, msg := range map[string]string{
		`pre_tags=x`:          "unmarshal pre_tags as string array failed",
		`post_tags=[]`:        "post_tags cannot be empty list",
		`fragment_offset=-1`:  "invalid fragment_offset: -1",
		`highlight_query={}`:  "unmarshal highlight queries as json array failed",
		`highlight_query=[1]`: "item in array is not json object",
		`highlight_query=[{"type":"TextMatch","field":"f"}]`: "must set `text` in query",
		`highlight_query=[{"text":1}]`:                       "`text` must be string",
	} {
		k, v, _ := strings.Cut(params, "=")
		_, err := parseHighlighter(&commonpb.Highlighter{Params: []*commonpb.KeyValuePair{{Key: k, Value: v}}})
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "invalid parameter") {
			t.Errorf("%s: %v, want %q", params, err, msg)
		}
	}
	h, err := parseHighlighter(&commonpb.Highlighter{})
	if err != nil || h.fragSize != 100 || h.fragNum != 5 || h.preTags[0] != "<em>" || h.postTags[0] != "</em>" {
		t.Fatalf("defaults: %+v, %v", h, err)
	}
}
