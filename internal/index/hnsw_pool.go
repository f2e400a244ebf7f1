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
// log2(ef)). With the SIMD count the pool still beats the heaps at ef 512
// (paired against hnswlib: sift-5k 1.22-1.23x on the heaps, 1.38x on the
// pool; glove-100-10k 1.26x and 1.46x; docs/benchmarks.md "hnsw10").
const hnswPoolMaxEf = 512

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
//
// The pool is two arrays, distances and ids. A new entry's place is the
// count of distances <= its own (the array is sorted), taken with SIMD
// compares over the whole array: a binary search mispredicts about half of
// its log2(ef) branches, which cost more than the pool's memmove.
func (h *hnswIndex) searchLayerPool(s *hnswScratch, hq *hnswQuery, ep uint32, epD float32, l, ef int, locked bool) []hnswCand {
	s.newGen()
	vis, gen := s.visited, s.gen
	vis[ep] = gen
	pd, pid := s.poolReset(ef)
	pd[0], pid[0] = epD, ep
	n := 1
	prefetchLinks := l == 0 && !locked
	for cur := 0; cur < n; {
		c := pid[cur]
		pid[cur] |= poolChecked
		if prefetchLinks {
			// The next node to expand is most likely the next unexpanded
			// entry: pull its neighbour list in while this one is scored.
			for j := cur + 1; j < n; j++ {
				if pid[j]&poolChecked == 0 {
					base := int(pid[j]) * (h.m0 + 1)
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
				if n == ef && d >= pd[n-1] {
					continue
				}
				// pd[n:] is +Inf, so counting whole blocks of poolPad is
				// exact (but for d = +Inf, hence the clamp).
				lo := min(poolCountLE(pd[:poolRound(n)], d), n)
				if n < ef {
					n++
				}
				copy(pd[lo+1:n], pd[lo:n-1])
				copy(pid[lo+1:n], pid[lo:n-1])
				pd[lo], pid[lo] = d, nb
				if lo < next {
					next = lo
				}
			}
		}
		for next < n && pid[next]&poolChecked != 0 {
			next++
		}
		cur = next
	}
	out := s.sorted[:0]
	for i := range n {
		out = append(out, hnswCand{pd[i], pid[i] &^ poolChecked})
	}
	s.sorted = out
	return out
}

// poolPad is the block the pool's distances are counted in.
const poolPad = 16

// poolRound rounds n up to a multiple of poolPad.
func poolRound(n int) int { return (n + poolPad - 1) &^ (poolPad - 1) }

// poolReset returns the pool's distance and id arrays for a search of
// width ef: the distances padded to a multiple of poolPad, all +Inf.
func (s *hnswScratch) poolReset(ef int) ([]float32, []uint32) {
	nd := poolRound(ef)
	if cap(s.poolD) < nd {
		s.poolD = make([]float32, nd)
	}
	if cap(s.poolID) < ef {
		s.poolID = make([]uint32, ef)
	}
	pd := s.poolD[:nd]
	inf := float32(math.Inf(1))
	for i := range pd {
		pd[i] = inf
	}
	return pd, s.poolID[:ef]
}

// poolCountLEGo is poolCountLE without SIMD: v is sorted, so the count of
// values <= x is the first position above x (a binary search; a
// branchless one measured 1.4-2.3x slower, its serial load-compare-move
// chain costing more than the mispredicted branches).
func poolCountLEGo(v []float32, x float32) int {
	lo, hi := 0, len(v)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
