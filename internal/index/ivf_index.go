package index

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/milvago/milvago/internal/distance"
)

// The float IVF family: IVF_FLAT, IVF_SQ8 and IVF_PQ share one type that
// differs only in how a list stores its vectors.
func init() {
	for _, typ := range []string{TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		Register(typ, KindFloat,
			func(spec Spec) (Index, error) { return newIVFFloat(spec) },
			func(data []byte) (Index, error) { return loadIVFFloat(typ, data) })
	}
}

// ivfTrainSeed seeds every k-means run, so builds are reproducible.
const ivfTrainSeed = 0x1f2e3d4c

// ivfKmeansIters is the number of Lloyd iterations of the coarse quantizer
// (FAISS's IVF default).
const ivfKmeansIters = 10

// ivfFloat is an inverted-file index over float vectors. Build clusters the
// vectors with k-means into nlist lists (fewer when there are fewer vectors
// than nlist: one list per vector at most, Milvus would not index such a
// small segment at all); Search scans the nprobe lists whose centroids are
// nearest to the query.
//
// COSINE normalises stored vectors and queries and ranks by inner product;
// IP and COSINE use a spherical coarse quantizer (largest inner product).
//
// Filtered search never scores a row whose filter bit is set, and probes
// nprobe*n/allowed lists instead of nprobe, so that it scores about as many
// rows as an unfiltered search and keeps its recall (Knowhere probes nprobe
// lists whatever the filter, and loses recall and hits as the filter
// tightens). When that covers every list (allowed*lists <= n*nprobe) every
// list is visited, which is exact among the allowed rows for IVF_FLAT. If the
// probed lists still hold fewer than K allowed rows, the probe widens,
// nearest centroid first, until K are found. A range search ("radius",
// "range_filter") scans the probed lists, widening only under a filter, and
// returns the best K hits inside the window.
type ivfFloat struct {
	spec   Spec
	metric Metric
	dim    int
	n      int
	lists  int       // effective number of lists
	cent   []float32 // lists*dim centroids
	layout ivfLists

	vecs []float32 // IVF_FLAT: list-ordered vectors

	sq      *sqCodec
	sqCodes []byte    // IVF_SQ8: n*dim codes, list-ordered
	sqNorms []float32 // IVF_SQ8: squared norm of each decoded vector (L2 only)

	pq      *pqCodec
	pqCodes []byte    // IVF_PQ: n*codeSize codes of residuals, list-ordered
	pqNorms []float32 // IVF_PQ, L2: |r|^2 + 2<centroid, r> per decoded residual, list-ordered

	mapped  int64 // bytes aliased from a loaded buffer
	built   bool
	scratch sync.Pool

	progress     func(done, total int)
	progressDone int
}

// SetProgress makes Build report progress (ProgressReporter): one unit per
// k-means iteration, one per PQ sub-space, one for filling the lists.
func (x *ivfFloat) SetProgress(fn func(done, total int)) { x.progress = fn }

// tick reports one more unit of build work; Build calls it from its own
// goroutine only.
func (x *ivfFloat) tick() {
	if x.progress == nil {
		return
	}
	total := x.progressTotal()
	x.progressDone = min(x.progressDone+1, total)
	x.progress(x.progressDone, total)
}

// progressTotal is the number of build units tick reports.
func (x *ivfFloat) progressTotal() int {
	if x.pq != nil {
		return ivfKmeansIters + x.pq.m + 1
	}
	return ivfKmeansIters + 1
}

// ivfMetric checks and defaults the metric of a float index.
func ivfMetric(m Metric) (Metric, error) {
	switch m {
	case "":
		return Cosine, nil // Milvus's default metric for float vectors
	case L2, IP, Cosine:
		return m, nil
	}
	return "", fmt.Errorf("metric type %q not supported for float vectors, supported: [L2 IP COSINE]: %w", m, ErrInvalidParam)
}

