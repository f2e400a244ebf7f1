package e2e

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/annbench"
)

// TestHybridSearchBenchmark measures HybridSearch (RRF over 2 and 3 vector
// fields, HNSW and sparse inverted indexes) against the single searches it
// is made of: QPS of one client through the SDK (testing.Benchmark per
// operation), and recall@10 of each against the exact answer (the exact
// per-field top-10 lists, fused by RRF for the hybrid searches). Rows pair
// glove-100-10k (COSINE) and fashion-mnist-10k (L2) vectors with a
// synthetic sparse vector. A benchmark: it runs only when
// MILVAGO_HYBRID_BENCH is set and asserts nothing about speed.
//
//	MILVAGO_HYBRID_BENCH=1 go test -run TestHybridSearchBenchmark -v -timeout 30m ./tests/e2e
func TestHybridSearchBenchmark(t *testing.T) {
	if os.Getenv("MILVAGO_HYBRID_BENCH") == "" {
		t.Skip("set MILVAGO_HYBRID_BENCH=1 to run the hybrid search benchmark")
	}
	dataDir := "../../../shared/data"
	if d := os.Getenv("MILVAGO_DATA"); d != "" {
		dataDir = d
	}
	read := func(set, file string) ([]float32, int, int) {
		v, dim, n, err := annbench.ReadFvecs(filepath.Join(dataDir, set, file))
		if err != nil {
			t.Skipf("data set %s: %v", set, err)
		}
		return v, n, dim
	}
	gBase, n, gDim := read("glove-100-10k", "base.fvecs")
	fBase, fn, fDim := read("fashion-mnist-10k", "base.fvecs")
	gQ, nq, _ := read("glove-100-10k", "query.fvecs")
	fQ, fnq, _ := read("fashion-mnist-10k", "query.fvecs")
	n = min(n, fn)
	const queries, k = 200, 10
	nq = min(nq, fnq, queries)
	r := rand.New(rand.NewPCG(5, 6))
	randSparse := func(nnz int) map[uint32]float32 {
		m := map[uint32]float32{}
		for len(m) < nnz {
			m[uint32(r.IntN(2000))] = r.Float32()
		}
		return m
	}
	sp := make([]map[uint32]float32, n)
	spCol := make([]entity.SparseEmbedding, n)
	for i := range n {
		sp[i] = randSparse(12)
		spCol[i] = sparseOf(t, sp[i])
	}
	spQ := make([]map[uint32]float32, nq)
	for i := range spQ {
		spQ[i] = randSparse(40)
	}

	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "hybridbench"
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("g").WithDataType(entity.FieldTypeFloatVector).WithDim(int64(gDim))).
		WithField(entity.NewField().WithName("f").WithDataType(entity.FieldTypeFloatVector).WithDim(int64(fDim))).
		WithField(entity.NewField().WithName("s").WithDataType(entity.FieldTypeSparseVector))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
	rows := func(v []float32, dim, lo, hi int) [][]float32 {
		out := make([][]float32, 0, hi-lo)
		for i := lo; i < hi; i++ {
			out = append(out, v[i*dim:(i+1)*dim])
		}
		return out
	}
	for lo := 0; lo < n; lo += 1000 {
		hi := min(n, lo+1000)
		ids := make([]int64, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ids = append(ids, int64(i))
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithFloatVectorColumn("g", gDim, rows(gBase, gDim, lo, hi)).WithFloatVectorColumn("f", fDim, rows(fBase, fDim, lo, hi)).
			WithColumns(column.NewColumnSparseVectors("s", spCol[lo:hi])))
		must(t, err)
	}
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	must(t, err)
	must(t, ft.Await(ctx))
	for field, idx := range map[string]index.Index{
		"g": index.NewHNSWIndex(entity.COSINE, 16, 200), "f": index.NewHNSWIndex(entity.L2, 16, 200),
		"s": index.NewSparseInvertedIndex(entity.IP, 0),
	} {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, field, idx))
		must(t, err)
		must(t, it.Await(ctx))
	}
	load(t, ctx, cli, name)

	// Exact per-field top-k of every query.
	exactTop := func(score func(q, i int) float32, higher bool) [][]int64 {
		out := make([][]int64, nq)
		for q := range nq {
			order := make([]int, n)
			s := make([]float32, n)
			for i := range n {
				order[i], s[i] = i, score(q, i)
			}
			slices.SortFunc(order, func(a, b int) int {
				c := cmp.Compare(s[a], s[b])
				if higher {
					c = -c
				}
				return cmp.Or(c, cmp.Compare(a, b))
			})
			for _, i := range order[:k] {
				out[q] = append(out[q], int64(i))
			}
		}
		return out
	}
	dot := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	exact := map[string][][]int64{
		"g": exactTop(func(q, i int) float32 { return dot(gQ[q*gDim:(q+1)*gDim], gBase[i*gDim:(i+1)*gDim]) }, true), // unit vectors: IP = cosine
		"f": exactTop(func(q, i int) float32 {
			var s float32
			a, b := fQ[q*fDim:(q+1)*fDim], fBase[i*fDim:(i+1)*fDim]
			for j := range a {
				d := a[j] - b[j]
				s += d * d
			}
			return s
		}, false),
		"s": exactTop(func(q, i int) float32 {
			var s float32
			for j, x := range spQ[q] {
				s += x * sp[i][j]
			}
			return s
		}, true),
	}
	ann := func(field string, q int) *milvusclient.AnnRequest {
		switch field {
		case "g":
			return milvusclient.NewAnnRequest("g", k, entity.FloatVector(gQ[q*gDim:(q+1)*gDim])).WithAnnParam(index.NewHNSWAnnParam(64))
		case "f":
			return milvusclient.NewAnnRequest("f", k, entity.FloatVector(fQ[q*fDim:(q+1)*fDim])).WithAnnParam(index.NewHNSWAnnParam(64))
		}
		return milvusclient.NewAnnRequest("s", k, sparseOf(t, spQ[q])).WithSearchParam("drop_ratio_search", "0")
	}
	single := func(field string, q int) []int64 {
		var opt interface {
			milvusclient.SearchOption
		}
		switch field {
		case "g":
			opt = milvusclient.NewSearchOption(name, k, []entity.Vector{entity.FloatVector(gQ[q*gDim : (q+1)*gDim])}).
				WithANNSField(field).WithAnnParam(index.NewHNSWAnnParam(64))
		case "f":
			opt = milvusclient.NewSearchOption(name, k, []entity.Vector{entity.FloatVector(fQ[q*fDim : (q+1)*fDim])}).
				WithANNSField(field).WithAnnParam(index.NewHNSWAnnParam(64))
		default:
			opt = milvusclient.NewSearchOption(name, k, []entity.Vector{sparseOf(t, spQ[q])}).
				WithANNSField(field).WithSearchParam("drop_ratio_search", "0")
		}
		rs, err := cli.Search(ctx, opt)
		must(t, err)
		return idsOf(t, rs[0])
	}
	hybrid := func(fields []string, q int) []int64 {
		reqs := make([]*milvusclient.AnnRequest, len(fields))
		for i, f := range fields {
			reqs[i] = ann(f, q)
		}
		rs, err := cli.HybridSearch(ctx, milvusclient.NewHybridSearchOption(name, k, reqs...).WithReranker(milvusclient.NewRRFReranker()))
		must(t, err)
		return idsOf(t, rs[0])
	}
	recall := func(got, want []int64) float64 {
		hit := 0
		for _, id := range got {
			if slices.Contains(want, id) {
				hit++
			}
		}
		return float64(hit) / float64(len(want))
	}
	measure := func(op func(q int) []int64) (qps float64) {
		res := testing.Benchmark(func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				op(i % nq)
			}
		})
		return float64(res.N) / res.T.Seconds()
	}
	report := func(format string, args ...any) { t.Logf(format, args...); fmt.Printf("BENCH "+format+"\n", args...) }
	report("rows=%d queries=%d k=%d fields: g=glove-100 COSINE HNSW(M16,efC200,ef64) f=fashion-mnist-784 L2 HNSW(ef64) s=sparse(12 nnz/row, 40/query) IP SPARSE_INVERTED_INDEX", n, nq, k)
	// Recall first (which also warms every path), then QPS: three rounds
	// over all operations in turn, the median of each (the machine is
	// shared, so one round can be unlucky).
	type op struct {
		name   string
		fields []string
		run    func(q int) []int64
		recall float64
	}
	var ops []*op
	for _, f := range []string{"g", "f", "s"} {
		o := &op{name: "single " + f, fields: []string{f}, run: func(q int) []int64 { return single(f, q) }}
		for q := range nq {
			o.recall += recall(o.run(q), exact[f][q]) / float64(nq)
		}
		ops = append(ops, o)
	}
	for _, fields := range [][]string{{"g", "f"}, {"g", "f", "s"}} {
		o := &op{name: fmt.Sprintf("hybrid %v rrf", fields), fields: fields, run: func(q int) []int64 { return hybrid(fields, q) }}
		for q := range nq {
			lists := make([]oracleList, len(fields))
			for i, f := range fields {
				lists[i] = oracleList{metric: "IP", ids: exact[f][q]}
			}
			var want []int64
			for _, h := range (oracleRanker{kind: "rrf", k: 60}).fuse(nil, lists)[:k] {
				want = append(want, h.id)
			}
			o.recall += recall(o.run(q), want) / float64(nq)
		}
		ops = append(ops, o)
	}
	rounds := map[string][]float64{}
	for range 3 {
		for _, o := range ops {
			rounds[o.name] = append(rounds[o.name], measure(o.run))
		}
	}
	qps := map[string]float64{}
	for _, o := range ops {
		slices.Sort(rounds[o.name])
		qps[o.name] = rounds[o.name][1]
	}
	for _, o := range ops {
		if len(o.fields) == 1 {
			report("%s: recall@10=%.4f qps=%.0f (rounds %.0f)", o.name, o.recall, qps[o.name], rounds[o.name])
			continue
		}
		sumLatency := 0.0
		for _, f := range o.fields {
			sumLatency += 1 / qps["single "+f]
		}
		report("%s: recall@10=%.4f qps=%.0f (rounds %.0f); its single searches one after another: %.0f qps (hybrid/sum = %.2f)",
			o.name, o.recall, qps[o.name], rounds[o.name], 1/sumLatency, qps[o.name]*sumLatency)
	}
}

func idsOf(t *testing.T, rs milvusclient.ResultSet) []int64 {
	t.Helper()
	out := make([]int64, rs.ResultCount)
	for i := range out {
		id, err := rs.IDs.GetAsInt64(i)
		must(t, err)
		out[i] = id
	}
	return out
}
