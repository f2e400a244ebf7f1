package index

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
)

// Build inserts every row, in parallel over h.threads goroutines, exactly as
// hnswlib does: a random level per node (seeded, so levels are
// reproducible), a greedy descent through the upper levels, an efConstruction
// beam search per level, neighbours chosen with hnswlib's heuristic and
// reverse links pruned with the same heuristic when a list overflows.
// Concurrent inserts lock one node's lists at a time; an insert that raises
// the top level holds the global lock throughout, as in hnswlib.
func (h *hnswIndex) Build(ctx context.Context, data Dataset) error {
	name := h.typeName()
	if h.built {
		return fmt.Errorf("build %s: already built: %w", name, ErrInvalidParam)
	}
	dim, n, err := floatRows(data, h.dim)
	if err != nil {
		return fmt.Errorf("build %s: %w", name, err)
	}
	if n >= math.MaxUint32 {
		return fmt.Errorf("build %s: %d rows is too many: %w", name, n, ErrInvalidParam)
	}
	h.dim, h.n = dim, n
	h.spec.Dim = dim
	if h.spec.Metric == Cosine {
		h.vecs, h.owned = normalizedCopy(data.Float, dim), true
		data.copied()
	} else {
		h.vecs, h.owned = data.Float, false
	}
	h.mode = modeL2
	if h.spec.Metric != L2 {
		h.mode = modeIP
	}
	h.assignLevels()
	h.links0 = make([]uint32, n*(h.m0+1))
	h.locks = make([]sync.Mutex, n)
	h.maxLevel = -1
	defer func() { h.locks = nil }()

	if n > 0 {
		if err := h.insertAll(ctx); err != nil {
			return fmt.Errorf("build %s: %w", name, err)
		}
	}
	if h.sq != nil {
		h.sq.train(h.vecs, dim)
		h.mode = modeSQL2
		if h.spec.Metric != L2 {
			h.mode = modeSQIP
		}
		if !h.refine {
			h.vecs, h.owned = nil, false
		}
	}
	h.built = true
	return nil
}

// assignLevels draws every node's level (hnswlib: floor(-ln(U) / ln(M)))
// from a fixed seed and lays out the upper-level slab.
func (h *hnswIndex) assignLevels() {
	rng := rand.New(rand.NewPCG(hnswSeed, hnswSeed))
	mult := 1 / math.Log(float64(h.m))
	h.levels = make([]uint8, h.n)
	h.upperOff = make([]uint32, h.n)
	total := 0
	for i := range h.levels {
		l := int(-math.Log(1-rng.Float64()) * mult)
		l = min(l, hnswMaxLevel)
		h.levels[i] = uint8(l)
		h.upperOff[i] = uint32(total)
		total += l * (h.m + 1)
	}
	h.upper = make([]uint32, total)
}

// insertAll inserts node 0, then the rest from h.threads goroutines.
func (h *hnswIndex) insertAll(ctx context.Context) error {
	s := h.getScratch()
	h.insert(s, 0)
	h.putScratch(s)
	var (
		next     atomic.Int64
		done     atomic.Int64
		progMu   sync.Mutex
		canceled atomic.Bool
	)
	next.Store(1)
	done.Store(1)
	report := func() {
		if h.progress == nil {
			return
		}
		progMu.Lock()
		h.progress(int(done.Load()), h.n)
		progMu.Unlock()
	}
	worker := func() {
		s := h.getScratch()
		defer h.putScratch(s)
		for {
			i := next.Add(1) - 1
			if i >= int64(h.n) || canceled.Load() {
				return
			}
			h.insert(s, uint32(i))
			if d := done.Add(1); d%1024 == 0 {
				if ctx.Err() != nil {
					canceled.Store(true)
					return
				}
				report()
			}
		}
	}
	var wg sync.WaitGroup
	for range max(1, h.threads) - 1 {
		wg.Go(worker)
	}
	worker()
	wg.Wait()
	if canceled.Load() {
		return ctx.Err()
	}
	report()
	return nil
}

// distNodes is the build-time distance between two nodes (float vectors).
func (h *hnswIndex) distNodes(a, b uint32) float32 {
	if h.mode == modeL2 {
		return l2sq(h.vec(a), h.vec(b))
	}
	return -dot(h.vec(a), h.vec(b))
}

