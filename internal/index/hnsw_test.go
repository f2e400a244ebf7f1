package index

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// The HNSW tests share the shape of a small clustered data set; under the
// race detector it is smaller so `go test -race` stays fast.
var (
	hnswTestN  = map[bool]int{false: 2000, true: 700}[raceEnabled]
	hnswTestNQ = map[bool]int{false: 100, true: 40}[raceEnabled]
)

const hnswTestD = 24

func hnswSpec(typ string, m Metric, extra ...string) Spec {
	efc := "100"
	if raceEnabled {
		efc = "48"
	}
	p := map[string]string{"M": "16", "efConstruction": efc}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i]] = extra[i+1]
	}
	return Spec{Type: typ, Metric: m, Dim: hnswTestD, Params: p}
}

func TestHNSWRecall(t *testing.T) {
	data := clusteredFloats(101, hnswTestN, hnswTestD, 20)
	queries := clusteredFloats(102, hnswTestNQ, hnswTestD, 20)
	type search struct {
		ef     string
		recall float64
	}
	cases := []struct {
		typ      string
		m        Metric
		extra    []string
		searches []search
	}{
		{TypeHNSW, L2, nil, []search{{"64", 0.97}}},
		// IP over vectors of unequal norms is not a metric: graph search is
		// known to do worse (hnswlib too); thresholds are measured minus margin.
		{TypeHNSW, IP, nil, []search{{"64", 0.74}, {"256", 0.87}}},
		{TypeHNSW, Cosine, nil, []search{{"64", 0.94}}},
		{TypeHNSW, L2, []string{"build_threads", "1"}, []search{{"64", 0.97}}},
		{TypeHNSWSQ, L2, nil, []search{{"64", 0.93}}},
		{TypeHNSWSQ, IP, nil, []search{{"64", 0.74}}},
		{TypeHNSWSQ, Cosine, nil, []search{{"64", 0.88}}},
		{TypeHNSWSQ, L2, []string{"refine", "true", "refine_type", "FP32"}, []search{{"64", 0.95}}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/%v", c.typ, c.m, c.extra), func(t *testing.T) {
			idx := buildIndex(t, hnswSpec(c.typ, c.m, c.extra...), Dataset{Dim: hnswTestD, Float: data})
			loaded := roundTrip(t, idx)
			gt := groundTruth(c.m, data, queries, hnswTestD, 10, nil)
			for _, sc := range c.searches {
				params := map[string]string{"ef": sc.ef}
				if c.typ == TypeHNSWSQ {
					params["refine_k"] = "3"
				}
				res, err := idx.Search(context.Background(), Dataset{Dim: hnswTestD, Float: queries}, SearchParams{K: 10, Params: params})
				if err != nil {
					t.Fatal(err)
				}
				r := recallAtK(res, gt, 10)
				t.Logf("ef=%s recall@10 = %.4f", sc.ef, r)
				if r < sc.recall {
					t.Errorf("ef=%s: recall@10 = %.4f, want >= %.2f", sc.ef, r, sc.recall)
				}
				assertSorted(t, res, c.m)
				assertNoFiltered(t, res, nil, hnswTestN)
				// Round trip: same answers from the loaded index.
				res2, err := loaded.Search(context.Background(), Dataset{Dim: hnswTestD, Float: queries}, SearchParams{K: 10, Params: params})
				if err != nil {
					t.Fatal(err)
				}
				for i := range res.Labels {
					if res.Labels[i] != res2.Labels[i] || res.Distances[i] != res2.Distances[i] {
						t.Fatalf("slot %d differs after round trip: %d/%g vs %d/%g", i, res.Labels[i], res.Distances[i], res2.Labels[i], res2.Distances[i])
					}
				}
			}
		})
	}
}

