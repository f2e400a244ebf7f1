package index

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// scannSearch runs one search and fails the test on error.
func scannSearch(t *testing.T, idx Index, q []float32, d int, p SearchParams) *Result {
	t.Helper()
	res, err := idx.Search(context.Background(), Dataset{Dim: d, Float: q}, p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// SCANN against exact search, every metric, with and without raw data: the
// 4-bit estimate alone finds some true neighbours (as many as IVF_PQ with
// m = dim/2, nbits = 4 and float tables: about 0.5 and 0.4 for L2 and IP on
// this data), the re-rank on raw vectors finds nearly all once reorder_k
// is a few times K and reports exact distances, probing every list with
// reorder_k = n is exact, and more lists or a larger reorder_k never hurt
// much.
func TestSCANNRecall(t *testing.T) {
	const n, d, nq, k = 4000, 32, 100, 10
	data := clusteredFloats(11, n, d, 40)
	queries := clusteredFloats(12, nq, d, 40)
	for _, m := range []Metric{L2, IP, Cosine} {
		gt := groundTruth(m, data, queries, d, k, nil)
		for _, raw := range []bool{true, false} {
			idx := buildIndex(t, Spec{Type: TypeSCANN, Metric: m, Dim: d, Params: map[string]string{
				"nlist": "32", "with_raw_data": strconv.FormatBool(raw)}}, Dataset{Dim: d, Float: data})
			var prev float64
			for _, c := range []struct {
				nprobe, reorder int
				raw, est        float64 // minimum recall with and without raw data
			}{
				{4, 10, 0.3, 0.3},
				{8, 50, 0.75, 0.35},
				{32, 200, 0.98, 0.35},
				{32, n, 1, 0.35}, // every list, every row re-ranked: exact
			} {
				res := scannSearch(t, idx, queries, d, SearchParams{K: k, Params: map[string]string{
					"nprobe": strconv.Itoa(c.nprobe), "reorder_k": strconv.Itoa(c.reorder)}})
				assertSorted(t, res, m)
				rec := recallAtK(res, gt, k)
				want := c.est
				if raw {
					want = c.raw
				}
				t.Logf("%s raw=%v nprobe=%d reorder_k=%d: recall@10 %.3f", m, raw, c.nprobe, c.reorder, rec)
				if rec < want || rec < prev-0.02 {
					t.Errorf("%s raw=%v nprobe=%d reorder_k=%d: recall %.3f (want >= %.2f, previous %.3f)", m, raw, c.nprobe, c.reorder, rec, want, prev)
				}
				prev = rec
				if !raw {
					continue
				}
				for i, l := range res.Labels {
					if l < 0 {
						continue
					}
					q := i / k
					want := exactScore(m, queries[q*d:(q+1)*d], data[int(l)*d:(int(l)+1)*d])
					if got := res.Distances[i]; math.Abs(float64(got-want)) > 1e-3*max(1, math.Abs(float64(want))) {
						t.Fatalf("%s: slot %d distance %g, exact %g", m, i, got, want)
					}
				}
			}
		}
	}
}

// The fast-scan estimate tracks the true distance: without raw data, the
// reported distance of each hit is close to its exact distance.
func TestSCANNEstimate(t *testing.T) {
	const n, d, k = 2000, 16, 10
	data := clusteredFloats(21, n, d, 20)
	q := data[5*d : 6*d]
	idx := buildIndex(t, Spec{Type: TypeSCANN, Metric: L2, Dim: d, Params: map[string]string{"nlist": "8", "with_raw_data": "false"}}, Dataset{Dim: d, Float: data})
	res := scannSearch(t, idx, q, d, SearchParams{K: k, Params: map[string]string{"nprobe": "8"}})
	var errSum, sum float64
	for i, l := range res.Labels {
		ex := float64(exactScore(L2, q, data[int(l)*d:(int(l)+1)*d]))
		errSum += math.Abs(float64(res.Distances[i]) - ex)
		sum += ex
	}
	if errSum > 0.5*sum+0.5 {
		t.Errorf("estimates off by %.3f in total, exact distances sum to %.3f", errSum, sum)
	}
}

// Filters are honoured (never a filtered row, and K hits while enough rows
// survive), and a range search keeps only hits inside its window.
func TestSCANNFilterAndRange(t *testing.T) {
	const n, d, k = 3000, 16, 10
	data := clusteredFloats(31, n, d, 30)
	queries := clusteredFloats(32, 20, d, 30)
	for _, raw := range []string{"true", "false"} {
		idx := buildIndex(t, Spec{Type: TypeSCANN, Metric: L2, Dim: d, Params: map[string]string{"nlist": "16", "with_raw_data": raw}}, Dataset{Dim: d, Float: data})
		for _, frac := range []float64{0.5, 0.99} {
			f := randFilter(33, n, frac)
			res := scannSearch(t, idx, queries, d, SearchParams{K: k, Filter: f, Params: map[string]string{"nprobe": "2"}})
			assertNoFiltered(t, res, f, n)
			if n-f.Count() >= k {
				for i, l := range res.Labels {
					if l < 0 {
						t.Fatalf("raw=%s filter %.2f: empty slot %d with %d rows allowed", raw, frac, i, n-f.Count())
					}
				}
			}
			if raw == "true" {
				gt := groundTruth(L2, data, queries, d, k, f)
				if frac == 0.99 {
					// Every list is scanned, the re-rank is exact: only the
					// estimate's candidate cut can lose a neighbour.
					res = scannSearch(t, idx, queries, d, SearchParams{K: k, Filter: f, Params: map[string]string{"reorder_k": "100"}})
					if r := recallAtK(res, gt, k); r < 0.99 {
						t.Errorf("filter 0.99, reorder_k 100: recall %.3f", r)
					}
				}
			}
		}
		res := scannSearch(t, idx, queries, d, SearchParams{K: 50, Params: map[string]string{"nprobe": "16", "radius": "1.5", "range_filter": "0.5"}})
		for i, l := range res.Labels {
			if l >= 0 && (res.Distances[i] >= 1.5 || res.Distances[i] < 0.5) {
				t.Fatalf("raw=%s: range hit %d at %g outside [0.5, 1.5)", raw, l, res.Distances[i])
			}
		}
	}
}

// Milvus's parameter checks and texts (Knowhere's ScannConfig).
func TestSCANNParams(t *testing.T) {
	for _, c := range []struct {
		dim    int
		metric Metric
		params map[string]string
		text   string
	}{
		{8, L2, map[string]string{"nlist": "0"}, "param 'nlist' (0) should be in range [1, 65536]"},
		{8, L2, map[string]string{"nlist": "65537"}, "param 'nlist' (65537) should be in range [1, 65536]"},
		{127, L2, nil, "The dimension of a vector (dim) should be a multiple of sub_dim. Dimension:127, sub_dim:2"},
		{12, L2, map[string]string{"sub_dim": "5"}, "Dimension:12, sub_dim:5"},
		{8, L2, map[string]string{"with_raw_data": "maybe"}, "with_raw_data"},
		{8, Hamming, nil, "metric type"},
	} {
		_, err := New(Spec{Type: TypeSCANN, Metric: c.metric, Dim: c.dim, Params: c.params})
		if !errors.Is(err, ErrInvalidParam) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%d %s %v: %v, want %q", c.dim, c.metric, c.params, err, c.text)
		}
	}
	const n, d = 300, 12
	data := randFloats(41, n, d)
	idx := buildIndex(t, Spec{Type: TypeSCANN, Metric: IP, Dim: d, Params: map[string]string{"nlist": "4", "sub_dim": "3"}}, Dataset{Dim: d, Float: data})
	if s := idx.Spec(); s.Params["nlist"] != "4" || s.Params["with_raw_data"] != "true" || s.Params["sub_dim"] != "3" {
		t.Errorf("spec %+v", s)
	}
	q := Dataset{Dim: d, Float: data[:d]}
	for _, c := range []struct {
		params map[string]string
		text   string
	}{
		{map[string]string{"reorder_k": "9"}, "reorder_k(9) should be larger than k(10)"},
		{map[string]string{"reorder_k": "0"}, "param 'reorder_k' (0) should be in range"},
		{map[string]string{"nprobe": "0"}, "param 'nprobe' (0) should be in range [1, 65536]"},
	} {
		_, err := idx.Search(context.Background(), q, SearchParams{K: 10, Params: c.params})
		if !errors.Is(err, ErrInvalidParam) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("search %v: %v, want %q", c.params, err, c.text)
		}
	}
	res := scannSearch(t, idx, data[:d], d, SearchParams{K: 10, Params: map[string]string{"reorder_k": "20", "nprobe": "4"}})
	if res.Labels[0] != 0 {
		t.Errorf("own vector: nearest %d", res.Labels[0])
	}
	// reorder_k beyond the probed rows re-ranks all of them, and the
	// probe does not widen for it (it widens only to find k rows).
	res = scannSearch(t, idx, data[:d], d, SearchParams{K: 10, Params: map[string]string{"reorder_k": "100000", "nprobe": "1"}})
	if res.Labels[0] != 0 || res.Labels[9] < 0 {
		t.Errorf("reorder_k 100000, nprobe 1: %v", res.Labels)
	}
}

