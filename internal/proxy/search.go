package proxy

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"golang.org/x/sync/errgroup"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/kmerge"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/tso"
)

// Search runs an ANN search over every shard and reduces the results.
func (s *Server) Search(ctx context.Context, req *milvuspb.SearchRequest) (*milvuspb.SearchResults, error) {
	if len(req.GetSubReqs()) > 0 {
		return s.advancedSearch(ctx, req)
	}
	return s.search(ctx, req, nil)
}

// subSearch is how a hybrid search runs one of its sub-searches and what
// the sub-search reports back besides its answer.
type subSearch struct {
	// batch sends the shard requests of every sub-search together, each
	// shard's in one request read at one timestamp (search_batch.go);
	// index is this sub-search's place in it.
	batch *subBatch
	index int
	// ttlNow is the hybrid search's TTL time (contract.SearchRequest.TTLNow).
	ttlNow uint64

	mvcc          []uint64  // the timestamp each shard read at, by VChannel index
	segments      [][]int64 // the segments each shard read, by VChannel index
	ignoreGrowing bool      // the sub-search skipped growing segments
}

// readAt is where a search read, which its requery reads again: per
// shard the MVCC timestamp and the segments read, the TTL time, and
// whether growing segments were skipped.
type readAt struct {
	mvcc          []uint64  // by VChannel index
	segments      [][]int64 // by VChannel index
	ttlNow        uint64
	ignoreGrowing bool
}

