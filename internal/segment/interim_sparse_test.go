package segment

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

func sparseSchema() *schemapb.CollectionSchema {
	return &schemapb.CollectionSchema{Name: "s", Fields: []*schemapb.FieldSchema{
		{FieldID: fPK, Name: "pk", IsPrimaryKey: true, DataType: schemapb.DataType_Int64},
		{FieldID: fAge, Name: "age", DataType: schemapb.DataType_Int64},
		{FieldID: fSparse, Name: "sparse", DataType: schemapb.DataType_SparseFloatVector},
	}}
}

// randBM25Row is a row of terms drawn from a Zipf-like vocabulary with term
// frequencies 1..3, indices ascending (a BM25 document).
func randBM25Row(rng *rand.Rand, vocab, maxTerms int) []byte {
	n := 1 + rng.IntN(maxTerms)
	terms := map[uint32]bool{}
	for len(terms) < n {
		terms[uint32(float64(vocab)*math.Pow(rng.Float64(), 2))] = true
	}
	keys := make([]uint32, 0, n)
	for k := range terms {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, 8*n)
	for _, k := range keys {
		b = binary.LittleEndian.AppendUint32(b, k)
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(1+rng.IntN(3))))
	}
	return b
}

func appendSparse(t testing.TB, g *Growing, rows [][]byte, lo, hi int, ts uint64) {
	t.Helper()
	for b := lo; b < hi; b += 5000 {
		e := min(b+5000, hi)
		pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64}
		age := &column.Scalar[int64]{Type: schemapb.DataType_Int64}
		tss := make([]uint64, e-b)
		for i := b; i < e; i++ {
			pk.Data, age.Data = append(pk.Data, int64(i)), append(age.Data, int64(i))
			tss[i-b] = ts
		}
		if err := g.Append(tss, map[int64]column.Column{fPK: pk, fAge: age, fSparse: &column.SparseVector{Rows: rows[b:e]}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSparseInterimEqualsBruteForce: BM25 searches of a growing segment's
// sparse field answered from its inverted interim index give exactly the
// scan's offsets and scores, with a filter, deletes, MVCC and a range
// window, while the tail (the partial last chunk) is scanned.
func TestSparseInterimEqualsBruteForce(t *testing.T) {
	const n, vocab = 9*1024 + 500, 300
	rng := rand.New(rand.NewPCG(5, 6))
	rows := make([][]byte, n)
	for i := range rows {
		rows[i] = randBM25Row(rng, vocab, 12)
	}
	g, err := NewGrowingWithInterim(1, 1, sparseSchema(), DefaultInterimIndexConfig())
	if err != nil {
		t.Fatal(err)
	}
	indexAll(g)
	appendSparse(t, g, rows, 0, n/2, 100)
	appendSparse(t, g, rows, n/2, n, 105)
	g.waitInterim()
	x := g.interim.sparse[fSparse]
	if x.rows != n/interimChunkRows*interimChunkRows || g.interimBytes() == 0 {
		t.Fatalf("sparse interim index holds %d rows (%d bytes)", x.rows, g.interimBytes())
	}
	var del []int64
	var dts []uint64
	for i := 0; i < n; i += 9 {
		del, dts = append(del, int64(i)), append(dts, 110)
	}
	g.Delete(del, nil, dts)
	queries := make([][]byte, 8)
	for i := range queries {
		queries[i] = randBM25Row(rng, vocab, 4)
	}
	filter := &ageFilter{keep: func(a int64) bool { return a%4 != 1 }}
	base := map[string]string{"bm25_k1": "1.2", "bm25_b": "0.75", "bm25_avgdl": "7.5"}
	probe, err := g.Search(context.Background(), &SearchRequest{FieldID: fSparse, IndexType: "SPARSE_INVERTED_INDEX", Metric: index.BM25, Exact: true,
		Queries: index.Dataset{Sparse: queries[:1]}, Params: index.SearchParams{K: 60, Params: base}, MVCCTs: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		name   string
		filter Filter
		mvcc   uint64
		extra  map[string]string
	}{
		{"plain", nil, 200, nil},
		{"filter", filter, 200, nil},
		{"mvcc", nil, 102, nil},
		{"range", nil, 200, map[string]string{"radius": fmt.Sprint(probe.Scores[59]), "range_filter": fmt.Sprint(probe.Scores[5])}},
	} {
		params := map[string]string{}
		for k, val := range base {
			params[k] = val
		}
		for k, val := range v.extra {
			params[k] = val
		}
		req := &SearchRequest{FieldID: fSparse, IndexType: "SPARSE_INVERTED_INDEX", Metric: index.BM25, Queries: index.Dataset{Sparse: queries},
			Params: index.SearchParams{K: 20, Params: params}, Filter: v.filter, MVCCTs: v.mvcc}
		got, err := g.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		req.Exact = true
		want, err := g.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Offsets, want.Offsets) || !slices.Equal(got.Scores, want.Scores) {
			t.Fatalf("%s: interim\n%v %v\nscan\n%v %v", v.name, got.Offsets, got.Scores, want.Offsets, want.Scores)
		}
		if !slices.ContainsFunc(got.Offsets, func(o int64) bool { return o >= 0 }) {
			t.Fatalf("%s: no hits: a vacuous check", v.name)
		}
	}
	// The index is really what answers: emptied, the indexed rows vanish.
	x.mu.Lock()
	x.postings = map[uint32][]sparsePosting{}
	x.mu.Unlock()
	req := &SearchRequest{FieldID: fSparse, IndexType: "SPARSE_INVERTED_INDEX", Metric: index.BM25, Queries: index.Dataset{Sparse: queries},
		Params: index.SearchParams{K: 20, Params: base}, MVCCTs: 200}
	got, _ := g.Search(context.Background(), req)
	for _, o := range got.Offsets {
		if o >= 0 && int(o) < x.rows {
			t.Fatalf("row %d found without its postings: the interim index was not used", o)
		}
	}
}

// TestSparseInterimBench: BM25 (or, with MILVAGO_INTERIM_BENCH_METRIC=IP,
// IP) search latency on growing rows, scan against the inverted interim
// index (MILVAGO_INTERIM_BENCH=<rows> go test ./internal/segment -run TestSparseInterimBench -v).
func TestSparseInterimBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MILVAGO_INTERIM_BENCH"))
	if n <= 0 {
		t.Skip("set MILVAGO_INTERIM_BENCH=<rows> to run")
	}
	const vocab, nq = 30000, 100
	metric := index.BM25
	if os.Getenv("MILVAGO_INTERIM_BENCH_METRIC") == "IP" {
		metric = index.IP
	}
	rng := rand.New(rand.NewPCG(9, 10))
	rows := make([][]byte, n)
	for i := range rows {
		rows[i] = randBM25Row(rng, vocab, 60)
	}
	queries := make([][]byte, nq)
	for i := range queries {
		queries[i] = randBM25Row(rng, vocab, 5)
	}
	run := func(enable bool) {
		cfg := DefaultInterimIndexConfig()
		cfg.Enable = enable
		g, err := NewGrowingWithInterim(1, 1, sparseSchema(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		indexAll(g)
		start := time.Now()
		appendSparse(t, g, rows, 0, n, 1)
		appended := time.Since(start)
		g.waitInterim()
		caught := time.Since(start)
		var lat []time.Duration
		for q := range nq {
			req := &SearchRequest{FieldID: fSparse, IndexType: "SPARSE_INVERTED_INDEX", Metric: metric, Queries: index.Dataset{Sparse: queries[q : q+1]},
				Params: index.SearchParams{K: 10, Params: map[string]string{"bm25_avgdl": "30"}}, MVCCTs: math.MaxUint64}
			s := time.Now()
			if _, err := g.Search(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(s))
		}
		slices.Sort(lat)
		t.Logf("sparse interim %v: %d rows appended in %v, indexed after %v, interim memory %d MiB; %s search nq=1 top10 median %v",
			enable, n, appended.Round(time.Millisecond), caught.Round(time.Millisecond), g.interimBytes()>>20, metric, lat[len(lat)/2].Round(time.Microsecond))
	}
	run(false)
	run(true)
}
