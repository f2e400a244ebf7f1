package e2e

import (
	"hash/crc32"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
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

// TestMultiLanguageAnalyzer: a BM25 input field with multi_analyzer_params
// analyzes each row with the analyzer its language field names, and a
// search with the analyzer analyzer_name names.
func TestMultiLanguageAnalyzer(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "multi_lang"
	multi := map[string]any{
		"by_field": "lang",
		"analyzers": map[string]any{
			"default": map[string]any{"tokenizer": "standard"},
			"en":      map[string]any{"type": "english"},
			"zh":      map[string]any{"type": "chinese"},
		},
		"alias": map[string]any{"english": "en", "chinese": "zh"},
	}
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("lang").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16)).
		WithField(entity.NewField().WithName("text").WithDataType(entity.FieldTypeVarChar).WithMaxLength(1024).
			WithEnableAnalyzer(true).WithMultiAnalyzerParams(multi)).
		WithField(entity.NewField().WithName("sparse").WithDataType(entity.FieldTypeSparseVector)).
		WithFunction(entity.NewFunction().WithName("bm25").WithInputFields("text").WithOutputFields("sparse").WithType(entity.FunctionTypeBM25))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
		WithInt64Column("id", []int64{1, 2, 3, 4}).
		WithVarcharColumn("lang", []string{"english", "en", "zh", "xx"}).
		WithVarcharColumn("text", []string{"The runner runs daily", "Cats are sleeping", "我来到北京清华大学", "runs of cats"})); err != nil {
		t.Fatalf("insert: %v", err)
	}
	if ix, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "sparse", index.NewSparseInvertedIndex(entity.BM25, 0))); err != nil || ix.Await(ctx) != nil {
		t.Fatalf("index: %v", err)
	}
	if l, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name)); err != nil || l.Await(ctx) != nil {
		t.Fatalf("load: %v", err)
	}
	search := func(text, analyzer string) []int64 {
		t.Helper()
		opt := milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.Text(text)}).WithANNSField("sparse").
			WithConsistencyLevel(entity.ClStrong)
		if analyzer != "" {
			opt = opt.WithSearchParam("analyzer_name", analyzer)
		}
		rs, err := cli.Search(ctx, opt)
		if err != nil {
			t.Fatalf("search %q: %v", text, err)
		}
		ids := rs[0].IDs.(*column.ColumnInt64).Data()
		slices.Sort(ids)
		return ids
	}
	// English rows were stemmed (run, cat); the "xx" row used the default.
	if got := search("running cat", "en"); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("english search: %v", got)
	}
	if got := search("runs cats", ""); !slices.Equal(got, []int64{4}) {
		t.Fatalf("default search: %v", got)
	}
	if got := search("清华大学", "chinese"); !slices.Equal(got, []int64{3}) {
		t.Fatalf("chinese search: %v", got)
	}
	res, err := cli.RunAnalyzer(ctx, milvusclient.NewRunAnalyzerOption("running cats").WithField(name, "text").WithAnalyzerName("en"))
	if err != nil || len(res[0].Tokens) != 2 || res[0].Tokens[0].Text != "run" {
		t.Fatalf("RunAnalyzer with a name: %v, %v", res, err)
	}
	if _, err := cli.RunAnalyzer(ctx, milvusclient.NewRunAnalyzerOption("x").WithField(name, "text")); err == nil ||
		!strings.Contains(err.Error(), "analyzer names must be set for multi analyzer") {
		t.Fatalf("RunAnalyzer without a name: %v", err)
	}
}
