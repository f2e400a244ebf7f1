package index

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/bitset"
)

func TestFlatExactRecall(t *testing.T) {
	const n, nq, d, k = 2000, 50, 37, 10
	data := randFloats(11, n, d)
	queries := randFloats(12, nq, d)
	for _, m := range []Metric{L2, IP, Cosine} {
		t.Run(string(m), func(t *testing.T) {
			idx := buildIndex(t, Spec{Type: TypeFlat, Metric: m, Dim: d}, Dataset{Dim: d, Float: data})
			res, err := idx.Search(context.Background(), Dataset{Dim: d, Float: queries}, SearchParams{K: k})
			if err != nil {
				t.Fatal(err)
			}
			gt := groundTruth(m, data, queries, d, k, nil)
			if r := recallAtK(res, gt, k); r < 0.999 {
				t.Errorf("recall@%d = %.4f, want >= 0.999 (exact search)", k, r)
			}
			assertSorted(t, res, m)
			// Reported scores are Milvus's: check one.
			want := exactScore(m, queries[:d], data[res.Labels[0]*d:(res.Labels[0]+1)*d])
			if math.Abs(float64(res.Distances[0]-want)) > 1e-4*math.Max(1, math.Abs(float64(want))) {
				t.Errorf("score %g, want %g", res.Distances[0], want)
			}
		})
	}
}

func TestFlatSingleQuerySplitsRows(t *testing.T) {
	// n >= 32768 with one query takes the row-split path and merges partial top-Ks.
	const n, d, k = 40000, 8, 20
	data := randFloats(13, n, d)
	q := randFloats(14, 1, d)
	idx := buildIndex(t, Spec{Type: TypeFlat, Metric: L2, Dim: d}, Dataset{Dim: d, Float: data})
	res, err := idx.Search(context.Background(), Dataset{Dim: d, Float: q}, SearchParams{K: k})
	if err != nil {
		t.Fatal(err)
	}
	if r := recallAtK(res, groundTruth(L2, data, q, d, k, nil), k); r < 1 {
		t.Errorf("recall %.3f, want 1", r)
	}
	assertSorted(t, res, L2)
}

