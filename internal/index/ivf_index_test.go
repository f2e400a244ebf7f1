package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The float IVF family against brute force on clustered data with fixed seeds.
const (
	ivftN     = 2000
	ivftD     = 32
	ivftNQ    = 40
	ivftNList = 32
)

var (
	ivftDataOnce sync.Once
	ivftData     []float32
	ivftQueries  []float32
)

func ivftDataset() (data, queries []float32) {
	ivftDataOnce.Do(func() {
		ivftData = clusteredFloats(11, ivftN, ivftD, 40)
		ivftQueries = clusteredFloats(12, ivftNQ, ivftD, 40)
	})
	return ivftData, ivftQueries
}

// ivftBuilt caches indexes over the shared data set: builds are
// deterministic and Search is safe for concurrent use, so tests share them
// (training dominates the run time under -race).
var ivftBuilt sync.Map

// ivftBuild builds (once) an index of typ over the shared data set.
func ivftBuild(t testing.TB, typ string, m Metric, params map[string]string) Index {
	t.Helper()
	data, _ := ivftDataset()
	p := map[string]string{"nlist": fmt.Sprint(ivftNList)}
	for k, v := range params {
		p[k] = v
	}
	key := fmt.Sprint(typ, m, p)
	if idx, ok := ivftBuilt.Load(key); ok {
		return idx.(Index)
	}
	idx := buildIndex(t, Spec{Type: typ, Metric: m, Dim: ivftD, Params: p}, Dataset{Dim: ivftD, Float: data})
	ivftBuilt.Store(key, idx)
	return idx
}

// ivftPQParams are the PQ parameters every test uses (8 sub-vectors of 4
// components), so the cached PQ builds are reused.
// IP and COSINE use 6 bits to keep training short under -race.
func ivftPQParams(typ string, m Metric) map[string]string {
	if typ != TypeIVFPQ {
		return nil
	}
	if m != L2 {
		return map[string]string{"m": "8", "nbits": "6"}
	}
	return map[string]string{"m": "8", "nbits": "8"}
}

func ivftSearch(t testing.TB, idx Index, sp SearchParams) *Result {
	t.Helper()
	_, queries := ivftDataset()
	res, err := idx.Search(context.Background(), Dataset{Dim: ivftD, Float: queries}, sp)
	if err != nil {
		t.Fatalf("search %s: %v", idx.Spec().Type, err)
	}
	return res
}

func TestIVFRecall(t *testing.T) {
	data, queries := ivftDataset()
	f := func(typ string, m Metric, build map[string]string, nprobe int, want float64) {
		t.Helper()
		t.Run(fmt.Sprintf("%s/%s/nprobe=%d", typ, m, nprobe), func(t *testing.T) {
			idx := ivftBuild(t, typ, m, build)
			res := ivftSearch(t, idx, SearchParams{K: 10, Params: map[string]string{"nprobe": fmt.Sprint(nprobe)}})
			gt := groundTruth(m, data, queries, ivftD, 10, nil)
			got := recallAtK(res, gt, 10)
			assertSorted(t, res, m)
			assertNoFiltered(t, res, nil, ivftN)
			if got < want {
				t.Fatalf("recall@10 = %.3f, want >= %.3f", got, want)
			}
			t.Logf("recall@10 = %.3f", got)
		})
	}
	for _, m := range []Metric{L2, IP, Cosine} {
		f(TypeIVFFlat, m, nil, ivftNList, 1) // every list probed: exact
		f(TypeIVFFlat, m, nil, 8, 0.85)
		f(TypeIVFSQ8, m, nil, ivftNList, 0.9)
		f(TypeIVFSQ8, m, nil, 8, 0.8)
		// ADC without refine at 1.5-2 bits per dimension; IP ranks
		// unnormalised vectors, where quantization errors weigh most.
		want := map[Metric]float64{L2: 0.45, IP: 0.3, Cosine: 0.45}[m]
		f(TypeIVFPQ, m, ivftPQParams(TypeIVFPQ, m), ivftNList, want)
	}
	f(TypeIVFPQ, L2, ivftPQParams(TypeIVFPQ, L2), 8, 0.45)
}

