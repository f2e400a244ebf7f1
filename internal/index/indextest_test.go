package index

// Shared test helpers for every index type in this package: seeded data
// generators, exact brute-force ground truth and recall@k. They live in a
// _test file so they never reach the production binary.

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/distance"
)

// randFloats returns n*d values uniform in [-1, 1) from a fixed seed.
func randFloats(seed uint64, n, d int) []float32 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]float32, n*d)
	for i := range out {
		out[i] = r.Float32()*2 - 1
	}
	return out
}

// clusteredFloats returns n*d values drawn around nc random centres, which
// looks more like real embeddings than uniform noise (ANN indexes behave
// differently on it: IVF needs clusters, HNSW needs local structure).
func clusteredFloats(seed uint64, n, d, nc int) []float32 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	centres := make([]float32, nc*d)
	for i := range centres {
		centres[i] = r.Float32()*2 - 1
	}
	out := make([]float32, n*d)
	for i := range n {
		c := r.IntN(nc)
		for j := range d {
			out[i*d+j] = centres[c*d+j] + float32(r.NormFloat64())*0.15
		}
	}
	return out
}

// randBinary returns n vectors of dimBits bits each, as bytes, from a fixed seed.
func randBinary(seed uint64, n, dimBits int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]byte, n*dimBits/8)
	for i := range out {
		out[i] = byte(r.Uint32())
	}
	return out
}

// randFilter returns a filter of n rows where each row is filtered out
// (bit set) with probability frac.
func randFilter(seed uint64, n int, frac float64) *bitset.Set {
	r := rand.New(rand.NewPCG(seed, seed+1))
	f := bitset.New(n)
	for i := range n {
		if r.Float64() < frac {
			f.Set(i)
		}
	}
	return f
}

// exactScore is the score an index must report for metric m between float vectors.
func exactScore(m Metric, a, b []float32) float32 {
	switch m {
	case IP:
		return distance.DotRef(a, b)
	case Cosine:
		na := math.Sqrt(float64(distance.DotRef(a, a)))
		nb := math.Sqrt(float64(distance.DotRef(b, b)))
		if na == 0 || nb == 0 {
			return 0
		}
		return float32(float64(distance.DotRef(a, b)) / (na * nb))
	default:
		return distance.L2SqRef(a, b)
	}
}

// groundTruth returns, for each query, the labels of its k exact nearest
// float rows under metric m, best first, skipping rows set in filter (nil:
// none). Fewer than k labels are returned when fewer rows survive the filter.
func groundTruth(m Metric, data, queries []float32, d, k int, filter *bitset.Set) [][]int64 {
	n, nq := len(data)/d, len(queries)/d
	out := make([][]int64, nq)
	type hit struct {
		l int64
		s float32
	}
	hits := make([]hit, 0, n)
	for q := range nq {
		qv := queries[q*d : (q+1)*d]
		hits = hits[:0]
		for i := range n {
			if filter != nil && filter.Test(i) {
				continue
			}
			s := exactScore(m, qv, data[i*d:(i+1)*d])
			if m.HigherIsBetter() {
				s = -s
			}
			hits = append(hits, hit{int64(i), s})
		}
		sort.Slice(hits, func(a, b int) bool {
			if hits[a].s != hits[b].s {
				return hits[a].s < hits[b].s
			}
			return hits[a].l < hits[b].l
		})
		kk := min(k, len(hits))
		out[q] = make([]int64, kk)
		for i := range kk {
			out[q][i] = hits[i].l
		}
	}
	return out
}

