package index

import (
	"context"
	"errors"
	"testing"
)

// fuzzSeeds returns small valid serialized indexes of the types this file
// fuzzes, so the fuzzer starts from the real formats.
func fuzzSeeds(t testing.TB) [][]byte {
	data := randFloats(161, 60, 4)
	var out [][]byte
	for _, spec := range []Spec{
		{Type: TypeFlat, Metric: L2, Dim: 4},
		{Type: TypeHNSW, Metric: Cosine, Dim: 4, Params: map[string]string{"M": "4", "efConstruction": "16"}},
		{Type: TypeHNSWSQ, Metric: L2, Dim: 4, Params: map[string]string{"M": "4", "efConstruction": "16", "refine": "true"}},
		{Type: TypeHNSWSQ, Metric: IP, Dim: 4, Params: map[string]string{"M": "4", "efConstruction": "16"}},
	} {
		idx := buildIndex(t, spec, Dataset{Dim: 4, Float: data})
		var buf writeBuffer
		if _, err := idx.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.b)
	}
	return out
}

// FuzzLoadGraph feeds garbage and mutated FLAT/HNSW/HNSW_SQ files to Load:
// it must return an ErrCorrupt-wrapped error or an index that searches
// without panicking. The seeds are a few KB, so minimising a new input takes
// long; run it with a short minimisation budget:
//
//	go test -run='^$' -fuzz=FuzzLoadGraph -fuzztime=60s -fuzzminimizetime=2s ./internal/index
func FuzzLoadGraph(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, err := PeekType(data)
		if err != nil || (typ != TypeFlat && typ != TypeHNSW && typ != TypeHNSWSQ) {
			return
		}
		idx, err := Load(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("load error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		d := idx.Spec().Dim
		q := make([]float32, d)
		for i := range q {
			q[i] = float32(i) - 1.5
		}
		if _, err := idx.Search(context.Background(), Dataset{Dim: d, Float: q}, SearchParams{K: 3}); err != nil && !errors.Is(err, ErrInvalidParam) {
			t.Fatalf("search of a loaded index: %v", err)
		}
	})
}

func TestLoadTruncatedAndFlipped(t *testing.T) {
	for _, s := range fuzzSeeds(t) {
		for cut := 0; cut < len(s); cut += max(1, len(s)/97) {
			if _, err := Load(s[:cut]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("truncated at %d of %d: err=%v", cut, len(s), err)
			}
		}
		// Flip bytes one at a time: never panic; errors wrap ErrCorrupt.
		for i := 0; i < len(s); i += max(1, len(s)/211) {
			b := append([]byte(nil), s...)
			b[i] ^= 0xa5
			idx, err := Load(b)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotSupported) {
					t.Fatalf("flip at %d: %v", i, err)
				}
				continue
			}
			d := idx.Spec().Dim
			_, _ = idx.Search(context.Background(), Dataset{Dim: d, Float: make([]float32, d)}, SearchParams{K: 2})
		}
	}
}
