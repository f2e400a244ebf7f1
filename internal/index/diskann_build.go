package index

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Build learns the PQ codebooks, builds the Vamana graph over the full
// vectors (one pass of insertions in random order, each a greedy search
// from the medoid with list size L, RobustPrune with alpha stepping from 1
// to 1.2, and back-links pruned when a list overflows R) and lays out the
// disk records.
func (d *diskann) Build(ctx context.Context, data Dataset) error {
	dim, n, err := floatRows(data, d.dim)
	if err != nil {
		return err
	}
	if dim != d.dim {
		return fmt.Errorf("data dim %d, index dim %d: %w", dim, d.dim, ErrInvalidParam)
	}
	if n > math.MaxInt32 {
		return fmt.Errorf("%d rows: %w", n, ErrInvalidParam)
	}
	vecs := data.Float
	if d.spec.Metric == Cosine {
		vecs = normalizedCopy(vecs, dim)
	}
	d.n = n
	if n == 0 {
		d.disk, d.codes = []byte{}, []byte{}
		d.pq.codebooks = make([]float32, d.pq.m*256*d.pq.dsub)
		d.initSearchState()
		return nil
	}
	// PQ codebooks on a sample, then every code.
	train := vecs
	if n > diskannPQTrainMax {
		train = make([]float32, 0, diskannPQTrainMax*dim)
		rng := rand.New(rand.NewPCG(7, uint64(n)))
		for _, i := range rng.Perm(n)[:diskannPQTrainMax] {
			train = append(train, vecs[i*dim:(i+1)*dim]...)
		}
	}
	if err := d.pq.train(ctx, train, 42, nil); err != nil {
		return fmt.Errorf("DISKANN PQ training: %w", err)
	}
	cs := d.pq.codeSize()
	d.codes = make([]byte, n*cs)
	kmeansParallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d.pq.encode(vecs[i*dim:(i+1)*dim], d.codes[i*cs:(i+1)*cs])
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	g := newVamanaBuilder(vecs, dim, n, d.ip, d.r, d.l)
	if err := g.build(ctx); err != nil {
		return err
	}
	d.medoid = g.medoid
	d.disk = make([]byte, n*d.recSize)
	for i := range n {
		rec := d.disk[i*d.recSize : (i+1)*d.recSize]
		copy(bytesF32(rec[:4*dim]), vecs[i*dim:(i+1)*dim])
		nb := g.adj[i]
		binary.LittleEndian.PutUint32(rec[4*dim:], uint32(len(nb)))
		copy(bytesU32(rec[4*dim+4:])[:d.r], nb)
	}
	d.initSearchState()
	return nil
}

// vamanaBuilder holds the in-memory graph during Build.
type vamanaBuilder struct {
	vecs   []float32
	dim, n int
	ip     bool
	norms  []float32 // IP: |x|^2
	extra  []float32 // IP: sqrt(max|x|^2 - |x|^2), the added component
	r, l   int
	medoid int
	adj    [][]uint32
	locks  []sync.Mutex
}

func newVamanaBuilder(vecs []float32, dim, n int, ip bool, r, l int) *vamanaBuilder {
	g := &vamanaBuilder{vecs: vecs, dim: dim, n: n, ip: ip, r: r, l: l,
		adj: make([][]uint32, n), locks: make([]sync.Mutex, n)}
	if ip {
		g.norms = make([]float32, n)
		var maxN float32
		for i := range n {
			x := g.row(i)
			g.norms[i] = dot(x, x)
			maxN = max(maxN, g.norms[i])
		}
		g.extra = make([]float32, n)
		for i := range n {
			g.extra[i] = float32(math.Sqrt(float64(max(0, maxN-g.norms[i]))))
		}
	}
	return g
}

func (g *vamanaBuilder) row(i int) []float32 { return g.vecs[i*g.dim : (i+1)*g.dim] }

// dist is the squared L2 distance between nodes (over the extended vectors for IP).
func (g *vamanaBuilder) dist(i, j int) float32 {
	if !g.ip {
		return l2sq(g.row(i), g.row(j))
	}
	e := g.extra[i] - g.extra[j]
	return max(0, g.norms[i]+g.norms[j]-2*dot(g.row(i), g.row(j))+e*e)
}

// findMedoid returns the node nearest the centroid.
func (g *vamanaBuilder) findMedoid() int {
	c := make([]float64, g.dim)
	for i := range g.n {
		for t, v := range g.row(i) {
			c[t] += float64(v)
		}
	}
	cf := make([]float32, g.dim)
	for t := range c {
		cf[t] = float32(c[t] / float64(g.n))
	}
	best, bestD := 0, float32(math.MaxFloat32)
	for i := range g.n {
		if dd := l2sq(cf, g.row(i)); dd < bestD {
			best, bestD = i, dd
		}
	}
	return best
}

type vamanaCand struct {
	id uint32
	d  float32
}

// vamanaScratch is one build worker's reusable state.
type vamanaScratch struct {
	visit    []uint32
	gen      uint32
	list     []vamanaCand // sorted by d, at most L
	expanded []bool
	pool     []vamanaCand
	nbuf     []uint32
	occl     []float32
}

