package index

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
)

// Sparse float vectors: SPARSE_INVERTED_INDEX and SPARSE_WAND (an alias
// here: both do exact document-at-a-time scoring over posting lists, so
// they return identical results). Metrics: IP, and BM25 over
// term-frequency vectors as Milvus's full-text search produces them: as
// knowhere's BM25 metric, a query's values are its terms' weights (IDF
// times query term frequency, computed by the query node over the shard)
// and a row scores sum(w * tf*(k1+1) / (tf + k1*(1-b+b*|d|/avgdl))), with
// avgdl from the search's bm25_avgdl.
func init() {
	for _, typ := range []string{TypeSparseInv, TypeSparseWAND} {
		Register(typ, KindSparse,
			func(spec Spec) (Index, error) { return newSparseIndex(spec) },
			func(data []byte) (Index, error) { return loadSparseIndex(typ, data) })
	}
}

// sparseIndex is an inverted index: for every dimension that occurs, the
// rows holding it and their values, rows ascending.
type sparseIndex struct {
	spec   Spec
	metric Metric
	n      int

	dims    []uint32  // distinct dimensions, ascending
	offsets []uint32  // len(dims)+1: postings of dims[i] are [offsets[i], offsets[i+1])
	rows    []int32   // posting rows
	vals    []float32 // posting values (BM25: term frequencies)

	span   int       // 1 + the largest row with a posting: the size of a query's accumulators
	docLen []float32 // BM25: per row, the sum of its term frequencies
	bm25   sparseBM25

	mapped  int64
	built   bool
	scratch sync.Pool
}

// sparseBM25 holds the BM25 parameters (Milvus names bm25_k1, bm25_b,
// bm25_avgdl).
type sparseBM25 struct {
	k1, b, avgdl float64
}

// newSparseIndex validates spec and returns an empty sparse index.
func newSparseIndex(spec Spec) (*sparseIndex, error) {
	metric := spec.Metric
	switch metric {
	case "":
		metric = IP
	case IP, BM25:
	default:
		return nil, fmt.Errorf("metric type %q not supported for sparse float vectors, supported: [IP BM25]: %w", metric, ErrInvalidParam)
	}
	params := maps.Clone(spec.Params)
	if params == nil {
		params = map[string]string{}
	}
	if _, err := sparseRatio(params, "drop_ratio_build"); err != nil {
		return nil, err
	}
	s := &sparseIndex{metric: metric}
	if metric == BM25 {
		bm, err := sparseParseBM25(params, sparseBM25{k1: 1.2, b: 0.75})
		if err != nil {
			return nil, err
		}
		s.bm25 = bm
	}
	s.spec = Spec{Type: spec.Type, Metric: metric, Params: params}
	return s, nil
}

// sparseRatio reads a drop ratio in [0, 1).
func sparseRatio(params map[string]string, key string) (float64, error) {
	v, _, err := FloatParam(params, key, 0)
	if err != nil {
		return 0, err
	}
	if v < 0 || v >= 1 {
		return 0, fmt.Errorf("Out of range in json: param '%s' (%g) should be in range [0, 1): %w", key, v, ErrInvalidParam)
	}
	return v, nil
}

// sparseParseBM25 reads bm25_k1 (range [1.2, 2.0], as Milvus), bm25_b
// ([0, 1]) and bm25_avgdl (> 0) over the defaults in def.
func sparseParseBM25(params map[string]string, def sparseBM25) (sparseBM25, error) {
	bm := def
	var err error
	if bm.k1, _, err = FloatParam(params, "bm25_k1", def.k1); err != nil {
		return bm, err
	}
	if bm.k1 < 1.2 || bm.k1 > 2.0 {
		return bm, fmt.Errorf("param 'bm25_k1' (%g) should be in range [1.2, 2.0]: %w", bm.k1, ErrInvalidParam)
	}
	if bm.b, _, err = FloatParam(params, "bm25_b", def.b); err != nil {
		return bm, err
	}
	if bm.b < 0 || bm.b > 1 {
		return bm, fmt.Errorf("param 'bm25_b' (%g) should be in range [0, 1]: %w", bm.b, ErrInvalidParam)
	}
	var given bool
	if bm.avgdl, given, err = FloatParam(params, "bm25_avgdl", def.avgdl); err != nil {
		return bm, err
	}
	if given && !(bm.avgdl > 0) {
		return bm, fmt.Errorf("param 'bm25_avgdl' (%g) should be > 0: %w", bm.avgdl, ErrInvalidParam)
	}
	return bm, nil
}

