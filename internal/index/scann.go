package index

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"sync"
)

// TypeSCANN is Knowhere's SCANN: an inverted file (nlist lists, k-means
// coarse quantizer) whose lists hold the 4-bit product-quantized residuals
// of their vectors in FAISS's fast-scan layout (scann_kernel.go), and, with
// with_raw_data (the default), the raw vectors.
//
// Search probes the nprobe lists nearest to the query, scores every code of
// those lists with quantized uint8 distance tables (32 vectors per
// VPSHUFB), keeps the best reorder_k candidates by that estimate, and, with
// raw data, re-ranks them on the raw vectors and returns the best K with
// exact distances. Without raw data the estimates are returned.
//
// Parameters are Milvus's (Knowhere's ScannConfig): build nlist [1, 65536]
// (default 128), sub_dim [1, 65536] (components per sub-quantizer, default
// 2; dim must be a multiple of it), with_raw_data (default true); search
// nprobe [1, 65536] (default 8) and reorder_k (>= K, default K).
const TypeSCANN = "SCANN"

func init() {
	Register(TypeSCANN, KindFloat,
		func(spec Spec) (Index, error) { return newSCANN(spec) },
		loadSCANN)
}

// scannKsub is the number of codewords per sub-quantizer: 4-bit codes.
const scannKsub = 16

// scann is the fast-scan index. Positions are list-ordered as in ivfFloat:
// list l holds positions layout.offsets[l] to layout.offsets[l+1]-1, and
// its codes occupy blocks blockOff[l] to blockOff[l+1]-1, position
// offsets[l]+i being slot i%32 of block blockOff[l]+i/32.
type scann struct {
	spec   Spec
	metric Metric
	dim    int
	n      int
	lists  int
	cent   []float32 // lists*dim
	layout ivfLists
	pq     *pqCodec // m = dim/sub_dim sub-quantizers, nbits = 4
	// blockOff[l] is the first block of list l (lists+1 entries).
	blockOff []uint32
	codes    []byte    // blockOff[lists] blocks of fsBlockBytes(m)
	norms    []float32 // L2: |r|^2 + 2<c, r> of each position's decoded residual r
	raw      []float32 // with_raw_data: n*dim list-ordered vectors (normalised for COSINE)
	withRaw  bool

	mapped  int64
	built   bool
	scratch sync.Pool
}

// newSCANN validates spec and returns an empty index.
func newSCANN(spec Spec) (*scann, error) {
	metric, err := ivfMetric(spec.Metric)
	if err != nil {
		return nil, err
	}
	if spec.Dim < 1 || spec.Dim > 32768 {
		return nil, fmt.Errorf("param 'dim' (%d) should be in range [1, 32768]: %w", spec.Dim, ErrInvalidParam)
	}
	params := maps.Clone(spec.Params)
	if params == nil {
		params = map[string]string{}
	}
	nlist, err := IntParam(params, "nlist", 128, 1, 65536)
	if err != nil {
		return nil, err
	}
	subDim, err := IntParam(params, "sub_dim", 2, 1, 65536)
	if err != nil {
		return nil, err
	}
	if spec.Dim%subDim != 0 {
		return nil, fmt.Errorf("The dimension of a vector (dim) should be a multiple of sub_dim. Dimension:%d, sub_dim:%d: %w", spec.Dim, subDim, ErrInvalidParam)
	}
	raw := true
	if v, ok := lookup(params, "with_raw_data"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("Type conflict in json: param 'with_raw_data' (%s) should be a boolean: %w", v, ErrInvalidParam)
		}
		raw = b
	}
	params["nlist"] = strconv.Itoa(nlist)
	params["with_raw_data"] = strconv.FormatBool(raw)
	return &scann{
		spec:    Spec{Type: TypeSCANN, Metric: metric, Dim: spec.Dim, Params: params},
		metric:  metric,
		dim:     spec.Dim,
		pq:      newPQCodec(spec.Dim, spec.Dim/subDim, 4),
		withRaw: raw,
	}, nil
}

// Spec returns the spec with defaults applied.
func (s *scann) Spec() Spec { return s.spec }

// Len is the number of vectors indexed.
func (s *scann) Len() int { return s.n }

// MemoryBytes is the size of the centroids, codebooks, codes, raw vectors
// and layout, excluding what Load aliased from its input buffer.
func (s *scann) MemoryBytes() int64 {
	b := int64(len(s.cent)+len(s.raw)+len(s.norms)+len(s.blockOff))*4 + int64(len(s.codes)) + s.layout.memoryBytes() + s.pq.memoryBytes()
	return b - s.mapped
}

