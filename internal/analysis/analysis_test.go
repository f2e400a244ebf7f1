package analysis

import (
	"context"
	"slices"
	"testing"
)

// TestTrain: k is clamped to the rows, no rows give no centroid, and the
// same seed gives the same centroids while another seed may not.
func TestTrain(t *testing.T) {
	ctx := context.Background()
	points := []float32{0, 0, 0, 1, 10, 10, 10, 11, 20, 20, 20, 21}
	cent, k, err := Params{NumClusters: 16, TrainRatio: 0.8, Seed: 1}.Train(ctx, points, 2)
	if err != nil || k != 6 || len(cent) != 12 {
		t.Fatalf("16 centroids of 6 rows: k %d, %d values, %v", k, len(cent), err)
	}
	if cent, k, err := (Params{NumClusters: 4}).Train(ctx, nil, 2); err != nil || k != 0 || cent != nil {
		t.Fatalf("no rows: %v %d %v", cent, k, err)
	}
	for _, random := range []bool{false, true} {
		p := Params{NumClusters: 3, TrainRatio: 1, Seed: 9, RandomSeeding: random}
		a, _, err := p.Train(ctx, points, 2)
		if err != nil {
			t.Fatal(err)
		}
		b, _, _ := p.Train(ctx, points, 2)
		if !slices.Equal(a, b) {
			t.Fatalf("random %v: same seed, other centroids", random)
		}
		// Three well separated pairs: each centroid is a pair's mean.
		slices.Sort(a)
		if want := []float32{0, 0.5, 10, 10.5, 20, 20.5}; !slices.Equal(a, want) {
			t.Fatalf("random %v: centroids %v, want %v", random, a, want)
		}
	}
}
