package index

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
)

// SCANN builds with and without raw data, finds a stored vector as its own
// nearest neighbour, checks nlist and reorder_k, and survives WriteTo/Load
// with its type and parameters.
func TestSCANN(t *testing.T) {
	const n, dim = 500, 8
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, n*dim)
	for i := range data {
		data[i] = r.Float32()
	}
	for _, raw := range []string{"true", "false"} {
		for _, m := range []Metric{L2, IP, Cosine} {
			idx, err := New(Spec{Type: TypeSCANN, Metric: m, Dim: dim, Params: map[string]string{"nlist": "16", "with_raw_data": raw}})
			if err != nil {
				t.Fatal(err)
			}
			if err := idx.Build(context.Background(), Dataset{Dim: dim, Float: data}); err != nil {
				t.Fatal(err)
			}
			q := Dataset{Dim: dim, Float: data[7*dim : 8*dim]}
			res, err := idx.Search(context.Background(), q, SearchParams{K: 5, Params: map[string]string{"nprobe": "16", "reorder_k": "3"}})
			if err != nil {
				t.Fatal(err)
			}
			if m == L2 && raw == "true" && res.Labels[0] != 7 {
				t.Errorf("raw L2: nearest %d, want 7", res.Labels[0])
			}
			if _, err := idx.Search(context.Background(), q, SearchParams{K: 5, Params: map[string]string{"reorder_k": "0"}}); !errors.Is(err, ErrInvalidParam) {
				t.Errorf("reorder_k 0: %v", err)
			}
			var buf bytes.Buffer
			if _, err := idx.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := Load(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if s := back.Spec(); s.Type != TypeSCANN || s.Metric != m || s.Params["with_raw_data"] != raw || s.Params["nlist"] != "16" {
				t.Errorf("loaded spec %+v", s)
			}
			res2, err := back.Search(context.Background(), q, SearchParams{K: 5, Params: map[string]string{"nprobe": "16"}})
			if err != nil || res2.Labels[0] != res.Labels[0] {
				t.Errorf("loaded search: %v %v", res2, err)
			}
		}
	}
	if _, err := New(Spec{Type: TypeSCANN, Metric: L2, Dim: dim, Params: map[string]string{"nlist": "0"}}); !errors.Is(err, ErrInvalidParam) {
		t.Errorf("nlist 0: %v", err)
	}
	if _, err := New(Spec{Type: TypeSCANN, Metric: Hamming, Dim: dim}); !errors.Is(err, ErrInvalidParam) {
		t.Errorf("HAMMING: %v", err)
	}
}
