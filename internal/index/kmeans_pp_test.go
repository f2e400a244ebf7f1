package index

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKMeansPlusPlusSeeds: k-means++ seeds are distinct rows of the data
// while distinct rows remain, one in each of k far-apart pairs of points
// (all but surely: a far point outweighs the other point of its pair by 10^10), the same
// for a seed, and the training keeps one centroid per pair.
func TestKMeansPlusPlusSeeds(t *testing.T) {
	const k, dim = 8, 3
	var data []float32
	for c := range k {
		// Pair c: two points 0.01 apart, pairs 1000 apart.
		data = append(data, float32(c)*1000, 0, 0, float32(c)*1000+0.01, 0, 0)
	}
	cent := make([]float32, k*dim)
	kmeansPlusPlusSeed(data, dim, cent, k, rand.New(rand.NewPCG(1, 2)))
	pairs := map[int]bool{}
	for c := range k {
		x := cent[c*dim]
		if !slices.ContainsFunc(data, func(v float32) bool { return v == x }) {
			t.Fatalf("seed %d (%v) is not a row", c, cent[c*dim:(c+1)*dim])
		}
		pairs[int(x+0.5)/1000] = true
	}
	if len(pairs) != k {
		t.Fatalf("seeds %v cover %d of %d pairs", cent, len(pairs), k)
	}
	again := make([]float32, k*dim)
	kmeansPlusPlusSeed(data, dim, again, k, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(cent, again) {
		t.Fatal("the same seed gave other seeds")
	}
	trained, err := KMeansPlusPlusL2(context.Background(), data, dim, k, 0, 7)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for c := range k {
		got[int(trained[c*dim]+0.5)/1000] = true
	}
	if len(got) != k {
		t.Fatalf("trained centroids %v cover %d of %d pairs", trained, len(got), k)
	}
}

// TestKMeansPlusPlusDuplicates: with fewer distinct rows than clusters the
// seeding still fills every centroid (with repeats), without looping.
func TestKMeansPlusPlusDuplicates(t *testing.T) {
	data := make([]float32, 0, 40)
	for i := range 20 {
		data = append(data, float32(i%2), 0)
	}
	cent := make([]float32, 5*2)
	kmeansPlusPlusSeed(data, 2, cent, 5, rand.New(rand.NewPCG(3, 4)))
	for c := range 5 {
		if x := cent[c*2]; x != 0 && x != 1 {
			t.Fatalf("seed %d = %v, not a row", c, cent[c*2:c*2+2])
		}
	}
	if !slices.Contains(cent, 0) || !slices.Contains(cent, 1) {
		t.Fatalf("seeds %v miss one of the two distinct rows", cent)
	}
}
