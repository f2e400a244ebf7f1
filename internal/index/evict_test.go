package index

import (
	"context"
	"math/rand/v2"
	"testing"
)

// TestBuildEvictsCopiedInput: an index that builds from its own copy of
// the vectors (COSINE normalizes them) tells the data set so once copied,
// and one that reads the caller's vectors (L2, IP) never does.
func TestBuildEvictsCopiedInput(t *testing.T) {
	const dim, n = 8, 300
	r := rand.New(rand.NewPCG(3, 4))
	vecs := make([]float32, n*dim)
	for i := range vecs {
		vecs[i] = r.Float32() + 0.1
	}
	for _, tc := range []struct {
		typ    string
		metric Metric
		want   int
	}{
		{TypeHNSW, Cosine, 1}, {TypeHNSW, L2, 0}, {TypeHNSW, IP, 0},
		{TypeFlat, Cosine, 1}, {TypeFlat, L2, 0},
	} {
		idx, err := New(Spec{Type: tc.typ, Metric: tc.metric, Dim: dim, Params: map[string]string{"M": "8", "efConstruction": "20"}})
		if err != nil {
			t.Fatal(err)
		}
		evicted := 0
		if err := idx.Build(context.Background(), Dataset{Dim: dim, Float: vecs, Evict: func() { evicted++ }}); err != nil {
			t.Fatal(err)
		}
		if evicted != tc.want {
			t.Errorf("%s %s: input evicted %d times, want %d", tc.typ, tc.metric, evicted, tc.want)
		}
		if tc.metric == IP {
			continue // a row need not be its own best inner product
		}
		// The built index still answers from its own vectors.
		res, err := idx.Search(context.Background(), Dataset{Dim: dim, Float: vecs[:dim]}, SearchParams{K: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Labels[0] != 0 {
			t.Errorf("%s %s: nearest to row 0 is %v", tc.typ, tc.metric, res.Labels)
		}
	}
}
