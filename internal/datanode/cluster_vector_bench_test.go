package datanode

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/milvago/milvago/internal/analysis"
	"github.com/milvago/milvago/internal/column"
)

// BenchmarkVectorClusterMapping measures the data node's part of a vector
// clustering compaction's mapping on 200,000 rows of 128 floats and 17
// centroids (tests/e2e's TestVectorClusteringBenchmark): with the analyze
// task's offset mapping (what it does) against assigning every row to its
// nearest centroid first (what it did before the mapping files; the index
// node now does that assignment once, over the rows it has read anyway).
//
//	go test -run '^$' -bench VectorClusterMapping ./internal/datanode
func BenchmarkVectorClusterMapping(b *testing.B) {
	const n, dim, k = 200_000, 128, 17
	r := rand.New(rand.NewPCG(1, 2))
	key := &column.FloatVector{Dim: dim, Data: make([]float32, n*dim)}
	for i := range key.Data {
		key.Data[i] = float32(r.NormFloat64())
	}
	cent, _, err := analysis.Params{NumClusters: k, TrainRatio: 0.8, Seed: 1}.Train(context.Background(), key.Data, dim)
	if err != nil {
		b.Fatal(err)
	}
	mapped := nearestMapping(key, cent)
	b.Run("offset mapping", func(b *testing.B) {
		for b.Loop() {
			if _, err := mapVectorClusters(key, cent, mapped, 0.01); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nearest centroid computed", func(b *testing.B) {
		for b.Loop() {
			if _, err := mapVectorClusters(key, cent, nearestMapping(key, cent), 0.01); err != nil {
				b.Fatal(err)
			}
		}
	})
}
