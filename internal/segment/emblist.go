package segment

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

// Search of an ArrayOfVector field (a struct array's vector sub-field, one
// embedding list per row) with Milvus's MAX_SIM metrics: each query is an
// embedding list, and a row scores
//
//	sum over the query's vectors q of best over the row's vectors v of m(q, v)
//
// where m is the element metric (IP for MAX_SIM_IP, cosine for MAX_SIM and
// MAX_SIM_COSINE, squared L2 for MAX_SIM_L2 where best is the smallest,
// HAMMING and JACCARD distances for the binary ones). The scan is exact.

// EmbListElementMetric is the element metric of an embedding-list metric,
// or "" when m is not one.
func EmbListElementMetric(m index.Metric) index.Metric { return index.EmbListElement(m) }

// checkEmbLists checks that every row of an ArrayOfVector column holds
// whole vectors of the field's element type and dim.
func checkEmbLists(v *column.Scalar[*schemapb.VectorField], fi *fieldInfo) error {
	name := fi.schema.GetName()
	if v.ElementType != fi.elemType {
		return errs.InvalidParameterValue(fi.elemType, v.ElementType, fmt.Sprintf("field %q: vector array element type mismatch", name))
	}
	for i, row := range v.Data {
		if d := int(row.GetDim()); d != 0 && d != fi.dim {
			return errs.InvalidParameterValue(fi.dim, d, fmt.Sprintf("field %q: the dim of the vector does not match the schema", name))
		}
		if _, err := column.EmbListLen(row, fi.elemType, fi.dim); err != nil {
			return errs.InvalidParameter("field %q: row %d: %v", name, i, err)
		}
	}
	return nil
}

// embList is one row's or one query's vectors, decoded.
type embList struct {
	float  [][]float32 // float element types, converted
	binary [][]byte    // BinaryVector
}

func decodeEmbList(v *schemapb.VectorField, elem schemapb.DataType, dim int) embList {
	var out embList
	switch elem {
	case schemapb.DataType_FloatVector:
		data := v.GetFloatVector().GetData()
		for i := 0; i+dim <= len(data); i += dim {
			out.float = append(out.float, data[i:i+dim:i+dim])
		}
	case schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector:
		b := v.GetFloat16Vector()
		if elem == schemapb.DataType_BFloat16Vector {
			b = v.GetBfloat16Vector()
		}
		for i := 0; i+2*dim <= len(b); i += 2 * dim {
			row := make([]float32, dim)
			if elem == schemapb.DataType_Float16Vector {
				distance.Float16sToFloat32s(row, b[i:i+2*dim])
			} else {
				distance.BFloat16sToFloat32s(row, b[i:i+2*dim])
			}
			out.float = append(out.float, row)
		}
	case schemapb.DataType_Int8Vector:
		b := v.GetInt8Vector()
		for i := 0; i+dim <= len(b); i += dim {
			row := make([]float32, dim)
			for j := range row {
				row[j] = float32(int8(b[i+j]))
			}
			out.float = append(out.float, row)
		}
	case schemapb.DataType_BinaryVector:
		b := v.GetBinaryVector()
		w := dim / 8
		for i := 0; i+w <= len(b); i += w {
			out.binary = append(out.binary, b[i:i+w:i+w])
		}
	}
	return out
}

// MaxSim scores a row's embedding list against a query's with the
// embedding-list metric m (see the package comment above): the sum over
// the query's vectors of the best element score against the row's.
// Cosine normalizes both sides. A row without vectors scores the worst
// value (-Inf for similarities, +Inf for distances).
func MaxSim(m index.Metric, query, row [][]float32) float32 {
	elem := EmbListElementMetric(m)
	higher := m.HigherIsBetter()
	if len(row) == 0 {
		if higher {
			return float32(math.Inf(-1))
		}
		return float32(math.Inf(1))
	}
	var sum float32
	for _, q := range query {
		best := float32(math.Inf(1))
		if higher {
			best = float32(math.Inf(-1))
		}
		for _, v := range row {
			var s float32
			switch elem {
			case index.IP:
				s = distance.Dot(q, v)
			case index.Cosine:
				s = cosineSim(q, v)
			default:
				s = distance.L2Sq(q, v)
			}
			if (higher && s > best) || (!higher && s < best) {
				best = s
			}
		}
		sum += best
	}
	return sum
}