// search is Search without sub-requests; sub is non-nil for a hybrid
// search's sub-search, which fetches its output fields in one phase (the
// hybrid search decides on a requery after fusion).
func (s *Server) search(ctx context.Context, req *milvuspb.SearchRequest, sub *subSearch) (*milvuspb.SearchResults, error) {
	// The TTL time of every phase: taken at arrival, as Milvus's proxy
	// takes its TTL timestamp from the request's.
	ttlNow := tso.Compose(time.Now(), 0)
	if sub != nil && sub.batch != nil {
		defer sub.batch.leave(sub.index) // answered without the shards, or failed
	}
	if sub != nil && sub.ttlNow != 0 {
		ttlNow = sub.ttlNow
	}
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if hasPartitionKey(c.Schema) && len(req.GetPartitionNames()) != 0 {
		// Milvus 2.6's searchTask: a plain error, unlike the query's.
		return nil, errPlain("not support manually specifying the partition names if partition key mode is used")
	}
	partIDs, err := readPartitionIDs(c, req.GetPartitionNames())
	if err != nil {
		return nil, err
	}
	metrics, indexType, err := s.indexInfo(ctx, c)
	if err != nil {
		return nil, err
	}
	byIDs, err := s.resolveSearchByIDs(ctx, c, partIDs, req)
	if err != nil {
		return nil, err
	}
	if byIDs != nil && req.GetNq() == 0 {
		return emptyResultsForNullVectors(c, byIDs), nil
	}
	iter, err := parseSearchIterator(s.cfg.Limits.TopK, req.GetSearchParams())
	if err != nil {
		return nil, err
	}
	if req, err = s.embedSearchRequest(ctx, c.DBName, c.Schema, req); err != nil {
		return nil, err
	}
	spec, err := parseSearchRequest(s.cfg.Limits, c.Schema, req, metrics)
	if asSegcoreQueryError(err) {
		return s.searchWithoutSegments(ctx, c, partIDs, req.GetNq(), err)
	}
	if err != nil {
		return nil, err
	}
	if err := iter.apply(spec, c.ID); err != nil {
		return nil, err
	}
	if err := s.cfg.Limits.checkResultEntries(spec.NQ, spec.TopK, spec.GroupSize); err != nil {
		return nil, err
	}
	if err := s.admitIn(ctx, quota.Search, c, partIDs, spec.NQ); err != nil {
		return nil, err
	}
	iter.recallTies(&s.iterTies, spec)
	var groupBy *segment.GroupBy
	if spec.GroupByField != "" {
		groupBy = &segment.GroupBy{FieldID: spec.GroupByFieldID, Size: max(spec.GroupSize, 1),
			JSONPath: spec.GroupJSONPath, JSONType: spec.GroupJSONType, StrictCast: spec.GroupStrictCast}
	}
	zone, err := requestZone(c, req.GetSearchParams())
	if err != nil {
		return nil, err
	}
	var filter *expr.Expr
	if strings.TrimSpace(req.GetDsl()) != "" {
		if filter, err = expr.ParseInZone(c.Schema, req.GetDsl(), req.GetExprTemplateValues(), zone); err != nil {
			return nil, err
		}
		if filter, err = s.withJSONCasts(ctx, c, filter); err != nil {
			return nil, err
		}
	}
	outIDs, dynKeys, outNames, err := resolveOutputFields(c.Schema, req.GetOutputFields(), true)
	if err != nil {
		return nil, err
	}
	fetchIDs := withDynamicField(c, outIDs, dynKeys)
	// The policy looks at the user's output fields (Milvus's); a requery
	// fetches the reranker's and the highlighter's inputs too.
	requery := sub == nil && s.requery.Load().search.needs(c, fetchIDs)
	rr, rrDrop, fetchIDs, err := s.searchReranker(c, req, spec, outIDs, fetchIDs)
	if err != nil {
		return nil, err
	}
	hl, err := planHighlight(c, req, spec, s.highlightModels())
	if err != nil {
		return nil, err
	}
	// Milvus validates the whole request first; a collection that is not
	// loaded fails when the shards are asked (searchTask.Execute), and a
	// partition that is not loaded when its shards refuse it.
	if err := s.requireLoaded(ctx, c, nil, readSearch); err != nil {
		return nil, err
	}
	if spec.Queries.Sparse != nil && allEmptyRows(spec.Queries.Sparse) {
		// An empty sparse query vector matches nothing (Milvus returns no
		// hits), answered without the shards: their refusal of a
		// partition not loaded is made here.
		if err := s.requireLoaded(ctx, c, partIDs, readSearch); err != nil {
			return nil, err
		}
		return &milvuspb.SearchResults{CollectionName: c.Name, Results: newSearchResultData(spec.NQ, spec.TopK, nil,
			emptyIDs(c.Schema), nil, fieldsDataFor(c.Schema, fetchIDs, emptyColumns(c, fetchIDs), dynKeys), outNames, pkField(c).GetName())}, nil
	}
	fetchIDs = hl.withFields(fetchIDs)
	// A pinned iterator page reads at its pin: no guarantee timestamp (at
	// Strong, a TSO call) to compute.
	pin := iter.pin(req)
	gts := pin
	if gts == 0 {
		if gts, err = s.guaranteeTS(ctx, c, req.GetConsistencyLevel(), req.GetUseDefaultConsistency(), req.GetGuaranteeTimestamp()); err != nil {
			return nil, err
		}
	}
	k := spec.TopK + spec.Offset
	shardFields := fetchIDs
	if requery {
		shardFields = nil // keys and scores: the winners' fields are requeried
	}
	results := make([]*contract.SearchResult, len(c.VChannels))
	sreqs := make([]*contract.SearchRequest, len(c.VChannels))
	for i, vc := range c.VChannels {
		sreq := &contract.SearchRequest{
			CollectionID: c.ID, VChannel: vc, PartitionIDs: partIDs, GuaranteeTS: gts, PinMVCC: pin > 0,
			IgnoreGrowing: spec.IgnoreGrowing, TTLNow: ttlNow, OutputFields: shardFields,
			Search: segment.SearchRequest{FieldID: spec.FieldID, Queries: spec.Queries, EmbListLens: spec.EmbListLens, Metric: spec.Metric,
				Params: index.SearchParams{K: k, Params: spec.Params}, GroupBy: groupBy,
				Exact: iter.v2, After: iter.lastBound, AfterTies: iter.ties, IndexType: indexType(spec.FieldID)},
			MaxHits: s.cfg.Limits.maxHits(pkField(c)), MaxOutputSize: s.cfg.Limits.MaxOutputSize,
		}
		if filter != nil {
			sreq.Search.Filter = filter
		}
		sreqs[i] = sreq
	}
	switch {
	case sub != nil && sub.batch != nil:
		// A hybrid search's sub-search: asked with the others.
		if results, err = sub.batch.join(ctx, sub.index, sreqs); err != nil {
			return nil, s.shardReadError(ctx, c, partIDs, readSearch, err)
		}
	case len(sreqs) == 1:
		// One shard: asked from this goroutine, without a goroutine and
		// its hand-off per search.
		if results[0], err = s.d.Shards.Search(ctx, sreqs[0]); err != nil {
			return nil, s.shardReadError(ctx, c, partIDs, readSearch, err)
		}
	default:
		g, gctx := errgroup.WithContext(ctx)
		for i, sreq := range sreqs {
			g.Go(func() error {
				r, err := s.d.Shards.Search(gctx, sreq)
				if err != nil {
					return err
				}
				results[i] = r
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, s.shardReadError(ctx, c, partIDs, readSearch, err)
		}
	}
	at := readAt{mvcc: make([]uint64, len(results)), segments: make([][]int64, len(results)), ttlNow: ttlNow, ignoreGrowing: spec.IgnoreGrowing}
	for i, r := range results {
		at.mvcc[i], at.segments[i] = r.MVCCTs, r.Segments
	}
	if sub != nil {
		sub.mvcc, sub.segments, sub.ignoreGrowing = at.mvcc, at.segments, spec.IgnoreGrowing
	}
	topks, picked := pickHits(spec, results)
	var cols map[int64]column.Column
	if requery {
		s.d.Failpoints.Hit(ctx, "proxy.search.requery", "collection", c.ID)
		if cols, err = s.requeryColumns(ctx, c, partIDs, at, searchRequeryHits(c, results, picked), fetchIDs); err != nil {
			return nil, err
		}
	} else {
		cols = pickedColumns(c, results, picked, fetchIDs)
	}
	data := s.searchResultData(c, spec, results, topks, picked, cols, fetchIDs, dynKeys, outNames)
	if rr != nil {
		if data, err = rerankSearch(ctx, c, req, spec, rr, rrDrop, data); err != nil {
			return nil, err
		}
	}
	if err := s.cfg.Limits.checkSearchOutput(data); err != nil {
		return nil, err
	}
	if err := hl.apply(ctx, data); err != nil {
		return nil, err
	}
	if err := s.timestamptzOutput(ctx, data.GetFieldsData(), zone, timeFields(req.GetSearchParams())); err != nil {
		return nil, err
	}
	resp := &milvuspb.SearchResults{Results: data, CollectionName: c.Name, SessionTs: gts}
	iter.finish(&s.iterTies, spec, resp, results, req.GetGuaranteeTimestamp())
	if byIDs != nil {
		spreadOverIDs(resp.Results, byIDs)
	}
	return resp, nil
}

// indexMetric returns the metric of the index on a field, if any.
func (s *Server) indexMetric(ctx context.Context, c *model.Collection) (func(fieldID int64) (index.Metric, bool), error) {
	m, _, err := s.indexInfo(ctx, c)
	return m, err
}

// indexInfo is indexMetric and the index type the collection defines on
// a field ("" if none), from one read of its index definitions.
func (s *Server) indexInfo(ctx context.Context, c *model.Collection) (func(fieldID int64) (index.Metric, bool), func(fieldID int64) string, error) {
	defs, err := s.d.Index.Indexes(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	typ := func(fieldID int64) string {
		for _, d := range defs {
			if d.FieldID == fieldID {
				return d.IndexParams["index_type"]
			}
		}
		return ""
	}
	return func(fieldID int64) (index.Metric, bool) {
		for _, d := range defs {
			if d.FieldID == fieldID {
				if m := d.IndexParams["metric_type"]; m != "" {
					return index.Metric(m), true
				}
			}
		}
		return "", false
	}, typ, nil
}

// withDynamicField adds the $meta field when dynamic keys are requested.
func withDynamicField(c *model.Collection, ids []int64, dynKeys []string) []int64 {
	if len(dynKeys) == 0 {
		return ids
	}
	for _, f := range c.Schema.GetFields() {
		if f.GetIsDynamic() && !slices.Contains(ids, f.GetFieldID()) {
			return append(slices.Clone(ids), f.GetFieldID())
		}
	}
	return ids
}

// shardHit is one kept hit: its shard and its index in that shard's
// result (int32s: a reduce keeps nq*topk of them).
type shardHit struct {
	shard, i int32
}

// pickHits chooses each query's hits (the reduce of the shards' hits): per query, the shards' hits in the
// order of a stable sort by score (best first) then primary key (the
// smaller first, as Milvus reduces), offset skipped, TopK kept (groups
// with a group-by field).
func pickHits(spec *searchSpec, results []*contract.SearchResult) ([]int64, []shardHit) {
	higher := spec.Metric.HigherIsBetter()
	starts := make([][]int, len(results)) // per shard, start of each query's hits
	total := 0
	for si, r := range results {
		starts[si] = make([]int, spec.NQ+1)
		for q := range spec.NQ {
			starts[si][q+1] = starts[si][q] + r.Topks[q]
		}
		total += starts[si][spec.NQ]
	}
	runs := make([]kmerge.Hits, len(results))
	for si, r := range results {
		runs[si] = kmerge.Hits{Scores: r.Scores, IntPKs: r.IntPKs, StrPKs: r.StrPKs}
	}
	compare := func(a, i, b, j int) int {
		return kmerge.CompareHits(&runs[a], i, &runs[b], j, higher)
	}
	grouped := spec.GroupByField != ""
	perQuery := spec.Offset + spec.TopK
	if grouped {
		perQuery = total // every hit may start or fill a group
	}
	topks := make([]int64, spec.NQ)
	picked := make([]shardHit, 0, min(spec.NQ*spec.TopK, total))
	var m kmerge.Merger
	for q := range spec.NQ {
		first, n := len(picked), 0
		m.Merge(len(results), func(si int) (int, int) { return starts[si][q], starts[si][q+1] }, compare,
			func(si, i int) bool {
				if n == perQuery {
					return false
				}
				n++
				if n > spec.Offset || grouped {
					picked = append(picked, shardHit{int32(si), int32(i)})
				}
				return true
			})
		if grouped {
			// Offset and limit count groups (Milvus's search_group_by).
			kept := segment.PickGroups(picked[first:], func(h shardHit) any { return results[h.shard].GroupValues[h.i] },
				spec.Offset, spec.TopK, spec.GroupSize)
			picked = append(picked[:first], kept...)
		}
		topks[q] = int64(len(picked) - first)
	}
	return topks, picked
}

// searchResultData builds the answer from the picked hits: their keys,
// scores and group values, and cols, their output fields (one row per
// picked hit).
func (s *Server) searchResultData(c *model.Collection, spec *searchSpec, results []*contract.SearchResult, topks []int64,
	picked []shardHit, cols map[int64]column.Column, fetchIDs []int64, dynKeys []string, outNames []string) *schemapb.SearchResultData {
	strPK := pkField(c).GetDataType() == schemapb.DataType_VarChar
	var pk column.Column
	if strPK {
		keys := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: make([]string, 0, len(picked))}
		for _, h := range picked {
			keys.Data = append(keys.Data, results[h.shard].StrPKs[h.i])
		}
		pk = keys
	} else {
		keys := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, 0, len(picked))}
		for _, h := range picked {
			keys.Data = append(keys.Data, results[h.shard].IntPKs[h.i])
		}
		pk = keys
	}
	scores := make([]float32, len(picked))
	for i, h := range picked {
		scores[i] = results[h.shard].Scores[h.i]
	}
	roundScores(scores, spec.RoundDecimal)
	// The primary key is among the fields only when asked for (by name or
	// "*"): the hits carry it in ids (Milvus's searchTask.PostExecute).
	pkf := pkField(c)
	if slices.Contains(fetchIDs, pkf.GetFieldID()) {
		cols[pkf.GetFieldID()] = pk
	}
	fields := fieldsDataFor(c.Schema, fetchIDs, cols, dynKeys)
	data := newSearchResultData(spec.NQ, spec.TopK, topks, keysToIDs(pk), scores, fields, outNames, pkf.GetName())
	if spec.GroupByField != "" {
		data.GroupByFieldValue = groupValuesData(groupValueField(c.Schema, spec.GroupByField, spec.GroupByFieldID, spec.GroupJSONType), results, picked)
	}
	return data
}