// newIVFFloat validates spec and returns an empty index.
func newIVFFloat(spec Spec) (*ivfFloat, error) {
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
	params["nlist"] = strconv.Itoa(nlist)
	x := &ivfFloat{metric: metric, dim: spec.Dim}
	if spec.Type == TypeIVFPQ {
		m, err := IntParam(params, "m", pqDefaultM(spec.Dim), 1, spec.Dim)
		if err != nil {
			return nil, err
		}
		if spec.Dim%m != 0 {
			return nil, fmt.Errorf("The dimension of a vector (dim) should be a multiple of the number of subquantizers (m). Dimension:%d, m:%d: %w", spec.Dim, m, ErrInvalidParam)
		}
		nbits, err := IntParam(params, "nbits", 8, 1, 16)
		if err != nil {
			return nil, err
		}
		params["m"], params["nbits"] = strconv.Itoa(m), strconv.Itoa(nbits)
		x.pq = newPQCodec(spec.Dim, m, nbits)
	}
	x.spec = Spec{Type: spec.Type, Metric: metric, Dim: spec.Dim, Params: params}
	return x, nil
}

// pqDefaultM picks m when the caller gives none: sub-vectors of 4
// components when dim allows it (what FAISS benchmarks use), else 2, else 1.
func pqDefaultM(dim int) int {
	switch {
	case dim%4 == 0:
		return dim / 4
	case dim%2 == 0:
		return dim / 2
	}
	return dim
}

// Spec returns the spec with defaults applied.
func (x *ivfFloat) Spec() Spec { return x.spec }

// Len is the number of vectors indexed.
func (x *ivfFloat) Len() int { return x.n }

// MemoryBytes is the size of the centroids, lists and codes, excluding what
// Load aliased from its input buffer.
func (x *ivfFloat) MemoryBytes() int64 {
	b := int64(len(x.cent)+len(x.vecs)+len(x.sqNorms)+len(x.pqNorms))*4 +
		x.layout.memoryBytes() + int64(len(x.sqCodes)+len(x.pqCodes))
	if x.sq != nil {
		b += x.sq.memoryBytes()
	}
	if x.pq != nil {
		b += x.pq.memoryBytes()
	}
	return b - x.mapped
}

// Build trains the coarse quantizer (and SQ8 ranges or PQ codebooks) and
// stores every vector in its list.
func (x *ivfFloat) Build(ctx context.Context, data Dataset) error {
	if x.built {
		return fmt.Errorf("%s: Build called twice: %w", x.spec.Type, ErrInvalidParam)
	}
	if data.Float == nil && (data.Binary != nil || data.Sparse != nil) {
		return fmt.Errorf("%s needs float vectors: %w", x.spec.Type, ErrInvalidParam)
	}
	if data.Dim != x.dim || len(data.Float)%x.dim != 0 {
		return fmt.Errorf("%s: data dim %d (%d values), index dim %d: %w", x.spec.Type, data.Dim, len(data.Float), x.dim, ErrInvalidParam)
	}
	n := len(data.Float) / x.dim
	if n > 1<<31-1 {
		return fmt.Errorf("%s: %d vectors exceed 2^31-1: %w", x.spec.Type, n, ErrInvalidParam)
	}
	rows := ivfRows{data: data.Float, dim: x.dim, normalize: x.metric == Cosine}
	nlist, _ := strconv.Atoi(x.spec.Params["nlist"])
	lists := max(1, min(nlist, n))
	spherical := x.metric != L2
	// Train on at most 256 points per list (FAISS's max_points_per_centroid).
	train := rows.sample(n, 256*lists, ivfTrainSeed)
	cent, err := kmeansTrain(ctx, train, x.dim, kmeansConfig{
		K: lists, Iters: ivfKmeansIters, MaxTrain: len(train) / x.dim,
		Seed: ivfTrainSeed, Spherical: spherical, OnIter: x.tick,
	})
	if err != nil {
		return err
	}
	assign := make([]int32, n)
	kmeansAssignRows(n, x.dim, cent, lists, spherical, rows.row, assign)
	if err := ctx.Err(); err != nil {
		return err
	}
	x.n, x.lists, x.cent = n, lists, cent
	x.layout = ivfGroup(assign, lists)

	switch x.spec.Type {
	case TypeIVFFlat:
		x.vecs = make([]float32, n*x.dim)
		kmeansParallel(n, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				dst := x.vecs[p*x.dim : (p+1)*x.dim]
				copy(dst, rows.row(int(x.layout.ids[p]), dst))
			}
		})
	case TypeIVFSQ8:
		x.buildSQ8(rows)
	case TypeIVFPQ:
		if err := x.buildPQ(ctx, rows, assign); err != nil {
			return err
		}
	}
	x.progressDone = x.progressTotal() - 1 // k-means may stop early: jump to the end
	x.tick()
	x.built = true
	return ctx.Err()
}

