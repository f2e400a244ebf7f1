package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"google.golang.org/protobuf/proto"
)

// TestSearchHighlight: Milvus 2.6's lexical highlighter on a BM25 search
// (the SDKs send SearchRequest.highlighter; the Go SDK 2.6.2 has no option
// for it, so a raw gRPC client does): the matched terms of the search text
// and of TEXT_MATCH queries come back tagged in fragments, one entry per
// hit, in flushed and growing segments alike, and the text field fetched
// for it is not returned unless asked for.
func TestSearchHighlight(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "fts_highlight"
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, ftsSchema(name))); err != nil {
		t.Fatal(err)
	}
	docs := []string{
		"Milvus is a vector database built for scale",
		"The quick brown fox jumps over the lazy dog",
		"Vector search finds similar vectors; a vector database stores them",
		"Über große Datenbanken: eine Vector Datenbank",
	}
	insert := func(lo, hi int) {
		ids := []int64{}
		for i := lo; i < hi; i++ {
			ids = append(ids, int64(i))
		}
		if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithVarcharColumn("text", docs[lo:hi])); err != nil {
			t.Fatal(err)
		}
	}
	insert(0, 2)
	flush(t, ctx, cli, name)
	indexAndLoad(t, ctx, cli, name, "sparse", index.NewSparseInvertedIndex(entity.BM25, 0))
	insert(2, len(docs))

	search := func(text string, output []string, params map[string]string) (*milvuspb.SearchResults, error) {
		ph := &commonpb.PlaceholderValue{Tag: "$0", Type: commonpb.PlaceholderType_VarChar, Values: [][]byte{[]byte(text)}}
		b, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{ph}})
		must(t, err)
		hl := &commonpb.Highlighter{Type: commonpb.HighlightType_Lexical}
		for k, v := range params {
			hl.Params = append(hl.Params, &commonpb.KeyValuePair{Key: k, Value: v})
		}
		resp, err := raw.Search(ctx, &milvuspb.SearchRequest{CollectionName: name, Nq: 1, DslType: commonpb.DslType_BoolExprV1,
			SearchParams: []*commonpb.KeyValuePair{{Key: "anns_field", Value: "sparse"}, {Key: "topk", Value: "10"}, {Key: "metric_type", Value: "BM25"}},
			SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: b}, OutputFields: output,
			ConsistencyLevel: commonpb.ConsistencyLevel_Strong, Highlighter: hl})
		return resp, merr.CheckRPCCall(resp, err)
	}
	fragmentsByID := func(resp *milvuspb.SearchResults, field string) map[int64][]string {
		t.Helper()
		out := map[int64][]string{}
		ids := resp.GetResults().GetIds().GetIntId().GetData()
		for _, hr := range resp.GetResults().GetHighlightResults() {
			if hr.GetFieldName() != field {
				continue
			}
			if len(hr.GetDatas()) != len(ids) {
				t.Fatalf("%d highlight datas for %d hits", len(hr.GetDatas()), len(ids))
			}
			for i, d := range hr.GetDatas() {
				out[ids[i]] = d.GetFragments()
			}
		}
		return out
	}

	// The search text's terms, default tags and fragments; no output field
	// asked for, so none returned.
	resp, err := search("vector database", nil, map[string]string{"highlight_search_text": "true"})
	must(t, err)
	if n := len(resp.GetResults().GetFieldsData()); n != 0 {
		t.Fatalf("%d fields returned, want none: %v", n, resp.GetResults().GetFieldsData())
	}
	got := fragmentsByID(resp, "text")
	want := map[int64][]string{
		// A fragment starts at its first term (fragment_offset 0) and
		// runs 100 characters or to the end.
		0: {"<em>vector</em> <em>database</em> built for scale"},
		2: {"<em>Vector</em> search finds similar vectors; a <em>vector</em> <em>database</em> stores them"},
		3: {"<em>Vector</em> Datenbank"},
	}
	for id, w := range want {
		if !slices.Equal(got[id], w) {
			t.Errorf("id %d: fragments %q, want %q", id, got[id], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("highlighted hits %v, want %v", got, want)
	}

	// The search text and TEXT_MATCH queries with custom tags (cycled per
	// term of a fragment), 12-character fragments starting 2 characters
	// before their first term (in characters, not bytes), at most 2 per
	// hit, and the text asked for as output.
	resp, err = search("vector", []string{"text"}, map[string]string{
		"highlight_search_text": "true",
		"pre_tags":              `["[", "{"]`, "post_tags": `["]", "}"]`, "fragment_size": "12", "fragment_offset": "2",
		"num_of_fragments": "2",
		"highlight_query":  `[{"type": "TextMatch", "field": "text", "text": "similar stores database"}]`,
	})
	must(t, err)
	if n := len(resp.GetResults().GetFieldsData()); n != 1 {
		t.Fatalf("%d fields returned, want text", n)
	}
	got = fragmentsByID(resp, "text")
	want = map[int64][]string{
		0: {"a [vector] {database}"},
		2: {"[Vector] searc", "s [similar] ve"},
		3: {"e [Vector] Dat"},
	}
	for id, w := range want {
		if !slices.Equal(got[id], w) {
			t.Errorf("id %d: fragments %q, want %q", id, got[id], w)
		}
	}

	// num_of_fragments 0: every hit has an empty entry.
	resp, err = search("vector", nil, map[string]string{"highlight_search_text": "true", "num_of_fragments": "0"})
	must(t, err)
	for id, f := range fragmentsByID(resp, "text") {
		if len(f) != 0 {
			t.Errorf("id %d: %q with num_of_fragments 0", id, f)
		}
	}

	// Milvus's errors.
	for _, c := range []struct {
		params map[string]string
		msg    string
	}{
		{map[string]string{"fragment_size": "0"}, "invalid fragment_size: 0"},
		{map[string]string{"num_of_fragments": "-1"}, "invalid num_of_fragments: -1"},
		{map[string]string{"pre_tags": "[]"}, "pre_tags cannot be empty list"},
		{map[string]string{"highlight_search_text": "yes"}, "unmarshal highlight_search_text as bool failed"},
		{map[string]string{"highlight_query": `[{"type": "Phrase", "field": "text", "text": "a"}]`}, "invalid highlight query type: Phrase"},
		{map[string]string{"highlight_query": `[{"type": "TextMatch", "text": "a"}]`}, "must set `field` in query"},
		{map[string]string{"highlight_query": `[{"type": "TextMatch", "field": "nope", "text": "a"}]`}, "highlight field not found in schema: nope"},
		{map[string]string{"highlight_query": `[{"type": "TextMatch", "field": "id", "text": "a"}]`}, "get highlight failed, the highlight field not found, id:"},
	} {
		_, err := search("vector", nil, c.params)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("params %v: %v, want %q", c.params, err, c.msg)
		}
	}
}
