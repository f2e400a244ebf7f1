package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/bitset"
)

const (
	spartN     = 1500
	spartVocab = 600
	spartNQ    = 30
)

// spartRow encodes (dim, value) pairs, dims ascending, in Milvus's format.
func spartRow(dims []uint32, vals []float32) []byte {
	b := make([]byte, 0, 8*len(dims))
	for i, d := range dims {
		b = binary.LittleEndian.AppendUint32(b, d)
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(vals[i]))
	}
	return b
}

// spartRandom returns n sparse rows with about nnz entries each over vocab
// dimensions (skewed towards small dims, like term ids), from a fixed seed.
// With counts set, values are small integers (term frequencies for BM25).
func spartRandom(seed uint64, n, vocab, nnz int, counts bool) [][]byte {
	r := rand.New(rand.NewPCG(seed, seed+7))
	out := make([][]byte, n)
	for i := range out {
		set := map[uint32]float32{}
		k := 1 + r.IntN(2*nnz)
		for range k {
			d := uint32(float64(vocab) * math.Pow(r.Float64(), 2))
			v := r.Float32() + 0.01
			if counts {
				v = float32(1 + r.IntN(3))
			}
			set[d] = v
		}
		dims := make([]uint32, 0, len(set))
		for d := range set {
			dims = append(dims, d)
		}
		slices.Sort(dims)
		vals := make([]float32, len(dims))
		for j, d := range dims {
			vals[j] = set[d]
		}
		out[i] = spartRow(dims, vals)
	}
	return out
}

// spartDecode turns a row into a map.
func spartDecode(row []byte) map[uint32]float32 {
	m := map[uint32]float32{}
	for i := 0; i+8 <= len(row); i += 8 {
		m[binary.LittleEndian.Uint32(row[i:])] = math.Float32frombits(binary.LittleEndian.Uint32(row[i+4:]))
	}
	return m
}

// spartExactIP returns, per query, the sorted (descending) inner products of
// every row that shares a dimension with it and passes filter, accumulated
// in ascending dimension order like the index.
func spartExactIP(data, queries [][]byte, filter *bitset.Set) [][]float32 {
	out := make([][]float32, len(queries))
	for q, qrow := range queries {
		qm := spartDecode(qrow)
		qdims := make([]uint32, 0, len(qm))
		for d := range qm {
			qdims = append(qdims, d)
		}
		slices.Sort(qdims)
		for i, row := range data {
			if filter != nil && filter.Test(i) {
				continue
			}
			rm := spartDecode(row)
			var s float32
			hit := false
			for _, d := range qdims {
				if v, ok := rm[d]; ok {
					s += qm[d] * v
					hit = true
				}
			}
			if hit {
				out[q] = append(out[q], s)
			}
		}
		slices.SortFunc(out[q], func(a, b float32) int { return -cmpF32(a, b) })
	}
	return out
}