// MaxSimBinary is MaxSim for binary vectors (MAX_SIM_HAMMING and
// MAX_SIM_JACCARD: sums of the smallest distances).
func MaxSimBinary(m index.Metric, query, row [][]byte) float32 {
	if len(row) == 0 {
		return float32(math.Inf(1))
	}
	var sum float32
	for _, q := range query {
		best := float32(math.Inf(1))
		for _, v := range row {
			var s float32
			if m == index.MaxSimJaccard {
				s = distance.Jaccard(q, v)
			} else {
				s = float32(distance.Hamming(q, v))
			}
			best = min(best, s)
		}
		sum += best
	}
	return sum
}

func cosineSim(a, b []float32) float32 {
	d := distance.Dot(a, b)
	na, nb := distance.Dot(a, a), distance.Dot(b, b)
	if na == 0 || nb == 0 {
		return 0
	}
	return d / float32(math.Sqrt(float64(na))*math.Sqrt(float64(nb)))
}

// resolveEmbListMetric checks an embedding-list metric against the field's
// element type, defaulting it (MAX_SIM_COSINE, MAX_SIM_HAMMING for binary).
func resolveEmbListMetric(fi *fieldInfo, m index.Metric) (index.Metric, error) {
	m = index.Metric(strings.ToUpper(string(m)))
	binaryElem := fi.elemType == schemapb.DataType_BinaryVector
	if m == "" {
		if binaryElem {
			return index.MaxSimHamming, nil
		}
		return index.MaxSimCosine, nil
	}
	elem := EmbListElementMetric(m)
	if elem == "" {
		elem = m // an element metric: an element-level search
		if index.ElementMaxSim(m) == "" {
			elem = ""
		}
	}
	if elem == "" || (binaryElem != (elem == index.Hamming || elem == index.Jaccard)) {
		return "", errs.InvalidParameter("metric type %s is not supported for embedding list field %q of %s", m, fi.schema.GetName(), fi.elemType)
	}
	return m, nil
}

// splitQueries cuts the request's queries into embedding lists.
func splitQueries(fi *fieldInfo, req *SearchRequest) ([]embList, error) {
	lens := req.EmbListLens
	if len(lens) == 0 {
		return nil, errs.InvalidParameter("field %q is an embedding list field: search it with embedding lists", fi.schema.GetName())
	}
	q := req.Queries
	if q.Dim != fi.dim {
		return nil, errs.InvalidParameterValue(fi.dim, q.Dim, fmt.Sprintf("field %q: the dim of the query vector does not match", fi.schema.GetName()))
	}
	total := 0
	for _, l := range lens {
		if l <= 0 {
			return nil, errs.InvalidParameter("an embedding list holds no vectors")
		}
		total += l
	}
	out := make([]embList, len(lens))
	if fi.elemType == schemapb.DataType_BinaryVector {
		w := fi.dim / 8
		if len(q.Binary) != total*w {
			return nil, errs.InvalidParameter("%d query bytes are not %d vectors of %d bits", len(q.Binary), total, fi.dim)
		}
		at := 0
		for i, l := range lens {
			for range l {
				out[i].binary = append(out[i].binary, q.Binary[at:at+w:at+w])
				at += w
			}
		}
		return out, nil
	}
	if len(q.Float) != total*fi.dim {
		return nil, errs.InvalidParameter("%d query values are not %d vectors of dim %d", len(q.Float), total, fi.dim)
	}
	at := 0
	for i, l := range lens {
		for range l {
			out[i].float = append(out[i].float, q.Float[at:at+fi.dim:at+fi.dim])
			at += fi.dim
		}
	}
	return out, nil
}

