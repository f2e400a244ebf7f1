package index

import (
	"context"
	"fmt"
	"math"

	"github.com/milvago/milvago/internal/distance"
)

// scannChunkBlocks bounds the blocks scored per kernel call, and so the
// per-query result buffer (1,024 vectors).
const scannChunkBlocks = 32

// scannScratch holds one query's buffers; Search takes them from a pool.
type scannScratch struct {
	q      []float32
	qr     []float32 // L2: query residual to the probed centroid
	coarse []float32
	table  []float32  // m*16 float distance table
	lo     []float32  // m per-sub-quantizer minima of table
	hi     []float32  // m per-sub-quantizer maxima of table (AVX-512 path)
	lut    []byte     // 2*m2*32 quantized table
	acc    []uint16   // scannChunkBlocks*32 block results
	cands  scannCands // best reorder_k positions by estimate
	top    *TopK      // best K labels
	probe  ivfProbeScratch
}

func (s *scann) getScratch() *scannScratch {
	if sc, ok := s.scratch.Get().(*scannScratch); ok {
		return sc
	}
	m := s.pq.m
	return &scannScratch{
		q:      make([]float32, s.dim),
		coarse: make([]float32, s.lists),
		table:  make([]float32, m*scannKsub),
		lut:    make([]byte, 2*fsPairs(m)*fsTableBytes),
		acc:    make([]uint16, scannChunkBlocks*fsBlockVecs),
		top:    NewTopK(1),
	}
}

// scannReorderK reads reorder_k (Knowhere: at least 1, default K, and an
// error when below K).
func scannReorderK(p SearchParams) (int, error) {
	rk, err := IntParam(p.Params, "reorder_k", p.K, 1, math.MaxInt32)
	if err != nil {
		return 0, err
	}
	if rk < p.K {
		return 0, fmt.Errorf("Out of range in json: reorder_k(%d) should be larger than k(%d): %w", rk, p.K, ErrInvalidParam)
	}
	return rk, nil
}

// Search returns the K best rows per query: nprobe lists are scanned with
// the fast-scan kernel, the best reorder_k candidates are re-ranked on the
// raw vectors when the index keeps them. Under a filter the probe widens as
// IVF_FLAT's does (ivfMakePlan). "radius" and "range_filter" keep the hits
// inside the window (on exact distances with raw data, on the estimates
// without).
func (s *scann) Search(ctx context.Context, queries Dataset, p SearchParams) (*Result, error) {
	if !s.built {
		return nil, fmt.Errorf("SCANN: %w", ErrNotBuilt)
	}
	if queries.Dim != s.dim || len(queries.Float)%s.dim != 0 {
		return nil, fmt.Errorf("SCANN: query dim %d, index dim %d: %w", queries.Dim, s.dim, ErrInvalidParam)
	}
	plan, err := ivfMakePlan(s.metric, s.n, s.lists, p)
	if err != nil {
		return nil, err
	}
	rk, err := scannReorderK(p)
	if err != nil {
		return nil, err
	}
	nq := len(queries.Float) / s.dim
	return ivfRunQueries(ctx, nq, plan.k, func(qi int, labels []int64, dists []float32) {
		sc := s.getScratch()
		s.searchOne(queries.Float[qi*s.dim:(qi+1)*s.dim], plan, rk, sc, labels, dists)
		s.scratch.Put(sc)
	})
}

