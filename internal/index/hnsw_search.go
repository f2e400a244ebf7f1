package index

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/milvago/milvago/internal/distance"
)

// greedy walks level l from cur towards the query, one best neighbour at a
// time, until no neighbour is closer (hnswlib's upper-level descent).
func (h *hnswIndex) greedy(s *hnswScratch, hq *hnswQuery, cur uint32, curD float32, l int, locked bool) (uint32, float32) {
	for changed := true; changed; {
		changed = false
		nbrs := h.readNeighbors(s, cur, l, locked)
		ds := s.distBuf(len(nbrs))
		h.distMany(hq, nbrs, ds)
		for i, nb := range nbrs {
			if d := ds[i]; d < curD {
				cur, curD, changed = nb, d, true
			}
		}
	}
	return cur, curD
}

// readNeighbors returns cur's level-l list; while building (locked) it copies
// the list under the node's lock into scratch.
func (h *hnswIndex) readNeighbors(s *hnswScratch, id uint32, l int, locked bool) []uint32 {
	if !locked {
		return h.neighbors(id, l)
	}
	h.locks[id].Lock()
	s.nbuf = append(s.nbuf[:0], h.neighbors(id, l)...)
	h.locks[id].Unlock()
	return s.nbuf
}

// searchLayer is the beam search of hnswlib's searchBaseLayer(ST): it leaves
// the ef closest nodes of level l in s.top. Nodes whose bit is set in skip
// (level 0 only) are traversed but never kept, so the beam stays connected
// through filtered regions.
func (h *hnswIndex) searchLayer(s *hnswScratch, hq *hnswQuery, ep uint32, epD float32, l, ef int, locked bool, skip []uint64) {
	s.newGen()
	vis, gen := s.visited, s.gen
	s.cand, s.top = s.cand[:0], s.top[:0]
	vis[ep] = gen
	lower := float32(math.MaxFloat32)
	if skip == nil || skip[ep>>6]&(1<<(ep&63)) == 0 {
		s.top.push(hnswCand{epD, ep})
		lower = epD
	}
	s.cand.push(hnswCand{epD, ep})
	for len(s.cand) > 0 {
		c := s.cand[0]
		if c.d > lower && (len(s.top) >= ef || skip == nil) {
			break
		}
		s.cand.pop()
		if l == 0 && !locked && len(s.cand) > 0 {
			// The next candidate to expand is most likely today's best: pull
			// its neighbour list in while this one is scored.
			base := int(s.cand[0].id) * (h.m0 + 1)
			distance.PrefetchUint32(h.links0[base : base+1+h.m0])
		}
		// Gather the unvisited neighbours, then score them all in one
		// kernel call (which prefetches each next row while scoring).
		fresh := s.fresh[:0]
		for _, nb := range h.readNeighbors(s, c.id, l, locked) {
			if vis[nb] != gen {
				vis[nb] = gen
				fresh = append(fresh, nb)
			}
		}
		s.fresh = fresh
		if len(fresh) == 0 {
			continue
		}
		ds := s.distBuf(len(fresh))
		h.distMany(hq, fresh, ds)
		for i, nb := range fresh {
			d := ds[i]
			if len(s.top) < ef || d < lower {
				s.cand.push(hnswCand{d, nb})
				if skip == nil || skip[nb>>6]&(1<<(nb&63)) == 0 {
					if len(s.top) < ef {
						s.top.push(hnswCand{d, nb})
					} else { // full and d < lower: replace the farthest, one sift
						s.top[0] = hnswCand{d, nb}
						s.top.fix0()
					}
					lower = s.top[0].d
				}
			}
		}
	}
}

// distBuf returns scratch room for n distances.
func (s *hnswScratch) distBuf(n int) []float32 {
	if cap(s.dists) < n {
		s.dists = make([]float32, max(n, 64))
	}
	return s.dists[:n]
}

// newGen starts a new visited generation.
func (s *hnswScratch) newGen() {
	s.gen++
	if s.gen == 0 {
		clear(s.visited)
		s.gen = 1
	}
}

