package segment

import (
	"context"
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

// sealedVecs is a sealed segment of rows data (pk = age = row), without
// an index on its vector field.
func sealedVecs(t testing.TB, data []float32, dim int) *Sealed {
	t.Helper()
	n := len(data) / dim
	pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	age := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	ts := make([]uint64, n)
	for i := range n {
		pk.Data[i], age.Data[i], ts[i] = int64(i), int64(i), 100
	}
	s, err := NewSealed(7, 1, vecSchema(dim), ts, map[int64]column.Column{fPK: pk, fAge: age, fVec: &column.FloatVector{Dim: dim, Data: data}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSealedInterimEqualsBruteForce: a sealed segment without its index
// builds an interim index over all its rows (the last partial chunk too);
// with nprobe = nlist its answers equal brute force, with deletes and a
// filter; a FLAT field is never answered from it; a field without an
// index definition or with a FLAT one, or too few rows, build none.
func TestSealedInterimEqualsBruteForce(t *testing.T) {
	const dim, nlist = 16, 32
	n := 39*nlist + 5*1024 + 77 // over Milvus's threshold (39 x nlist), a partial last chunk
	rng := rand.New(rand.NewPCG(3, 4))
	data := randVecs(rng, n, dim)
	s := sealedVecs(t, data, dim)
	hnsw := map[int64]string{fVec: "HNSW"}
	// No index definition, or an exact one: none (as Milvus).
	for _, types := range []map[int64]string{nil, {fVec: "FLAT"}} {
		if sealedVecs(t, data, dim).PrepareInterim(smallInterim(nlist), types) {
			t.Fatalf("interim index prepared for index types %v", types)
		}
	}
	if !s.PrepareInterim(smallInterim(nlist), hnsw) {
		t.Fatal("no interim index prepared")
	}
	s.BuildInterim(context.Background())
	if v, ok := s.interim.fields[fVec].view(); !ok || v.rows != n {
		t.Fatalf("interim index holds %d rows, want all %d", v.rows, n)
	}
	var del []int64
	var dts []uint64
	for i := 0; i < n; i += 5 {
		del, dts = append(del, int64(i)), append(dts, 110)
	}
	s.Delete(del, nil, dts)
	queries := randVecs(rng, 20, dim)
	filter := &ageFilter{keep: func(a int64) bool { return a%3 != 0 }}
	for _, metric := range []index.Metric{index.L2, index.IP, index.Cosine} {
		for _, f := range []Filter{nil, filter} {
			req := &SearchRequest{FieldID: fVec, IndexType: "HNSW", Metric: metric, Queries: index.Dataset{Float: queries, Dim: dim},
				Params: index.SearchParams{K: 10, Params: map[string]string{"nprobe": strconv.Itoa(nlist)}}, Filter: f, MVCCTs: 200}
			got, err := s.Search(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			req.Exact = true
			want, err := s.Search(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Offsets, want.Offsets) || !slices.Equal(got.Scores, want.Scores) {
				t.Fatalf("%s filter=%v: interim %v, brute force %v", metric, f != nil, got.Offsets, want.Offsets)
			}
		}
	}
	// nprobe 1 uses the lists (differs from brute force somewhere); a FLAT
	// field does not (equals it).
	req := &SearchRequest{FieldID: fVec, IndexType: "HNSW", Queries: index.Dataset{Float: queries, Dim: dim}, MVCCTs: 200,
		Params: index.SearchParams{K: 10, Params: map[string]string{"nprobe": "1"}}}
	got, _ := s.Search(context.Background(), req)
	req.IndexType = "FLAT"
	flat, _ := s.Search(context.Background(), req)
	req.IndexType, req.Exact = "HNSW", true
	want, _ := s.Search(context.Background(), req)
	req.IndexType, req.Exact = "", false
	none, _ := s.Search(context.Background(), req)
	if !slices.Equal(none.Offsets, want.Offsets) {
		t.Fatal("a field without an index definition was answered from the interim index")
	}
	if slices.Equal(got.Offsets, want.Offsets) {
		t.Fatal("nprobe 1 gave the brute-force results: the interim index was not searched")
	}
	if !slices.Equal(flat.Offsets, want.Offsets) {
		t.Fatal("a FLAT field was answered from the interim index")
	}

	// Below 39 x nlist rows: none (Milvus's GetBuildThreshold).
	if sealedVecs(t, data[:(39*nlist-1)*dim], dim).PrepareInterim(smallInterim(nlist), hnsw) {
		t.Fatal("interim index prepared below the build threshold")
	}
	// A cancelled build stops, and searches stay exact over what is not indexed.
	s2 := sealedVecs(t, data, dim)
	s2.PrepareInterim(smallInterim(nlist), hnsw)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s2.BuildInterim(ctx)
	req = &SearchRequest{FieldID: fVec, IndexType: "HNSW", Queries: index.Dataset{Float: queries, Dim: dim}, MVCCTs: 200, Params: index.SearchParams{K: 10}}
	got, _ = s2.Search(context.Background(), req)
	req.Exact = true
	want, _ = s2.Search(context.Background(), req)
	if !slices.Equal(got.Offsets, want.Offsets) {
		t.Fatal("a segment whose interim build was cancelled does not answer exactly")
	}
}

// TestSealedInterimBench: search latency on a sealed segment awaiting its
// index, brute force against the interim index
// (MILVAGO_INTERIM_BENCH=<rows> go test ./internal/segment -run TestSealedInterimBench -v).
func TestSealedInterimBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MILVAGO_INTERIM_BENCH"))
	if n <= 0 {
		t.Skip("set MILVAGO_INTERIM_BENCH=<rows> to run")
	}
	const dim, nq = 128, 100
	rng := rand.New(rand.NewPCG(7, 8))
	data := make([]float32, n*dim)
	for i := range data {
		data[i] = rng.Float32()
	}
	queries := make([]float32, nq*dim)
	for i := range queries {
		queries[i] = rng.Float32()
	}
	s := sealedVecs(t, data, dim)
	latency := func(params map[string]string, exact bool) (time.Duration, []int64) {
		var lat []time.Duration
		var offs []int64
		for q := range nq {
			req := &SearchRequest{FieldID: fVec, IndexType: "HNSW", Queries: index.Dataset{Float: queries[q*dim : (q+1)*dim], Dim: dim},
				Params: index.SearchParams{K: 10, Params: params}, MVCCTs: math.MaxUint64, Exact: exact}
			start := time.Now()
			res, err := s.Search(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			offs = append(offs, res.Offsets...)
		}
		slices.Sort(lat)
		return lat[len(lat)/2], offs
	}
	bruteLat, truth := latency(nil, false)
	t.Logf("sealed, no index, no interim: %d rows x %d, search nq=1 top10 median %v", n, dim, bruteLat.Round(time.Microsecond))
	start := time.Now()
	s.PrepareInterim(DefaultInterimIndexConfig(), map[int64]string{fVec: "HNSW"})
	s.BuildInterim(context.Background())
	t.Logf("interim index built in %v; interim memory %d MiB", time.Since(start).Round(time.Millisecond), s.interimBytes()>>20)
	for _, np := range []int{16, 32, 64} {
		lat, got := latency(map[string]string{"nprobe": strconv.Itoa(np)}, false)
		hit := 0
		for q := range nq {
			for _, o := range got[q*10 : (q+1)*10] {
				if o >= 0 && slices.Contains(truth[q*10:(q+1)*10], o) {
					hit++
				}
			}
		}
		t.Logf("interim, nprobe %d of 128: median %v (%.1fx brute force), recall@10 %.3f", np, lat.Round(time.Microsecond),
			bruteLat.Seconds()/lat.Seconds(), float64(hit)/float64(nq*10))
	}
}
