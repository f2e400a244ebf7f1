package segment

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

// TestInterimBench measures the interim index on a large growing segment:
// insert throughput with the index off and on, search latency (nq=1, top
// 10) and recall@10 against brute force. Opt-in, it takes minutes and GBs:
//
//	MILVAGO_INTERIM_BENCH=1000000 go test ./internal/segment -run TestInterimBench -v -timeout 1h
//
// MILVAGO_INTERIM_BENCH is the row count (dim 128, uniform random rows).
func TestInterimBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MILVAGO_INTERIM_BENCH"))
	if n <= 0 {
		t.Skip("set MILVAGO_INTERIM_BENCH=<rows> to run")
	}
	const dim, batch, nq = 128, 10000, 100
	rng := rand.New(rand.NewPCG(7, 8))
	data := make([]float32, n*dim)
	for i := range data {
		data[i] = rng.Float32()
	}
	queries := make([]float32, nq*dim)
	for i := range queries {
		queries[i] = rng.Float32()
	}
	fill := func(enable bool) (*Growing, time.Duration, time.Duration) {
		cfg := DefaultInterimIndexConfig()
		cfg.Enable = enable
		g, err := NewGrowingWithInterim(1, 1, vecSchema(dim), cfg)
		if err != nil {
			t.Fatal(err)
		}
		indexAll(g)
		start := time.Now()
		for b := 0; b < n; b += batch {
			e := min(b+batch, n)
			pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, e-b)}
			age := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, e-b)}
			ts := make([]uint64, e-b)
			for i := range ts {
				pk.Data[i], age.Data[i], ts[i] = int64(b+i), int64(b+i), 1
			}
			if err := g.Append(ts, map[int64]column.Column{fPK: pk, fAge: age, fVec: &column.FloatVector{Dim: dim, Data: data[b*dim : e*dim]}}); err != nil {
				t.Fatal(err)
			}
		}
		appended := time.Since(start)
		g.waitInterim()
		return g, appended, time.Since(start)
	}
	latency := func(g *Growing, params map[string]string, exact bool) (time.Duration, []int64) {
		var lat []time.Duration
		var offs []int64
		for q := range nq {
			req := &SearchRequest{FieldID: fVec, IndexType: "HNSW", Queries: index.Dataset{Float: queries[q*dim : (q+1)*dim], Dim: dim},
				Params: index.SearchParams{K: 10, Params: params}, MVCCTs: math.MaxUint64, Exact: exact}
			start := time.Now()
			res, err := g.Search(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			offs = append(offs, res.Offsets...)
		}
		slices.Sort(lat)
		return lat[len(lat)/2], offs
	}
	recall := func(got, want []int64) float64 {
		hit := 0
		for q := range nq {
			for _, o := range got[q*10 : (q+1)*10] {
				if o >= 0 && slices.Contains(want[q*10:(q+1)*10], o) {
					hit++
				}
			}
		}
		return float64(hit) / float64(nq*10)
	}

	g, appendOff, _ := fill(false)
	bruteLat, truth := latency(g, nil, false)
	mem := g.MemoryBytes()
	t.Logf("interim off: %d rows x %d appended in %v (%.0f rows/s); search nq=1 top10 median %v; memory %d MiB",
		n, dim, appendOff.Round(time.Millisecond), float64(n)/appendOff.Seconds(), bruteLat.Round(time.Microsecond), mem>>20)
	g = nil

	// The first fill pays for fresh memory: fill again with the index off
	// so that the two throughputs compare like with like.
	_, appendOff2, _ := fill(false)
	t.Logf("interim off, second fill: appended in %v (%.0f rows/s)", appendOff2.Round(time.Millisecond), float64(n)/appendOff2.Seconds())

	g, appendOn, caughtUp := fill(true)
	v, _ := g.interim.fields[fVec].view()
	t.Logf("interim on: appended in %v (%.0f rows/s); index caught up (%d rows in lists, trained at %d) after %v; interim memory %d MiB, segment %d MiB",
		appendOn.Round(time.Millisecond), float64(n)/appendOn.Seconds(), v.rows, g.interim.fields[fVec].trainAt,
		caughtUp.Round(time.Millisecond), g.interimBytes()>>20, g.MemoryBytes()>>20)
	for _, np := range []int{16, 32, 64} {
		lat, got := latency(g, map[string]string{"nprobe": strconv.Itoa(np)}, false)
		t.Logf("interim on, nprobe %d of 128: search nq=1 top10 median %v (%.1fx brute force), recall@10 %.3f",
			np, lat.Round(time.Microsecond), bruteLat.Seconds()/lat.Seconds(), recall(got, truth))
	}
}