func TestFlatFiltered(t *testing.T) {
	const n, nq, d, k = 3000, 20, 16, 10
	data := randFloats(21, n, d)
	queries := randFloats(22, nq, d)
	idx := buildIndex(t, Spec{Type: TypeFlat, Metric: IP, Dim: d}, Dataset{Dim: d, Float: data})
	for _, frac := range []float64{0.01, 0.5, 0.99, 1} {
		filter := randFilter(23, n, frac)
		res, err := idx.Search(context.Background(), Dataset{Dim: d, Float: queries}, SearchParams{K: k, Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		assertNoFiltered(t, res, filter, n)
		if r := recallAtK(res, groundTruth(IP, data, queries, d, k, filter), k); r < 0.999 {
			t.Errorf("filtered %.0f%%: recall %.4f", frac*100, r)
		}
	}
}

func TestFlatRangeSearch(t *testing.T) {
	const n, d, k = 1000, 8, 50
	data := randFloats(31, n, d)
	q := randFloats(32, 1, d)
	for _, m := range []Metric{L2, IP, Cosine} {
		idx := buildIndex(t, Spec{Type: TypeFlat, Metric: m, Dim: d}, Dataset{Dim: d, Float: data})
		all, _ := idx.Search(context.Background(), Dataset{Dim: d, Float: q}, SearchParams{K: n})
		// Pick radius and range_filter from the exact ranking so the window holds hits 5..29.
		lo, hi := all.Distances[5], all.Distances[30]
		params := map[string]string{"radius": fmt.Sprint(hi), "range_filter": fmt.Sprint(lo)}
		res, err := idx.Search(context.Background(), Dataset{Dim: d, Float: q}, SearchParams{K: k, Params: params})
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		win, _ := ParseRange(m, params)
		got := 0
		for i, l := range res.Labels {
			if l < 0 {
				continue
			}
			got++
			if !win.KeepScore(m, res.Distances[i]) {
				t.Errorf("%s: hit %d score %g outside [%g, %g)", m, l, res.Distances[i], lo, hi)
			}
		}
		if got != 25 {
			t.Errorf("%s: %d hits in range, want 25", m, got)
		}
	}
	idx := buildIndex(t, Spec{Type: TypeFlat, Metric: L2, Dim: d}, Dataset{Dim: d, Float: data})
	_, err := idx.Search(context.Background(), Dataset{Dim: d, Float: q}, SearchParams{K: 1, Params: map[string]string{"radius": "1", "range_filter": "2"}})
	if !errors.Is(err, ErrInvalidParam) {
		t.Errorf("L2 range_filter > radius: err=%v, want ErrInvalidParam", err)
	}
}

func TestFlatRoundTripAndErrors(t *testing.T) {
	const n, d = 500, 12
	data := randFloats(41, n, d)
	queries := randFloats(42, 10, d)
	for _, m := range []Metric{L2, Cosine} {
		idx := buildIndex(t, Spec{Type: TypeFlat, Metric: m, Dim: d, Params: map[string]string{"x": "y"}}, Dataset{Dim: d, Float: data})
		loaded := roundTrip(t, idx)
		if loaded.Len() != n || loaded.Spec().Metric != m || loaded.Spec().Params["x"] != "y" {
			t.Fatalf("loaded spec %+v len %d", loaded.Spec(), loaded.Len())
		}
		a, _ := idx.Search(context.Background(), Dataset{Dim: d, Float: queries}, SearchParams{K: 5})
		b, _ := loaded.Search(context.Background(), Dataset{Dim: d, Float: queries}, SearchParams{K: 5})
		for i := range a.Labels {
			if a.Labels[i] != b.Labels[i] || a.Distances[i] != b.Distances[i] {
				t.Fatalf("%s: slot %d differs after round trip", m, i)
			}
		}
	}
	if _, err := New(Spec{Type: TypeFlat, Metric: Hamming, Dim: 8}); !errors.Is(err, ErrInvalidParam) {
		t.Errorf("HAMMING FLAT: err=%v", err)
	}
	idx, _ := New(Spec{Type: TypeFlat, Metric: L2, Dim: 4})
	if _, err := idx.Search(context.Background(), Dataset{Dim: 4, Float: make([]float32, 4)}, SearchParams{K: 1}); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("search before build: err=%v", err)
	}
	if err := idx.Build(context.Background(), Dataset{Dim: 3, Float: make([]float32, 6)}); !errors.Is(err, ErrInvalidParam) {
		t.Errorf("dim mismatch: err=%v", err)
	}
	built := buildIndex(t, Spec{Type: TypeFlat, Metric: L2, Dim: d}, Dataset{Dim: d, Float: data})
	if _, err := built.Search(context.Background(), Dataset{Dim: d, Float: queries}, SearchParams{K: 1, Filter: bitset.New(3)}); !errors.Is(err, ErrInvalidParam) {
		t.Errorf("short filter: err=%v", err)
	}
}

func TestFlatConcurrentSearch(t *testing.T) {
	const n, d, k = 1000, 16, 5
	data := randFloats(51, n, d)
	idx := buildIndex(t, Spec{Type: TypeFlat, Metric: L2, Dim: d}, Dataset{Dim: d, Float: data})
	queries := randFloats(52, 8, d)
	want, _ := idx.Search(context.Background(), Dataset{Dim: d, Float: queries}, SearchParams{K: k})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				got, err := idx.Search(context.Background(), Dataset{Dim: d, Float: queries}, SearchParams{K: k})
				if err != nil {
					t.Error(err)
					return
				}
				for i := range got.Labels {
					if got.Labels[i] != want.Labels[i] {
						t.Error("concurrent search differs")
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
