package e2e

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/embedding/embeddingtest"
)

const teDim = 64

// teSchema is a collection whose "dense" vectors a TEI text_embedding
// function computes from "text", and whose "sparse" vectors BM25 does.
func teSchema(name, endpoint string, dim int64, extra ...string) *entity.Schema {
	fn := entity.NewFunction().WithName("te").WithInputFields("text").WithOutputFields("dense").
		WithType(entity.FunctionTypeTextEmbedding).WithParam("provider", "TEI").WithParam("endpoint", endpoint)
	for i := 0; i+1 < len(extra); i += 2 {
		fn.WithParam(extra[i], extra[i+1])
	}
	return entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("text").WithDataType(entity.FieldTypeVarChar).WithMaxLength(8192).WithEnableAnalyzer(true)).
		WithField(entity.NewField().WithName("dense").WithDataType(entity.FieldTypeFloatVector).WithDim(dim)).
		WithField(entity.NewField().WithName("sparse").WithDataType(entity.FieldTypeSparseVector)).
		WithFunction(fn).
		WithFunction(entity.NewFunction().WithName("bm25").WithInputFields("text").WithOutputFields("sparse").WithType(entity.FunctionTypeBM25))
}

// teCosine is the cosine of a and b, 0 when one is zero.
func teCosine(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return d / math.Sqrt(na*nb)
}

func insertTexts(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, lo int, texts []string) {
	t.Helper()
	ids := make([]int64, len(texts))
	for i := range ids {
		ids[i] = int64(lo + i)
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithVarcharColumn("text", texts)); err != nil {
		t.Fatalf("insert: %v", err)
	}
}

// teIndexAndLoad indexes teSchema's vector fields (dense exactly) and
// loads the collection.
func teIndexAndLoad(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) {
	t.Helper()
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "dense", index.NewFlatIndex(entity.COSINE)))
	if err != nil {
		t.Fatalf("index dense: %v", err)
	}
	if err := it.Await(ctx); err != nil {
		t.Fatalf("index dense: %v", err)
	}
	indexAndLoad(t, ctx, cli, name, "sparse", index.NewSparseInvertedIndex(entity.BM25, 0))
}