func (g *vamanaBuilder) build(ctx context.Context) error {
	g.medoid = g.findMedoid()
	order := rand.New(rand.NewPCG(1, uint64(g.n))).Perm(g.n)
	var next atomic.Int64
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	var stop atomic.Bool
	for range workers {
		wg.Go(func() {
			s := &vamanaScratch{visit: make([]uint32, g.n)}
			for !stop.Load() {
				k := int(next.Add(1)) - 1
				if k >= g.n {
					return
				}
				if k&1023 == 0 && ctx.Err() != nil {
					stop.Store(true)
					return
				}
				g.insert(order[k], s)
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// insert links node p into the graph.
func (g *vamanaBuilder) insert(p int, s *vamanaScratch) {
	g.greedy(p, s)
	pool := s.pool
	g.locks[p].Lock()
	for _, v := range g.adj[p] {
		pool = append(pool, vamanaCand{v, g.dist(p, int(v))})
	}
	g.locks[p].Unlock()
	nb := g.prune(p, pool, s)
	g.locks[p].Lock()
	g.adj[p] = nb
	g.locks[p].Unlock()
	for _, j := range nb {
		g.locks[j].Lock()
		lst := g.adj[j]
		if slices.Contains(lst, uint32(p)) {
			g.locks[j].Unlock()
			continue
		}
		if len(lst) < g.r {
			g.adj[j] = append(lst, uint32(p))
			g.locks[j].Unlock()
			continue
		}
		cand := make([]vamanaCand, 0, len(lst)+1)
		for _, v := range lst {
			cand = append(cand, vamanaCand{v, g.dist(int(j), int(v))})
		}
		cand = append(cand, vamanaCand{uint32(p), g.dist(int(j), p)})
		g.locks[j].Unlock()
		pruned := g.prune(int(j), cand, s)
		g.locks[j].Lock()
		// another worker may have changed j's list meanwhile; keep its additions.
		for _, v := range g.adj[j] {
			if !slices.Contains(lst, v) && !slices.Contains(pruned, v) && len(pruned) < g.r {
				pruned = append(pruned, v)
			}
		}
		g.adj[j] = pruned
		g.locks[j].Unlock()
	}
}

// greedy searches for p from the medoid with list size L; it leaves the
// expanded nodes (with their distances to p) in s.pool.
func (g *vamanaBuilder) greedy(p int, s *vamanaScratch) {
	s.gen++
	if s.gen == 0 {
		clear(s.visit)
		s.gen = 1
	}
	s.list = s.list[:0]
	s.expanded = s.expanded[:0]
	s.pool = s.pool[:0]
	s.visit[p] = s.gen
	if g.medoid == p {
		return
	}
	s.visit[g.medoid] = s.gen
	s.list = append(s.list, vamanaCand{uint32(g.medoid), g.dist(p, g.medoid)})
	s.expanded = append(s.expanded, false)
	for {
		k := -1
		for i, e := range s.expanded {
			if !e {
				k = i
				break
			}
		}
		if k < 0 {
			return
		}
		s.expanded[k] = true
		u := s.list[k]
		s.pool = append(s.pool, u)
		g.locks[u.id].Lock()
		s.nbuf = append(s.nbuf[:0], g.adj[u.id]...)
		g.locks[u.id].Unlock()
		for _, v := range s.nbuf {
			if s.visit[v] == s.gen {
				continue
			}
			s.visit[v] = s.gen
			dv := g.dist(p, int(v))
			s.list, s.expanded = insertCandidate(s.list, s.expanded, g.l, vamanaCand{v, dv})
		}
	}
}

// prune is DiskANN's RobustPrune: from the candidates (nearest first) keep a
// node unless an already kept one is alpha times closer to it, raising alpha
// from 1 to diskannAlpha so that the list fills up to R when it can.
func (g *vamanaBuilder) prune(p int, pool []vamanaCand, s *vamanaScratch) []uint32 {
	slices.SortFunc(pool, func(a, b vamanaCand) int {
		if a.d < b.d {
			return -1
		}
		if a.d > b.d {
			return 1
		}
		return int(a.id) - int(b.id)
	})
	pool = slices.CompactFunc(pool, func(a, b vamanaCand) bool { return a.id == b.id })
	if len(pool) > 750 {
		pool = pool[:750]
	}
	s.occl = append(s.occl[:0], make([]float32, len(pool))...)
	out := make([]uint32, 0, g.r)
	const taken = float32(math.MaxFloat32)
	for alpha := float32(1); alpha <= diskannAlpha*1.0001 && len(out) < g.r; alpha *= 1.2 {
		for i := range pool {
			if len(out) >= g.r {
				break
			}
			if s.occl[i] > alpha || int(pool[i].id) == p {
				continue
			}
			s.occl[i] = taken
			out = append(out, pool[i].id)
			for t := i + 1; t < len(pool); t++ {
				if s.occl[t] > diskannAlpha {
					continue
				}
				djk := g.dist(int(pool[i].id), int(pool[t].id))
				if djk == 0 {
					s.occl[t] = taken
					continue
				}
				s.occl[t] = max(s.occl[t], pool[t].d/djk)
			}
		}
	}
	return out
}

// bytesF32 and bytesU32 view 4-byte-aligned bytes as float32s / uint32s.
func bytesF32(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func bytesU32(b []byte) []uint32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func leU32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
