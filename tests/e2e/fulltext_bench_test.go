package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestFullTextBenchmark measures BM25 full-text search through the SDK
// against a server in its own process: insert throughput with the BM25
// function (analyzer + term frequencies), flush and SPARSE_INVERTED_INDEX
// build, and search latency on indexed and on growing rows. A benchmark,
// not a test: it runs only when MILVAGO_FTS_BENCH=<docs> is set:
//
//	MILVAGO_FTS_BENCH=100000 go test -run TestFullTextBenchmark -v -timeout 30m ./tests/e2e
func TestFullTextBenchmark(t *testing.T) {
	docs, _ := strconv.Atoi(os.Getenv("MILVAGO_FTS_BENCH"))
	if docs <= 0 {
		t.Skip("set MILVAGO_FTS_BENCH=<docs> to run the full-text benchmark")
	}
	corpus := ftsCorpus(t, 1<<30)
	srv := startChild(t, t.TempDir())
	cli := srv.client(t)
	ctx, cancel := contextWithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	report := func(format string, args ...any) { t.Logf(format, args...); fmt.Printf("BENCH "+format+"\n", args...) }

	// Documents: packaged paragraphs, each cut at a random point and
	// joined with another's tail, so that rows differ (avg ~60 tokens).
	r := rand.New(rand.NewPCG(3, 4))
	text := make([]string, docs)
	tokens := 0
	for i := range text {
		a := strings.Fields(corpus[r.IntN(len(corpus))])
		b := strings.Fields(corpus[r.IntN(len(corpus))])
		a = a[:min(len(a), 10+r.IntN(60))]
		b = b[len(b)-min(len(b), 5+r.IntN(20)):]
		text[i] = strings.Join(append(a, b...), " ")
		tokens += len(refTokens(text[i]))
	}
	report("fts_docs=%d avg_tokens=%.1f", docs, float64(tokens)/float64(docs))

	const name = "fts_bench"
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, ftsSchema(name))))
	const batch = 2000
	insert := func(lo, hi int) time.Duration {
		start := time.Now()
		for b := lo; b < hi; b += batch {
			e := min(hi, b+batch)
			ids := make([]int64, e-b)
			for i := range ids {
				ids[i] = int64(b + i)
			}
			if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
				WithInt64Column("id", ids).WithVarcharColumn("text", text[b:e])); err != nil {
				t.Fatalf("insert: %v", err)
			}
		}
		return time.Since(start)
	}
	d := insert(0, docs)
	report("fts_insert_docs_per_s=%.0f (%d docs in %.1fs)", float64(docs)/d.Seconds(), docs, d.Seconds())

	start := time.Now()
	fl, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil || fl.Await(ctx) != nil {
		t.Fatalf("flush: %v", err)
	}
	report("fts_flush_s=%.1f", time.Since(start).Seconds())
	start = time.Now()
	ix, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "sparse", index.NewSparseInvertedIndex(entity.BM25, 0)))
	if err != nil || ix.Await(ctx) != nil {
		t.Fatalf("index: %v", err)
	}
	d = time.Since(start)
	report("fts_index_build_docs_per_s=%.0f (%.1fs)", float64(docs)/d.Seconds(), d.Seconds())
	start = time.Now()
	ld, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err != nil || ld.Await(ctx) != nil {
		t.Fatalf("load: %v", err)
	}
	report("fts_load_s=%.1f", time.Since(start).Seconds())

	var queries []string
	for len(queries) < 300 {
		w := refTokens(text[r.IntN(docs)])
		if len(w) < 4 {
			continue
		}
		q := make([]string, 2+r.IntN(4))
		for i := range q {
			q[i] = w[r.IntN(len(w))]
		}
		queries = append(queries, strings.Join(q, " "))
	}
	latency := func(label string) {
		var lat []time.Duration
		start := time.Now()
		for _, q := range queries {
			t0 := time.Now()
			if _, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.Text(q)}).
				WithANNSField("sparse")); err != nil {
				t.Fatalf("search: %v", err)
			}
			lat = append(lat, time.Since(t0))
		}
		total := time.Since(start)
		slices.Sort(lat)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		report("fts_search_%s_p50_ms=%.2f p99_ms=%.2f qps=%.0f (top 10, nq 1, %d queries of 2-5 words)",
			label, ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), float64(len(lat))/total.Seconds(), len(lat))
	}
	latency("sealed_indexed")

	// The same number of rows again, growing (brute force over term
	// frequencies), next to the indexed ones.
	grow := min(docs, 20000)
	text = append(text, text[:grow]...)
	d = insert(docs, docs+grow)
	report("fts_insert_growing_docs_per_s=%.0f", float64(grow)/d.Seconds())
	latency(fmt.Sprintf("sealed_plus_%d_growing", grow))
}
