package index

import (
	"slices"
	"testing"
)

// TestHNSWPoolMatchesHeaps checks that the sorted-pool beam search keeps
// exactly what the two-heap beam search keeps, in the same order, on every
// layer and for ef below, at and above k. The graph is built on one thread
// (deterministic) from data without duplicate rows: with exactly equal
// distances at the ef-th place the two may keep different tied nodes.
func TestHNSWPoolMatchesHeaps(t *testing.T) {
	const n, d = 3000, 24
	data := clusteredFloats(7, n, d, 20)
	for _, m := range []Metric{L2, IP} {
		idx := buildIndex(t, hnswSpec(TypeHNSW, m, "M", "8", "efConstruction", "40", "build_threads", "1"), Dataset{Dim: d, Float: data})
		h := idx.(*hnswIndex)
		queries := randFloats(11, 50, d)
		s := h.getScratch()
		for qi := range 50 {
			q := queries[qi*d : (qi+1)*d]
			hq := &s.hq
			h.prepare(q, hq)
			for _, ef := range []int{1, 2, 10, 16, 33, 64, 200} {
				for l := h.maxLevel; l >= 0; l-- {
					ep := h.entry
					epD := h.dist(hq, ep)
					h.searchLayer(s, hq, ep, epD, l, ef, false, nil)
					want := slices.Clone(s.drainSorted())
					got := slices.Clone(h.searchLayerPool(s, hq, ep, epD, l, ef, false))
					// Equal distances come out of a heap in no fixed
					// order: compare in (distance, id) order.
					slices.SortFunc(want, cmpCand)
					slices.SortFunc(got, cmpCand)
					if !slices.Equal(got, want) {
						t.Fatalf("%s q%d ef=%d level %d: pool %v, heaps %v", m, qi, ef, l, got, want)
					}
				}
			}
		}
		h.putScratch(s)
	}
}

func cmpCand(a, b hnswCand) int {
	switch {
	case a.d < b.d:
		return -1
	case a.d > b.d:
		return 1
	}
	return int(a.id) - int(b.id)
}