// TestInterimFirstSearchBench measures the first search of a large growing
// segment, as the query node creates it before (the field's index type
// learnt from the first search, which then scans while the interim index
// starts building) and after (the index type known from the load, so the
// interim index is built while the rows arrive). Opt-in, it takes minutes
// and GBs:
//
//	MILVAGO_INTERIM_BENCH=1000000 go test ./internal/segment -run TestInterimFirstSearchBench -v -timeout 1h
func TestInterimFirstSearchBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MILVAGO_INTERIM_BENCH"))
	if n <= 0 {
		t.Skip("set MILVAGO_INTERIM_BENCH=<rows> to run")
	}
	const dim, batch, nq = 128, 10000, 20
	rng := rand.New(rand.NewPCG(7, 8))
	data := make([]float32, n*dim)
	for i := range data {
		data[i] = rng.Float32()
	}
	queries := make([]float32, nq*dim)
	for i := range queries {
		queries[i] = rng.Float32()
	}
	search := func(g *Growing, q int) time.Duration {
		req := &SearchRequest{FieldID: fVec, IndexType: "HNSW", Queries: index.Dataset{Float: queries[q*dim : (q+1)*dim], Dim: dim},
			Params: index.SearchParams{K: 10}, MVCCTs: math.MaxUint64}
		start := time.Now()
		if _, err := g.Search(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	median := func(g *Growing) time.Duration {
		var lat []time.Duration
		for q := range nq {
			lat = append(lat, search(g, q))
		}
		slices.Sort(lat)
		return lat[len(lat)/2]
	}
	fill := func(typeAtCreation bool) (*Growing, time.Duration) {
		g, err := NewGrowingWithInterim(1, 1, vecSchema(dim), DefaultInterimIndexConfig())
		if err != nil {
			t.Fatal(err)
		}
		if typeAtCreation {
			g.SetIndexType(fVec, "HNSW")
		}
		start := time.Now()
		for b := 0; b < n; b += batch {
			e := min(b+batch, n)
			pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, e-b)}
			age := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, e-b)}
			ts := make([]uint64, e-b)
			for i := range ts {
				pk.Data[i], age.Data[i], ts[i] = int64(b+i), int64(b+i), 1
			}
			if err := g.Append(ts, map[int64]column.Column{fPK: pk, fAge: age, fVec: &column.FloatVector{Dim: dim, Data: data[b*dim : e*dim]}}); err != nil {
				t.Fatal(err)
			}
		}
		return g, time.Since(start)
	}

	// Before: the type arrives with the first search.
	g, appended := fill(false)
	g.SetIndexType(fVec, "HNSW")
	first := search(g, 0)
	indexedAtFirst := interimRows(g)
	start := time.Now()
	g.waitInterim()
	t.Logf("before (type learnt at the first search): %d rows appended in %v; first search %v (%d rows indexed); index caught up %v after it; then median %v",
		n, appended.Round(time.Millisecond), first.Round(time.Microsecond), indexedAtFirst, time.Since(start).Round(time.Millisecond),
		median(g).Round(time.Microsecond))
	g = nil
	runtime.GC()

	// After: the type is known when the segment is created.
	g, appended = fill(true)
	indexedAtFirst = interimRows(g)
	first = search(g, 0)
	start = time.Now()
	g.waitInterim()
	t.Logf("after (type known at creation): %d rows appended in %v; first search %v (%d rows indexed); index caught up %v after it; then median %v",
		n, appended.Round(time.Millisecond), first.Round(time.Microsecond), indexedAtFirst, time.Since(start).Round(time.Millisecond),
		median(g).Round(time.Microsecond))
}

