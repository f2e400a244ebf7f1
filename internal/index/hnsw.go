package index

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/milvago/milvago/internal/distance"
)

// HNSW is a hierarchical navigable small-world graph (Malkov & Yashunin),
// built and searched the way hnswlib does it, over contiguous slabs:
//
//   - vectors: one row-major []float32 (HNSW) or one []uint8 of SQ8 codes
//     (HNSW_SQ), aliased from the caller or a loaded buffer where possible;
//   - level-0 links: one []uint32 slab with a fixed stride of 1+M0 (count,
//     then up to M0 = 2*M neighbour ids);
//   - upper-level links: one []uint32 slab, 1+M slots per (node, level),
//     located by a per-node offset.
//
// COSINE is served as IP over unit vectors. Search is safe from many
// goroutines: it only reads the slabs and takes per-search scratch (visited
// marks, heaps) from a pool.

func init() {
	Register(TypeHNSW, KindFloat, newHNSW, loadHNSW)
	Register(TypeHNSWSQ, KindFloat, newHNSWSQ, loadHNSWSQ)
}

// Milvus (knowhere) defaults and limits for HNSW parameters.
const (
	hnswDefaultM       = 30
	hnswDefaultEfC     = 360
	hnswMinEf          = 16  // search ef defaults to max(k, 16)
	hnswRangeDefaultEf = 512 // range search ef default
	hnswMaxLevel       = 31
	hnswSeed           = 100 // hnswlib's default random seed
)

// Space modes: how a node is scored against a prepared query.
const (
	modeL2   uint8 = iota // squared L2 over float vectors
	modeIP                // negated inner product over float vectors (IP, COSINE)
	modeSQL2              // squared L2 over SQ8 codes
	modeSQIP              // negated inner product over SQ8 codes
)

// ProgressReporter is implemented by indexes that report build progress.
// The bench command uses it to draw a progress bar; fn is called from the
// building goroutines (serialised by the index) with done <= total.
type ProgressReporter interface {
	SetProgress(fn func(done, total int))
}

type hnswIndex struct {
	spec   Spec
	dim    int
	n      int
	m, m0  int
	efC    int
	mode   uint8
	built  bool
	owned  bool      // vecs was allocated by the index (COSINE copy or load copy)
	vecs   []float32 // n*dim floats; nil for HNSW_SQ without refine
	sq     *sq8      // HNSW_SQ codes; nil for HNSW
	refine bool      // HNSW_SQ: rerank with the float vectors in vecs

	maxLevel int
	entry    uint32
	levels   []uint8
	links0   []uint32 // n*(1+m0)
	upperOff []uint32 // per node: offset of its level-1 list in upper (levels>0 only)
	upper    []uint32

	// Build-time state, dropped when Build returns.
	locks    []sync.Mutex
	globalMu sync.Mutex // guards entry and maxLevel while building
	threads  int
	progress func(done, total int)

	scratch sync.Pool // *hnswScratch
}

func newHNSW(spec Spec) (Index, error) { return newHNSWIndex(spec, false) }

func newHNSWSQ(spec Spec) (Index, error) { return newHNSWIndex(spec, true) }