// groundTruthBinary is groundTruth for binary vectors (HAMMING or JACCARD);
// dimBits is the number of bits per vector.
func groundTruthBinary(m Metric, data, queries []byte, dimBits, k int, filter *bitset.Set) [][]int64 {
	bpv := dimBits / 8
	n, nq := len(data)/bpv, len(queries)/bpv
	out := make([][]int64, nq)
	type hit struct {
		l int64
		s float32
	}
	hits := make([]hit, 0, n)
	for q := range nq {
		qv := queries[q*bpv : (q+1)*bpv]
		hits = hits[:0]
		for i := range n {
			if filter != nil && filter.Test(i) {
				continue
			}
			row := data[i*bpv : (i+1)*bpv]
			var s float32
			if m == Jaccard {
				s = distance.JaccardRef(qv, row)
			} else {
				s = float32(distance.HammingRef(qv, row))
			}
			hits = append(hits, hit{int64(i), s})
		}
		sort.Slice(hits, func(a, b int) bool {
			if hits[a].s != hits[b].s {
				return hits[a].s < hits[b].s
			}
			return hits[a].l < hits[b].l
		})
		kk := min(k, len(hits))
		out[q] = make([]int64, kk)
		for i := range kk {
			out[q][i] = hits[i].l
		}
	}
	return out
}

// recallAtK is the fraction of ground-truth labels found in the result's
// first k slots, averaged over queries (queries with no truth are skipped).
func recallAtK(res *Result, gt [][]int64, k int) float64 {
	hits, total := 0, 0
	for q := range res.NQ {
		truth := gt[q]
		if len(truth) > k {
			truth = truth[:k]
		}
		want := make(map[int64]bool, len(truth))
		for _, l := range truth {
			want[l] = true
		}
		for _, l := range res.Labels[q*res.K : q*res.K+min(k, res.K)] {
			if l >= 0 && want[l] {
				hits++
				delete(want, l)
			}
		}
		total += len(truth)
	}
	if total == 0 {
		return 1
	}
	return float64(hits) / float64(total)
}

// assertNoFiltered fails the test if any returned label is set in filter
// (Milvus never returns filtered rows) or out of range.
func assertNoFiltered(t *testing.T, res *Result, filter *bitset.Set, n int) {
	t.Helper()
	for i, l := range res.Labels {
		if l < -1 || l >= int64(n) {
			t.Fatalf("slot %d: label %d out of range [0, %d)", i, l, n)
		}
		if l >= 0 && filter != nil && filter.Test(int(l)) {
			t.Fatalf("slot %d: label %d is filtered out but was returned", i, l)
		}
	}
}

// assertSorted fails the test unless each query's hits are best first and
// empty slots (-1) come only after real hits.
func assertSorted(t *testing.T, res *Result, m Metric) {
	t.Helper()
	for q := range res.NQ {
		empty := false
		for i := range res.K {
			j := q*res.K + i
			if res.Labels[j] < 0 {
				empty = true
				continue
			}
			if empty {
				t.Fatalf("query %d: hit after an empty slot at %d", q, i)
			}
			if i == 0 {
				continue
			}
			a, b := res.Distances[j-1], res.Distances[j]
			if (m.HigherIsBetter() && a < b) || (!m.HigherIsBetter() && a > b) {
				t.Fatalf("query %d: slot %d (%g) ranks after slot %d (%g) for %s", q, i, b, i-1, a, m)
			}
		}
	}
}

// buildIndex creates and builds an index, failing the test on error.
func buildIndex(t testing.TB, spec Spec, data Dataset) Index {
	t.Helper()
	idx, err := New(spec)
	if err != nil {
		t.Fatalf("new %s: %v", spec.Type, err)
	}
	if err := idx.Build(context.Background(), data); err != nil {
		t.Fatalf("build %s: %v", spec.Type, err)
	}
	return idx
}

// roundTrip serializes idx and loads it back, failing the test on error.
func roundTrip(t testing.TB, idx Index) Index {
	t.Helper()
	var buf writeBuffer
	if _, err := idx.WriteTo(&buf); err != nil {
		t.Fatalf("write %s: %v", idx.Spec().Type, err)
	}
	out, err := Load(buf.b)
	if err != nil {
		t.Fatalf("load %s: %v", idx.Spec().Type, err)
	}
	return out
}

// writeBuffer is a minimal io.Writer that keeps everything written.
type writeBuffer struct{ b []byte }

func (w *writeBuffer) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
