package index

import (
	"context"
	"os"
	"testing"
)

// BenchmarkHNSWDatasetSearch answers a real data set's queries one at a
// time, as `milvago bench ann` measures qps_1t, so that a CPU profile shows
// where a query's time goes:
//
//	MILVAGO_DATASET=/work/shared/data/glove-100-10k go test ./internal/index \
//	    -run '^$' -bench HNSWDatasetSearch -cpu 1 -cpuprofile /tmp/hnsw.prof
func BenchmarkHNSWDatasetSearch(b *testing.B) {
	dir := os.Getenv("MILVAGO_DATASET")
	if dir == "" {
		b.Skip("set MILVAGO_DATASET to a directory with base.fvecs and query.fvecs")
	}
	flat, queries, d := readBenchDataset(b, dir)
	idx, err := New(Spec{Type: TypeHNSW, Metric: L2, Dim: d, Params: map[string]string{"M": "16", "efConstruction": "200"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := idx.Build(ctx, Dataset{Dim: d, Float: flat}); err != nil {
		b.Fatal(err)
	}
	params := map[string]string{"ef": "10"}
	if ef := os.Getenv("MILVAGO_EF"); ef != "" {
		params["ef"] = ef
	}
	b.ResetTimer()
	for i := range b.N {
		q := queries[i%len(queries)]
		if _, err := idx.Search(ctx, Dataset{Dim: d, Float: q}, SearchParams{K: 10, Params: params}); err != nil {
			b.Fatal(err)
		}
	}
}
