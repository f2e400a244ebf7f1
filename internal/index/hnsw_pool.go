package index

import "github.com/milvago/milvago/internal/distance"

// poolChecked marks a pool entry whose neighbours were already expanded.
// Node ids stay below it: searchLayerPool is used only when n <= poolMaxN.
const (
	poolChecked = 1 << 31
	poolMaxN    = poolChecked
)

// hnswPoolMaxEf is the largest ef the sorted pool serves; above it the two
// heaps of searchLayer win (an insert moves up to ef entries, a heap sift
// log2(ef)).
const hnswPoolMaxEf = 256

// usePool reports whether an unfiltered beam search of width ef runs on
// the sorted pool.
func (h *hnswIndex) usePool(ef int) bool { return ef <= hnswPoolMaxEf && h.n <= poolMaxN }

// searchLayerPool is searchLayer without a filter, on one sorted array
// instead of two heaps: the pool holds the ef closest nodes seen so far,
// closest first, each flagged once expanded, and the next node to expand
// is the closest unexpanded one. It visits the same nodes in the same
// order as the two heaps: a candidate the heaps would still hold but the
// pool dropped was evicted from the ef best, so its distance is at least
// the ef-th best and the heaps stop before they would expand it (up to
// exact ties with that bound). It returns the pool, closest first, with
// clean ids, in s.sorted (valid until the next search).
func (h *hnswIndex) searchLayerPool(s *hnswScratch, hq *hnswQuery, ep uint32, epD float32, l, ef int, locked bool) []hnswCand {
	s.newGen()
	vis, gen := s.visited, s.gen
	vis[ep] = gen
	pool := append(s.pool[:0], hnswCand{epD, ep})
	prefetchLinks := l == 0 && !locked
	for cur := 0; cur < len(pool); {
		c := pool[cur].id
		pool[cur].id |= poolChecked
		if prefetchLinks {
			// The next node to expand is most likely the next unexpanded
			// entry: pull its neighbour list in while this one is scored.
			for j := cur + 1; j < len(pool); j++ {
				if pool[j].id&poolChecked == 0 {
					base := int(pool[j].id) * (h.m0 + 1)
					distance.PrefetchUint32(h.links0[base : base+1+h.m0])
					break
				}
			}
		}
		fresh := s.fresh[:0]
		for _, nb := range h.readNeighbors(s, c, l, locked) {
			if vis[nb] != gen {
				vis[nb] = gen
				fresh = append(fresh, nb)
			}
		}
		s.fresh = fresh
		next := cur + 1
		if len(fresh) > 0 {
			ds := s.distBuf(len(fresh))
			h.distMany(hq, fresh, ds)
			for i, nb := range fresh {
				d := ds[i]
				n := len(pool)
				if n == ef && d >= pool[n-1].d {
					continue
				}
				lo := poolUpper(pool, d)
				if n < ef {
					pool = append(pool, hnswCand{})
				}
				copy(pool[lo+1:], pool[lo:len(pool)-1])
				pool[lo] = hnswCand{d, nb}
				if lo < next {
					next = lo
				}
			}
		}
		for next < len(pool) && pool[next].id&poolChecked != 0 {
			next++
		}
		cur = next
	}
	s.pool = pool
	out := s.sorted[:0]
	for _, c := range pool {
		out = append(out, hnswCand{c.d, c.id &^ poolChecked})
	}
	s.sorted = out
	return out
}

// poolUpper returns the first position of pool (sorted by distance) whose
// distance is above d, so that equal distances keep their arrival order.
// A plain binary search: a branchless one (conditional moves over an
// order-preserving integer key) measured 1.4-2.3x slower at ef 16-256
// (BenchmarkPoolUpper), its serial load-compare-move chain costing more
// than the mispredicted branches.
func poolUpper(pool []hnswCand, d float32) int {
	lo, hi := 0, len(pool)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if pool[m].d <= d {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
