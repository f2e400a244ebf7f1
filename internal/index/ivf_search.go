package index

import (
	"context"
	"fmt"

	"github.com/milvago/milvago/internal/distance"
)

// ivfFloatScratch holds one query's buffers; Search takes them from a pool
// so that concurrent searches never share state.
type ivfFloatScratch struct {
	q      []float32
	coarse []float32
	dists  []float32
	top    *TopK
	probe  ivfProbeScratch
	qs     []float32 // SQ8: query scaled per dimension
	pqB    []float32 // PQ: query table
}

func (x *ivfFloat) getScratch() *ivfFloatScratch {
	if s, ok := x.scratch.Get().(*ivfFloatScratch); ok {
		return s
	}
	s := &ivfFloatScratch{
		q:      make([]float32, x.dim),
		coarse: make([]float32, x.lists),
		top:    NewTopK(1),
	}
	switch {
	case x.sq != nil:
		s.qs = make([]float32, x.dim)
	case x.pq != nil:
		s.pqB = make([]float32, x.pq.m*x.pq.ksub)
	}
	return s
}

// Search returns the K best rows per query, probing nprobe lists (search
// param "nprobe", default 8) and widening to further lists when the probed
// ones cannot supply K rows that pass the filter. "radius" and
// "range_filter" turn it into a range search.
func (x *ivfFloat) Search(ctx context.Context, queries Dataset, p SearchParams) (*Result, error) {
	if !x.built {
		return nil, fmt.Errorf("%s: %w", x.spec.Type, ErrNotBuilt)
	}
	if queries.Dim != x.dim || len(queries.Float)%x.dim != 0 {
		return nil, fmt.Errorf("%s: query dim %d, index dim %d: %w", x.spec.Type, queries.Dim, x.dim, ErrInvalidParam)
	}
	plan, err := ivfMakePlan(x.metric, x.n, x.lists, p)
	if err != nil {
		return nil, err
	}
	nq := len(queries.Float) / x.dim
	return ivfRunQueries(ctx, nq, plan.k, func(qi int, labels []int64, dists []float32) {
		s := x.getScratch()
		x.searchOne(queries.Float[qi*x.dim:(qi+1)*x.dim], plan, s, labels, dists)
		x.scratch.Put(s)
	})
}

// searchOne answers one query into labels and dists (K slots each).
func (x *ivfFloat) searchOne(query []float32, plan ivfPlan, s *ivfFloatScratch, labels []int64, dists []float32) {
	d := x.dim
	q := s.q
	copy(q, query)
	if x.metric == Cosine {
		distance.Normalize(q)
	}
	ip := x.metric != L2
	ivfCoarse(q, x.cent, d, ip, s.coarse)
	top := s.top
	top.Reset(plan.k)

	var scan func(l int)
	switch {
	case x.vecs != nil:
		scan = func(l int) { x.scanFlat(l, q, ip, plan, s) }
	case x.sq != nil:
		base, qnorm := x.sq.prepare(q, s.qs)
		scan = func(l int) { x.scanSQ8(l, base, qnorm, ip, plan, s) }
	default:
		x.pq.queryTable(q, s.pqB)
		scan = func(l int) { x.scanPQ(l, ip, plan, s) }
	}
	ivfProbe(s.coarse, plan, &s.probe, func() bool { return ivfNeedMore(plan, top) }, scan)
	ivfDrain(top, x.metric, labels, dists)
}

// scanFlat scores the raw vectors of list l.
func (x *ivfFloat) scanFlat(l int, q []float32, ip bool, plan ivfPlan, s *ivfFloatScratch) {
	d := x.dim
	lo, hi := int(x.layout.offsets[l]), int(x.layout.offsets[l+1])
	if lo == hi {
		return
	}
	ids := x.layout.ids[lo:hi]
	top, rng, filter := s.top, plan.rng, plan.filter
	if filter == nil {
		// Whole list at once: the batch kernels can block over rows.
		if cap(s.dists) < hi-lo {
			s.dists = make([]float32, hi-lo)
		}
		out := s.dists[:hi-lo]
		rows := x.vecs[lo*d : hi*d]
		if ip {
			distance.DotBatch(q, rows, out)
			for i := range out {
				out[i] = -out[i]
			}
		} else {
			distance.L2SqBatch(q, rows, out)
		}
		for i, t := range out {
			if ivfWorth(top, t) && rng.Keep(t) {
				top.Push(int64(ids[i]), t)
			}
		}
		return
	}
	for i, id := range ids {
		if filter.Test(int(id)) {
			continue
		}
		v := x.vecs[(lo+i)*d : (lo+i+1)*d]
		var t float32
		if ip {
			t = -distance.Dot(q, v)
		} else {
			t = distance.L2Sq(q, v)
		}
		if ivfWorth(top, t) && rng.Keep(t) {
			top.Push(int64(id), t)
		}
	}
}

// scanSQ8 scores the 8-bit codes of list l without decoding them.
func (x *ivfFloat) scanSQ8(l int, base, qnorm float32, ip bool, plan ivfPlan, s *ivfFloatScratch) {
	d := x.dim
	lo, hi := int(x.layout.offsets[l]), int(x.layout.offsets[l+1])
	top, rng, filter := s.top, plan.rng, plan.filter
	for p := lo; p < hi; p++ {
		id := x.layout.ids[p]
		if filter != nil && filter.Test(int(id)) {
			continue
		}
		dot := base + distance.DotU8(s.qs, x.sqCodes[p*d:(p+1)*d])
		var t float32
		if ip {
			t = -dot
		} else {
			t = qnorm - 2*dot + x.sqNorms[p]
		}
		if ivfWorth(top, t) && rng.Keep(t) {
			top.Push(int64(id), t)
		}
	}
}

// scanPQ scores the PQ codes of list l with the query's ADC table.
func (x *ivfFloat) scanPQ(l int, ip bool, plan ivfPlan, s *ivfFloatScratch) {
	lo, hi := int(x.layout.offsets[l]), int(x.layout.offsets[l+1])
	cs := x.pq.codeSize()
	top, rng, filter := s.top, plan.rng, plan.filter
	base := s.coarse[l] // |q-c|^2 for L2, -<q,c> for IP
	for p := lo; p < hi; p++ {
		id := x.layout.ids[p]
		if filter != nil && filter.Test(int(id)) {
			continue
		}
		dot := x.pq.sum(x.pqCodes[p*cs:(p+1)*cs], s.pqB)
		var t float32
		if ip {
			t = base - dot
		} else {
			t = base + x.pqNorms[p] - 2*dot
		}
		if ivfWorth(top, t) && rng.Keep(t) {
			top.Push(int64(id), t)
		}
	}
}