// searchEmbList is Search of an ArrayOfVector field: an exact MAX_SIM scan
// of the allowed rows.
func (c *core) searchEmbList(ctx context.Context, fi *fieldInfo, req *SearchRequest) (*SearchResult, error) {
	fail := func(err error) (*SearchResult, error) { return nil, fmt.Errorf("segment %d: search: %w", c.id, err) }
	k := req.Params.K
	if k < 1 || k > maxTopK {
		return fail(errs.InvalidParameter("topk [%d] is invalid, it should be in range [1, %d]", k, maxTopK))
	}
	metric, err := resolveEmbListMetric(fi, req.Metric)
	if err != nil {
		return fail(err)
	}
	// Only an element-level search groups (a row is one hit, scored by its
	// best element), as in Milvus; a MAX_SIM search does not.
	var gfi *fieldInfo
	slots := k
	if gb := req.GroupBy; gb != nil {
		if index.ElementMaxSim(metric) == "" {
			return fail(errs.InvalidParameter("group by search is not supported for vector array (embedding list) fields, fieldName: %s", fi.schema.GetName()))
		}
		if gfi, err = c.embListGroupField(gb); err != nil {
			return fail(err)
		}
		slots = k * max(gb.Size, 1)
	}
	queries, err := splitQueries(fi, req)
	if err != nil {
		return fail(err)
	}
	nq := len(queries)
	res := &SearchResult{NQ: nq, K: slots, Metric: metric}
	res.Offsets, res.Scores, res.Timestamps = make([]int64, nq*slots), make([]float32, nq*slots), make([]uint64, nq*slots)
	if c.intPK() {
		res.IntPKs = make([]int64, nq*slots)
	} else {
		res.StrPKs = make([]string, nq*slots)
	}
	if gfi != nil {
		res.GroupSize = max(req.GroupBy.Size, 1)
		res.GroupValues = make([]any, nq*slots)
	}
	for i := range res.Offsets {
		res.Offsets[i] = -1
	}
	s := c.snapshot()
	if s.n == 0 {
		return res, nil
	}
	allowed, _, err := c.allowed(ctx, s, req.Filter, req.MVCCTs)
	if err != nil {
		return nil, err
	}
	col, err := s.Column(fi.id)
	if err != nil {
		return nil, err
	}
	arr, ok := col.(*column.Scalar[*schemapb.VectorField])
	if !ok {
		return fail(fmt.Errorf("field %q holds a %T, not embedding lists", fi.schema.GetName(), col))
	}
	rows := -1 // every allowed row; else only cands
	var cands []int
	idx, indexed := c.indexes[fi.id].(*index.EmbList)
	if indexed {
		// The index's metric ranks, as for other vector fields; an
		// element-level search may ask for the element metric of a MAX_SIM
		// index and the reverse (the same graph, the same ranking).
		im := idx.Spec().Metric
		switch {
		case req.Metric != "" && !index.SameEmbListScoring(im, metric):
			return fail(errs.InvalidParameterValue(im, metric, "metric type not match"))
		case req.Metric == "":
			metric = im
		}
	}
	// An element metric scores a row by its best element: MAX_SIM of a
	// one-vector query list. Its candidates are the elements an
	// element_filter on the field's struct keeps, when the filter has one;
	// such a search scans the kept elements exactly (the graph's nearest
	// elements may all be filtered out).
	scoring := metric
	var elemOffs []int
	var elemMask *bitset.Set
	if m := index.ElementMaxSim(metric); m != "" {
		scoring = m
		if ef, ok := req.Filter.(ElementFilter); ok {
			structName, _, _ := strings.Cut(fi.schema.GetName(), "[")
			offs, mask, found, err := ef.ElementMask(ctx, s, structName)
			if err != nil {
				return fail(err)
			}
			if found {
				elemOffs, elemMask = offs, mask
			}
		}
	}
	if indexed && !req.Exact && queries[0].float != nil && elemMask == nil && gfi == nil {
		if cands, err = c.embListCandidates(ctx, idx, req, queries, k, allowed); err != nil {
			return fail(err)
		}
		if cands != nil {
			rows = len(cands)
		}
	}
	higher := metric.HigherIsBetter()
	res.Metric = metric
	type hit struct {
		off   int
		score float32
	}
	better := func(a, b hit) bool {
		if a.score != b.score {
			if higher {
				return a.score > b.score
			}
			return a.score < b.score
		}
		return a.off < b.off
	}
	hits := make([][]hit, nq)
	n := s.n
	if rows >= 0 {
		n = rows
	}
	for i := 0; i < n; i++ {
		off := i
		if rows >= 0 {
			off = cands[i]
		}
		if off >= s.n || (allowed != nil && !allowed.Test(off)) {
			continue
		}
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		row := decodeEmbList(arr.Data[off], fi.elemType, fi.dim)
		if elemMask != nil {
			row = keepElements(row, elemOffs[off], elemOffs[off+1], elemMask)
		}
		for qi, q := range queries {
			var sc float32
			if q.binary != nil {
				sc = MaxSimBinary(scoring, q.binary, row.binary)
			} else {
				sc = MaxSim(scoring, q.float, row.float)
			}
			if math.IsInf(float64(sc), 0) || math.IsNaN(float64(sc)) {
				continue
			}
			hits[qi] = append(hits[qi], hit{off, sc})
		}
	}
	if gfi != nil {
		gcol, err := s.Column(gfi.id)
		if err != nil {
			return nil, err
		}
		keyOf, _, err := newGroupKeyer(gfi, gcol, req.GroupBy)
		if err != nil {
			return fail(err)
		}
		for qi, hs := range hits {
			g := newGrouper(res.GroupSize)
			for _, h := range hs {
				key := h.score // the grouper keeps the lowest keys
				if higher {
					key = -key
				}
				g.offer(keyOf(h.off), key, int64(h.off))
			}
			lo, hi := qi*slots, (qi+1)*slots
			g.drain(k, gfi.typ, res.Scores[lo:hi], res.Offsets[lo:hi], res.GroupValues[lo:hi])
		}
		if higher {
			for i, off := range res.Offsets {
				if off >= 0 {
					res.Scores[i] = -res.Scores[i]
				}
			}
		}
		s.fillPKs(res.Offsets, res.IntPKs, res.StrPKs, res.Timestamps)
		return res, nil
	}
	for qi, hs := range hits {
		sort.Slice(hs, func(a, b int) bool { return better(hs[a], hs[b]) })
		for j := 0; j < len(hs) && j < k; j++ {
			res.Offsets[qi*k+j] = int64(hs[j].off)
			res.Scores[qi*k+j] = hs[j].score
		}
	}
	s.fillPKs(res.Offsets, res.IntPKs, res.StrPKs, res.Timestamps)
	return res, nil
}

