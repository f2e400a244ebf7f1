package index

import (
	"context"
	"fmt"
	"io"
	"maps"
	"strconv"
	"sync"

	"github.com/milvago/milvago/internal/distance"
)

// Binary vector indexes: BIN_FLAT (exhaustive) and BIN_IVF_FLAT (inverted
// lists over binary centroids). Vectors are Dim bits, Dim a multiple of 8,
// stored as Dim/8 bytes. HAMMING is reported as a float count of differing
// bits, JACCARD as a distance in [0, 1], both smaller-is-better, as Milvus
// reports them.
func init() {
	Register(TypeBinFlat, KindBinary,
		func(spec Spec) (Index, error) { return newBinIndex(spec) },
		func(data []byte) (Index, error) { return loadBinIndex(TypeBinFlat, data) })
	Register(TypeBinIVFFlat, KindBinary,
		func(spec Spec) (Index, error) { return newBinIndex(spec) },
		func(data []byte) (Index, error) { return loadBinIndex(TypeBinIVFFlat, data) })
}

// binIndex serves both binary types; ivf tells them apart.
type binIndex struct {
	spec   Spec
	metric Metric
	dim    int // bits
	bpv    int // bytes per vector
	n      int
	ivf    bool

	lists  int    // BIN_IVF_FLAT: effective number of lists
	cent   []byte // BIN_IVF_FLAT: lists*bpv binary centroids
	layout ivfLists
	codes  []byte // n*bpv: the caller's rows (BIN_FLAT) or list-ordered copies (BIN_IVF_FLAT)

	mapped  int64
	built   bool
	scratch sync.Pool
}

// binMetric checks and defaults the metric of a binary index. As in
// Knowhere, BIN_FLAT also takes SUBSTRUCTURE and SUPERSTRUCTURE; an
// inverted file cannot (they are not distances).
func binMetric(m Metric, ivf bool) (Metric, error) {
	switch m {
	case "":
		return Hamming, nil
	case Hamming, Jaccard:
		return m, nil
	case Substructure, Superstructure:
		if !ivf {
			return m, nil
		}
	}
	if ivf {
		return "", fmt.Errorf("metric type %q not supported for binary vectors, supported: [HAMMING JACCARD]: %w", m, ErrInvalidParam)
	}
	return "", fmt.Errorf("metric type %q not supported for binary vectors, supported: [HAMMING JACCARD SUBSTRUCTURE SUPERSTRUCTURE]: %w", m, ErrInvalidParam)
}

// StructureMatch reports whether code matches q under a structure metric.
func StructureMatch(m Metric, q, code []byte) bool {
	for i := range q {
		a, b := q[i], code[i]
		if m == Substructure && a&b != a || m == Superstructure && a&b != b {
			return false
		}
	}
	return true
}

// newBinIndex validates spec and returns an empty binary index.
func newBinIndex(spec Spec) (*binIndex, error) {
	metric, err := binMetric(spec.Metric, spec.Type == TypeBinIVFFlat)
	if err != nil {
		return nil, err
	}
	if spec.Dim < 8 || spec.Dim > 32768 || spec.Dim%8 != 0 {
		return nil, fmt.Errorf("binary vector dim (%d) should be a multiple of 8 in range [8, 32768]: %w", spec.Dim, ErrInvalidParam)
	}
	params := maps.Clone(spec.Params)
	if params == nil {
		params = map[string]string{}
	}
	b := &binIndex{metric: metric, dim: spec.Dim, bpv: spec.Dim / 8, ivf: spec.Type == TypeBinIVFFlat}
	if b.ivf {
		nlist, err := IntParam(params, "nlist", 128, 1, 65536)
		if err != nil {
			return nil, err
		}
		params["nlist"] = strconv.Itoa(nlist)
	}
	b.spec = Spec{Type: spec.Type, Metric: metric, Dim: spec.Dim, Params: params}
	return b, nil
}

// Spec returns the spec with defaults applied.
func (b *binIndex) Spec() Spec { return b.spec }

// Len is the number of vectors indexed.
func (b *binIndex) Len() int { return b.n }

// MemoryBytes counts the codes, centroids and lists, excluding what Load
// aliased from its input buffer.
func (b *binIndex) MemoryBytes() int64 {
	return int64(len(b.codes)+len(b.cent)) + b.layout.memoryBytes() - b.mapped
}