// TestTextEmbeddingEndToEnd: inserted texts get the model's vectors
// (batched by max_client_batch_size), a raw-text search equals a
// brute-force cosine search over the model's vectors, an upsert embeds the
// new text, hybrid search fuses text embedding and BM25 like RRF over the
// two single searches, and a model reranker orders hits by the service's
// scores.
func TestTextEmbeddingEndToEnd(t *testing.T) {
	tei := embeddingtest.Start(embeddingtest.Options{Dim: teDim})
	defer tei.Close()
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "te_e2e"
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, teSchema(name, tei.URL(), teDim, "max_client_batch_size", "16"))); err != nil {
		t.Fatalf("create: %v", err)
	}
	corpus := ftsCorpus(t, 200)
	before := tei.Requests()
	insertTexts(t, ctx, cli, name, 0, corpus[:70]) // 5 requests of at most 16
	if n := tei.Requests() - before; n != 5 {
		t.Errorf("insert of 70 texts made %d requests, want 5", n)
	}
	flush(t, ctx, cli, name)
	teIndexAndLoad(t, ctx, cli, name)
	insertTexts(t, ctx, cli, name, 70, corpus[70:140]) // growing
	insertTexts(t, ctx, cli, name, 140, corpus[140:])
	// More than batch_factor (5) times the client batch in one insert.
	big := make([]string, 81)
	for i := range big {
		big[i] = fmt.Sprintf("doc %d", i)
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", make([]int64, 81)).WithVarcharColumn("text", big)); err == nil ||
		!strings.Contains(err.Error(), "numRows [81] > function [te]'s max batch [80]") {
		t.Fatalf("insert above the max batch: %v", err)
	}

	// The stored vectors are the model's.
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("text", "dense").
		WithConsistencyLevel(entity.ClStrong).WithLimit(len(corpus)))
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if rs.ResultCount != len(corpus) {
		t.Fatalf("query: %d rows", rs.ResultCount)
	}
	ids := rs.GetColumn("id").(*column.ColumnInt64).Data()
	vecs := rs.GetColumn("dense").(*column.ColumnFloatVector).Data()
	for i, id := range ids {
		if want := tei.Embed(corpus[id]); !slices.Equal(vecs[i], want) {
			t.Fatalf("row %d: stored vector differs from the model's", id)
		}
	}

	// Raw-text search = brute force over the model's vectors.
	queries := []string{"permission to copy and distribute", "the standard library package", "warranty of merchantability", "bytes buffer reader"}
	const k = 10
	textVecs := make([]entity.Vector, len(queries))
	for i, q := range queries {
		textVecs[i] = entity.Text(q)
	}
	res, err := cli.Search(ctx, milvusclient.NewSearchOption(name, k, textVecs).WithANNSField("dense").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	for qi, r := range res {
		q := tei.Embed(queries[qi])
		type hit struct {
			id int64
			s  float64
		}
		var all []hit
		for id, d := range corpus {
			all = append(all, hit{int64(id), teCosine(q, tei.Embed(d))})
		}
		slices.SortStableFunc(all, func(a, b hit) int {
			if a.s != b.s {
				if a.s > b.s {
					return -1
				}
				return 1
			}
			return int(a.id - b.id)
		})
		got := r.IDs.(*column.ColumnInt64).Data()
		if len(got) != k {
			t.Fatalf("query %q: %d hits", queries[qi], len(got))
		}
		for j, id := range got {
			// Ties may swap; the scores must match rank by rank.
			if math.Abs(float64(r.Scores[j])-all[j].s) > 1e-5 {
				t.Fatalf("query %q rank %d: id %d score %v, want id %d score %v", queries[qi], j, id, r.Scores[j], all[j].id, all[j].s)
			}
		}
	}

	// Upsert embeds the new text.
	if _, err := cli.Upsert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{3}).WithVarcharColumn("text", []string{"a completely new sentence about vectors"})); err != nil {
		t.Fatalf("upsert: %v", err)
	}
	got, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id == 3").WithOutputFields("dense").WithConsistencyLevel(entity.ClStrong))
	if err != nil || got.ResultCount != 1 {
		t.Fatalf("query after upsert: %v", err)
	}
	if v := got.GetColumn("dense").(*column.ColumnFloatVector).Data()[0]; !slices.Equal(v, tei.Embed("a completely new sentence about vectors")) {
		t.Fatal("upsert kept the old vector")
	}
	corpus[3] = "a completely new sentence about vectors"

	// Hybrid search: RRF over the text embedding and the BM25 searches.
	q := queries[0]
	single := func(field string) []int64 {
		r, err := cli.Search(ctx, milvusclient.NewSearchOption(name, k, []entity.Vector{entity.Text(q)}).WithANNSField(field).WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			t.Fatalf("search %s: %v", field, err)
		}
		return r[0].IDs.(*column.ColumnInt64).Data()
	}
	rrf := map[int64]float64{}
	for _, l := range [][]int64{single("dense"), single("sparse")} {
		for i, id := range l {
			rrf[id] += 1 / float64(60+i+1)
		}
	}
	hy, err := cli.HybridSearch(ctx, milvusclient.NewHybridSearchOption(name, k,
		milvusclient.NewAnnRequest("dense", k, entity.Text(q)), milvusclient.NewAnnRequest("sparse", k, entity.Text(q))).
		WithReranker(milvusclient.NewRRFReranker()).WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("hybrid: %v", err)
	}
	for j, id := range hy[0].IDs.(*column.ColumnInt64).Data() {
		if math.Abs(rrf[id]-float64(hy[0].Scores[j])) > 1e-6 {
			t.Fatalf("hybrid rank %d: id %d score %v, want %v", j, id, hy[0].Scores[j], rrf[id])
		}
	}

	// Model reranker: the service's scores order the hits.
	reranker := entity.NewFunction().WithName("m").WithType(entity.FunctionTypeRerank).WithInputFields("text").
		WithParam("reranker", "model").WithParam("provider", "tei").WithParam("endpoint", tei.URL()).
		WithParam("queries", []string{q})
	rr, err := cli.Search(ctx, milvusclient.NewSearchOption(name, k, []entity.Vector{entity.Text(q)}).WithANNSField("dense").
		WithFunctionReranker(reranker).WithOutputFields("text").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("model rerank: %v", err)
	}
	texts := rr[0].GetColumn("text")
	if rr[0].ResultCount != k {
		t.Fatalf("model rerank: %d hits", rr[0].ResultCount)
	}
	for j := range rr[0].ResultCount {
		txt, _ := texts.GetAsString(j)
		if want := tei.Score(q, txt); rr[0].Scores[j] != want {
			t.Fatalf("model rerank rank %d: score %v, want the service's %v", j, rr[0].Scores[j], want)
		}
		if j > 0 && rr[0].Scores[j] > rr[0].Scores[j-1] {
			t.Fatalf("model rerank: scores not descending at %d", j)
		}
	}
}

