package index

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestDiskANNRecall(t *testing.T) {
	const n, d, nq, k = 4000, 32, 50, 10
	data := clusteredFloats(1, n, d, 40)
	queries := clusteredFloats(2, nq, d, 40)
	for _, m := range []Metric{L2, IP, Cosine} {
		t.Run(string(m), func(t *testing.T) {
			spec := Spec{Type: TypeDiskANN, Metric: m, Dim: d, Params: map[string]string{"max_degree": "32", "search_list_size": "100"}}
			idx := buildIndex(t, spec, Dataset{Dim: d, Float: data})
			gt := groundTruth(m, data, queries, d, k, nil)
			for _, loaded := range []Index{idx, roundTrip(t, idx)} {
				res, err := loaded.Search(context.Background(), Dataset{Dim: d, Float: queries}, SearchParams{K: k, Params: map[string]string{"search_list": "100"}})
				if err != nil {
					t.Fatal(err)
				}
				assertSorted(t, res, m)
				if r := recallAtK(res, gt, k); r < 0.95 {
					t.Fatalf("%s recall@%d = %.3f, want >= 0.95", m, k, r)
				}
			}
			filter := randFilter(3, n, 0.5)
			res, err := idx.Search(context.Background(), Dataset{Dim: d, Float: queries}, SearchParams{K: k, Filter: filter})
			if err != nil {
				t.Fatal(err)
			}
			assertNoFiltered(t, res, filter, n)
			if r := recallAtK(res, groundTruth(m, data, queries, d, k, filter), k); r < 0.9 {
				t.Fatalf("filtered recall %.3f", r)
			}
		})
	}
}

func TestDiskANNDiskRecordsAliasInput(t *testing.T) {
	const n, d = 500, 16
	data := randFloats(5, n, d)
	idx := buildIndex(t, Spec{Type: TypeDiskANN, Metric: L2, Dim: d, Params: map[string]string{"search_cache_budget_gb_ratio": "0"}}, Dataset{Dim: d, Float: data})
	var buf writeBuffer
	if _, err := idx.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	raw := buf.b
	l, err := Load(raw)
	if err != nil {
		t.Fatal(err)
	}
	x := l.(*diskann)
	if len(x.disk) == 0 || &x.disk[0] != &raw[len(raw)-len(x.disk)] {
		t.Fatal("disk records were copied, want a view of the loaded bytes")
	}
	if x.MemoryBytes() >= int64(n*d*4) {
		t.Fatalf("MemoryBytes %d holds the raw vectors (%d bytes)", x.MemoryBytes(), n*d*4)
	}
	// Exact self-match: every row finds itself first.
	res, err := l.Search(context.Background(), Dataset{Dim: d, Float: data[:10*d]}, SearchParams{K: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if res.Labels[i] != int64(i) || res.Distances[i] != 0 {
			t.Fatalf("row %d: got %d (%g)", i, res.Labels[i], res.Distances[i])
		}
	}
}

func TestDiskANNParams(t *testing.T) {
	bad := []map[string]string{
		{"max_degree": "0"}, {"max_degree": "513"}, {"search_list_size": "0"},
		{"pq_code_budget_gb_ratio": "0"}, {"pq_code_budget_gb_ratio": "0.3"},
		{"search_cache_budget_gb_ratio": "0.3"}, {"search_cache_budget_gb_ratio": "-1"},
	}
	for _, p := range bad {
		if _, err := New(Spec{Type: TypeDiskANN, Metric: L2, Dim: 8, Params: p}); !errors.Is(err, ErrInvalidParam) {
			t.Errorf("%v: err %v, want ErrInvalidParam", p, err)
		}
	}
	if _, err := New(Spec{Type: TypeDiskANN, Metric: Hamming, Dim: 8}); err == nil {
		t.Error("HAMMING accepted")
	}
	data := randFloats(9, 200, 8)
	idx := buildIndex(t, Spec{Type: TypeDiskANN, Metric: L2, Dim: 8}, Dataset{Dim: 8, Float: data})
	q := Dataset{Dim: 8, Float: data[:8]}
	_, err := idx.Search(context.Background(), q, SearchParams{K: 10, Params: map[string]string{"search_list": "5"}})
	if !errors.Is(err, ErrInvalidParam) || !strings.Contains(err.Error(), "search_list_size(5) should be larger than k(10)") {
		t.Errorf("search_list < k: %v", err)
	}
	_, err = idx.Search(context.Background(), q, SearchParams{K: 10, Params: map[string]string{"beam_width_ratio": "0.5"}})
	if !errors.Is(err, ErrInvalidParam) {
		t.Errorf("beam_width_ratio 0.5: %v", err)
	}
	res, err := idx.Search(context.Background(), q, SearchParams{K: 300})
	if err != nil {
		t.Fatal(err)
	}
	if res.Labels[199] < 0 || res.Labels[200] != -1 {
		t.Errorf("k > n: want 200 hits then empty slots, got %d, %d", res.Labels[199], res.Labels[200])
	}
}

func TestDiskANNCorruptLoad(t *testing.T) {
	data := randFloats(4, 100, 8)
	idx := buildIndex(t, Spec{Type: TypeDiskANN, Metric: IP, Dim: 8}, Dataset{Dim: 8, Float: data})
	var buf writeBuffer
	if _, err := idx.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{20, 60, len(buf.b) / 2, len(buf.b) - 4} {
		if _, err := Load(buf.b[:cut]); err == nil {
			t.Errorf("truncated at %d: loaded", cut)
		}
	}
}

// A record linking outside the index is never followed (Load does not scan
// the records, so searches must not trust them).
func TestDiskANNCorruptNeighbours(t *testing.T) {
	const n, d = 300, 8
	data := randFloats(6, n, d)
	idx := buildIndex(t, Spec{Type: TypeDiskANN, Metric: L2, Dim: d, Params: map[string]string{"search_cache_budget_gb_ratio": "0"}}, Dataset{Dim: d, Float: data})
	var buf writeBuffer
	if _, err := idx.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	l, err := Load(buf.b)
	if err != nil {
		t.Fatal(err)
	}
	x := l.(*diskann)
	for i := range n {
		binary.LittleEndian.PutUint32(x.disk[i*x.recSize+4*d+4:], 1<<31)
	}
	res, err := l.Search(context.Background(), Dataset{Dim: d, Float: data[:5*d]}, SearchParams{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, lb := range res.Labels {
		if lb >= n {
			t.Fatalf("label %d of %d", lb, n)
		}
	}
}
