package index

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// hnswBenchIndex caches the index BenchmarkHNSWDatasetSearch builds, so
// that the benchmark's repeated calls (and the CPU profile) measure search,
// not construction.
var hnswBenchIndex struct {
	once    sync.Once
	idx     Index
	queries [][]float32
	d       int
	err     error
}

// BenchmarkHNSWDatasetSearch answers a real data set's queries one at a
// time, as `milvago bench ann` measures qps_1t, so that a CPU profile shows
// where a query's time goes (the build runs once, outside the timer):
//
//	MILVAGO_DATASET=/work/shared/data/glove-100-10k MILVAGO_EF=64 go test ./internal/index \
//	    -run '^$' -bench HNSWDatasetSearch -cpu 1 -cpuprofile /tmp/hnsw.prof
func BenchmarkHNSWDatasetSearch(b *testing.B) {
	dir := os.Getenv("MILVAGO_DATASET")
	if dir == "" {
		b.Skip("set MILVAGO_DATASET to a directory with base.fvecs and query.fvecs")
	}
	c := &hnswBenchIndex
	c.once.Do(func() {
		flat, queries, d := readBenchDataset(b, dir)
		c.queries, c.d = queries, d
		c.idx, c.err = New(Spec{Type: TypeHNSW, Metric: L2, Dim: d, Params: map[string]string{"M": "16", "efConstruction": "200"}})
		if c.err == nil {
			c.err = c.idx.Build(context.Background(), Dataset{Dim: d, Float: flat})
		}
	})
	if c.err != nil {
		b.Fatal(c.err)
	}
	params := map[string]string{"ef": "10"}
	if ef := os.Getenv("MILVAGO_EF"); ef != "" {
		if _, err := strconv.Atoi(ef); err != nil {
			b.Fatalf("MILVAGO_EF=%q: %v", ef, err)
		}
		params["ef"] = ef
	}
	ctx := context.Background()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	c0 := benchThreadCPUNanos()
	for i := range b.N {
		q := c.queries[i%len(c.queries)]
		if _, err := c.idx.Search(ctx, Dataset{Dim: c.d, Float: q}, SearchParams{K: 10, Params: params}); err != nil {
			b.Fatal(err)
		}
	}
	// The querying thread's CPU time per query (what bench ann's qps_1t
	// counts): a loaded machine inflates ns/op, much less this.
	b.ReportMetric(float64(benchThreadCPUNanos()-c0)/float64(b.N), "cpu-ns/op")
}
