package e2e

import (
	"hash/crc32"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestRunAnalyzer: RunAnalyzer through the Go SDK and REST, with analyzer
// params and with a collection's BM25 input field.
func TestRunAnalyzer(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	texts := func(r []*entity.AnalyzerResult) [][]string {
		var out [][]string
		for _, res := range r {
			var ws []string
			for _, tok := range res.Tokens {
				ws = append(ws, tok.Text)
			}
			out = append(out, ws)
		}
		return out
	}
	res, err := cli.RunAnalyzer(ctx, milvusclient.NewRunAnalyzerOption("The Quick foxes jumped", "Milvus rocks").
		WithAnalyzerParams(map[string]any{"type": "english"}).WithDetail().WithHash())
	if err != nil {
		t.Fatalf("RunAnalyzer: %v", err)
	}
	if got := texts(res); !slices.Equal(got[0], []string{"quick", "fox", "jump"}) || !slices.Equal(got[1], []string{"milvus", "rock"}) {
		t.Fatalf("english tokens %q", got)
	}
	fox := res[0].Tokens[1]
	if fox.StartOffset != 10 || fox.EndOffset != 15 || fox.Position != 2 || fox.Hash != crc32.ChecksumIEEE([]byte("fox")) {
		t.Fatalf("detail of %q: %+v", fox.Text, fox)
	}
	if _, err := cli.RunAnalyzer(ctx, milvusclient.NewRunAnalyzerOption("x").
		WithAnalyzerParams(map[string]any{"tokenizer": "standard", "filter": []any{"nope"}})); err == nil ||
		!strings.Contains(err.Error(), "filter not found :nope") {
		t.Fatalf("bad filter: %v", err)
	}

	const name = "analyzer_field"
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, ftsSchema(name))); err != nil {
		t.Fatal(err)
	}
	res, err = cli.RunAnalyzer(ctx, milvusclient.NewRunAnalyzerOption("Hello, World").WithField(name, "text"))
	if err != nil {
		t.Fatalf("RunAnalyzer on a field: %v", err)
	}
	if got := texts(res); !slices.Equal(got[0], []string{"hello", "world"}) {
		t.Fatalf("field tokens %q", got)
	}
	if _, err := cli.RunAnalyzer(ctx, milvusclient.NewRunAnalyzerOption("x").WithField(name, "id")); err == nil ||
		!strings.Contains(err.Error(), "only support run analyzer by field if field was bm25 input field") {
		t.Fatalf("non-BM25 field: %v", err)
	}

	base := "http://" + srv.addr
	data := restOK(t, base, "/common/run_analyzer", map[string]any{"text": []string{"Hello World"}, "withDetail": true,
		"analyzerParams": `{"tokenizer":"whitespace"}`}).(map[string]any)
	toks := data["results"].([]any)[0].(map[string]any)["tokens"].([]any)
	if len(toks) != 2 || toks[1].(map[string]any)["token"] != "World" || restInt(t, toks[1].(map[string]any)["startOffset"]) != 6 {
		t.Fatalf("REST tokens %v", toks)
	}
}