// Build indexes data.Binary. BIN_FLAT keeps a reference to the caller's
// slice; BIN_IVF_FLAT clusters the vectors (k-means on the bits as 0/1
// floats, centroids rounded back to bits, as FAISS's IndexBinaryIVF) and
// copies them into their lists.
func (b *binIndex) Build(ctx context.Context, data Dataset) error {
	if b.built {
		return fmt.Errorf("%s: Build called twice: %w", b.spec.Type, ErrInvalidParam)
	}
	if data.Dim != b.dim || len(data.Binary)%b.bpv != 0 || (data.Binary == nil && (data.Float != nil || data.Sparse != nil)) {
		return fmt.Errorf("%s needs binary vectors of %d bits (got dim %d, %d bytes): %w", b.spec.Type, b.dim, data.Dim, len(data.Binary), ErrInvalidParam)
	}
	n := len(data.Binary) / b.bpv
	if n > 1<<31-1 {
		return fmt.Errorf("%s: %d vectors exceed 2^31-1: %w", b.spec.Type, n, ErrInvalidParam)
	}
	b.n = n
	if !b.ivf {
		b.codes = data.Binary
		b.built = true
		return nil
	}
	nlist, _ := strconv.Atoi(b.spec.Params["nlist"])
	b.lists = max(1, min(nlist, n))
	cent, err := binTrain(ctx, data.Binary, b.bpv, b.lists)
	if err != nil {
		return err
	}
	b.cent = cent
	assign := make([]int32, n)
	kmeansParallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			assign[i] = int32(binNearest(data.Binary[i*b.bpv:(i+1)*b.bpv], cent, b.bpv))
		}
	})
	b.layout = ivfGroup(assign, b.lists)
	b.codes = make([]byte, n*b.bpv)
	for p, r := range b.layout.ids {
		copy(b.codes[p*b.bpv:(p+1)*b.bpv], data.Binary[int(r)*b.bpv:(int(r)+1)*b.bpv])
	}
	b.built = true
	return ctx.Err()
}

// binTrain runs k-means on a sample of the vectors unpacked to 0/1 floats
// and rounds each centroid component to the nearer bit.
func binTrain(ctx context.Context, codes []byte, bpv, k int) ([]byte, error) {
	n := len(codes) / bpv
	dim := bpv * 8
	step := max(1, n/(256*k))
	var train []float32
	for i := 0; i < n; i += step {
		for _, c := range codes[i*bpv : (i+1)*bpv] {
			for bit := range 8 {
				train = append(train, float32(c>>bit&1))
			}
		}
	}
	fc, err := kmeansTrain(ctx, train, dim, kmeansConfig{K: k, Seed: ivfTrainSeed})
	if err != nil {
		return nil, err
	}
	cent := make([]byte, k*bpv)
	for i, v := range fc {
		if v > 0.5 {
			cent[i/8] |= 1 << (i % 8)
		}
	}
	return cent, nil
}

