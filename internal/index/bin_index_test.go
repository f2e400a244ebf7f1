package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/distance"
)

const (
	bintN     = 2000
	bintBits  = 256
	bintNQ    = 30
	bintNList = 32
)

// bintClustered returns n binary vectors scattered around nc random centres
// (each bit flipped with probability 0.1), from a fixed seed.
func bintClustered(seed uint64, n, bits, nc int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bpv := bits / 8
	centres := make([]byte, nc*bpv)
	for i := range centres {
		centres[i] = byte(r.Uint32())
	}
	out := make([]byte, n*bpv)
	for i := range n {
		c := r.IntN(nc)
		for j := range bpv {
			v := centres[c*bpv+j]
			for bit := range 8 {
				if r.Float64() < 0.1 {
					v ^= 1 << bit
				}
			}
			out[i*bpv+j] = v
		}
	}
	return out
}

var (
	bintOnce    sync.Once
	bintData    []byte
	bintQueries []byte
)

func bintDataset() (data, queries []byte) {
	bintOnce.Do(func() {
		bintData = bintClustered(21, bintN, bintBits, 30)
		bintQueries = bintClustered(22, bintNQ, bintBits, 30)
	})
	return bintData, bintQueries
}

// bintExact returns, per query, the sorted exact distances of every row
// that passes filter.
func bintExact(m Metric, data, queries []byte, filter *bitset.Set) [][]float32 {
	bpv := bintBits / 8
	out := make([][]float32, len(queries)/bpv)
	for q := range out {
		qv := queries[q*bpv : (q+1)*bpv]
		for i := 0; i < len(data)/bpv; i++ {
			if filter != nil && filter.Test(i) {
				continue
			}
			row := data[i*bpv : (i+1)*bpv]
			if m == Jaccard {
				out[q] = append(out[q], distance.JaccardRef(qv, row))
			} else {
				out[q] = append(out[q], float32(distance.HammingRef(qv, row)))
			}
		}
		slices.Sort(out[q])
	}
	return out
}

// bintDistRecall is a tie-tolerant recall@k: the fraction of result slots
// whose distance is no worse than the k-th exact distance. It also checks
// that every reported distance is the true one.
func bintDistRecall(t *testing.T, m Metric, res *Result, data, queries []byte, exact [][]float32) float64 {
	t.Helper()
	bpv := bintBits / 8
	good, total := 0, 0
	for q := range res.NQ {
		want := min(res.K, len(exact[q]))
		total += want
		if want == 0 {
			continue
		}
		kth := exact[q][want-1]
		for i := range res.K {
			l := res.Labels[q*res.K+i]
			if l < 0 {
				continue
			}
			d := res.Distances[q*res.K+i]
			row := data[int(l)*bpv : (int(l)+1)*bpv]
			qv := queries[q*bpv : (q+1)*bpv]
			truth := float32(distance.HammingRef(qv, row))
			if m == Jaccard {
				truth = distance.JaccardRef(qv, row)
			}
			if d != truth {
				t.Fatalf("query %d row %d: distance %g, want %g", q, l, d, truth)
			}
			if d <= kth {
				good++
			}
		}
	}
	return float64(good) / float64(total)
}

func bintBuild(t testing.TB, typ string, m Metric) Index {
	t.Helper()
	data, _ := bintDataset()
	return buildIndex(t, Spec{Type: typ, Metric: m, Dim: bintBits, Params: map[string]string{"nlist": fmt.Sprint(bintNList)}},
		Dataset{Dim: bintBits, Binary: data})
}