// TestTextEmbeddingErrors: Milvus's refusals, with its texts.
func TestTextEmbeddingErrors(t *testing.T) {
	tei := embeddingtest.Start(embeddingtest.Options{Dim: teDim})
	defer tei.Close()
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		c.Public.Models = embedding.Config{Timeout: 2 * time.Second, Retries: 1,
			Rerank: map[string]embedding.Provider{"vllm": {Disabled: true}}}
	})
	cli := srv.client(t)
	ctx := testContext(t)
	create := func(name string, s *entity.Schema) error {
		return cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, s))
	}
	for _, c := range []struct {
		name string
		s    *entity.Schema
		want string
	}{
		{"dim", teSchema("dim", tei.URL(), 32), "check function [te:TextEmbedding] failed, the err is: the required embedding dim is [32], but the embedding obtained from the model is [64]"},
		{"unreachable", teSchema("unreachable", "http://127.0.0.1:1", teDim), "call service failed"},
		{"ftp", teSchema("ftp", "ftp://localhost:8080", teDim), "endpoint: [ftp://localhost:8080] is not a valid http/https link"},
		{"direction", teSchema("direction", tei.URL(), teDim, "truncation_direction", "Up"), "[truncation_direction param's value: Up] is not invalid, only supports [Left/Right]"},
		{"provider", teSchema("provider", tei.URL(), teDim, "provider", "nobody"), "unsupported text embedding service provider: [nobody]"},
	} {
		if err := create(c.name, c.s); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}

	const name = "te_errors"
	if err := create(name, teSchema(name, tei.URL(), teDim)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		opt  milvusclient.InsertOption
		want string
	}{
		{"empty text", milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1, 2}).WithVarcharColumn("text", []string{"", "x"}),
			"there is an empty string in the input data, TextEmbedding function does not support empty text"},
		{"too long", milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1}).WithVarcharColumn("text", []string{strings.Repeat("word ", 600)}),
			"call service failed, errs:[413 Payload Too Large"},
		{"output supplied", milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1}).WithVarcharColumn("text", []string{"x"}).
			WithFloatVectorColumn("dense", teDim, [][]float32{make([]float32, teDim)}),
			"Insert data has function output field, but collection's property `collection.function.allowInsertNonBM25FunctionOutputs` is not enable"},
	} {
		if _, err := cli.Insert(ctx, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.what, err, c.want)
		}
	}
	// Truncation makes the long text fit.
	const trunc = "te_truncate"
	if err := create(trunc, teSchema(trunc, tei.URL(), teDim, "truncate", "true", "truncation_direction", "Left")); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("alpha ", 600) + strings.Repeat("omega ", 512)
	insertTexts(t, ctx, cli, trunc, 0, []string{long})
	teIndexAndLoad(t, ctx, cli, trunc)
	got, err := cli.Query(ctx, milvusclient.NewQueryOption(trunc).WithFilter("id == 0").WithOutputFields("dense").WithConsistencyLevel(entity.ClStrong))
	if err != nil || got.ResultCount != 1 {
		t.Fatalf("query: %v", err)
	}
	if v := got.GetColumn("dense").(*column.ColumnFloatVector).Data()[0]; !slices.Equal(v, tei.Embed(strings.Repeat("omega ", 512))) {
		t.Fatal("left truncation did not keep the right end")
	}

	teIndexAndLoad(t, ctx, cli, name)
	if _, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.Text("")}).WithANNSField("dense")); err == nil ||
		!strings.Contains(err.Error(), "there is an empty string in the queries, TextEmbedding function does not support empty text") {
		t.Errorf("empty query: %v", err)
	}
	model := func(provider string) *entity.Function {
		return entity.NewFunction().WithName("m").WithType(entity.FunctionTypeRerank).WithInputFields("text").
			WithParam("reranker", "model").WithParam("provider", provider).WithParam("endpoint", "http://127.0.0.1:1").WithParam("queries", []string{"q"})
	}
	insertTexts(t, ctx, cli, name, 0, []string{"some text"})
	if _, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.Text("q")}).WithANNSField("dense").
		WithFunctionReranker(model("vllm")).WithConsistencyLevel(entity.ClStrong)); err == nil || !strings.Contains(err.Error(), "rerank provider: [vllm] is disabled") {
		t.Errorf("disabled reranker: %v", err)
	}
	start := time.Now()
	if _, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.Text("q")}).WithANNSField("dense").
		WithFunctionReranker(model("tei")).WithConsistencyLevel(entity.ClStrong)); err == nil || !strings.Contains(err.Error(), "call service failed") {
		t.Errorf("unreachable reranker: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("unreachable reranker took %v", d)
	}
}

// TestTextEmbeddingDeadline: a model service slower than the configured
// timeout fails the insert; it never hangs it.
func TestTextEmbeddingDeadline(t *testing.T) {
	slow := embeddingtest.Start(embeddingtest.Options{Dim: teDim, Delay: 5 * time.Second})
	defer slow.Close()
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		c.Public.Models = embedding.Config{Timeout: 200 * time.Millisecond, Retries: 2, Backoff: 50 * time.Millisecond}
	})
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "te_slow"
	err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, teSchema(name, slow.URL(), teDim)).
		WithProperty("disable_func_runtime_check", true))
	if err != nil {
		t.Fatalf("create without the runtime check: %v", err)
	}
	start := time.Now()
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1}).WithVarcharColumn("text", []string{"x"})); err == nil ||
		!strings.Contains(err.Error(), "call service failed") {
		t.Fatalf("slow insert: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("slow insert took %v", d)
	}
}
