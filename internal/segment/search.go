package segment

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

const binaryVector = schemapb.DataType_BinaryVector

// maxTopK is Milvus's limit on K; maxGroupSize bounds group_size.
const (
	maxTopK      = 16384
	maxGroupSize = 1024
)

// Brute force beats an index when few rows pass the filter: a graph index
// wanders far to find them and an exact scan of a few rows is cheap. Below
// bfMaxAllowed allowed rows, or below 1/bfMinFraction of the segment, a
// sealed segment scans instead of asking its index.
const (
	bfMaxAllowed  = 4096
	bfMinFraction = 50
)

// Search implements Segment.
func (c *core) Search(ctx context.Context, req *SearchRequest) (*SearchResult, error) {
	fi, err := c.field(req.FieldID)
	if err != nil {
		return nil, fmt.Errorf("segment %d: search: %w", c.id, err)
	}
	if fi.typ == schemapb.DataType_ArrayOfVector {
		return c.searchEmbList(ctx, fi, req)
	}
	if !isVectorType(fi.typ) {
		return nil, fmt.Errorf("segment %d: search: %w", c.id, errs.InvalidParameter("field %q of type %s is not a vector field", fi.schema.GetName(), fi.typ))
	}
	k := req.Params.K
	if k < 1 || k > maxTopK {
		return nil, fmt.Errorf("segment %d: search: %w", c.id, errs.InvalidParameter("topk [%d] is invalid, it should be in range [1, %d]", k, maxTopK))
	}
	idx := c.indexes[fi.id]
	metric, err := resolveMetric(fi, req.Metric, idx)
	if err != nil {
		return nil, fmt.Errorf("segment %d: search: %w", c.id, err)
	}
	nq, err := checkQueries(fi, req.Queries)
	if err != nil {
		return nil, fmt.Errorf("segment %d: search: %w", c.id, err)
	}
	win, err := index.ParseRange(metric, req.Params.Params)
	if err != nil {
		return nil, fmt.Errorf("segment %d: search: %w: %w", c.id, err, errs.ErrParameterInvalid)
	}
	if req.After != nil {
		win = afterWindow(win, metric, *req.After, req.AfterTies != nil)
	}

	slots := k
	res := &SearchResult{NQ: nq, Metric: metric}
	if gb := req.GroupBy; gb != nil {
		gfi, err := c.field(gb.FieldID)
		if err != nil {
			return nil, fmt.Errorf("segment %d: group by: %w", c.id, err)
		}
		if !groupable(gfi.typ) && gfi.typ != schemapb.DataType_JSON {
			return nil, fmt.Errorf("segment %d: search: %w", c.id, errs.InvalidParameter("unsupported data type %s for group by operator (field %q; supported: [Bool Int8 Int16 Int32 Int64 VarChar])", gfi.typ, gfi.schema.GetName()))
		}
		res.GroupSize = max(gb.Size, 1)
		if res.GroupSize > maxGroupSize {
			return nil, fmt.Errorf("segment %d: search: %w", c.id, errs.InvalidParameter("group_size [%d] is invalid, it should be in range [1, %d]", gb.Size, maxGroupSize))
		}
		slots = k * res.GroupSize
		res.GroupValues = make([]any, nq*slots)
	}
	res.K = slots
	res.Offsets, res.Scores, res.Timestamps = make([]int64, nq*slots), make([]float32, nq*slots), make([]uint64, nq*slots)
	if c.intPK() {
		res.IntPKs = make([]int64, nq*slots)
	} else {
		res.StrPKs = make([]string, nq*slots)
	}
	s := c.snapshot()
	for i := range res.Offsets {
		res.Offsets[i] = -1
	}
	if s.n == 0 {
		return res, nil
	}
	allowed, owned, err := c.allowed(ctx, s, req.Filter, req.MVCCTs)
	if err != nil {
		return nil, err
	}
	if allowed, owned, err = dropNullVectors(s, fi, allowed, owned); err != nil {
		return nil, fmt.Errorf("segment %d: search: %w", c.id, err)
	}
	if t := req.AfterTies; req.After != nil && t != nil && len(t.Ints)+len(t.Strs) > 0 {
		if !owned {
			allowed, owned = allowed.Clone(), true
		}
		allowed.AndNot(c.matchPKs(s.n, t.Ints, t.Strs))
	}
	if req.GroupBy != nil {
		if err := c.searchGrouped(ctx, s, fi, metric, win, req, allowed, res); err != nil {
			return nil, err
		}
	} else if c.rankable(req, metric, res.NQ, s.n) {
		if err := c.searchRanked(ctx, s, fi, metric, win, req, allowed, res); err != nil {
			return nil, err
		}
	} else if idx != nil && !req.Exact && req.After == nil && useIndex(allowed, s.n, c.indexMinAllowed) {
		if err := c.searchIndex(ctx, idx, req, allowed, owned, res); err != nil {
			return nil, err
		}
	} else if done, err := c.searchInterim(ctx, s, fi, metric, win, req, allowed, res); err != nil {
		return nil, err
	} else if !done {
		if done, err = c.searchSparseInterim(ctx, s, fi, metric, win, req, allowed, res); err != nil {
			return nil, err
		}
		if !done {
			if err := c.searchBrute(ctx, s, fi, metric, win, req.Queries, bruteParams(idx, req.Params.Params), allowed, res); err != nil {
				return nil, err
			}
		}
	}
	s.fillPKs(res.Offsets, res.IntPKs, res.StrPKs, res.Timestamps)
	return res, nil
}