// searchOne answers one query into labels and dists (K slots each).
func (s *scann) searchOne(query []float32, plan ivfPlan, rk int, sc *scannScratch, labels []int64, dists []float32) {
	d := s.dim
	q := sc.q
	copy(q, query)
	if s.metric == Cosine {
		distance.Normalize(q)
	}
	ip := s.metric != L2
	ivfCoarse(q, s.cent, d, ip, sc.coarse)
	cands := &sc.cands
	cands.reset(rk)
	// Estimates rank the candidates; with raw data the range
	// window applies after the exact re-rank, without it here.
	estRange := plan.rng
	if s.withRaw {
		estRange = RangeWindow{}
	}

	// One table per query for every metric: sum_j table_j[code_j] estimates
	// -<q, r> for the residual r = x - c of a row x of list l, so
	//   IP:  -<q, x>    = -<q, c> + (-<q, r>)
	//   L2:  |q - x|^2  = |q - c|^2 + (|r|^2 + 2<c, r>) - 2<q, r>
	// where the middle L2 term is kept per row (norms) and the coarse
	// scores already hold -<q, c> and |q - c|^2.
	bias, inv := s.quantizeTable(q, sc)
	if !ip {
		bias, inv = 2*bias, 2*inv
	}
	scan := func(l int) { s.scanList(l, sc.coarse[l]+bias, inv, plan, estRange, sc) }
	// Widen as IVF_FLAT does (ivfNeedMore): until k candidates are found
	// (reorder_k only says how many of the probed rows are re-ranked).
	need := func() bool { return len(cands.buf) < plan.k && (!plan.rng.Active || plan.filter != nil) }
	ivfProbe(sc.coarse, plan, &sc.probe, need, scan)

	top := sc.top
	top.Reset(plan.k)
	cands.cut()
	for _, c := range cands.buf {
		p := int(c.pos)
		t := c.est
		if s.withRaw {
			v := s.raw[p*d : (p+1)*d]
			if ip {
				t = -distance.Dot(q, v)
			} else {
				t = distance.L2Sq(q, v)
			}
			if !plan.rng.Keep(t) {
				continue
			}
		}
		if ivfWorth(top, t) {
			top.Push(int64(s.layout.ids[p]), t)
		}
	}
	ivfDrain(top, s.metric, labels, dists)
}

// quantizeTable fills sc.table with the negated inner product of each
// codeword of each sub-quantizer with the query's sub-vector, and sc.lut with its
// uint8 quantization: entry (t - min_j) * a, rounded, where min_j is the
// smallest entry of sub-quantizer j and a = 255 / (the largest span of a
// sub-quantizer). It returns bias = sum_j min_j and 1/a, so that a code's
// estimate is bias + sum/a.
func (s *scann) quantizeTable(q []float32, sc *scannScratch) (bias, inv float32) {
	if scannHasAVX512 && s.pq.dsub == 2 && s.pq.m > 0 {
		return s.quantizeTableDS2AVX512(q, sc)
	}
	return s.quantizeTableGo(q, sc)
}

// quantizeTableDS2AVX512 is quantizeTableGo for 2-value sub-vectors (m =
// dim/2, SCANN's default) with both loops in AVX-512 (scann_table_amd64.s):
// the same arithmetic in the same order, so the same table, bias and
// quantized table bit for bit (TestSCANNTableKernels).
func (s *scann) quantizeTableDS2AVX512(q []float32, sc *scannScratch) (bias, inv float32) {
	pq := s.pq
	m := pq.m
	tab := sc.table[:m*scannKsub]
	_ = q[2*m-1]
	_ = pq.codebooks[2*scannKsub*m-1]
	_ = sc.lut[m*fsTableBytes-1]
	if cap(sc.lo) < m {
		sc.lo = make([]float32, m)
	}
	if cap(sc.hi) < m {
		sc.hi = make([]float32, m)
	}
	los, his := sc.lo[:m], sc.hi[:m]
	scannTableDS2AVX512(&q[0], &pq.codebooks[0], m, &tab[0], &los[0], &his[0])
	var span float32
	for j, lo := range los {
		bias += lo
		span = max(span, his[j]-lo)
	}
	var a float32
	if span > 0 && !math.IsInf(float64(span), 0) && !math.IsNaN(float64(span)) {
		a = 255 / span
		inv = span / 255
	}
	scannQuantizeAVX512(&tab[0], &los[0], m, a, &sc.lut[0])
	clear(sc.lut[m*fsTableBytes:]) // the padding sub-quantizer of an odd m
	return bias, inv
}

