package index

import "context"

// KMeansL2 clusters the len(data)/dim points of data into k centroids
// (k*dim values, row-major) by squared L2, with the same training as the
// IVF indexes (10 Lloyd iterations over a sample of at most 256*k points).
// The growing segments' interim index trains its coarse quantizer with it.
func KMeansL2(ctx context.Context, data []float32, dim, k int, seed uint64) ([]float32, error) {
	return kmeansTrain(ctx, data, dim, kmeansConfig{K: k, Seed: seed})
}

// KMeansPlusPlusL2 is KMeansL2 seeded by k-means++ (kmeansPlusPlusSeed)
// rather than by k random points, and trained on at most maxTrain points
// of data (0: 256*k, as KMeansL2): the vector clustering compaction's
// analysis, whose centroids decide which segments a pruned search reads.
func KMeansPlusPlusL2(ctx context.Context, data []float32, dim, k, maxTrain int, seed uint64) ([]float32, error) {
	return kmeansTrain(ctx, data, dim, kmeansConfig{K: k, Seed: seed, PlusPlus: true, MaxTrain: maxTrain})
}

// KMeansL2Rows is KMeansL2 over n points of dim values read through row,
// for points not stored contiguously (a growing segment's chunks): only
// the sample it trains on is copied. It returns what KMeansL2 returns for
// the same points laid end to end.
func KMeansL2Rows(ctx context.Context, n int, row func(i int) []float32, dim, k int, seed uint64) ([]float32, error) {
	return kmeansTrainRows(ctx, n, row, nil, dim, kmeansConfig{K: k, Seed: seed})
}

// AssignL2 writes into assign[i] the centroid of cent nearest (squared L2)
// to point i of points, in parallel over all cores.
func AssignL2(points []float32, dim int, cent []float32, assign []int32) {
	kmeansAssign(points, dim, cent, len(cent)/dim, false, assign)
}