// EmbListDataset converts EmbList placeholder values (each the
// concatenated little-endian vectors of one query list) into a Dataset and
// the list lengths, for a field of element type elem and dimension dim.
func EmbListDataset(values [][]byte, elem schemapb.DataType, dim int) (index.Dataset, []int, error) {
	w := column.VectorRowBytes(elem, dim)
	if w == 0 {
		return index.Dataset{}, nil, errs.InvalidParameter("unsupported embedding list element type %s", elem)
	}
	lens := make([]int, len(values))
	ds := index.Dataset{Dim: dim}
	for i, v := range values {
		if len(v) == 0 || len(v)%w != 0 {
			return index.Dataset{}, nil, errs.InvalidParameter("vector dimension mismatch, expected vector size(byte) %d, actual %d.", w, len(v))
		}
		lens[i] = len(v) / w
		switch elem {
		case schemapb.DataType_BinaryVector:
			ds.Binary = append(ds.Binary, v...)
		case schemapb.DataType_FloatVector:
			for j := 0; j < len(v); j += 4 {
				ds.Float = append(ds.Float, math.Float32frombits(binary.LittleEndian.Uint32(v[j:])))
			}
		case schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector:
			row := make([]float32, len(v)/2)
			if elem == schemapb.DataType_Float16Vector {
				distance.Float16sToFloat32s(row, v)
			} else {
				distance.BFloat16sToFloat32s(row, v)
			}
			ds.Float = append(ds.Float, row...)
		case schemapb.DataType_Int8Vector:
			for _, b := range v {
				ds.Float = append(ds.Float, float32(int8(b)))
			}
		}
	}
	return ds, lens, nil
}