func TestIVFCosineDistances(t *testing.T) {
	data, queries := ivftDataset()
	before := slices.Clone(data)
	idx := ivftBuild(t, TypeIVFFlat, Cosine, nil)
	for _, typ := range []string{TypeIVFSQ8, TypeIVFPQ} {
		ivftBuild(t, typ, Cosine, ivftPQParams(typ, Cosine))
	}
	if !slices.Equal(before, data) {
		t.Fatal("a COSINE build modified the caller's vectors")
	}
	res := ivftSearch(t, idx, SearchParams{K: 5, Params: map[string]string{"nprobe": "32"}})
	for q := range res.NQ {
		for i := range res.K {
			l, got := res.Labels[q*5+i], res.Distances[q*5+i]
			want := exactScore(Cosine, queries[q*ivftD:(q+1)*ivftD], data[int(l)*ivftD:(int(l)+1)*ivftD])
			if d := got - want; d > 1e-4 || d < -1e-4 {
				t.Fatalf("query %d slot %d: cosine %g, want %g", q, i, got, want)
			}
		}
	}
}

func TestIVFFiltered(t *testing.T) {
	data, queries := ivftDataset()
	for _, typ := range []string{TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		idx := ivftBuild(t, typ, L2, ivftPQParams(typ, L2))
		for _, frac := range []float64{0.01, 0.5, 0.99} {
			t.Run(fmt.Sprintf("%s/%g", typ, frac), func(t *testing.T) {
				filter := randFilter(uint64(frac*1000), ivftN, frac)
				allowed := ivftN - filter.Count()
				res := ivftSearch(t, idx, SearchParams{K: 10, Filter: filter})
				assertNoFiltered(t, res, filter, ivftN)
				assertSorted(t, res, L2)
				// Widening guarantees K hits whenever K rows pass the filter.
				for q := range res.NQ {
					hits := 0
					for _, l := range res.Labels[q*10 : (q+1)*10] {
						if l >= 0 {
							hits++
						}
					}
					if hits != min(10, allowed) {
						t.Fatalf("query %d: %d hits, want %d", q, hits, min(10, allowed))
					}
				}
				gt := groundTruth(L2, data, queries, ivftD, 10, filter)
				got := recallAtK(res, gt, 10)
				want := map[string]float64{TypeIVFFlat: 0.85, TypeIVFSQ8: 0.8, TypeIVFPQ: 0.4}[typ]
				if frac == 0.99 && typ == TypeIVFFlat {
					want = 1 // so few rows pass that every list is scanned: exact
				}
				if got < want {
					t.Fatalf("filtered recall@10 = %.3f, want >= %.3f", got, want)
				}
				t.Logf("allowed %d, recall@10 = %.3f", allowed, got)
			})
		}
	}
}

func TestIVFRangeSearch(t *testing.T) {
	data, queries := ivftDataset()
	f := func(m Metric, radius, rangeFilter float64) {
		t.Helper()
		t.Run(fmt.Sprintf("%s/%g/%g", m, radius, rangeFilter), func(t *testing.T) {
			idx := ivftBuild(t, TypeIVFFlat, m, nil)
			const k = 50
			res := ivftSearch(t, idx, SearchParams{K: k, Params: map[string]string{
				"nprobe": fmt.Sprint(ivftNList), "radius": fmt.Sprint(radius), "range_filter": fmt.Sprint(rangeFilter)}})
			assertSorted(t, res, m)
			for q := range res.NQ {
				qv := queries[q*ivftD : (q+1)*ivftD]
				var in []float32
				for i := range ivftN {
					s := exactScore(m, qv, data[i*ivftD:(i+1)*ivftD])
					if ivftInRange(m, s, radius, rangeFilter) {
						in = append(in, s)
					}
				}
				hits := 0
				for i := range k {
					l := res.Labels[q*k+i]
					if l < 0 {
						continue
					}
					hits++
					s := res.Distances[q*k+i]
					// Allow float rounding at the window's edges.
					if !ivftInRange(m, s, radius+1e-4, rangeFilter-1e-4) && !ivftInRange(m, s, radius-1e-4, rangeFilter+1e-4) {
						t.Fatalf("query %d: hit %d score %g outside window", q, l, s)
					}
				}
				if want := min(k, len(in)); hits < want-1 || hits > want+1 {
					t.Fatalf("query %d: %d hits, want %d", q, hits, want)
				}
			}
		})
	}
	f(L2, 2.0, 0.5)
	f(IP, 1.0, 3.0)
	f(Cosine, 0.8, 0.95)
}

// ivftInRange applies Milvus's range-search window to an exact score.
func ivftInRange(m Metric, s float32, radius, rangeFilter float64) bool {
	if m.HigherIsBetter() {
		return float64(s) > radius && float64(s) <= rangeFilter
	}
	return float64(s) < radius && float64(s) >= rangeFilter
}