func bintSearch(t testing.TB, idx Index, sp SearchParams) *Result {
	t.Helper()
	_, queries := bintDataset()
	res, err := idx.Search(context.Background(), Dataset{Dim: bintBits, Binary: queries}, sp)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBinRecall(t *testing.T) {
	data, queries := bintDataset()
	for _, m := range []Metric{Hamming, Jaccard} {
		exact := bintExact(m, data, queries, nil)
		f := func(typ string, nprobe int, want float64) {
			t.Run(fmt.Sprintf("%s/%s/%d", typ, m, nprobe), func(t *testing.T) {
				res := bintSearch(t, bintBuild(t, typ, m), SearchParams{K: 10, Params: map[string]string{"nprobe": fmt.Sprint(nprobe)}})
				assertSorted(t, res, m)
				if got := bintDistRecall(t, m, res, data, queries, exact); got < want {
					t.Fatalf("recall@10 = %.3f, want >= %.3f", got, want)
				} else {
					t.Logf("recall@10 = %.3f", got)
				}
			})
		}
		f(TypeBinFlat, 1, 1)
		f(TypeBinIVFFlat, bintNList, 1)
		f(TypeBinIVFFlat, 8, 0.8)
	}
}

func TestBinFiltered(t *testing.T) {
	data, queries := bintDataset()
	for _, typ := range []string{TypeBinFlat, TypeBinIVFFlat} {
		idx := bintBuild(t, typ, Hamming)
		for _, frac := range []float64{0.01, 0.5, 0.99} {
			t.Run(fmt.Sprintf("%s/%g", typ, frac), func(t *testing.T) {
				filter := randFilter(uint64(frac*100)+5, bintN, frac)
				res := bintSearch(t, idx, SearchParams{K: 10, Filter: filter})
				assertNoFiltered(t, res, filter, bintN)
				exact := bintExact(Hamming, data, queries, filter)
				want := 0.9
				if typ == TypeBinFlat || frac == 0.99 {
					want = 1
				}
				if got := bintDistRecall(t, Hamming, res, data, queries, exact); got < want {
					t.Fatalf("recall@10 = %.3f, want >= %.3f", got, want)
				}
			})
		}
	}
}

func TestBinRangeSearch(t *testing.T) {
	data, queries := bintDataset()
	for _, typ := range []string{TypeBinFlat, TypeBinIVFFlat} {
		idx := bintBuild(t, typ, Hamming)
		const k = 100
		res := bintSearch(t, idx, SearchParams{K: k, Params: map[string]string{"nprobe": fmt.Sprint(bintNList), "radius": "60", "range_filter": "30"}})
		exact := bintExact(Hamming, data, queries, nil)
		for q := range res.NQ {
			in := 0
			for _, d := range exact[q] {
				if d >= 30 && d < 60 {
					in++
				}
			}
			hits := 0
			for i := range k {
				if l := res.Labels[q*k+i]; l >= 0 {
					hits++
					if d := res.Distances[q*k+i]; d < 30 || d >= 60 {
						t.Fatalf("%s query %d: distance %g outside [30, 60)", typ, q, d)
					}
				}
			}
			if hits != min(k, in) {
				t.Fatalf("%s query %d: %d hits, want %d", typ, q, hits, min(k, in))
			}
		}
	}
}

func TestBinRoundTrip(t *testing.T) {
	for _, typ := range []string{TypeBinFlat, TypeBinIVFFlat} {
		for _, m := range []Metric{Hamming, Jaccard} {
			idx := bintBuild(t, typ, m)
			sp := SearchParams{K: 10, Filter: randFilter(9, bintN, 0.2)}
			want := bintSearch(t, idx, sp)
			got := bintSearch(t, roundTrip(t, idx), sp)
			if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Distances, want.Distances) {
				t.Fatalf("%s/%s: results differ after Load", typ, m)
			}
		}
	}
}

func TestBinErrors(t *testing.T) {
	for _, spec := range []Spec{
		{Type: TypeBinFlat, Metric: Hamming, Dim: 12},
		{Type: TypeBinFlat, Metric: L2, Dim: 16},
		{Type: TypeBinIVFFlat, Metric: Jaccard, Dim: 16, Params: map[string]string{"nlist": "0"}},
	} {
		if _, err := New(spec); !errors.Is(err, ErrInvalidParam) {
			t.Fatalf("%+v: %v, want ErrInvalidParam", spec, err)
		}
	}
	idx := buildIndex(t, Spec{Type: TypeBinFlat, Dim: 16}, Dataset{Dim: 16, Binary: randBinary(1, 10, 16)})
	if idx.Spec().Metric != Hamming {
		t.Fatalf("default metric %s", idx.Spec().Metric)
	}
	if _, err := idx.Search(context.Background(), Dataset{Dim: 8, Binary: []byte{1}}, SearchParams{K: 1}); !errors.Is(err, ErrInvalidParam) {
		t.Fatalf("wrong query dim: %v", err)
	}
}

// FuzzLoadBin feeds corrupted serialized binary indexes to Load.
func FuzzLoadBin(f *testing.F) {
	data := bintClustered(3, 40, 64, 4)
	for _, typ := range []string{TypeBinFlat, TypeBinIVFFlat} {
		idx := buildIndex(f, Spec{Type: typ, Metric: Jaccard, Dim: 64, Params: map[string]string{"nlist": "4"}}, Dataset{Dim: 64, Binary: data})
		var buf bytes.Buffer
		if _, err := idx.WriteTo(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := Load(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotSupported) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrNotSupported", err)
			}
			return
		}
		if typ := idx.Spec().Type; typ != TypeBinFlat && typ != TypeBinIVFFlat {
			return // another type's decoder: its own fuzz target searches it
		}
		d := idx.Spec().Dim
		q := make([]byte, d/8)
		if _, err := idx.Search(context.Background(), Dataset{Dim: d, Binary: q}, SearchParams{K: 3}); err != nil && !errors.Is(err, ErrInvalidParam) {
			t.Fatalf("search after load: %v", err)
		}
	})
}
