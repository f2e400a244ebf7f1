// Package analysis is the k-means of Milvus's analyze task: the centroids
// a vector clustering compaction maps rows to. The index node trains them
// (indexnode.Server.Analyze) and writes them to the object store; the data
// node's compaction reads them.
package analysis

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/milvago/milvago/internal/index"
)

// Params are an analysis's k-means settings.
type Params struct {
	NumClusters int     // centroids to train (at most the rows)
	TrainRatio  float64 // maxTrainSizeRatio: train on at most this share of the rows
	Seed        uint64  // sampling and seeding: an analysis run again gives the same centroids
	// RandomSeeding starts Lloyd's iterations from random rows, as the
	// IVF indexes train, instead of k-means++: what the analysis did
	// before, kept to measure against (datanode's
	// TestVectorClusteringRecallDatasets).
	RandomSeeding bool
}

// MaxPointsPerCentroid bounds the analysis's sample: at most this many rows
// per centroid (FAISS's and knowhere's max_points_per_centroid), and at
// most TrainRatio of the rows.
const MaxPointsPerCentroid = 256

// Train trains p.NumClusters centroids (clamped to [1, n]) over the n rows
// of points by L2 k-means: k-means++ seeding and 10 Lloyd iterations over
// a random sample of at most min(TrainRatio x n, 256 x k) rows (at least
// k). It returns k*dim values, row-major, and k. No rows: no centroid.
func (p Params) Train(ctx context.Context, points []float32, dim int) ([]float32, int, error) {
	n := len(points) / dim
	if n == 0 {
		return nil, 0, nil
	}
	k := min(max(p.NumClusters, 1), n)
	sample := MaxPointsPerCentroid * k
	if p.TrainRatio > 0 && p.TrainRatio < 1 {
		sample = min(sample, max(int(math.Ceil(p.TrainRatio*float64(n))), k))
	}
	if p.RandomSeeding {
		train := points
		if sample < n {
			rng := rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15))
			pick := rng.Perm(n)[:sample]
			slices.Sort(pick)
			train = make([]float32, 0, sample*dim)
			for _, i := range pick {
				train = append(train, points[i*dim:(i+1)*dim]...)
			}
		}
		cent, err := index.KMeansL2(ctx, train, dim, k, p.Seed)
		return cent, k, err
	}
	cent, err := index.KMeansPlusPlusL2(ctx, points, dim, k, sample, p.Seed)
	return cent, k, err
}