// hnswSearchParams are a search request's parsed knobs.
type hnswSearchParams struct {
	k, ef   int
	refineK int // HNSW_SQ with refine: rerank k*refine_k candidates
	win     RangeWindow
	skip    []uint64 // filter words; nil: no filter
	allowed int      // rows that pass the filter
	brute   bool     // the filter leaves so few rows that a scan is cheaper
}

func (h *hnswIndex) parseSearch(p SearchParams) (hnswSearchParams, error) {
	sp := hnswSearchParams{k: p.K, allowed: h.n}
	win, err := ParseRange(h.spec.Metric, p.Params)
	if err != nil {
		return sp, err
	}
	sp.win = win
	def := max(p.K, hnswMinEf)
	if win.Active {
		def = max(p.K, hnswRangeDefaultEf)
	}
	sp.ef, err = IntParam(p.Params, "ef", def, 1, 1<<31-1)
	if err != nil {
		return sp, err
	}
	if !win.Active && sp.ef < p.K {
		return sp, fmt.Errorf("ef(%d) should be larger than k(%d): %w", sp.ef, p.K, ErrInvalidParam)
	}
	sp.ef = max(sp.ef, p.K)
	rk, _, err := FloatParam(p.Params, "refine_k", 1)
	if err != nil {
		return sp, err
	}
	if rk < 1 {
		return sp, fmt.Errorf("param 'refine_k' (%g) should be >= 1: %w", rk, ErrInvalidParam)
	}
	sp.refineK = int(math.Ceil(rk * float64(p.K)))
	if p.Filter != nil && p.Filter.Any() {
		sp.skip = p.Filter.Words()
		sp.allowed = h.n - p.Filter.Count()
		// Cost model: a scan computes `allowed` distances; a filtered beam
		// search computes roughly ef*M0/2 divided by the allowed fraction.
		a := float64(sp.allowed)
		sp.brute = a*a < 0.5*float64(sp.ef)*float64(h.m0)*float64(h.n)
	}
	return sp, nil
}

// Search answers each query with a beam search of width ef, or a scan when
// a filter leaves few rows (and as a fallback when the graph cannot reach K
// allowed rows). Queries are spread over GOMAXPROCS goroutines.
func (h *hnswIndex) Search(ctx context.Context, queries Dataset, p SearchParams) (*Result, error) {
	name := h.typeName()
	if !h.built {
		return nil, fmt.Errorf("search %s: %w", name, ErrNotBuilt)
	}
	qs, nq, err := prepareQueries(h.spec.Metric, queries, h.dim, p, h.n)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", name, err)
	}
	sp, err := h.parseSearch(p)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", name, err)
	}
	res := newResult(nq, p.K)
	if h.n == 0 || sp.allowed == 0 {
		return res, nil
	}
	workers := min(runtime.GOMAXPROCS(0), nq)
	if workers <= 1 {
		h.searchRange(qs, 0, nq, &sp, res)
		return res, ctx.Err()
	}
	var wg sync.WaitGroup
	per := (nq + workers - 1) / workers
	for lo := 0; lo < nq; lo += per {
		hi := min(nq, lo+per)
		wg.Go(func() { h.searchRange(qs, lo, hi, &sp, res) })
	}
	wg.Wait()
	return res, ctx.Err()
}

// searchRange answers queries [lo, hi).
func (h *hnswIndex) searchRange(qs []float32, lo, hi int, sp *hnswSearchParams, res *Result) {
	s := h.getScratch()
	defer h.putScratch(s)
	for qi := lo; qi < hi; qi++ {
		h.searchOne(s, qs[qi*h.dim:(qi+1)*h.dim], sp, res.Labels[qi*res.K:(qi+1)*res.K], res.Distances[qi*res.K:(qi+1)*res.K])
	}
}