func TestIVFRoundTrip(t *testing.T) {
	for _, typ := range []string{TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		for _, m := range []Metric{L2, Cosine} {
			t.Run(typ+"/"+string(m), func(t *testing.T) {
				idx := ivftBuild(t, typ, m, ivftPQParams(typ, m))
				filter := randFilter(3, ivftN, 0.3)
				sp := SearchParams{K: 10, Params: map[string]string{"nprobe": "4"}, Filter: filter}
				want := ivftSearch(t, idx, sp)
				var buf bytes.Buffer
				if _, err := idx.WriteTo(&buf); err != nil {
					t.Fatal(err)
				}
				// Aligned (aliased) and misaligned (copied) buffers both load.
				for _, shift := range []int{0, 1} {
					b := make([]byte, buf.Len()+shift)[shift:]
					copy(b, buf.Bytes())
					got, err := Load(b)
					if err != nil {
						t.Fatalf("shift %d: %v", shift, err)
					}
					if got.Len() != idx.Len() || got.Spec().Type != typ || got.Spec().Metric != m {
						t.Fatalf("loaded %+v len %d", got.Spec(), got.Len())
					}
					res := ivftSearch(t, got, sp)
					if !slices.Equal(res.Labels, want.Labels) || !slices.Equal(res.Distances, want.Distances) {
						t.Fatalf("shift %d: results differ after Load", shift)
					}
					if shift == 0 && got.MemoryBytes() >= idx.MemoryBytes()/2 && typ == TypeIVFFlat {
						t.Fatalf("aliased load holds %d bytes, built index %d", got.MemoryBytes(), idx.MemoryBytes())
					}
				}
			})
		}
	}
}