func newHNSWIndex(spec Spec, quantized bool) (Index, error) {
	if err := checkFloatMetric(spec.Metric); err != nil {
		return nil, err
	}
	m, err := IntParam(spec.Params, "M", hnswDefaultM, 2, 2048)
	if err != nil {
		return nil, err
	}
	efC, err := IntParam(spec.Params, "efConstruction", hnswDefaultEfC, 1, 1<<31-1)
	if err != nil {
		return nil, err
	}
	threads, err := IntParam(spec.Params, "build_threads", runtime.GOMAXPROCS(0), 1, 1024)
	if err != nil {
		return nil, err
	}
	h := &hnswIndex{spec: spec, dim: spec.Dim, m: m, m0: 2 * m, efC: efC, threads: threads}
	h.mode = modeL2
	if spec.Metric != L2 {
		h.mode = modeIP
	}
	if quantized {
		if err := h.parseSQParams(); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// parseSQParams checks HNSW_SQ's sq_type, refine and refine_type.
func (h *hnswIndex) parseSQParams() error {
	switch t := StringParam(h.spec.Params, "sq_type", "SQ8"); t {
	case "SQ8", "sq8":
	default:
		return fmt.Errorf("sq_type %q (only SQ8 is supported): %w", t, ErrNotSupported)
	}
	switch r := StringParam(h.spec.Params, "refine", "false"); r {
	case "true", "True", "1":
		h.refine = true
	case "false", "False", "0":
	default:
		return fmt.Errorf("param 'refine' (%s) should be a boolean: %w", r, ErrInvalidParam)
	}
	if h.refine {
		switch t := StringParam(h.spec.Params, "refine_type", "FP32"); t {
		case "FP32", "fp32":
		default:
			return fmt.Errorf("refine_type %q (only FP32 is supported): %w", t, ErrNotSupported)
		}
	}
	h.sq = &sq8{}
	return nil
}

func (h *hnswIndex) typeName() string {
	if h.sq != nil {
		return TypeHNSWSQ
	}
	return TypeHNSW
}

func (h *hnswIndex) Spec() Spec { return h.spec }
func (h *hnswIndex) Len() int   { return h.n }

// SetProgress implements ProgressReporter.
func (h *hnswIndex) SetProgress(fn func(done, total int)) { h.progress = fn }

// MemoryBytes counts the graph and the vectors or codes the index owns.
func (h *hnswIndex) MemoryBytes() int64 {
	b := int64(len(h.levels)) + 4*int64(len(h.links0)+len(h.upperOff)+len(h.upper))
	if h.owned {
		b += 4 * int64(len(h.vecs))
	}
	if h.sq != nil {
		b += int64(len(h.sq.codes)) + 4*int64(len(h.sq.norms)+len(h.sq.vmin)+len(h.sq.scale))
	}
	return b
}

// neighbors returns node id's list at level l. It aliases the graph: while
// building, hold locks[id].
func (h *hnswIndex) neighbors(id uint32, l int) []uint32 {
	if l == 0 {
		base := int(id) * (h.m0 + 1)
		c := h.links0[base]
		return h.links0[base+1 : base+1+int(c)]
	}
	base := int(h.upperOff[id]) + (l-1)*(h.m+1)
	c := h.upper[base]
	return h.upper[base+1 : base+1+int(c)]
}

// setNeighbors replaces node id's list at level l (len(ids) <= capacity).
func (h *hnswIndex) setNeighbors(id uint32, l int, ids []uint32) {
	var list []uint32
	if l == 0 {
		base := int(id) * (h.m0 + 1)
		list = h.links0[base : base+1+h.m0]
	} else {
		base := int(h.upperOff[id]) + (l-1)*(h.m+1)
		list = h.upper[base : base+1+h.m]
	}
	list[0] = uint32(copy(list[1:], ids))
}

// vec returns row id of the float vectors.
func (h *hnswIndex) vec(id uint32) []float32 {
	o := int(id) * h.dim
	return h.vecs[o : o+h.dim : o+h.dim]
}

// hnswQuery is a query prepared for one space mode.
type hnswQuery struct {
	q     []float32 // the query (unit length for COSINE)
	qs    []float32 // SQ: q[i]*scale[i]
	qmin  float32   // SQ: q·vmin
	qnorm float32   // SQ L2: ||q||^2
}

// dist scores node id against a prepared query; smaller is better.
func (h *hnswIndex) dist(hq *hnswQuery, id uint32) float32 {
	switch h.mode {
	case modeL2:
		return l2sq(hq.q, h.vec(id))
	case modeIP:
		return -dot(hq.q, h.vec(id))
	case modeSQL2:
		return hq.qnorm - 2*(hq.qmin+dotU8(hq.qs, h.sq.code(id, h.dim))) + h.sq.norms[id]
	default:
		return -(hq.qmin + dotU8(hq.qs, h.sq.code(id, h.dim)))
	}
}

// prefetch pulls the first cache line of node id's vector or codes towards
// L1, as hnswlib does; the hardware streamer fetches the rest once the
// kernel starts reading. (Prefetching whole 784-d vectors measured no
// better: it fills the line-fill buffers the current distance needs.)
func (h *hnswIndex) prefetch(id uint32) {
	o := int(id) * h.dim
	if h.mode == modeSQL2 || h.mode == modeSQIP {
		distance.PrefetchBytes(h.sq.codes[o : o+min(h.dim, 64)])
		return
	}
	distance.Prefetch(h.vecs[o : o+min(h.dim, 16)])
}

// distMany scores ids against a prepared query into out[:len(ids)], each
// exactly as dist would. Float vectors go through one row-kernel call.
func (h *hnswIndex) distMany(hq *hnswQuery, ids []uint32, out []float32) {
	switch h.mode {
	case modeL2:
		distance.L2SqRows(hq.q, h.vecs, ids, out)
	case modeIP:
		distance.DotRows(hq.q, h.vecs, ids, out)
		for i := range out[:len(ids)] {
			out[i] = -out[i]
		}
	default:
		for i, id := range ids {
			if i+1 < len(ids) {
				h.prefetch(ids[i+1])
			}
			out[i] = h.dist(hq, id)
		}
	}
}

// prepare builds the hnswQuery for q in the index's current mode.
func (h *hnswIndex) prepare(q []float32, hq *hnswQuery) {
	hq.q = q
	if h.mode == modeSQL2 || h.mode == modeSQIP {
		h.sq.prepare(q, hq)
	}
}