// BenchmarkInterimSearch measures one top-10 search (nq=1, the default
// nprobe) of a growing segment answered from its interim index, and
// reports the memory the segment and its interim index hold. The row
// count is MILVAGO_INTERIM_BENCH_ROWS (default 300,000; dim 128, uniform
// random rows):
//
//	go test ./internal/segment -run '^$' -bench BenchmarkInterimSearch -benchtime 2000x
//
// MILVAGO_INTERIM_BENCH_EXACT=1 searches exactly (brute force) instead,
// for reference: as a FLAT field is searched. (It set SearchRequest.Exact
// until task interim12b, which serves a search iterator's page: every row
// scored and sorted into a ranking per new query, not a scan.)
func BenchmarkInterimSearch(b *testing.B) {
	exact := os.Getenv("MILVAGO_INTERIM_BENCH_EXACT") == "1"
	n := 300_000
	if v, err := strconv.Atoi(os.Getenv("MILVAGO_INTERIM_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	const dim, batch, nq = 128, 10000, 64
	rng := rand.New(rand.NewPCG(7, 8))
	g, err := NewGrowingWithInterim(1, 1, vecSchema(dim), DefaultInterimIndexConfig())
	if err != nil {
		b.Fatal(err)
	}
	indexAll(g)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, hi-lo)}
		age := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, hi-lo)}
		ts := make([]uint64, hi-lo)
		vec := make([]float32, (hi-lo)*dim)
		for i := range vec {
			vec[i] = rng.Float32()
		}
		for i := range ts {
			pk.Data[i], age.Data[i], ts[i] = int64(lo+i), int64(lo+i), 1
		}
		if err := g.Append(ts, map[int64]column.Column{fPK: pk, fAge: age, fVec: &column.FloatVector{Dim: dim, Data: vec}}); err != nil {
			b.Fatal(err)
		}
	}
	g.waitInterim()
	if got := interimRows(g); got < n/interimChunkRows*interimChunkRows {
		b.Fatalf("interim index holds %d of %d rows", got, n)
	}
	queries := randVecs(rng, nq, dim)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ctx := context.Background()
	q := 0
	cpu0 := processCPUNanos()
	indexType := "HNSW"
	if exact {
		indexType = "FLAT"
	}
	for b.Loop() {
		req := &SearchRequest{FieldID: fVec, IndexType: indexType, Queries: index.Dataset{Float: queries[q*dim : (q+1)*dim], Dim: dim},
			Params: index.SearchParams{K: 10}, MVCCTs: math.MaxUint64}
		if _, err := g.Search(ctx, req); err != nil {
			b.Fatal(err)
		}
		q = (q + 1) % nq
	}
	// Reported after the loop: b.Loop resets the timer and the metrics.
	// CPU time too: the machine may be shared, and a loaded machine
	// inflates wall time far more.
	b.ReportMetric(float64(processCPUNanos()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(g.MemoryBytes())/(1<<20), "segMiB")
	b.ReportMetric(float64(g.interimBytes())/(1<<20), "interimMiB")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heapMiB")
}

// BenchmarkGrowingScan measures the exact scan of a growing segment, the
// path a search takes where no interim index answers (a FLAT field, a
// selective filter, a segment not yet trained): one top-10 search (nq 1
// and nq 16) of every row, with and without a filter letting half the
// rows through; and the first page of a search iterator (Exact, one new
// query each time), which scores and sorts every row (ranking.go). The
// row count is MILVAGO_INTERIM_BENCH_ROWS (default 300,000; dim 128,
// uniform random rows):
//
//	go test ./internal/segment -run '^$' -bench BenchmarkGrowingScan -benchtime 20x
func BenchmarkGrowingScan(b *testing.B) {
	n := 300_000
	if v, err := strconv.Atoi(os.Getenv("MILVAGO_INTERIM_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	const dim, batch, nq = 128, 10000, 64
	rng := rand.New(rand.NewPCG(7, 8))
	cfg := DefaultInterimIndexConfig()
	cfg.Enable = false
	g, err := NewGrowingWithInterim(1, 1, vecSchema(dim), cfg)
	if err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		pk := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, hi-lo)}
		age := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, hi-lo)}
		ts := make([]uint64, hi-lo)
		vec := make([]float32, (hi-lo)*dim)
		for i := range vec {
			vec[i] = rng.Float32()
		}
		for i := range ts {
			pk.Data[i], age.Data[i], ts[i] = int64(lo+i), int64(lo+i), 1
		}
		if err := g.Append(ts, map[int64]column.Column{fPK: pk, fAge: age, fVec: &column.FloatVector{Dim: dim, Data: vec}}); err != nil {
			b.Fatal(err)
		}
	}
	queries := randVecs(rng, nq, dim)
	half := &ageFilter{keep: func(a int64) bool { return a%2 == 0 }}
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		nq     int
		filter Filter
		exact  bool
	}{
		{name: "nq1", nq: 1},
		{name: "nq16", nq: 16},
		{name: "nq1-half", nq: 1, filter: half},
		{name: "iterator-first-page", nq: 1, exact: true},
	} {
		b.Run(c.name, func(b *testing.B) {
			q := 0
			cpu0 := processCPUNanos()
			for b.Loop() {
				qs := make([]float32, 0, c.nq*dim)
				for i := range c.nq {
					j := (q + i) % nq
					qs = append(qs, queries[j*dim:(j+1)*dim]...)
				}
				req := &SearchRequest{FieldID: fVec, IndexType: "FLAT", Queries: index.Dataset{Float: qs, Dim: dim},
					Params: index.SearchParams{K: 10}, Filter: c.filter, MVCCTs: math.MaxUint64, Exact: c.exact}
				if _, err := g.Search(ctx, req); err != nil {
					b.Fatal(err)
				}
				q = (q + c.nq) % nq
			}
			b.ReportMetric(float64(processCPUNanos()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
			b.ReportMetric(float64(n*dim*4)/(1<<20)/(b.Elapsed().Seconds()/float64(b.N)), "MiB/s")
		})
	}
}
