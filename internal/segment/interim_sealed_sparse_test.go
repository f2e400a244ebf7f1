package segment

import (
	"context"
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

// sealedSparse is a sealed segment of sparse rows (pk = age = row), the
// first half written at ts 100, the rest at 105, without an index.
func sealedSparse(t testing.TB, rows [][]byte) *Sealed {
	t.Helper()
	n := len(rows)
	pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	age := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	ts := make([]uint64, n)
	for i := range n {
		pk.Data[i], age.Data[i], ts[i] = int64(i), int64(i), 100
		if i >= n/2 {
			ts[i] = 105
		}
	}
	s, err := NewSealed(8, 1, sparseSchema(), ts, map[int64]column.Column{fPK: pk, fAge: age, fSparse: &column.SparseVector{Rows: rows}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSealedSparseInterimEqualsScan: a sealed segment whose sparse field
// was loaded without its index builds the inverted interim index over all
// its rows (the partial last chunk too) when the collection's index is a
// sparse one, and its BM25 and IP answers are exactly the scan's (an
// oracle: the scan) with deletes, a filter, MVCC and range windows; no
// index definition, or too few rows, build none; and the postings are
// what answers (emptied, the answers change).
func TestSealedSparseInterimEqualsScan(t *testing.T) {
	const n, vocab, nlist = 6*1024 + 333, 300, 32 // over 39 x nlist rows
	rng := rand.New(rand.NewPCG(41, 42))
	bm25Rows, ipRows := make([][]byte, n), make([][]byte, n)
	for i := range n {
		bm25Rows[i], ipRows[i] = randBM25Row(rng, vocab, 12), randIPRow(rng, vocab, 10)
	}
	types := map[int64]string{fSparse: "SPARSE_INVERTED_INDEX"}
	for _, none := range []map[int64]string{nil, {fSparse: ""}} {
		if sealedSparse(t, bm25Rows).PrepareInterim(smallInterim(nlist), none) {
			t.Fatalf("interim index prepared with index types %v", none)
		}
	}
	if sealedSparse(t, bm25Rows[:39*nlist-1]).PrepareInterim(smallInterim(nlist), types) {
		t.Fatal("interim index prepared below the build threshold")
	}
	for _, metric := range []index.Metric{index.BM25, index.IP} {
		rows := bm25Rows
		if metric == index.IP {
			rows = ipRows
		}
		s := sealedSparse(t, rows)
		if !s.PrepareInterim(smallInterim(nlist), types) {
			t.Fatalf("%s: no interim index prepared", metric)
		}
		s.BuildInterim(context.Background())
		x := s.interim.sparse[fSparse]
		if x.rows != n || s.interimBytes() == 0 {
			t.Fatalf("%s: interim index holds %d rows (%d bytes), want all %d", metric, x.rows, s.interimBytes(), n)
		}
		var del []int64
		var dts []uint64
		for i := 0; i < n; i += 7 {
			del, dts = append(del, int64(i)), append(dts, 110)
		}
		s.Delete(del, nil, dts)
		queries := make([][]byte, 10)
		for i := range queries {
			if metric == index.BM25 {
				queries[i] = randBM25Row(rng, vocab, 4)
			} else {
				queries[i] = randIPRow(rng, vocab, 6)
			}
		}
		base := map[string]string{}
		if metric == index.BM25 {
			base = map[string]string{"bm25_k1": "1.2", "bm25_b": "0.75", "bm25_avgdl": "7.5"}
		}
		probe, err := s.Search(context.Background(), &SearchRequest{FieldID: fSparse, IndexType: "SPARSE_INVERTED_INDEX", Metric: metric, Exact: true,
			Queries: index.Dataset{Sparse: queries[:1]}, Params: index.SearchParams{K: 60, Params: base}, MVCCTs: 200})
		if err != nil {
			t.Fatal(err)
		}
		search := func(k int, extra map[string]string, f Filter, mvcc uint64, exact bool) *SearchResult {
			t.Helper()
			params := map[string]string{}
			for key, v := range base {
				params[key] = v
			}
			for key, v := range extra {
				params[key] = v
			}
			res, err := s.Search(context.Background(), &SearchRequest{FieldID: fSparse, IndexType: "SPARSE_INVERTED_INDEX", Metric: metric,
				Queries: index.Dataset{Sparse: queries}, Params: index.SearchParams{K: k, Params: params}, Filter: f, MVCCTs: mvcc, Exact: exact})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		for _, v := range []struct {
			name   string
			k      int
			filter Filter
			mvcc   uint64
			extra  map[string]string
		}{
			{"plain", 10, nil, 200, nil},
			{"deep", 400, nil, 200, nil}, // IP: past the rows sharing a term, the 0s fill in
			{"filter", 30, &ageFilter{keep: func(a int64) bool { return a%4 != 1 }}, 200, nil},
			{"mvcc", 20, nil, 102, nil},
			{"range", 20, nil, 200, map[string]string{"radius": fmt.Sprint(probe.Scores[59]), "range_filter": fmt.Sprint(probe.Scores[5])}},
		} {
			got := search(v.k, v.extra, v.filter, v.mvcc, false)
			want := search(v.k, v.extra, v.filter, v.mvcc, true)
			for i := range got.Offsets {
				if got.Offsets[i] != want.Offsets[i] || got.Scores[i] != want.Scores[i] {
					t.Fatalf("%s %s: hit %d (query %d): interim %d %v, scan %d %v", metric, v.name, i, i/v.k,
						got.Offsets[i], got.Scores[i], want.Offsets[i], want.Scores[i])
				}
			}
			if !slices.ContainsFunc(got.Offsets, func(o int64) bool { return o >= 0 }) {
				t.Fatalf("%s %s: no hits: a vacuous check", metric, v.name)
			}
		}
		// The postings are what answers: emptied, the answers change.
		want := search(10, nil, nil, 200, true)
		x.mu.Lock()
		x.postings = map[uint32][]sparsePosting{}
		x.mu.Unlock()
		if got := search(10, nil, nil, 200, false); slices.Equal(got.Offsets, want.Offsets) {
			t.Fatalf("%s: emptied postings still give the scan's answer: the interim index was not used", metric)
		}
	}
}

// TestSealedSparseInterimBench: BM25 (or, with
// MILVAGO_INTERIM_BENCH_METRIC=IP, IP) search latency on a sealed segment
// whose sparse field has no index, scan against the inverted interim
// index built at load (opt-in:
// MILVAGO_INTERIM_BENCH=<rows> go test ./internal/segment -run TestSealedSparseInterimBench -v).
func TestSealedSparseInterimBench(t *testing.T) {
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
	s := sealedSparse(t, rows)
	latency := func() time.Duration {
		var lat []time.Duration
		for q := range nq {
			req := &SearchRequest{FieldID: fSparse, IndexType: "SPARSE_INVERTED_INDEX", Metric: metric, Queries: index.Dataset{Sparse: queries[q : q+1]},
				Params: index.SearchParams{K: 10, Params: map[string]string{"bm25_avgdl": "30"}}, MVCCTs: math.MaxUint64}
			start := time.Now()
			if _, err := s.Search(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		return lat[len(lat)/2]
	}
	scan := latency()
	start := time.Now()
	if !s.PrepareInterim(DefaultInterimIndexConfig(), map[int64]string{fSparse: "SPARSE_INVERTED_INDEX"}) {
		t.Fatal("no interim index prepared")
	}
	s.BuildInterim(context.Background())
	built := time.Since(start)
	after := latency()
	t.Logf("sealed sparse, %d rows, %s: scan median %v; interim index built in %v (%d MiB); interim median %v (%.1fx)",
		n, metric, scan.Round(time.Microsecond), built.Round(time.Millisecond), s.interimBytes()>>20, after.Round(time.Microsecond),
		scan.Seconds()/after.Seconds())
}