// ivfRows reads the build data set row by row as the index stores it
// (normalised for COSINE) without copying the whole set: a COSINE build
// holds one normalised copy of the vectors, not two.
type ivfRows struct {
	data      []float32
	dim       int
	normalize bool
}

// row returns row i, normalised into buf (dim values) when needed; the
// result must not be modified.
func (r ivfRows) row(i int, buf []float32) []float32 {
	v := r.data[i*r.dim : (i+1)*r.dim]
	if !r.normalize {
		return v
	}
	copy(buf, v)
	distance.Normalize(buf)
	return buf
}

// sample returns up to max of the n rows, chosen at random with seed when
// there are more, as one contiguous block (the data itself when it can).
func (r ivfRows) sample(n, max int, seed uint64) []float32 {
	if n <= max && !r.normalize {
		return r.data[:n*r.dim]
	}
	var pick []int
	if n > max {
		pick = rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)).Perm(n)[:max]
	} else {
		pick = make([]int, n)
		for i := range pick {
			pick[i] = i
		}
	}
	out := make([]float32, len(pick)*r.dim)
	for j, i := range pick {
		dst := out[j*r.dim : (j+1)*r.dim]
		copy(dst, r.row(i, dst))
	}
	return out
}

// buildSQ8 trains the per-dimension ranges and encodes every vector.
func (x *ivfFloat) buildSQ8(rows ivfRows) {
	d := x.dim
	x.sq = sqTrain(x.n, d, rows.row)
	x.sqCodes = make([]byte, x.n*d)
	norms := make([]float32, x.n)
	kmeansParallel(x.n, func(lo, hi int) {
		buf := make([]float32, d)
		for p := lo; p < hi; p++ {
			norms[p] = x.sq.encode(rows.row(int(x.layout.ids[p]), buf), x.sqCodes[p*d:(p+1)*d])
		}
	})
	if x.metric == L2 {
		x.sqNorms = norms
	}
}

// buildPQ trains the codebooks on a sample of residuals and encodes every
// residual.
func (x *ivfFloat) buildPQ(ctx context.Context, rows ivfRows, assign []int32) error {
	d := x.dim
	// Train on at most 64 points per codeword (enough for k-means to settle,
	// FAISS allows 256).
	maxTrain := 64 * x.pq.ksub
	step := max(1, (x.n+maxTrain-1)/maxTrain)
	buf := make([]float32, d)
	var train []float32
	for r := 0; r < x.n; r += step {
		c := int(assign[r])
		v := rows.row(r, buf)
		for j := range d {
			train = append(train, v[j]-x.cent[c*d+j])
		}
	}
	if err := x.pq.train(ctx, train, ivfTrainSeed+1, x.tick); err != nil {
		return err
	}
	cs := x.pq.codeSize()
	x.pqCodes = make([]byte, x.n*cs)
	kmeansParallel(x.n, func(lo, hi int) {
		buf := make([]float32, d)
		res := make([]float32, d)
		for p := lo; p < hi; p++ {
			r := int(x.layout.ids[p])
			c := int(assign[r])
			v := rows.row(r, buf)
			for j := range d {
				res[j] = v[j] - x.cent[c*d+j]
			}
			x.pq.encode(res, x.pqCodes[p*cs:(p+1)*cs])
		}
	})
	if x.metric == L2 {
		x.pqNorms = make([]float32, x.n)
		for l := range x.lists {
			cent := x.cent[l*d : (l+1)*d]
			for p := int(x.layout.offsets[l]); p < int(x.layout.offsets[l+1]); p++ {
				x.pqNorms[p] = x.pq.normTerm(x.pqCodes[p*cs:(p+1)*cs], cent)
			}
		}
	}
	return nil
}

// ivfCoarse fills out[l] with the coarse score of every centroid for q
// (smaller is better): squared L2, or the negated inner product.
func ivfCoarse(q, cent []float32, dim int, spherical bool, out []float32) {
	if len(out) == 0 {
		return
	}
	if !spherical {
		distance.L2SqBatch(q, cent[:len(out)*dim], out)
		return
	}
	distance.DotBatch(q, cent[:len(out)*dim], out)
	for l := range out {
		out[l] = -out[l]
	}
}