func TestHNSWDefaultsAndErrors(t *testing.T) {
	data := randFloats(111, 300, 8)
	idx := buildIndex(t, Spec{Type: TypeHNSW, Metric: L2, Dim: 8}, Dataset{Dim: 8, Float: data})
	h := idx.(*hnswIndex)
	if h.m != hnswDefaultM || h.efC != hnswDefaultEfC {
		t.Errorf("defaults M=%d efConstruction=%d, want %d and %d", h.m, h.efC, hnswDefaultM, hnswDefaultEfC)
	}
	q := Dataset{Dim: 8, Float: data[:8]}
	_, err := idx.Search(context.Background(), q, SearchParams{K: 20, Params: map[string]string{"ef": "10"}})
	if !errors.Is(err, ErrInvalidParam) {
		t.Errorf("ef < k: err=%v, want ErrInvalidParam", err)
	}
	res, err := idx.Search(context.Background(), q, SearchParams{K: 20}) // default ef = max(k, 16)
	if err != nil || res.Labels[0] != 0 {
		t.Errorf("default ef: %v, first hit %v", err, res.Labels[:1])
	}
	for _, bad := range []Spec{
		{Type: TypeHNSW, Metric: L2, Params: map[string]string{"M": "1"}},
		{Type: TypeHNSW, Metric: L2, Params: map[string]string{"M": "4096"}},
		{Type: TypeHNSW, Metric: Hamming},
		{Type: TypeHNSWSQ, Metric: L2, Params: map[string]string{"refine": "maybe"}},
	} {
		if _, err := New(bad); !errors.Is(err, ErrInvalidParam) {
			t.Errorf("%+v: err=%v, want ErrInvalidParam", bad, err)
		}
	}
	if _, err := New(Spec{Type: TypeHNSWSQ, Metric: L2, Params: map[string]string{"sq_type": "PQ"}}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("sq_type PQ: err=%v", err)
	}
	// More K than rows: the rest of the slots are empty.
	small := buildIndex(t, Spec{Type: TypeHNSW, Metric: IP, Dim: 8}, Dataset{Dim: 8, Float: data[:5*8]})
	res, err = small.Search(context.Background(), q, SearchParams{K: 10})
	if err != nil || res.Labels[4] < 0 || res.Labels[5] != -1 {
		t.Errorf("k > n: %v %v", err, res.Labels)
	}
	// AUTOINDEX resolves to HNSW M=18, efConstruction=240.
	auto := buildIndex(t, Spec{Type: TypeAutoIndex, Metric: Cosine, Dim: 8}, Dataset{Dim: 8, Float: data})
	if a := auto.(*hnswIndex); a.m != 18 || a.efC != 240 {
		t.Errorf("AUTOINDEX M=%d efConstruction=%d", a.m, a.efC)
	}
}

func TestHNSWFiltered(t *testing.T) {
	data := clusteredFloats(121, hnswTestN, hnswTestD, 20)
	queries := clusteredFloats(122, hnswTestNQ/2, hnswTestD, 20)
	for _, typ := range []string{TypeHNSW, TypeHNSWSQ} {
		idx := buildIndex(t, hnswSpec(typ, L2), Dataset{Dim: hnswTestD, Float: data})
		for _, frac := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
			filter := randFilter(uint64(frac*1000), hnswTestN, frac)
			res, err := idx.Search(context.Background(), Dataset{Dim: hnswTestD, Float: queries}, SearchParams{K: 10, Filter: filter, Params: map[string]string{"ef": "64"}})
			if err != nil {
				t.Fatal(err)
			}
			assertNoFiltered(t, res, filter, hnswTestN)
			assertSorted(t, res, L2)
			gt := groundTruth(L2, data, queries, hnswTestD, 10, filter)
			r := recallAtK(res, gt, 10)
			want := 0.95
			if typ == TypeHNSWSQ {
				want = 0.8
			}
			if r < want {
				t.Errorf("%s filtered %.1f%%: recall %.4f, want >= %.2f", typ, frac*100, r, want)
			}
			// Every query must get min(k, allowed) hits.
			allowed := hnswTestN - filter.Count()
			for q := range res.NQ {
				got := 0
				for _, l := range res.Labels[q*10 : (q+1)*10] {
					if l >= 0 {
						got++
					}
				}
				if got != min(10, allowed) {
					t.Fatalf("%s filtered %.1f%% query %d: %d hits, want %d", typ, frac*100, q, got, min(10, allowed))
				}
			}
		}
	}
}

