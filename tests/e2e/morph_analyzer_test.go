package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestLinderaAndICUAnalyzers: the lindera (ipadic, ko-dic) and icu
// tokenizers through RunAnalyzer, BM25 search, TEXT_MATCH and PHRASE_MATCH
// with the Go SDK, on flushed and growing rows.
func TestLinderaAndICUAnalyzers(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	// Each RunAnalyzer below and each case has its own bound: the first
	// use of a dictionary loads it, in-process under -race in standalone
	// (the ipadic RunAnalyzer took most of 2 minutes at load ~50), in
	// every analyzing process on a cluster.
	ctx := testContext(t)

	ipadic := map[string]any{"tokenizer": map[string]any{"type": "lindera", "dict_kind": "ipadic",
		"filter": []any{map[string]any{"kind": "japanese_stop_tags", "tags": []any{"助詞,連体化", "助詞,係助詞", "記号,空白"}}}}}
	res, err := cli.RunAnalyzer(ctx, milvusclient.NewRunAnalyzerOption("東京スカイツリーの最寄り駅は").
		WithAnalyzerParams(ipadic).WithDetail())
	if err != nil {
		t.Fatalf("RunAnalyzer lindera: %v", err)
	}
	var got []string
	for _, tk := range res[0].Tokens {
		got = append(got, tk.Text)
	}
	if want := []string{"東京", "スカイ", "ツリー", "最寄り駅"}; !slices.Equal(got, want) {
		t.Fatalf("lindera tokens %q, want %q", got, want)
	}
	if tk := res[0].Tokens[3]; tk.StartOffset != int64(len("東京スカイツリーの")) || tk.Position != 4 {
		t.Fatalf("lindera detail %+v", tk)
	}
	res, err = cli.RunAnalyzer(testContext(t), milvusclient.NewRunAnalyzerOption("中文分词测试, ok").
		WithAnalyzerParams(map[string]any{"tokenizer": "icu"}))
	if err != nil {
		t.Fatalf("RunAnalyzer icu: %v", err)
	}
	got = got[:0]
	for _, tk := range res[0].Tokens {
		got = append(got, tk.Text)
	}
	if want := []string{"中文", "分词", "测试", ",", " ", "ok"}; !slices.Equal(got, want) {
		t.Fatalf("icu tokens %q, want %q", got, want)
	}
	if _, err := cli.RunAnalyzer(testContext(t), milvusclient.NewRunAnalyzerOption("x").
		WithAnalyzerParams(map[string]any{"tokenizer": map[string]any{"type": "lindera", "dict_kind": "cc-cedict"}})); err == nil ||
		!strings.Contains(err.Error(), "unsupported lindera dict type: cc-cedict") {
		t.Fatalf("cc-cedict: %v", err)
	}

	cases := []struct {
		name     string
		params   map[string]any
		rows     []string
		search   string
		wantTop  int64
		match    string
		phrase   string
		wantRows []int64
	}{
		{"ja_lindera", ipadic,
			[]string{"東京スカイツリーの最寄り駅はとうきょうスカイツリー駅です", "大阪の天気は晴れです", "東京の天気は雨です", "京都の寺"},
			"東京の天気", 2, "天気", "東京の天気", []int64{2}},
		{"ko_lindera", map[string]any{"tokenizer": map[string]any{"type": "lindera", "dict_kind": "ko-dic"}},
			[]string{"공원에 갔다", "학교에 갔다", "공원이 좋다", "집에 있다"},
			"공원에", 0, "공원", "학교에 갔다", []int64{1}},
		{"icu", map[string]any{"tokenizer": "icu", "filter": []any{"removepunct", "lowercase"}},
			[]string{"Vector search, 中文分词测试", "東京スカイツリー駅", "plain English words", "search engines index words"},
			"分词", 0, "words", "english words", []int64{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// ko-dic's first use took 47-60 s of its case on a cluster at
			// load ~50, and the three cases ran past one 2-minute context;
			// standalone, its load in-process under -race took the whole
			// of a 2-minute case context in CreateCollection (2026-12-06).
			// 4 minutes a case: a dictionary's one load, not a latency
			// this test checks.
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			schema := entity.NewSchema().WithName(c.name).
				WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
				WithField(entity.NewField().WithName("text").WithDataType(entity.FieldTypeVarChar).WithMaxLength(1024).
					WithEnableAnalyzer(true).WithEnableMatch(true).WithAnalyzerParams(c.params)).
				WithField(entity.NewField().WithName("sparse").WithDataType(entity.FieldTypeSparseVector)).
				WithFunction(entity.NewFunction().WithName("bm25").WithInputFields("text").WithOutputFields("sparse").WithType(entity.FunctionTypeBM25))
			if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(c.name, schema)); err != nil {
				t.Fatalf("create: %v", err)
			}
			insert := func(lo, hi int) {
				ids := []int64{}
				for i := lo; i < hi; i++ {
					ids = append(ids, int64(i))
				}
				if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(c.name).
					WithInt64Column("id", ids).WithVarcharColumn("text", c.rows[lo:hi])); err != nil {
					t.Fatalf("insert: %v", err)
				}
			}
			insert(0, 2)
			if f, err := cli.Flush(ctx, milvusclient.NewFlushOption(c.name)); err != nil || f.Await(ctx) != nil {
				t.Fatalf("flush: %v", err)
			}
			if ix, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(c.name, "sparse", index.NewSparseInvertedIndex(entity.BM25, 0))); err != nil || ix.Await(ctx) != nil {
				t.Fatalf("index: %v", err)
			}
			if l, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(c.name)); err != nil || l.Await(ctx) != nil {
				t.Fatalf("load: %v", err)
			}
			insert(2, len(c.rows)) // growing
			rs, err := cli.Search(ctx, milvusclient.NewSearchOption(c.name, 4, []entity.Vector{entity.Text(c.search)}).
				WithANNSField("sparse").WithConsistencyLevel(entity.ClStrong))
			if err != nil {
				t.Fatalf("search: %v", err)
			}
			ids := rs[0].IDs.(*column.ColumnInt64).Data()
			if len(ids) == 0 || ids[0] != c.wantTop {
				t.Fatalf("search %q: ids %v scores %v, want %d first", c.search, ids, rs[0].Scores, c.wantTop)
			}
			query := func(filter string) []int64 {
				qr, err := cli.Query(ctx, milvusclient.NewQueryOption(c.name).WithFilter(filter).WithOutputFields("id").
					WithConsistencyLevel(entity.ClStrong))
				if err != nil {
					t.Fatalf("query %s: %v", filter, err)
				}
				ids := qr.GetColumn("id").(*column.ColumnInt64).Data()
				slices.Sort(ids)
				return ids
			}
			// TEXT_MATCH: every row holding the word, flushed or growing.
			var want []int64
			a := c.match
			for i, r := range c.rows {
				if strings.Contains(strings.ToLower(r), a) {
					want = append(want, int64(i))
				}
			}
			if got := query("TEXT_MATCH(text, '" + c.match + "')"); !slices.Equal(got, want) {
				t.Fatalf("TEXT_MATCH %q = %v, want %v", c.match, got, want)
			}
			if got := query("PHRASE_MATCH(text, '" + c.phrase + "')"); !slices.Equal(got, c.wantRows) {
				t.Fatalf("PHRASE_MATCH %q = %v, want %v", c.phrase, got, c.wantRows)
			}
		})
	}
}