func cmpF32(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// spartCheckExact fails unless each query's reported scores are exactly the
// best K exact scores.
func spartCheckExact(t *testing.T, res *Result, exact [][]float32) {
	t.Helper()
	for q := range res.NQ {
		want := exact[q][:min(res.K, len(exact[q]))]
		got := res.Distances[q*res.K : q*res.K+len(want)]
		for i := range want {
			if d := got[i] - want[i]; d > 1e-5 || d < -1e-5 || res.Labels[q*res.K+i] < 0 {
				t.Fatalf("query %d slot %d: score %g, want %g", q, i, got[i], want[i])
			}
		}
		for i := len(want); i < res.K; i++ {
			if res.Labels[q*res.K+i] != -1 {
				t.Fatalf("query %d slot %d: label %d, want empty", q, i, res.Labels[q*res.K+i])
			}
		}
	}
}

func spartSearch(t *testing.T, idx Index, queries [][]byte, sp SearchParams) *Result {
	t.Helper()
	res, err := idx.Search(context.Background(), Dataset{Sparse: queries}, sp)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSparseExact(t *testing.T) {
	data := spartRandom(31, spartN, spartVocab, 20, false)
	queries := spartRandom(32, spartNQ, spartVocab, 8, false)
	exact := spartExactIP(data, queries, nil)
	var first *Result
	for _, typ := range []string{TypeSparseInv, TypeSparseWAND} {
		idx := buildIndex(t, Spec{Type: typ, Metric: IP}, Dataset{Sparse: data})
		res := spartSearch(t, idx, queries, SearchParams{K: 10})
		spartCheckExact(t, res, exact)
		assertSorted(t, res, IP)
		if first == nil {
			first = res
		} else if !slices.Equal(first.Labels, res.Labels) || !slices.Equal(first.Distances, res.Distances) {
			t.Fatalf("SPARSE_WAND and SPARSE_INVERTED_INDEX differ")
		}
	}
}

func TestSparseDropRatio(t *testing.T) {
	data := spartRandom(33, spartN, spartVocab, 20, false)
	queries := spartRandom(34, spartNQ, spartVocab, 8, false)
	idx := buildIndex(t, Spec{Type: TypeSparseInv, Metric: IP}, Dataset{Sparse: data})
	// drop_ratio_search 0.5 equals an exact search with the pruned query.
	pruned := make([][]byte, len(queries))
	for i, q := range queries {
		m := spartDecode(q)
		var abs []float32
		for _, v := range m {
			abs = append(abs, float32(math.Abs(float64(v))))
		}
		slices.Sort(abs)
		thr := float32(0)
		if drop := int(0.5 * float64(len(abs))); drop > 0 {
			thr = abs[drop]
		}
		var dims []uint32
		for d, v := range m {
			if float32(math.Abs(float64(v))) >= thr {
				dims = append(dims, d)
			}
		}
		slices.Sort(dims)
		vals := make([]float32, len(dims))
		for j, d := range dims {
			vals[j] = m[d]
		}
		pruned[i] = spartRow(dims, vals)
	}
	res := spartSearch(t, idx, queries, SearchParams{K: 10, Params: map[string]string{"drop_ratio_search": "0.5"}})
	spartCheckExact(t, res, spartExactIP(data, pruned, nil))

	// drop_ratio_build keeps the large values: recall stays high.
	built := buildIndex(t, Spec{Type: TypeSparseInv, Metric: IP, Params: map[string]string{"drop_ratio_build": "0.2"}}, Dataset{Sparse: data})
	if built.MemoryBytes() >= idx.MemoryBytes() {
		t.Fatalf("drop_ratio_build 0.2 holds %d bytes, full index %d", built.MemoryBytes(), idx.MemoryBytes())
	}
	res = spartSearch(t, built, queries, SearchParams{K: 10})
	exact := spartExactIP(data, queries, nil)
	good, total := 0, 0
	for q := range res.NQ {
		want := min(10, len(exact[q]))
		total += want
		for i := range want {
			if res.Labels[q*10+i] >= 0 && res.Distances[q*10+i] >= exact[q][want-1]*0.999 {
				good++
			}
		}
	}
	if r := float64(good) / float64(total); r < 0.7 {
		t.Fatalf("drop_ratio_build 0.2: recall %.3f", r)
	}
}

func TestSparseFilteredAndRange(t *testing.T) {
	data := spartRandom(35, spartN, spartVocab, 20, false)
	queries := spartRandom(36, spartNQ, spartVocab, 8, false)
	idx := buildIndex(t, Spec{Type: TypeSparseInv, Metric: IP}, Dataset{Sparse: data})
	for _, frac := range []float64{0.01, 0.5, 0.99} {
		filter := randFilter(uint64(frac*100)+1, spartN, frac)
		res := spartSearch(t, idx, queries, SearchParams{K: 10, Filter: filter})
		assertNoFiltered(t, res, filter, spartN)
		spartCheckExact(t, res, spartExactIP(data, queries, filter))
	}
	// Range: 0.3 < score <= 1.0.
	const k = 50
	res := spartSearch(t, idx, queries, SearchParams{K: k, Params: map[string]string{"radius": "0.3", "range_filter": "1.0"}})
	exact := spartExactIP(data, queries, nil)
	for q := range res.NQ {
		var in []float32
		for _, s := range exact[q] {
			if s > 0.3 && s <= 1.0 {
				in = append(in, s)
			}
		}
		spartCheckExact(t, &Result{NQ: 1, K: k, Labels: res.Labels[q*k : (q+1)*k], Distances: res.Distances[q*k : (q+1)*k]}, [][]float32{in})
	}
}

func TestSparseBM25(t *testing.T) {
	data := spartRandom(37, spartN, spartVocab, 20, true)
	queries := spartRandom(38, spartNQ, spartVocab, 3, true)
	idx := buildIndex(t, Spec{Type: TypeSparseInv, Metric: BM25, Params: map[string]string{"bm25_k1": "1.5", "bm25_b": "0.75"}}, Dataset{Sparse: data})
	res := spartSearch(t, idx, queries, SearchParams{K: 10})
	assertSorted(t, res, BM25)

	// Brute-force BM25 with the same formula.
	docs := make([]map[uint32]float32, len(data))
	dl := make([]float64, len(data))
	var total float64
	for i, row := range data {
		docs[i] = spartDecode(row)
		for _, v := range docs[i] {
			dl[i] += float64(v)
		}
		total += dl[i]
	}
	avgdl := total / float64(len(data))
	const k1, b = 1.5, 0.75
	for q, qrow := range queries {
		qm := spartDecode(qrow)
		var scores []float64
		for i := range docs {
			var s float64
			hit := false
			for d, w := range qm {
				tf, ok := docs[i][d]
				if !ok {
					continue
				}
				hit = true
				// The query's value is the term's weight (IDF included).
				s += float64(w) * float64(tf) * (k1 + 1) / (float64(tf) + k1*(1-b+b*dl[i]/avgdl))
			}
			if hit {
				scores = append(scores, s)
			}
		}
		slices.SortFunc(scores, func(a, b float64) int { return -cmpF32(float32(a), float32(b)) })
		for i := range min(10, len(scores)) {
			if got := float64(res.Distances[q*10+i]); math.Abs(got-scores[i]) > 1e-3*math.Max(1, scores[i]) {
				t.Fatalf("query %d slot %d: BM25 %g, want %g", q, i, got, scores[i])
			}
		}
	}
	if got := spartSearch(t, roundTrip(t, idx), queries, SearchParams{K: 10}); !slices.Equal(got.Distances, res.Distances) {
		t.Fatalf("BM25 results differ after Load")
	}
}

func TestSparseRoundTripAndErrors(t *testing.T) {
	data := spartRandom(39, 300, 100, 10, false)
	queries := spartRandom(40, 10, 100, 5, false)
	idx := buildIndex(t, Spec{Type: TypeSparseWAND, Metric: IP}, Dataset{Sparse: data})
	sp := SearchParams{K: 7, Filter: randFilter(2, 300, 0.3)}
	want := spartSearch(t, idx, queries, sp)
	loaded := roundTrip(t, idx)
	if loaded.Spec().Type != TypeSparseWAND {
		t.Fatalf("loaded type %s", loaded.Spec().Type)
	}
	got := spartSearch(t, loaded, queries, sp)
	if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Distances, want.Distances) {
		t.Fatalf("results differ after Load")
	}

	f := func(spec Spec, data Dataset, sp *SearchParams) {
		t.Helper()
		idx, err := New(spec)
		if err == nil {
			err = idx.Build(context.Background(), data)
		}
		if err == nil && sp != nil {
			_, err = idx.Search(context.Background(), Dataset{Sparse: queries}, *sp)
		}
		if !errors.Is(err, ErrInvalidParam) {
			t.Fatalf("%+v: %v, want ErrInvalidParam", spec, err)
		}
	}
	f(Spec{Type: TypeSparseInv, Metric: L2}, Dataset{Sparse: data}, nil)
	f(Spec{Type: TypeSparseInv, Metric: IP, Params: map[string]string{"drop_ratio_build": "1"}}, Dataset{Sparse: data}, nil)
	f(Spec{Type: TypeSparseInv, Metric: IP}, Dataset{Sparse: [][]byte{{1, 2, 3}}}, nil)
	f(Spec{Type: TypeSparseInv, Metric: IP}, Dataset{Sparse: [][]byte{spartRow([]uint32{5, 2}, []float32{1, 1})}}, nil)
	f(Spec{Type: TypeSparseInv, Metric: IP}, Dataset{Sparse: data}, &SearchParams{K: 3, Params: map[string]string{"drop_ratio_search": "1.5"}})
	f(Spec{Type: TypeSparseInv, Metric: BM25, Params: map[string]string{"bm25_k1": "3"}}, Dataset{Sparse: data}, nil)
}

func TestSparseConcurrentSearch(t *testing.T) {
	data := spartRandom(42, 500, 200, 10, false)
	queries := spartRandom(43, 8, 200, 5, false)
	idx := buildIndex(t, Spec{Type: TypeSparseInv, Metric: IP}, Dataset{Sparse: data})
	want := spartSearch(t, idx, queries, SearchParams{K: 5})
	var wg sync.WaitGroup
	fail := make(chan string, len(queries))
	for q := range queries {
		wg.Go(func() {
			res, err := idx.Search(context.Background(), Dataset{Sparse: queries[q : q+1]}, SearchParams{K: 5})
			if err != nil || !slices.Equal(res.Labels, want.Labels[q*5:(q+1)*5]) {
				fail <- fmt.Sprintf("query %d: %v %v", q, res, err)
			}
		})
	}
	wg.Wait()
	close(fail)
	for msg := range fail {
		t.Fatal(msg)
	}
}

func TestSparseFewRowsFarApart(t *testing.T) {
	// 100,000 rows of which 20 hold entries: the accumulators become a map.
	const n = 100000
	rows := make([][]byte, n)
	some := spartRandom(44, 20, 50, 5, false)
	for i, r := range some {
		rows[i*4999] = r
	}
	queries := spartRandom(45, 5, 50, 5, false)
	idx := buildIndex(t, Spec{Type: TypeSparseInv, Metric: IP}, Dataset{Sparse: rows})
	if sc := idx.(*sparseIndex); sc.span <= 4*len(sc.rows)+1<<16 {
		t.Fatalf("span %d with %d postings would use dense accumulators", sc.span, len(sc.rows))
	}
	res := spartSearch(t, idx, queries, SearchParams{K: 5})
	spartCheckExact(t, res, spartExactIP(rows, queries, nil))
}

// FuzzLoadSparse feeds corrupted serialized sparse indexes to Load.
func FuzzLoadSparse(f *testing.F) {
	data := spartRandom(41, 30, 40, 5, true)
	for _, m := range []Metric{IP, BM25} {
		idx := buildIndex(f, Spec{Type: TypeSparseInv, Metric: m}, Dataset{Sparse: data})
		var buf bytes.Buffer
		if _, err := idx.WriteTo(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	query := [][]byte{spartRow([]uint32{1, 3, 7, 20}, []float32{1, 2, 1, 1})}
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := Load(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotSupported) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrNotSupported", err)
			}
			return
		}
		if typ := idx.Spec().Type; typ != TypeSparseInv && typ != TypeSparseWAND {
			return
		}
		if _, err := idx.Search(context.Background(), Dataset{Sparse: query}, SearchParams{K: 3}); err != nil && !errors.Is(err, ErrInvalidParam) {
			t.Fatalf("search after load: %v", err)
		}
	})
}