// insert links node id into the graph.
//
// As in hnswlib, the new node's lock is held for the whole insertion: a
// concurrent insert that reaches it through a fresh upper-level link must
// wait until its lower-level lists exist, or it would start a level-0
// search from a node with no links and end up nearly isolated. This cannot
// deadlock: an insert only reaches another in-flight node on a level that
// node has finished, and inserts proceed from the top level down.
func (h *hnswIndex) insert(s *hnswScratch, id uint32) {
	level := int(h.levels[id])
	h.locks[id].Lock()
	defer h.locks[id].Unlock()
	h.globalMu.Lock()
	maxL, ep := h.maxLevel, h.entry
	if maxL < 0 { // the first node
		h.maxLevel, h.entry = level, id
		h.globalMu.Unlock()
		return
	}
	if level > maxL {
		// Keep other inserts out until this node is the new entry point.
		defer func() {
			h.maxLevel, h.entry = level, id
			h.globalMu.Unlock()
		}()
	} else {
		h.globalMu.Unlock()
	}

	hq := &s.hq
	h.prepare(h.vec(id), hq)
	cur, curD := ep, h.dist(hq, ep)
	for l := maxL; l > level; l-- {
		cur, curD = h.greedy(s, hq, cur, curD, l, true)
	}
	for l := min(level, maxL); l >= 0; l-- {
		var cands []hnswCand
		if h.usePool(h.efC) {
			cands = h.searchLayerPool(s, hq, cur, curD, l, h.efC, true)
		} else {
			h.searchLayer(s, hq, cur, curD, l, h.efC, true, nil)
			cands = s.drainSorted()
		}
		s.sel = h.heuristic(cands, h.m, s.sel[:0])
		h.connect(s, id, l, s.sel)
		cur, curD = s.sel[0].id, s.sel[0].d
	}
}

// drainSorted empties the result heap into s.sorted,
// closest first and returns it (valid until the next search).
func (s *hnswScratch) drainSorted() []hnswCand {
	n := len(s.top)
	s.sorted = slices.Grow(s.sorted[:0], n)[:n]
	for i := n - 1; i >= 0; i-- {
		s.sorted[i] = s.top.pop()
	}
	return s.sorted
}

// heuristic is hnswlib's getNeighborsByHeuristic2: walk candidates closest
// first and keep one only if it is closer to the base than to every
// neighbour already kept, up to m. cands must be sorted closest first.
func (h *hnswIndex) heuristic(cands []hnswCand, m int, out []hnswCand) []hnswCand {
	if len(cands) <= m {
		return append(out, cands...)
	}
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		good := true
		for _, o := range out {
			if h.distNodes(c.id, o.id) < c.d {
				good = false
				break
			}
		}
		if good {
			out = append(out, c)
		}
	}
	return out
}

// connect sets id's level-l list to sel and adds the reverse links, pruning
// a neighbour's list with the heuristic when it is full.
func (h *hnswIndex) connect(s *hnswScratch, id uint32, l int, sel []hnswCand) {
	maxM := h.m
	if l == 0 {
		maxM = h.m0
	}
	ids := s.ids[:0]
	for _, c := range sel {
		ids = append(ids, c.id)
	}
	s.ids = ids
	h.setNeighbors(id, l, ids) // the caller holds locks[id]

	var cands, kept []hnswCand
	for _, c := range sel {
		nb := c.id
		h.locks[nb].Lock()
		list := h.neighbors(nb, l)
		if len(list) < maxM {
			h.appendNeighbor(nb, l, id)
			h.locks[nb].Unlock()
			continue
		}
		cands = append(cands[:0], hnswCand{d: c.d, id: id})
		for _, x := range list {
			cands = append(cands, hnswCand{d: h.distNodes(nb, x), id: x})
		}
		slices.SortFunc(cands, func(a, b hnswCand) int {
			switch {
			case a.d < b.d:
				return -1
			case a.d > b.d:
				return 1
			}
			return 0
		})
		kept = h.heuristic(cands, maxM, kept[:0])
		s.tmp = s.tmp[:0]
		for _, k := range kept {
			s.tmp = append(s.tmp, k.id)
		}
		h.setNeighbors(nb, l, s.tmp)
		h.locks[nb].Unlock()
	}
}

// appendNeighbor adds x to nb's level-l list, which has room.
func (h *hnswIndex) appendNeighbor(nb uint32, l int, x uint32) {
	var base int
	var slab []uint32
	if l == 0 {
		base, slab = int(nb)*(h.m0+1), h.links0
	} else {
		base, slab = int(h.upperOff[nb])+(l-1)*(h.m+1), h.upper
	}
	c := slab[base]
	slab[base+1+int(c)] = x
	slab[base] = c + 1
}
