package index

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
)

// DISKANN builds, finds a stored vector as its own nearest neighbour,
// checks max_degree and search_list, and survives WriteTo/Load with its
// type and parameters.
func TestDiskANN(t *testing.T) {
	const n, dim = 500, 8
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, n*dim)
	for i := range data {
		data[i] = r.Float32()
	}
	for _, raw := range []string{"true"} { // one shape; raw names the L2 check below
		for _, m := range []Metric{L2, IP, Cosine} {
			idx, err := New(Spec{Type: TypeDiskANN, Metric: m, Dim: dim, Params: map[string]string{"max_degree": "24", "search_list_size": "64"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := idx.Build(context.Background(), Dataset{Dim: dim, Float: data}); err != nil {
				t.Fatal(err)
			}
			q := Dataset{Dim: dim, Float: data[7*dim : 8*dim]}
			res, err := idx.Search(context.Background(), q, SearchParams{K: 5, Params: map[string]string{"search_list": "20"}})
			if err != nil {
				t.Fatal(err)
			}
			if m == L2 && raw == "true" && res.Labels[0] != 7 {
				t.Errorf("raw L2: nearest %d, want 7", res.Labels[0])
			}
			if _, err := idx.Search(context.Background(), q, SearchParams{K: 5, Params: map[string]string{"search_list": "3"}}); !errors.Is(err, ErrInvalidParam) {
				t.Errorf("search_list below k: %v", err)
			}
			var buf bytes.Buffer
			if _, err := idx.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := Load(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if s := back.Spec(); s.Type != TypeDiskANN || s.Metric != m || s.Params["max_degree"] != "24" {
				t.Errorf("loaded spec %+v", s)
			}
			res2, err := back.Search(context.Background(), q, SearchParams{K: 5, Params: map[string]string{"search_list": "20"}})
			if err != nil || res2.Labels[0] != res.Labels[0] {
				t.Errorf("loaded search: %v %v", res2, err)
			}
		}
	}
	if _, err := New(Spec{Type: TypeDiskANN, Metric: L2, Dim: dim, Params: map[string]string{"max_degree": "0"}}); !errors.Is(err, ErrInvalidParam) {
		t.Errorf("max_degree 0: %v", err)
	}
	if _, err := New(Spec{Type: TypeDiskANN, Metric: Hamming, Dim: dim}); !errors.Is(err, ErrInvalidParam) {
		t.Errorf("HAMMING: %v", err)
	}
}