// Spec returns the spec with defaults applied.
func (s *sparseIndex) Spec() Spec { return s.spec }

// Len is the number of rows indexed.
func (s *sparseIndex) Len() int { return s.n }

// MemoryBytes counts the posting lists, excluding what Load aliased.
func (s *sparseIndex) MemoryBytes() int64 {
	return int64(len(s.dims)+len(s.offsets)+len(s.rows)+len(s.vals)+len(s.docLen))*4 - s.mapped
}

// sparseEntries decodes one row of Milvus's sparse format, checking that
// its indices ascend strictly.
func sparseEntries(row []byte, fn func(dim uint32, v float32)) error {
	if len(row)%8 != 0 {
		return fmt.Errorf("sparse row of %d bytes is not a list of (uint32, float32) pairs: %w", len(row), ErrInvalidParam)
	}
	for i := 0; i < len(row); i += 8 {
		d := binary.LittleEndian.Uint32(row[i:])
		if i > 0 && d <= binary.LittleEndian.Uint32(row[i-8:]) {
			return fmt.Errorf("sparse row indices must ascend strictly (%d after %d): %w", d, binary.LittleEndian.Uint32(row[i-8:]), ErrInvalidParam)
		}
		v := math.Float32frombits(binary.LittleEndian.Uint32(row[i+4:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("sparse value at dim %d is not finite: %w", d, ErrInvalidParam)
		}
		fn(d, v)
	}
	return nil
}

// sparseDropThreshold returns the magnitude below which the smallest ratio
// of vals are dropped (0 keeps everything).
func sparseDropThreshold(vals []float32, ratio float64) float32 {
	drop := int(ratio * float64(len(vals)))
	if drop <= 0 {
		return 0
	}
	abs := make([]float32, len(vals))
	for i, v := range vals {
		abs[i] = float32(math.Abs(float64(v)))
	}
	slices.Sort(abs)
	return abs[drop]
}

// Build indexes data.Sparse. drop_ratio_build drops that fraction of the
// smallest-magnitude values over the whole data set before indexing.
func (s *sparseIndex) Build(ctx context.Context, data Dataset) error {
	if s.built {
		return fmt.Errorf("%s: Build called twice: %w", s.spec.Type, ErrInvalidParam)
	}
	if data.Sparse == nil && (data.Float != nil || data.Binary != nil) {
		return fmt.Errorf("%s needs sparse float vectors: %w", s.spec.Type, ErrInvalidParam)
	}
	n := len(data.Sparse)
	if n > 1<<31-1 {
		return fmt.Errorf("%s: %d rows exceed 2^31-1: %w", s.spec.Type, n, ErrInvalidParam)
	}
	ratio, _ := sparseRatio(s.spec.Params, "drop_ratio_build")
	var all []float32
	count := map[uint32]int{}
	docLen := make([]float32, n)
	for r, row := range data.Sparse {
		err := sparseEntries(row, func(d uint32, v float32) {
			count[d]++
			docLen[r] += v
			if ratio > 0 {
				all = append(all, v)
			}
		})
		if err != nil {
			return fmt.Errorf("%s row %d: %w", s.spec.Type, r, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	thr := sparseDropThreshold(all, ratio)
	if thr > 0 {
		clear(count)
		for _, row := range data.Sparse {
			_ = sparseEntries(row, func(d uint32, v float32) {
				if float32(math.Abs(float64(v))) >= thr {
					count[d]++
				}
			})
		}
	}
	s.dims = slices.Sorted(maps.Keys(count))
	s.offsets = make([]uint32, len(s.dims)+1)
	pos := make(map[uint32]uint32, len(s.dims))
	for i, d := range s.dims {
		pos[d] = s.offsets[i]
		s.offsets[i+1] = s.offsets[i] + uint32(count[d])
	}
	nnz := int(s.offsets[len(s.dims)])
	s.rows, s.vals = make([]int32, nnz), make([]float32, nnz)
	for r, row := range data.Sparse {
		_ = sparseEntries(row, func(d uint32, v float32) {
			if thr > 0 && float32(math.Abs(float64(v))) < thr {
				return
			}
			p := pos[d]
			s.rows[p], s.vals[p] = int32(r), v
			pos[d] = p + 1
		})
	}
	s.n = n
	s.span = sparseSpan(s.rows)
	if s.metric == BM25 {
		s.docLen = docLen
		if s.bm25.avgdl == 0 {
			var sum float64
			for _, l := range docLen {
				sum += float64(l)
			}
			s.bm25.avgdl = max(sum/float64(max(n, 1)), 1)
			s.spec.Params["bm25_avgdl"] = strconv.FormatFloat(s.bm25.avgdl, 'g', -1, 64)
		}
	}
	s.built = true
	return ctx.Err()
}

// sparseScratch holds one query's accumulators.
type sparseScratch struct {
	scores  []float32 // dense accumulators, indexed by row
	seen    []bool
	acc     map[int32]float32 // sparse accumulators, when rows are few and far apart
	touched []int32
	terms   []sparseTerm
	abs     []float32
	top     *TopK
}

type sparseTerm struct {
	dim uint32
	v   float32
}

// Search scores every row that shares a dimension with the query, exactly.
// drop_ratio_search drops that fraction of the query's smallest-magnitude
// entries first; BM25 accepts bm25_k1, bm25_b and bm25_avgdl overrides.
func (s *sparseIndex) Search(ctx context.Context, queries Dataset, p SearchParams) (*Result, error) {
	if !s.built {
		return nil, fmt.Errorf("%s: %w", s.spec.Type, ErrNotBuilt)
	}
	if queries.Sparse == nil && (queries.Float != nil || queries.Binary != nil) {
		return nil, fmt.Errorf("%s needs sparse float queries: %w", s.spec.Type, ErrInvalidParam)
	}
	if p.K < 1 {
		return nil, fmt.Errorf("topk (%d) should be >= 1: %w", p.K, ErrInvalidParam)
	}
	ratio, err := sparseRatio(p.Params, "drop_ratio_search")
	if err != nil {
		return nil, err
	}
	rng, err := ParseRange(s.metric, p.Params)
	if err != nil {
		return nil, err
	}
	if p.Filter != nil && p.Filter.Len() != s.n {
		return nil, fmt.Errorf("filter covers %d rows, index has %d: %w", p.Filter.Len(), s.n, ErrInvalidParam)
	}
	bm := s.bm25
	if s.metric == BM25 {
		if bm, err = sparseParseBM25(p.Params, s.bm25); err != nil {
			return nil, err
		}
	}
	for i, row := range queries.Sparse {
		if err := sparseEntries(row, func(uint32, float32) {}); err != nil {
			return nil, fmt.Errorf("query %d: %w", i, err)
		}
	}
	plan := ivfPlan{k: p.K, filter: p.Filter, rng: rng}
	return ivfRunQueries(ctx, len(queries.Sparse), p.K, func(qi int, labels []int64, dists []float32) {
		sc, ok := s.scratch.Get().(*sparseScratch)
		if !ok {
			sc = &sparseScratch{top: NewTopK(1)}
			if s.span <= 4*len(s.rows)+1<<16 {
				sc.scores, sc.seen = make([]float32, s.span), make([]bool, s.span)
			} else {
				sc.acc = map[int32]float32{}
			}
		}
		s.searchOne(queries.Sparse[qi], ratio, bm, plan, sc, labels, dists)
		s.scratch.Put(sc)
	})
}

func (s *sparseIndex) searchOne(q []byte, ratio float64, bm sparseBM25, plan ivfPlan, sc *sparseScratch, labels []int64, dists []float32) {
	terms := sc.terms[:0]
	_ = sparseEntries(q, func(d uint32, v float32) { terms = append(terms, sparseTerm{d, v}) })
	sc.terms = terms
	if drop := int(ratio * float64(len(terms))); drop > 0 {
		abs := sc.abs[:0]
		for _, t := range terms {
			abs = append(abs, float32(math.Abs(float64(t.v))))
		}
		slices.Sort(abs)
		sc.abs = abs
		thr := abs[drop]
		kept := terms[:0]
		for _, t := range terms {
			if float32(math.Abs(float64(t.v))) >= thr {
				kept = append(kept, t)
			}
		}
		terms = kept
	}
	touched := sc.touched[:0]
	for _, t := range terms {
		i, found := slices.BinarySearch(s.dims, t.dim)
		if !found {
			continue
		}
		lo, hi := s.offsets[i], s.offsets[i+1]
		w := t.v
		var k1, b, avgdl float64
		if s.metric == BM25 {
			k1, b, avgdl = bm.k1, bm.b, bm.avgdl
		}
		for p := lo; p < hi; p++ {
			r := s.rows[p]
			var c float32
			if s.metric == BM25 {
				tf := float64(s.vals[p])
				norm := k1 * (1 - b + b*float64(s.docLen[r])/avgdl)
				c = w * float32(tf*(k1+1)/(tf+norm))
			} else {
				c = w * s.vals[p]
			}
			if sc.acc != nil {
				if _, ok := sc.acc[r]; !ok {
					touched = append(touched, r)
				}
				sc.acc[r] += c
				continue
			}
			if !sc.seen[r] {
				sc.seen[r] = true
				touched = append(touched, r)
			}
			sc.scores[r] += c
		}
	}
	top := sc.top
	top.Reset(plan.k)
	for _, r := range touched {
		var t float32
		if sc.acc != nil {
			t = -sc.acc[r]
		} else {
			t = -sc.scores[r]
			sc.scores[r], sc.seen[r] = 0, false
		}
		if plan.filter != nil && plan.filter.Test(int(r)) {
			continue
		}
		if ivfWorth(top, t) && plan.rng.Keep(t) {
			top.Push(int64(r), t)
		}
	}
	sc.touched = touched
	clear(sc.acc)
	ivfDrain(top, s.metric, labels, dists)
}

// WriteTo serializes the index (docs/format/index.md, "SPARSE_INVERTED_INDEX").
func (s *sparseIndex) WriteTo(w io.Writer) (int64, error) {
	if !s.built {
		return 0, fmt.Errorf("%s: %w", s.spec.Type, ErrNotBuilt)
	}
	ww := newWireWriter(w, s.spec.Type)
	ww.str(string(s.metric))
	ww.u32(uint32(s.n))
	ww.u32(uint32(len(s.dims)))
	ww.u32(uint32(len(s.rows)))
	ww.u32(uint32(len(s.docLen)))
	ww.params(s.spec.Params)
	ww.u32s(s.dims)
	ww.u32s(s.offsets)
	ww.i32s(s.rows)
	ww.f32s(s.vals)
	ww.f32s(s.docLen)
	ww.align()
	return ww.n, ww.err
}

// loadSparseIndex decodes an index written by WriteTo; postings alias data.
func loadSparseIndex(typ string, data []byte) (Index, error) {
	r, err := newWireReader(data, typ)
	if err != nil {
		return nil, err
	}
	metric := Metric(r.str("metric", 16))
	n := r.count("rows", 1<<31-1)
	ndims := r.count("dims", 1<<31-1)
	nnz := r.count("postings", 1<<31-1)
	ndl := r.count("doc lengths", n)
	params := r.params()
	if r.err != nil {
		return nil, r.err
	}
	s, err := newSparseIndex(Spec{Type: typ, Metric: metric, Params: params})
	if err != nil || metric == "" || (metric == BM25 && (ndl != n || !(s.bm25.avgdl > 0))) || (metric == IP && ndl != 0) {
		return nil, fmt.Errorf("%s: metric %q with %d doc lengths for %d rows: %w", typ, metric, ndl, n, ErrCorrupt)
	}
	s.n, s.built = n, true
	s.dims = r.u32s(ndims, "dims")
	s.offsets = r.u32s(ndims+1, "posting offsets")
	s.rows = r.i32s(nnz, "posting rows")
	s.vals = r.f32s(nnz, "posting values")
	s.docLen = r.f32s(ndl, "doc lengths")
	if err := r.done(); err != nil {
		return nil, err
	}
	if err := wireCheckOffsets(s.offsets, nnz); err != nil {
		return nil, err
	}
	if err := wireCheckIDs(s.rows, n); err != nil {
		return nil, err
	}
	for i := 1; i < len(s.dims); i++ {
		if s.dims[i] <= s.dims[i-1] {
			return nil, fmt.Errorf("%s: dims not strictly ascending at %d: %w", typ, i, ErrCorrupt)
		}
	}
	if ndl == 0 {
		s.docLen = nil
	}
	s.span = sparseSpan(s.rows)
	s.mapped = r.mapped
	return s, nil
}

// sparseSpan returns 1 + the largest row in rows (0 when empty). Query
// accumulators are sized by it rather than by the row count, and become a
// map when it dwarfs the postings (a corrupt file could otherwise make the
// first search allocate gigabytes).
func sparseSpan(rows []int32) int {
	span := 0
	for _, r := range rows {
		span = max(span, int(r)+1)
	}
	return span
}