// Serialization keeps type, parameters and answers; an empty index and one
// with fewer rows than lists work; version-1 files of the earlier wrapper
// still load and search; unknown versions are refused with a clear message.
func TestSCANNSerialization(t *testing.T) {
	const n, d = 700, 10
	data := clusteredFloats(51, n, d, 10)
	queries := clusteredFloats(52, 10, d, 10)
	for _, raw := range []string{"true", "false"} {
		for _, m := range []Metric{L2, IP, Cosine} {
			idx := buildIndex(t, Spec{Type: TypeSCANN, Metric: m, Dim: d, Params: map[string]string{"nlist": "8", "with_raw_data": raw}}, Dataset{Dim: d, Float: data})
			p := SearchParams{K: 5, Params: map[string]string{"nprobe": "3", "reorder_k": "12"}}
			want := scannSearch(t, idx, queries, d, p)
			back := roundTrip(t, idx)
			if s := back.Spec(); s.Type != TypeSCANN || s.Metric != m || s.Params["with_raw_data"] != raw || s.Params["nlist"] != "8" {
				t.Errorf("loaded spec %+v", s)
			}
			if back.Len() != n || back.MemoryBytes() < 0 {
				t.Errorf("loaded len %d, memory %d", back.Len(), back.MemoryBytes())
			}
			got := scannSearch(t, back, queries, d, p)
			for i := range want.Labels {
				if got.Labels[i] != want.Labels[i] || got.Distances[i] != want.Distances[i] {
					t.Fatalf("%s raw=%s slot %d: loaded %d/%g, built %d/%g", m, raw, i, got.Labels[i], got.Distances[i], want.Labels[i], want.Distances[i])
				}
			}
		}
	}
	for _, rows := range []int{0, 3} {
		idx := buildIndex(t, Spec{Type: TypeSCANN, Metric: L2, Dim: d, Params: map[string]string{"nlist": "16"}}, Dataset{Dim: d, Float: data[:rows*d]})
		back := roundTrip(t, idx)
		res := scannSearch(t, back, queries[:d], d, SearchParams{K: 5})
		hits := 0
		for _, l := range res.Labels {
			if l >= 0 {
				hits++
			}
		}
		if hits != rows {
			t.Errorf("%d rows: %d hits", rows, hits)
		}
	}

	// A version-1 file: the wrapper over IVF_FLAT that SCANN used to write.
	inner, err := newIVFFloat(Spec{Type: TypeIVFFlat, Metric: L2, Dim: d, Params: map[string]string{"nlist": "8"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := inner.Build(context.Background(), Dataset{Dim: d, Float: data}); err != nil {
		t.Fatal(err)
	}
	old := &scannLegacy{ivfFloat: inner, spec: Spec{Type: TypeSCANN, Metric: L2, Dim: d, Params: map[string]string{"nlist": "8", "with_raw_data": "true"}}}
	var buf bytes.Buffer
	if _, err := old.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if _, ver, _, _ := ReadHeader(buf.Bytes()); ver != 1 {
		t.Fatalf("legacy version %d", ver)
	}
	back, err := Load(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if s := back.Spec(); s.Type != TypeSCANN || s.Params["with_raw_data"] != "true" {
		t.Errorf("legacy spec %+v", s)
	}
	res := scannSearch(t, back, data[7*d:8*d], d, SearchParams{K: 5, Params: map[string]string{"nprobe": "8"}})
	if res.Labels[0] != 7 {
		t.Errorf("legacy: nearest %d, want 7", res.Labels[0])
	}
	if _, err := back.Search(context.Background(), Dataset{Dim: d, Float: data[:d]}, SearchParams{K: 5, Params: map[string]string{"reorder_k": "4"}}); !errors.Is(err, ErrInvalidParam) {
		t.Errorf("legacy reorder_k 4 < k 5: %v", err)
	}
	future := bytes.Clone(buf.Bytes())
	future[8] = 9 // payload version 9
	if _, err := Load(future); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "rebuild the index") {
		t.Errorf("version 9: %v", err)
	}
}

// FuzzLoadSCANN feeds corrupted SCANN files (both payload versions) to
// Load: it must return an error wrapping ErrCorrupt or an index that
// searches without panicking.
//
//	go test -run='^$' -fuzz=FuzzLoadSCANN -fuzztime=60s -fuzzminimizetime=2s ./internal/index
func FuzzLoadSCANN(f *testing.F) {
	data := clusteredFloats(61, 70, 6, 4)
	for _, raw := range []string{"true", "false"} {
		for _, m := range []Metric{L2, IP} {
			idx := buildIndex(f, Spec{Type: TypeSCANN, Metric: m, Dim: 6, Params: map[string]string{"nlist": "3", "with_raw_data": raw}}, Dataset{Dim: 6, Float: data})
			var buf bytes.Buffer
			if _, err := idx.WriteTo(&buf); err != nil {
				f.Fatal(err)
			}
			f.Add(buf.Bytes())
		}
	}
	inner := buildIndex(f, Spec{Type: TypeIVFPQ, Metric: L2, Dim: 6, Params: map[string]string{"nlist": "3", "m": "3", "nbits": "4"}}, Dataset{Dim: 6, Float: data})
	var buf bytes.Buffer
	if _, err := (&scannLegacy{ivfFloat: inner.(*ivfFloat), spec: Spec{Type: TypeSCANN, Metric: L2, Dim: 6}}).WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		if typ, err := PeekType(b); err != nil || typ != TypeSCANN {
			return
		}
		idx, err := Load(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		d := idx.Spec().Dim
		q := make([]float32, d)
		for i := range q {
			q[i] = float32(i) - 1
		}
		if _, err := idx.Search(context.Background(), Dataset{Dim: d, Float: q}, SearchParams{K: 3, Params: map[string]string{"nprobe": "2"}}); err != nil && !errors.Is(err, ErrInvalidParam) {
			t.Fatalf("search after load: %v", err)
		}
		_ = idx.MemoryBytes()
	})
}
