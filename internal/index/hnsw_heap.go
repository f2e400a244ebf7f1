package index

// hnswCand is a (distance, node) pair; smaller distances are better.
type hnswCand struct {
	d  float32
	id uint32
}

// candMinHeap pops the closest candidate first. Hand-written (no
// container/heap) so the inner loop has no interface calls; the sifts move
// a hole instead of swapping, one write per level.
type candMinHeap []hnswCand

func (h *candMinHeap) push(c hnswCand) {
	s := append(*h, c)
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].d <= c.d {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = c
	*h = s
}

func (h *candMinHeap) pop() hnswCand {
	s := *h
	top := s[0]
	last := len(s) - 1
	x := s[last]
	s = s[:last]
	if last > 0 {
		i := 0
		for {
			l := 2*i + 1
			if l >= last {
				break
			}
			m := l
			if r := l + 1; r < last && s[r].d < s[l].d {
				m = r
			}
			if x.d <= s[m].d {
				break
			}
			s[i] = s[m]
			i = m
		}
		s[i] = x
	}
	*h = s
	return top
}

// candMaxHeap keeps the furthest kept result at the root, so the worst is
// evicted first when the heap grows past ef.
type candMaxHeap []hnswCand

func (h *candMaxHeap) push(c hnswCand) {
	s := append(*h, c)
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].d >= c.d {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = c
	*h = s
}

func (h *candMaxHeap) pop() hnswCand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	s.fix0()
	*h = s
	return top
}

// hnswScratch is the per-search working memory, pooled per index.
type hnswScratch struct {
	visited []uint16 // visited[i] == gen marks node i as seen in this search
	gen     uint16
	cand    candMinHeap
	top     candMaxHeap
	nbuf    []uint32   // neighbour list copied under lock while building
	sel     []hnswCand // heuristic selection
	ids     []uint32
	tmp     []uint32
	fresh   []uint32  // unvisited neighbours of the node being expanded
	dists   []float32 // their distances
	sorted  []hnswCand
	poolD   []float32 // searchLayerPool's sorted beam: distances, +Inf padded
	poolID  []uint32  // and ids (poolChecked set once expanded)
	hq      hnswQuery
}

// getScratch takes a scratch from the pool with a fresh visited generation.
func (h *hnswIndex) getScratch() *hnswScratch {
	s, _ := h.scratch.Get().(*hnswScratch)
	if s == nil || len(s.visited) != h.n {
		s = &hnswScratch{visited: make([]uint16, h.n)}
	}
	s.gen++
	if s.gen == 0 { // wrapped: clear and restart
		clear(s.visited)
		s.gen = 1
	}
	return s
}

func (h *hnswIndex) putScratch(s *hnswScratch) {
	s.cand, s.top = s.cand[:0], s.top[:0]
	h.scratch.Put(s)
}

// fix0 restores the heap after the root was replaced.
func (h candMaxHeap) fix0() {
	n := len(h)
	if n < 2 {
		return
	}
	x := h[0]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].d > h[l].d {
			m = r
		}
		if x.d >= h[m].d {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = x
}