func TestIVFConcurrentSearch(t *testing.T) {
	for _, typ := range []string{TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		idx := ivftBuild(t, typ, L2, ivftPQParams(typ, L2))
		_, queries := ivftDataset()
		want := ivftSearch(t, idx, SearchParams{K: 10})
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				q := g % ivftNQ
				res, err := idx.Search(context.Background(), Dataset{Dim: ivftD, Float: queries[q*ivftD : (q+1)*ivftD]}, SearchParams{K: 10})
				if err != nil {
					errs <- err
					return
				}
				if !slices.Equal(res.Labels, want.Labels[q*10:(q+1)*10]) {
					errs <- fmt.Errorf("%s: query %d differs under concurrency", typ, q)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}

func TestIVFSmallSegment(t *testing.T) {
	// Fewer vectors than nlist: one list per vector, results stay exact.
	data := randFloats(5, 7, 8)
	for _, typ := range []string{TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		idx := buildIndex(t, Spec{Type: typ, Metric: L2, Dim: 8, Params: map[string]string{"nlist": "128", "m": "2", "nbits": "4"}}, Dataset{Dim: 8, Float: data})
		res, err := idx.Search(context.Background(), Dataset{Dim: 8, Float: data[:8]}, SearchParams{K: 10, Params: map[string]string{"nprobe": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range res.Labels {
			if l >= 0 {
				n++
			}
		}
		if n != 7 {
			t.Fatalf("%s: %d hits, want all 7 rows", typ, n)
		}
		if typ == TypeIVFFlat && res.Labels[0] != 0 {
			t.Fatalf("%s: nearest to row 0 is %d", typ, res.Labels[0])
		}
	}
	// An empty index builds and returns empty slots.
	idx := buildIndex(t, Spec{Type: TypeIVFFlat, Metric: L2, Dim: 8}, Dataset{Dim: 8, Float: []float32{}})
	res, err := idx.Search(context.Background(), Dataset{Dim: 8, Float: data[:8]}, SearchParams{K: 3})
	if err != nil || res.Labels[0] != -1 {
		t.Fatalf("empty index: %v %v", res, err)
	}
}

func TestIVFParamErrors(t *testing.T) {
	f := func(typ string, dim int, params map[string]string, wantMsg string) {
		t.Helper()
		_, err := New(Spec{Type: typ, Metric: L2, Dim: dim, Params: params})
		if !errors.Is(err, ErrInvalidParam) || !strings.Contains(err.Error(), wantMsg) {
			t.Fatalf("%s %v: error %v, want ErrInvalidParam containing %q", typ, params, err, wantMsg)
		}
	}
	f(TypeIVFFlat, 8, map[string]string{"nlist": "0"}, "param 'nlist' (0) should be in range [1, 65536]")
	f(TypeIVFSQ8, 8, map[string]string{"nlist": "70000"}, "param 'nlist' (70000) should be in range [1, 65536]")
	f(TypeIVFPQ, 10, map[string]string{"m": "4"}, "should be a multiple of the number of subquantizers (m). Dimension:10, m:4")
	f(TypeIVFPQ, 8, map[string]string{"m": "4", "nbits": "17"}, "param 'nbits' (17) should be in range [1, 16]")
	_, err := New(Spec{Type: TypeIVFFlat, Metric: Hamming, Dim: 8})
	if !errors.Is(err, ErrInvalidParam) {
		t.Fatalf("HAMMING on IVF_FLAT: %v", err)
	}

	idx := buildIndex(t, Spec{Type: TypeIVFFlat, Metric: L2, Dim: 4}, Dataset{Dim: 4, Float: randFloats(1, 50, 4)})
	q := Dataset{Dim: 4, Float: randFloats(2, 1, 4)}
	for _, sp := range []SearchParams{
		{K: 0},
		{K: 5, Params: map[string]string{"nprobe": "0"}},
		{K: 5, Params: map[string]string{"radius": "1", "range_filter": "2"}},
	} {
		if _, err := idx.Search(context.Background(), q, sp); !errors.Is(err, ErrInvalidParam) {
			t.Fatalf("search %+v: %v, want ErrInvalidParam", sp, err)
		}
	}
	if _, err := idx.Search(context.Background(), Dataset{Dim: 3, Float: []float32{1, 2, 3}}, SearchParams{K: 1}); !errors.Is(err, ErrInvalidParam) {
		t.Fatalf("wrong query dim: %v", err)
	}
}

func TestIVFSpecDefaults(t *testing.T) {
	idx, err := New(Spec{Type: TypeIVFPQ, Dim: 16})
	if err != nil {
		t.Fatal(err)
	}
	s := idx.Spec()
	if s.Metric != Cosine || s.Params["nlist"] != "128" || s.Params["m"] != "4" || s.Params["nbits"] != "8" {
		t.Fatalf("defaults: %+v", s)
	}
}

// FuzzLoadIVF feeds corrupted serialized IVF indexes to Load: it must return
// an error wrapping ErrCorrupt or an index that searches without panicking.
func FuzzLoadIVF(f *testing.F) {
	data := clusteredFloats(7, 60, 8, 4)
	for _, typ := range []string{TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		for _, m := range []Metric{L2, IP} {
			idx := buildIndex(f, Spec{Type: typ, Metric: m, Dim: 8, Params: map[string]string{"nlist": "4", "m": "2", "nbits": "4"}}, Dataset{Dim: 8, Float: data})
			var buf bytes.Buffer
			if _, err := idx.WriteTo(&buf); err != nil {
				f.Fatal(err)
			}
			f.Add(buf.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := Load(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotSupported) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrNotSupported", err)
			}
			return
		}
		if typ := idx.Spec().Type; typ != TypeIVFFlat && typ != TypeIVFSQ8 && typ != TypeIVFPQ {
			return // another type's decoder: its own fuzz target searches it
		}
		d := idx.Spec().Dim
		q := make([]float32, d)
		for i := range q {
			q[i] = float32(i)
		}
		if _, err := idx.Search(context.Background(), Dataset{Dim: d, Float: q}, SearchParams{K: 3, Params: map[string]string{"nprobe": "2"}}); err != nil && !errors.Is(err, ErrInvalidParam) {
			t.Fatalf("search after load: %v", err)
		}
		_ = idx.MemoryBytes()
	})
}

func TestIVFProgress(t *testing.T) {
	idx, err := New(Spec{Type: TypeIVFPQ, Metric: L2, Dim: 8, Params: map[string]string{"nlist": "4", "m": "2", "nbits": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	var calls, lastDone, lastTotal int
	idx.(ProgressReporter).SetProgress(func(done, total int) {
		if done > total || done < lastDone {
			t.Fatalf("progress %d/%d after %d", done, total, lastDone)
		}
		calls, lastDone, lastTotal = calls+1, done, total
	})
	if err := idx.Build(context.Background(), Dataset{Dim: 8, Float: randFloats(4, 300, 8)}); err != nil {
		t.Fatal(err)
	}
	if calls == 0 || lastDone != lastTotal {
		t.Fatalf("%d progress calls, last %d/%d", calls, lastDone, lastTotal)
	}
}