// embListCandidates asks the segment's embedding list index for the rows
// worth scoring: those holding one of each query vector's nearest
// elements among the rows allowed keeps (max(ef, 4K) of them). It returns
// nil, meaning every row, when the index cannot narrow the search enough:
// fewer than K candidate rows for a query (a filter keeping few rows, or
// rows of many elements), where the exact scan finds what the graph
// would miss.
func (c *core) embListCandidates(ctx context.Context, idx *index.EmbList, req *SearchRequest, queries []embList, k int, allowed *bitset.Set) ([]int, error) {
	per := 4 * k
	params := req.Params.Params
	ef, err := index.IntParam(params, "ef", per, 1, 1<<31-1)
	if err != nil {
		return nil, err
	}
	if ef < k {
		// As the HNSW search of any other field says it.
		return nil, fmt.Errorf("ef(%d) should be larger than k(%d): %w", ef, k, index.ErrInvalidParam)
	}
	per = max(per, ef)
	// The element search asks for per elements, so its beam is at least
	// that wide (a user's ef between K and 4K is valid for the rows).
	params = maps.Clone(params)
	if params == nil {
		params = map[string]string{}
	}
	params["ef"] = strconv.Itoa(per)
	var skip *bitset.Set
	if allowed != nil {
		if skip = idx.ElementSkip(allowed); skip == nil {
			return nil, nil // no row kept: the scan answers at once
		}
	}
	seen := map[int]bool{}
	var out []int
	for _, q := range queries {
		ds := index.Dataset{Dim: len(q.float[0])}
		for _, v := range q.float {
			ds.Float = append(ds.Float, v...)
		}
		rows, err := idx.Candidates(ctx, ds, per, params, skip)
		if err != nil {
			return nil, err
		}
		if len(rows) < k {
			return nil, nil
		}
		for _, r := range rows {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	sort.Ints(out)
	return out, nil
}

// ElementFilter is optionally implemented by a Filter (*expr.Expr): the
// elements of struct array field structName that the filter's top-level
// element_filter keeps (row r's elements are bits offs[r] to offs[r+1]-1 of
// mask), found false when it has none. An element-level search scores a
// row by its best kept element.
type ElementFilter interface {
	ElementMask(ctx context.Context, b column.Batch, structName string) (offs []int, mask *bitset.Set, found bool, err error)
}

// keepElements is row without the elements [lo, hi) of mask leaves out. A
// row whose element count differs from the filter's keeps none.
func keepElements(row embList, lo, hi int, mask *bitset.Set) embList {
	n := len(row.float)
	if row.binary != nil {
		n = len(row.binary)
	}
	if n != hi-lo {
		return embList{}
	}
	var out embList
	for j := 0; j < n; j++ {
		if !mask.Test(lo + j) {
			continue
		}
		if row.binary != nil {
			out.binary = append(out.binary, row.binary[j])
		} else {
			out.float = append(out.float, row.float[j])
		}
	}
	return out
}

// embListGroupField is the group_by field of an element-level search,
// with Milvus's checks (as Search's).
func (c *core) embListGroupField(gb *GroupBy) (*fieldInfo, error) {
	gfi, err := c.field(gb.FieldID)
	if err != nil {
		return nil, fmt.Errorf("group by: %w", err)
	}
	if !groupable(gfi.typ) {
		return nil, errs.InvalidParameter("unsupported data type %s for group by operator (field %q; supported: [Bool Int8 Int16 Int32 Int64 VarChar])", gfi.typ, gfi.schema.GetName())
	}
	if gb.Size > maxGroupSize {
		return nil, errs.InvalidParameter("group_size [%d] is invalid, it should be in range [1, %d]", gb.Size, maxGroupSize)
	}
	return gfi, nil
}