// searchOne answers one query into its result slots.
func (h *hnswIndex) searchOne(s *hnswScratch, q []float32, sp *hnswSearchParams, labels []int64, dists []float32) {
	hq := &s.hq
	h.prepare(q, hq)
	var found []hnswCand
	if !sp.brute {
		cur := h.entry
		curD := h.dist(hq, cur)
		for l := h.maxLevel; l > 0; l-- {
			cur, curD = h.greedy(s, hq, cur, curD, l, false)
		}
		switch {
		case sp.skip == nil && h.usePool(sp.ef):
			found = h.searchLayerPool(s, hq, cur, curD, 0, sp.ef, false)
			if !h.refine && !sp.win.Active {
				found = found[:min(len(found), sp.k)]
			}
		default:
			h.searchLayer(s, hq, cur, curD, 0, sp.ef, false, sp.skip)
			if h.refine || sp.win.Active {
				found = s.drainSorted()
			} else {
				found = s.bestK(sp.k)
			}
		}
	}
	if sp.brute || (sp.skip != nil && len(found) < min(sp.k, sp.allowed)) {
		found = h.scan(s, hq, sp)
	}
	if h.refine && h.vecs != nil {
		found = h.rerank(q, found, sp.refineK)
	}
	n := 0
	for _, c := range found {
		if n == len(labels) {
			break
		}
		if !sp.win.Keep(c.d) {
			continue
		}
		labels[n], dists[n] = int64(c.id), c.d
		n++
	}
	if h.spec.Metric != L2 {
		for i := range n {
			dists[i] = -dists[i]
		}
	}
}

// scan is the exact fallback: score every allowed row, keep the best
// max(k, ef), closest first.
func (h *hnswIndex) scan(s *hnswScratch, hq *hnswQuery, sp *hnswSearchParams) []hnswCand {
	keep := max(sp.k, sp.ef)
	s.top = s.top[:0]
	offer := func(i uint32) {
		d := h.dist(hq, i)
		if len(s.top) < keep {
			s.top.push(hnswCand{d, i})
		} else if d < s.top[0].d {
			s.top[0] = hnswCand{d, i}
			s.top.fix0()
		}
	}
	if sp.skip == nil {
		for i := range h.n {
			offer(uint32(i))
		}
		return s.drainSorted()
	}
	// Walk the allowed rows a word at a time, so a filter that removes
	// nearly everything costs n/64 word reads plus the survivors.
	for wi, w := range sp.skip {
		allowed := ^w
		if rest := h.n - wi*64; rest < 64 {
			allowed &= 1<<uint(rest) - 1
		}
		for allowed != 0 {
			offer(uint32(wi*64 + bits.TrailingZeros64(allowed)))
			allowed &= allowed - 1
		}
	}
	return s.drainSorted()
}

// rerank rescores the best r candidates with the float vectors and sorts them.
func (h *hnswIndex) rerank(q []float32, found []hnswCand, r int) []hnswCand {
	found = found[:min(len(found), r)]
	for i := range found {
		if h.spec.Metric == L2 {
			found[i].d = l2sq(q, h.vec(found[i].id))
		} else {
			found[i].d = -dot(q, h.vec(found[i].id))
		}
	}
	slices.SortFunc(found, func(a, b hnswCand) int {
		switch {
		case a.d < b.d:
			return -1
		case a.d > b.d:
			return 1
		}
		return int(a.id) - int(b.id)
	})
	return found
}

// bestK returns the k closest of the result heap, closest first (valid
// until the next search), leaving the heap as it is. One pass with an
// insertion into a sorted window of k: far cheaper than draining all ef.
func (s *hnswScratch) bestK(k int) []hnswCand {
	out := slices.Grow(s.sorted[:0], k)
	for _, c := range s.top {
		if len(out) == k {
			if c.d >= out[k-1].d {
				continue
			}
			out = out[:k-1]
		}
		i := len(out)
		out = append(out, c)
		for ; i > 0 && out[i-1].d > c.d; i-- {
			out[i] = out[i-1]
		}
		out[i] = c
	}
	s.sorted = out
	return out
}