// pickedColumns is the output fields fetchIDs of the picked hits, one
// row per hit, from the shards' answers (a search in one phase).
func pickedColumns(c *model.Collection, results []*contract.SearchResult, picked []shardHit, fetchIDs []int64) map[int64]column.Column {
	cols := make(map[int64]column.Column, len(fetchIDs))
	for _, fid := range fetchIDs {
		var col column.Column
		for _, r := range results {
			if src := r.Fields[fid]; src != nil {
				col = src.Empty()
				break
			}
		}
		if col == nil {
			// No hit: every requested field (the dynamic field too, which
			// the SDKs need to resolve requested dynamic keys) still gets
			// its (empty) column, as in Milvus.
			if col = emptyColumn(c, fid); col == nil {
				continue
			}
		}
		for _, h := range picked {
			col.Append(results[h.shard].Fields[fid].Slice(int(h.i), int(h.i)+1))
		}
		cols[fid] = col
	}
	return cols
}

// groupValueField is the field a search's group values come back as: the
// group-by field, or for a JSON field or a dynamic key a field of the
// values' type (the json_type cast; VarChar, the JSON text, for none) under
// the name the request gave, as Milvus's segcore assembles them.
func groupValueField(schema *schemapb.CollectionSchema, name string, id int64, jsonType schemapb.DataType) *schemapb.FieldSchema {
	f := fieldByName(schema, name)
	if f == nil {
		f = fieldByID(schema, id)
	}
	if f == nil || f.GetDataType() != schemapb.DataType_JSON {
		return f
	}
	g := &segment.GroupBy{JSONType: jsonType}
	return &schemapb.FieldSchema{FieldID: f.GetFieldID(), Name: name, DataType: g.ValueType(schemapb.DataType_JSON)}
}