// afterWindow narrows a range window (over internal keys, smaller is
// better) to the keys ranked after score bound: strictly after, or with
// ties also at it.
func afterWindow(w index.RangeWindow, metric index.Metric, bound float32, ties bool) index.RangeWindow {
	key := bound
	if metric.HigherIsBetter() {
		key = -bound
	}
	lo := key
	if !ties {
		// key' > key  <=>  key' >= the next float32 above key.
		lo = math.Nextafter32(key, float32(math.Inf(1)))
	}
	if !w.Active {
		return index.RangeWindow{Active: true, Lo: lo, Hi: float32(math.Inf(1))}
	}
	w.Lo = max(w.Lo, lo)
	return w
}

func isVectorType(t schemapb.DataType) bool { return column.IsVector(t) }

// bruteParams are the parameters a scan standing in for idx uses: the
// index's build parameters (BM25's bm25_k1, bm25_b, bm25_avgdl) under the
// request's.
func bruteParams(idx index.Index, params map[string]string) map[string]string {
	if idx == nil {
		return params
	}
	out := maps.Clone(idx.Spec().Params)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, params)
	return out
}

// useIndex decides between the index and an exact scan from the number of
// rows the filter and visibility allow.
func useIndex(allowed *bitset.Set, n, minAllowed int) bool {
	a := allowed.Count()
	return a > minAllowed && a*bfMinFraction >= n
}

// resolveMetric checks the requested metric against the field's vector
// kind and its index, defaulting it when empty.
func resolveMetric(fi *fieldInfo, m index.Metric, idx index.Index) (index.Metric, error) {
	m = index.Metric(strings.ToUpper(string(m)))
	if idx != nil {
		im := idx.Spec().Metric
		if m == "" {
			return im, nil
		}
		if m != im {
			return "", errs.InvalidParameterValue(im, m, "metric type not match")
		}
		return m, nil
	}
	switch fi.typ {
	case schemapb.DataType_BinaryVector:
		switch m {
		case "":
			return index.Hamming, nil
		case index.Hamming, index.Jaccard:
			return m, nil
		}
	case schemapb.DataType_SparseFloatVector:
		switch m {
		case "", index.IP:
			return index.IP, nil
		case index.BM25:
			return m, nil
		}
	default:
		switch m {
		case "":
			return index.L2, nil
		case index.L2, index.IP, index.Cosine:
			return m, nil
		}
	}
	return "", errs.InvalidParameter("metric type %q is not supported for %s field %q without an index", m, fi.typ, fi.schema.GetName())
}

// checkQueries validates the query vectors against the field and returns
// how many there are.
func checkQueries(fi *fieldInfo, q index.Dataset) (int, error) {
	name := fi.schema.GetName()
	switch fi.typ {
	case schemapb.DataType_SparseFloatVector:
		if len(q.Sparse) == 0 {
			return 0, errs.InvalidParameter("field %q needs sparse float query vectors", name)
		}
		for i, r := range q.Sparse {
			if len(r)%8 != 0 {
				return 0, errs.InvalidParameter("sparse query %d has %d bytes, not whole (index, value) pairs", i, len(r))
			}
		}
		return len(q.Sparse), nil
	case schemapb.DataType_BinaryVector:
		if q.Binary == nil {
			return 0, errs.InvalidParameter("field %q needs binary query vectors", name)
		}
		if q.Dim != fi.dim {
			return 0, errs.InvalidParameterValue(fi.dim, q.Dim, fmt.Sprintf("field %q: the dim of the query vector does not match", name))
		}
		w := fi.dim / 8
		if len(q.Binary) == 0 || len(q.Binary)%w != 0 {
			return 0, errs.InvalidParameter("%d query bytes do not divide into vectors of %d bits", len(q.Binary), fi.dim)
		}
		return len(q.Binary) / w, nil
	default:
		if q.Float == nil {
			return 0, errs.InvalidParameter("field %q needs float query vectors", name)
		}
		if q.Dim != fi.dim {
			return 0, errs.InvalidParameterValue(fi.dim, q.Dim, fmt.Sprintf("field %q: the dim of the query vector does not match", name))
		}
		if len(q.Float) == 0 || len(q.Float)%fi.dim != 0 {
			return 0, errs.InvalidParameter("%d query values do not divide into vectors of dim %d", len(q.Float), fi.dim)
		}
		return len(q.Float) / fi.dim, nil
	}
}