// Build trains the coarse quantizer and the 4-bit codebooks on residuals,
// then stores every vector's code (and raw vector) in its list.
func (s *scann) Build(ctx context.Context, data Dataset) error {
	if s.built {
		return fmt.Errorf("SCANN: Build called twice: %w", ErrInvalidParam)
	}
	if data.Float == nil && (data.Binary != nil || data.Sparse != nil) {
		return fmt.Errorf("SCANN needs float vectors: %w", ErrInvalidParam)
	}
	d := s.dim
	if data.Dim != d || len(data.Float)%d != 0 {
		return fmt.Errorf("SCANN: data dim %d (%d values), index dim %d: %w", data.Dim, len(data.Float), d, ErrInvalidParam)
	}
	n := len(data.Float) / d
	if n > 1<<31-1 {
		return fmt.Errorf("SCANN: %d vectors exceed 2^31-1: %w", n, ErrInvalidParam)
	}
	rows := ivfRows{data: data.Float, dim: d, normalize: s.metric == Cosine}
	nlist, _ := strconv.Atoi(s.spec.Params["nlist"])
	lists := max(1, min(nlist, n))
	spherical := s.metric != L2
	train := rows.sample(n, 256*lists, ivfTrainSeed)
	cent, err := kmeansTrain(ctx, train, d, kmeansConfig{
		K: lists, Iters: ivfKmeansIters, MaxTrain: len(train) / d,
		Seed: ivfTrainSeed, Spherical: spherical,
	})
	if err != nil {
		return err
	}
	assign := make([]int32, n)
	kmeansAssignRows(n, d, cent, lists, spherical, rows.row, assign)
	if err := ctx.Err(); err != nil {
		return err
	}
	s.n, s.lists, s.cent = n, lists, cent
	s.layout = ivfGroup(assign, lists)

	// Codebooks: 16 codewords per sub-space, trained on up to 256 residuals
	// per codeword (FAISS's max_points_per_centroid).
	maxTrain := 256 * scannKsub
	step := max(1, (n+maxTrain-1)/maxTrain)
	buf := make([]float32, d)
	var res []float32
	for r := 0; r < n; r += step {
		c := int(assign[r])
		v := rows.row(r, buf)
		for j := range d {
			res = append(res, v[j]-cent[c*d+j])
		}
	}
	if err := s.pq.train(ctx, res, ivfTrainSeed+1, nil); err != nil {
		return err
	}

	// Codes, one byte per sub-quantizer, in list order; then packed.
	m := s.pq.m
	flat := make([]byte, n*m)
	if s.withRaw {
		s.raw = make([]float32, n*d)
	}
	kmeansParallel(n, func(lo, hi int) {
		buf := make([]float32, d)
		r := make([]float32, d)
		for p := lo; p < hi; p++ {
			row := int(s.layout.ids[p])
			c := int(assign[row])
			v := rows.row(row, buf)
			if s.raw != nil {
				copy(s.raw[p*d:(p+1)*d], v)
			}
			for j := range d {
				r[j] = v[j] - cent[c*d+j]
			}
			s.pq.encode(r, flat[p*m:(p+1)*m])
		}
	})
	s.pack(flat)
	if s.metric == L2 {
		s.norms = make([]float32, n)
		for l := range lists {
			c := cent[l*d : (l+1)*d]
			for p := int(s.layout.offsets[l]); p < int(s.layout.offsets[l+1]); p++ {
				s.norms[p] = s.pq.normTerm(flat[p*m:(p+1)*m], c)
			}
		}
	}
	s.built = true
	return ctx.Err()
}

// pack lays the list-ordered codes (m bytes per position) out in blocks.
func (s *scann) pack(flat []byte) {
	m := s.pq.m
	bb := fsBlockBytes(m)
	s.blockOff = make([]uint32, s.lists+1)
	for l := range s.lists {
		cnt := int(s.layout.offsets[l+1] - s.layout.offsets[l])
		s.blockOff[l+1] = s.blockOff[l] + uint32((cnt+fsBlockVecs-1)/fsBlockVecs)
	}
	s.codes = make([]byte, int(s.blockOff[s.lists])*bb)
	for l := range s.lists {
		lo, hi := int(s.layout.offsets[l]), int(s.layout.offsets[l+1])
		for b := int(s.blockOff[l]); b < int(s.blockOff[l+1]); b++ {
			first := lo + (b-int(s.blockOff[l]))*fsBlockVecs
			cnt := min(fsBlockVecs, hi-first)
			fsPack(flat[first*m:], cnt, m, s.codes[b*bb:(b+1)*bb])
		}
	}
}
