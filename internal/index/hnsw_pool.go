package index

import (
	"math"

	"github.com/milvago/milvago/internal/distance"
)

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
// The halving step is a conditional move rather than a branch: where d
// lands in the pool is unpredictable, and a mispredicted branch at each of
// the ~log2(ef) steps cost more than the search itself.
func poolUpper(pool []hnswCand, d float32) int {
	n := len(pool)
	if n == 0 {
		return 0
	}
	kd := orderKey(d)
	base := 0
	for length := n; length > 1; {
		half := length >> 1
		// le is 1 when pool[base+half].d <= d, else 0, without a branch.
		le := int(uint64(orderKey(pool[base+half].d)-kd-1) >> 63)
		base += half & -le
		length -= half
	}
	return base + int(uint64(orderKey(pool[base].d)-kd-1)>>63)
}

// orderKey maps a float32 to an integer with the same order (-0 and +0
// map to the same key; NaNs land beyond the infinities).
func orderKey(f float32) int64 {
	b := int32(math.Float32bits(f + 0)) // f + 0 turns -0 into +0
	return int64(b ^ (b >> 31 & 0x7fffffff))
}