// quantizeTableGo is the portable quantizeTable and the specification of
// the AVX-512 kernels.
func (s *scann) quantizeTableGo(q []float32, sc *scannScratch) (bias, inv float32) {
	pq := s.pq
	m, ds := pq.m, pq.dsub
	tab := sc.table[:m*scannKsub]
	if cap(sc.lo) < m {
		sc.lo = make([]float32, m)
	}
	los := sc.lo[:m]
	var span float32
	for j := range m {
		qj := q[j*ds : (j+1)*ds]
		cb := pq.codebooks[j*scannKsub*ds : (j+1)*scannKsub*ds]
		out := (*[scannKsub]float32)(tab[j*scannKsub:])
		var lo, hi float32
		if ds == 2 {
			q0, q1 := qj[0], qj[1]
			cb := (*[2 * scannKsub]float32)(cb)
			lo = -(q0*cb[0] + q1*cb[1])
			hi = lo
			for c := range scannKsub {
				t := -(q0*cb[2*c] + q1*cb[2*c+1])
				out[c] = t
				if t < lo {
					lo = t
				}
				if t > hi {
					hi = t
				}
			}
		} else {
			for c := range scannKsub {
				row := cb[c*ds : (c+1)*ds]
				var t float32
				for i, v := range qj {
					t -= v * row[i]
				}
				out[c] = t
				if c == 0 || t < lo {
					lo = t
				}
				if c == 0 || t > hi {
					hi = t
				}
			}
		}
		los[j] = lo
		bias += lo
		span = max(span, hi-lo)
	}
	var a float32
	if span > 0 && !math.IsInf(float64(span), 0) && !math.IsNaN(float64(span)) {
		a = 255 / span
		inv = span / 255
	}
	lut := sc.lut
	for j := range m {
		row := (*[scannKsub]float32)(tab[j*scannKsub:])
		dst := (*[fsTableBytes]byte)(lut[j*fsTableBytes:])
		lo := los[j]
		for c := range scannKsub {
			// (t-lo)*a+0.5 lies in [0.5, 255.5] up to rounding; a NaN
			// (from a NaN query) converts to a negative int32, read as 0.
			v := int32((row[c]-lo)*a + 0.5)
			if v > 255 {
				v = 255
			}
			if v < 0 {
				v = 0
			}
			dst[c] = byte(v)
			dst[16+c] = byte(v)
		}
	}
	clear(lut[m*fsTableBytes:]) // the padding sub-quantizer of an odd m
	return bias, inv
}

// scanList scores every code of list l and offers the candidates that can
// be among the best reorder_k: estimate = bias + sum*inv (+ the row's norm
// term for L2).
func (s *scann) scanList(l int, bias, inv float32, plan ivfPlan, rng RangeWindow, sc *scannScratch) {
	lo, hi := int(s.layout.offsets[l]), int(s.layout.offsets[l+1])
	if lo == hi {
		return
	}
	m2 := fsPairs(s.pq.m)
	bb := m2 * fsBlockVecs
	b0, b1 := int(s.blockOff[l]), int(s.blockOff[l+1])
	cands, filter := &sc.cands, plan.filter
	for b := b0; b < b1; b += scannChunkBlocks {
		nb := min(scannChunkBlocks, b1-b)
		acc := sc.acc[:nb*fsBlockVecs]
		fsScan(s.codes[b*bb:(b+nb)*bb], sc.lut, nb, m2, acc)
		first := lo + (b-b0)*fsBlockVecs
		acc = acc[:min(len(acc), hi-first)]
		if s.norms != nil {
			norms := s.norms[first : first+len(acc)]
			for i, a := range acc {
				t := bias + norms[i] + float32(a)*inv
				if t >= cands.thr {
					continue
				}
				p := first + i
				if filter != nil && filter.Test(int(s.layout.ids[p])) {
					continue
				}
				if rng.Keep(t) {
					cands.add(int32(p), t)
				}
			}
			continue
		}
		// Sums at or above thr cannot beat the worst candidate kept.
		thr := scannSumLimit(cands.thr, bias, inv)
		for i, a := range acc {
			if int(a) >= thr {
				continue
			}
			p := first + i
			if filter != nil && filter.Test(int(s.layout.ids[p])) {
				continue
			}
			t := bias + float32(a)*inv
			if t < cands.thr && rng.Keep(t) {
				cands.add(int32(p), t)
				thr = scannSumLimit(cands.thr, bias, inv)
			}
		}
	}
}

// scannSumLimit turns an estimate threshold into a kernel-sum threshold:
// sums at or above it give estimates at or above thr.
func scannSumLimit(thr, bias, inv float32) int {
	if inv <= 0 || math.IsInf(float64(thr), 1) {
		return math.MaxInt
	}
	t := float64(thr-bias) / float64(inv)
	if t >= 65536 {
		return math.MaxInt
	}
	return int(math.Ceil(t))
}