// newScan prepares a brute-force scan of field fi over the snapshot.
func (c *core) newScan(s *snapshot, fi *fieldInfo, metric index.Metric, win index.RangeWindow, queries index.Dataset, params map[string]string, allowed *bitset.Set) (*bfScan, error) {
	col, err := s.Column(fi.id)
	if err != nil {
		return nil, err
	}
	b := &bfScan{metric: metric, col: col, shape: vectorShape(col), queries: queries, dim: fi.dim, win: win, allowed: allowed}
	if metric == index.BM25 {
		b.norms = c.norms[fi.id].upTo(col, s.n)
		if b.bm25, err = prepareBM25(b.norms, params); err != nil {
			return nil, fmt.Errorf("segment %d: search: %w", c.id, err)
		}
	}
	if queries.Float != nil {
		b.qf = queries.Float
		if metric == index.Cosine {
			b.qf = append([]float32(nil), queries.Float...)
			for i := 0; i < len(b.qf); i += fi.dim {
				distance.Normalize(b.qf[i : i+fi.dim])
			}
			b.norms = c.norms[fi.id].upTo(col, s.n)
		}
	}
	return b, nil
}

// searchBrute scores every allowed row of the snapshot.
func (c *core) searchBrute(ctx context.Context, s *snapshot, fi *fieldInfo, metric index.Metric, win index.RangeWindow, queries index.Dataset, params map[string]string, allowed *bitset.Set, res *SearchResult) error {
	b, err := c.newScan(s, fi, metric, win, queries, params, allowed)
	if err != nil {
		return err
	}
	keys := res.Scores
	if err := b.run(ctx, res.NQ, res.K, res.Offsets, keys); err != nil {
		return fmt.Errorf("segment %d: search: %w", c.id, err)
	}
	if metric.HigherIsBetter() {
		for i, off := range res.Offsets {
			if off >= 0 {
				keys[i] = -keys[i]
			}
		}
	}
	return nil
}

// searchIndex asks the field's index, skipping the rows not allowed.
func (c *core) searchIndex(ctx context.Context, idx index.Index, req *SearchRequest, allowed *bitset.Set, owned bool, res *SearchResult) error {
	skip := allowed
	if !owned {
		skip = allowed.Clone()
	}
	skip.Not()
	p := req.Params
	p.Filter = skip
	r, err := idx.Search(ctx, req.Queries, p)
	if err != nil {
		if errors.Is(err, index.ErrInvalidParam) {
			return fmt.Errorf("segment %d: index search: %w: %w", c.id, err, errs.ErrParameterInvalid)
		}
		return fmt.Errorf("segment %d: index search: %w", c.id, err)
	}
	if r.NQ != res.NQ || r.K != res.K || len(r.Labels) != len(res.Offsets) || len(r.Distances) != len(res.Scores) {
		return fmt.Errorf("segment %d: index returned %dx%d results for %dx%d: %w", c.id, r.NQ, r.K, res.NQ, res.K, errs.ErrServiceInternal)
	}
	// Keep only labels the skip set allows, compacting each query's hits:
	// a deleted row must never come back, whatever the index does.
	n := int64(skip.Len())
	for q := range res.NQ {
		j := q * res.K
		for i := q * res.K; i < (q+1)*res.K; i++ {
			if l := r.Labels[i]; l >= 0 && l < n && !skip.Test(int(l)) {
				res.Offsets[j], res.Scores[j] = l, r.Distances[i]
				j++
			}
		}
		for ; j < (q+1)*res.K; j++ {
			res.Offsets[j], res.Scores[j] = -1, 0
		}
	}
	return nil
}