// groupValuesData is the picked hits' group values as a column of the
// group-by field's type (nulls marked invalid).
func groupValuesData(f *schemapb.FieldSchema, results []*contract.SearchResult, picked []shardHit) *schemapb.FieldData {
	n := len(picked)
	valid := make([]bool, n)
	anyNull := false
	vals := make([]any, n)
	for i, h := range picked {
		vals[i] = results[h.shard].GroupValues[h.i]
		valid[i] = vals[i] != nil
		anyNull = anyNull || !valid[i]
	}
	if !anyNull {
		valid = nil
	}
	var col column.Column
	switch t := f.GetDataType(); t {
	case schemapb.DataType_Bool:
		col = &column.Scalar[bool]{Type: t, Data: groupTyped(vals, func(v any) bool { return v.(bool) }), Valid: valid}
	case schemapb.DataType_Int8:
		col = &column.Scalar[int8]{Type: t, Data: groupTyped(vals, func(v any) int8 { return int8(v.(int64)) }), Valid: valid}
	case schemapb.DataType_Int16:
		col = &column.Scalar[int16]{Type: t, Data: groupTyped(vals, func(v any) int16 { return int16(v.(int64)) }), Valid: valid}
	case schemapb.DataType_Int32:
		col = &column.Scalar[int32]{Type: t, Data: groupTyped(vals, func(v any) int32 { return int32(v.(int64)) }), Valid: valid}
	case schemapb.DataType_Int64:
		col = &column.Scalar[int64]{Type: t, Data: groupTyped(vals, func(v any) int64 { return v.(int64) }), Valid: valid}
	default: // VarChar, String
		col = &column.Scalar[string]{Type: t, Data: groupTyped(vals, func(v any) string { return v.(string) }), Valid: valid}
	}
	return column.ToFieldData(col, f)
}

// groupTyped converts group values with conv, the zero value for nulls.
func groupTyped[T any](vals []any, conv func(any) T) []T {
	out := make([]T, len(vals))
	for i, v := range vals {
		if v != nil {
			out[i] = conv(v)
		}
	}
	return out
}