// binNearest returns the centroid at the smallest Hamming distance from x.
func binNearest(x, cent []byte, bpv int) int {
	best, bestD := 0, int(^uint(0)>>1)
	for c := 0; c < len(cent)/bpv; c++ {
		if d := distance.Hamming(x, cent[c*bpv:(c+1)*bpv]); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// binScratch holds one query's buffers.
type binScratch struct {
	coarse []float32
	top    *TopK
	probe  ivfProbeScratch
}

// Search returns the K nearest rows per query. BIN_IVF_FLAT probes "nprobe"
// lists (default 8) and widens like the float IVF indexes; "radius" and
// "range_filter" turn it into a range search.
func (b *binIndex) Search(ctx context.Context, queries Dataset, p SearchParams) (*Result, error) {
	if !b.built {
		return nil, fmt.Errorf("%s: %w", b.spec.Type, ErrNotBuilt)
	}
	if queries.Dim != b.dim || len(queries.Binary)%b.bpv != 0 {
		return nil, fmt.Errorf("%s: query dim %d, index dim %d: %w", b.spec.Type, queries.Dim, b.dim, ErrInvalidParam)
	}
	lists := max(b.lists, 1)
	plan, err := ivfMakePlan(b.metric, b.n, lists, p)
	if err != nil {
		return nil, err
	}
	nq := len(queries.Binary) / b.bpv
	return ivfRunQueries(ctx, nq, plan.k, func(qi int, labels []int64, dists []float32) {
		s, ok := b.scratch.Get().(*binScratch)
		if !ok {
			s = &binScratch{coarse: make([]float32, b.lists), top: NewTopK(1)}
		}
		b.searchOne(queries.Binary[qi*b.bpv:(qi+1)*b.bpv], plan, s, labels, dists)
		b.scratch.Put(s)
	})
}

func (b *binIndex) searchOne(q []byte, plan ivfPlan, s *binScratch, labels []int64, dists []float32) {
	top := s.top
	top.Reset(plan.k)
	if !b.ivf {
		b.scan(q, 0, b.n, plan, top)
		ivfDrain(top, b.metric, labels, dists)
		return
	}
	for l := range s.coarse {
		s.coarse[l] = float32(distance.Hamming(q, b.cent[l*b.bpv:(l+1)*b.bpv]))
	}
	ivfProbe(s.coarse, plan, &s.probe, func() bool { return ivfNeedMore(plan, top) }, func(l int) {
		b.scan(q, int(b.layout.offsets[l]), int(b.layout.offsets[l+1]), plan, top)
	})
	ivfDrain(top, b.metric, labels, dists)
}

// scan scores positions [lo, hi) of the codes.
func (b *binIndex) scan(q []byte, lo, hi int, plan ivfPlan, top *TopK) {
	jaccard := b.metric == Jaccard
	structure := b.metric == Substructure || b.metric == Superstructure
	for p := lo; p < hi; p++ {
		id := p
		if b.ivf {
			id = int(b.layout.ids[p])
		}
		if plan.filter != nil && plan.filter.Test(id) {
			continue
		}
		code := b.codes[p*b.bpv : (p+1)*b.bpv]
		var t float32
		if structure {
			if !StructureMatch(b.metric, q, code) {
				continue
			}
		} else if jaccard {
			t = distance.Jaccard(q, code)
		} else {
			t = float32(distance.Hamming(q, code))
		}
		if ivfWorth(top, t) && plan.rng.Keep(t) {
			top.Push(int64(id), t)
		}
	}
}

// WriteTo serializes the index (docs/format/index.md, "BIN_FLAT, BIN_IVF_FLAT").
func (b *binIndex) WriteTo(w io.Writer) (int64, error) {
	if !b.built {
		return 0, fmt.Errorf("%s: %w", b.spec.Type, ErrNotBuilt)
	}
	ww := newWireWriter(w, b.spec.Type)
	ww.str(string(b.metric))
	ww.u32(uint32(b.dim))
	ww.u32(uint32(b.n))
	ww.u32(uint32(b.lists))
	ww.params(b.spec.Params)
	if b.ivf {
		ww.bytes(b.cent)
		ww.u32s(b.layout.offsets)
		ww.i32s(b.layout.ids)
	}
	ww.bytes(b.codes)
	ww.align()
	return ww.n, ww.err
}

// loadBinIndex decodes an index written by WriteTo; the codes alias data.
func loadBinIndex(typ string, data []byte) (Index, error) {
	r, err := newWireReader(data, typ)
	if err != nil {
		return nil, err
	}
	metric := Metric(r.str("metric", 16))
	dim := r.count("dim", 32768)
	n := r.count("rows", 1<<31-1)
	lists := r.count("lists", 65536)
	params := r.params()
	if r.err != nil {
		return nil, r.err
	}
	ivf := typ == TypeBinIVFFlat
	if _, err := binMetric(metric, ivf); err != nil || metric == "" || dim < 8 || dim%8 != 0 ||
		(ivf && (lists < 1 || lists > max(1, n))) || (!ivf && lists != 0) {
		return nil, fmt.Errorf("%s: metric %q, dim %d, %d lists for %d rows: %w", typ, metric, dim, lists, n, ErrCorrupt)
	}
	b := &binIndex{
		spec:   Spec{Type: typ, Metric: metric, Dim: dim, Params: params},
		metric: metric, dim: dim, bpv: dim / 8, n: n, ivf: ivf, lists: lists, built: true,
	}
	if ivf {
		b.cent = r.bytes(lists*b.bpv, "centroids")
		b.layout.offsets = r.u32s(lists+1, "list offsets")
		b.layout.ids = r.i32s(n, "row ids")
	}
	b.codes = r.bytes(n*b.bpv, "codes")
	if err := r.done(); err != nil {
		return nil, err
	}
	if ivf {
		if err := wireCheckOffsets(b.layout.offsets, n); err != nil {
			return nil, err
		}
		if err := wireCheckIDs(b.layout.ids, n); err != nil {
			return nil, err
		}
	}
	b.mapped = r.mapped
	return b, nil
}