func TestHNSWRangeSearch(t *testing.T) {
	data := clusteredFloats(131, hnswTestN, hnswTestD, 20)
	q := clusteredFloats(132, 1, hnswTestD, 20)
	for _, m := range []Metric{L2, IP, Cosine} {
		idx := buildIndex(t, hnswSpec(TypeHNSW, m), Dataset{Dim: hnswTestD, Float: data})
		flat := buildIndex(t, Spec{Type: TypeFlat, Metric: m, Dim: hnswTestD}, Dataset{Dim: hnswTestD, Float: data})
		all, _ := flat.Search(context.Background(), Dataset{Dim: hnswTestD, Float: q}, SearchParams{K: 100})
		params := map[string]string{"radius": fmt.Sprint(all.Distances[40]), "range_filter": fmt.Sprint(all.Distances[10])}
		res, err := idx.Search(context.Background(), Dataset{Dim: hnswTestD, Float: q}, SearchParams{K: 100, Params: params})
		if err != nil {
			t.Fatal(err)
		}
		win, _ := ParseRange(m, params)
		got := 0
		for i, l := range res.Labels {
			if l < 0 {
				continue
			}
			got++
			if !win.KeepScore(m, res.Distances[i]) {
				t.Errorf("%s: score %g outside the window", m, res.Distances[i])
			}
		}
		if got < 28 { // 30 rows are in the window; allow for approximation
			t.Errorf("%s: %d hits in range, want about 30", m, got)
		}
	}
}

func TestHNSWConcurrentSearch(t *testing.T) {
	data := clusteredFloats(141, 1000, 16, 10)
	queries := clusteredFloats(142, 20, 16, 10)
	idx := buildIndex(t, Spec{Type: TypeHNSW, Metric: L2, Dim: 16, Params: map[string]string{"M": "8", "efConstruction": "40"}}, Dataset{Dim: 16, Float: data})
	filter := randFilter(143, 1000, 0.5)
	want, err := idx.Search(context.Background(), Dataset{Dim: 16, Float: queries}, SearchParams{K: 5, Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 10 {
				qi := (g + i) % 20
				got, err := idx.Search(context.Background(), Dataset{Dim: 16, Float: queries[qi*16 : (qi+1)*16]}, SearchParams{K: 5, Filter: filter})
				if err != nil {
					t.Error(err)
					return
				}
				for j := range 5 {
					if got.Labels[j] != want.Labels[qi*5+j] {
						t.Errorf("query %d differs under concurrency", qi)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestHNSWProgressAndCancel(t *testing.T) {
	data := randFloats(151, 3000, 8)
	idx, _ := New(Spec{Type: TypeHNSW, Metric: L2, Dim: 8, Params: map[string]string{"M": "8", "efConstruction": "20"}})
	last := 0
	idx.(ProgressReporter).SetProgress(func(done, total int) {
		if done < last || done > total || total != 3000 {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	})
	if err := idx.Build(context.Background(), Dataset{Dim: 8, Float: data}); err != nil {
		t.Fatal(err)
	}
	if last != 3000 {
		t.Errorf("final progress %d, want 3000", last)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	idx2, _ := New(Spec{Type: TypeHNSW, Metric: L2, Dim: 8, Params: map[string]string{"M": "8", "efConstruction": "20"}})
	if err := idx2.Build(ctx, Dataset{Dim: 8, Float: data}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled build: err=%v", err)
	}
}
