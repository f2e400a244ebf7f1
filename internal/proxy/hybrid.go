package proxy

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rerank"
	"github.com/milvago/milvago/internal/tso"
)

// maxAnnSearchRequests is Milvus's defaultMaxSearchRequest.
const maxAnnSearchRequests = 1024

// rankGroupScorerKey names how a group's score is computed from its hits'
// fused scores ("max", "sum", "avg"), Milvus's RankGroupScorer.
const rankGroupScorerKey = "rank_group_scorer"

// HybridSearch runs each of the request's searches at one timestamp and
// fuses their hits with the request's reranker, as Milvus 2.6 does: the
// sub-searches' own offsets and group-by parameters are ignored (the rank
// params' limit, offset and group_by_field apply to the fused ranking).
func (s *Server) HybridSearch(ctx context.Context, req *milvuspb.HybridSearchRequest) (*milvuspb.SearchResults, error) {
	return s.advancedSearch(ctx, hybridAsSearch(req))
}

// hybridAsSearch is Milvus's convertHybridSearchToSearch: the rank params
// become the search params and each request a sub-request.
func hybridAsSearch(req *milvuspb.HybridSearchRequest) *milvuspb.SearchRequest {
	out := &milvuspb.SearchRequest{
		Base: req.GetBase(), DbName: req.GetDbName(), CollectionName: req.GetCollectionName(),
		PartitionNames: req.GetPartitionNames(), OutputFields: req.GetOutputFields(), SearchParams: req.GetRankParams(),
		TravelTimestamp: req.GetTravelTimestamp(), GuaranteeTimestamp: req.GetGuaranteeTimestamp(),
		NotReturnAllMeta: req.GetNotReturnAllMeta(), ConsistencyLevel: req.GetConsistencyLevel(),
		UseDefaultConsistency: req.GetUseDefaultConsistency(), FunctionScore: req.GetFunctionScore(),
	}
	for _, sub := range req.GetRequests() {
		out.SubReqs = append(out.SubReqs, &milvuspb.SubSearchRequest{
			Dsl: sub.GetDsl(), PlaceholderGroup: sub.GetPlaceholderGroup(), DslType: sub.GetDslType(),
			SearchParams: sub.GetSearchParams(), Nq: sub.GetNq(), ExprTemplateValues: sub.GetExprTemplateValues(),
		})
	}
	return out
}

// rankSpec is a hybrid search's validated rank params.
type rankSpec struct {
	limit, offset, roundDecimal int
	groupByField                string
	groupByFieldID              int64
	groupSize                   int
	strictGroupSize             bool
	groupScorer                 string
	ignoreGrowing               bool
}

// parseRankParams reads the fused ranking's limit, offset, round_decimal
// and group-by parameters as Milvus's parseRankParams.
func parseRankParams(lim Limits, schema *schemapb.CollectionSchema, params []*commonpb.KeyValuePair) (*rankSpec, error) {
	if _, ok := kvLookup(params, limitKey); !ok {
		return nil, errPlain("%s not found in rank_params", limitKey)
	}
	limit, offset, err := parseQueryParams(lim.MaxQueryResultWindow, params)
	if err != nil {
		return nil, err
	}
	r := &rankSpec{limit: limit, offset: offset, roundDecimal: defaultRoundDecimal, groupSize: 1, groupScorer: "max"}
	if s, ok := kvLookup(params, roundDecimalKey); ok {
		d, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
		if err != nil || (d != -1 && (d < 0 || d > 6)) {
			return nil, errPlain("%s [%s] is invalid, should be -1 or an integer in range [0, 6]", roundDecimalKey, s)
		}
		r.roundDecimal = int(d)
	}
	// Group-by: the same keys and texts as a plain search's.
	g := &searchSpec{GroupSize: 1}
	groupParams := make([]*commonpb.KeyValuePair, 0, 3)
	for _, p := range params {
		switch p.GetKey() {
		case groupByFieldKey, groupSizeKey, strictGroupKey:
			groupParams = append(groupParams, p)
		}
	}
	groupParams = append(groupParams, &commonpb.KeyValuePair{Key: topKKey, Value: "1"})
	if err := parseSearchInfo(lim.TopK, schema, groupParams, g); err != nil {
		return nil, err
	}
	r.groupByField, r.groupByFieldID, r.groupSize, r.strictGroupSize = g.GroupByField, g.GroupByFieldID, g.GroupSize, g.StrictGroupSize
	if s, ok := kvLookup(params, rankGroupScorerKey); ok {
		r.groupScorer = s
	}
	if s, ok := kvLookup(params, ignoreGrowingKy); ok {
		if r.ignoreGrowing, err = strconv.ParseBool(s); err != nil {
			return nil, errPlain("parse ignore growing field failed")
		}
	}
	return r, nil
}

// subSearchParams are a sub-search's params as Milvus's advanced search
// reads them: its own offset and group-by are ignored, the rank params'
// group-by and ignore_growing apply.
func subSearchParams(sub []*commonpb.KeyValuePair, r *rankSpec) []*commonpb.KeyValuePair {
	out := make([]*commonpb.KeyValuePair, 0, len(sub)+3)
	for _, p := range sub {
		switch p.GetKey() {
		case offsetKey, groupByFieldKey, groupSizeKey, strictGroupKey:
			continue
		case ignoreGrowingKy:
			if r.ignoreGrowing {
				continue
			}
		}
		out = append(out, p)
	}
	if r.groupByField != "" {
		out = append(out,
			&commonpb.KeyValuePair{Key: groupByFieldKey, Value: r.groupByField},
			&commonpb.KeyValuePair{Key: groupSizeKey, Value: strconv.Itoa(r.groupSize)},
			&commonpb.KeyValuePair{Key: strictGroupKey, Value: strconv.FormatBool(r.strictGroupSize)})
	}
	if r.ignoreGrowing {
		out = append(out, &commonpb.KeyValuePair{Key: ignoreGrowingKy, Value: "true"})
	}
	return out
}

// subNq is a sub-request's nq: its own, or its placeholder's vector count.
func subNq(sub *milvuspb.SubSearchRequest) int64 {
	if sub.GetNq() > 0 {
		return sub.GetNq()
	}
	return placeholderCount(sub.GetPlaceholderGroup())
}

// advancedSearch is a search with sub-requests (Milvus's "advanced"
// search, which HybridSearch is converted to).
func (s *Server) advancedSearch(ctx context.Context, req *milvuspb.SearchRequest) (*milvuspb.SearchResults, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if hasPartitionKey(c.Schema) && len(req.GetPartitionNames()) != 0 {
		return nil, errPlain("not support manually specifying the partition names if partition key mode is used")
	}
	partIDs, err := readPartitionIDs(c, req.GetPartitionNames())
	if err != nil {
		return nil, err
	}
	outIDs, dynKeys, outNames, err := resolveOutputFields(c.Schema, req.GetOutputFields(), true)
	if err != nil {
		return nil, err
	}
	if len(req.GetSubReqs()) > maxAnnSearchRequests {
		return nil, errPlain("maximum of ann search requests is %d", maxAnnSearchRequests)
	}
	nq := req.GetNq()
	for _, sub := range req.GetSubReqs() {
		n := subNq(sub)
		if nq == 0 {
			nq = n
			continue
		}
		if n != nq {
			return nil, errInvalidValue(nq, n, "sub search request nq should be the same")
		}
	}
	if nq <= 0 || nq > int64(s.cfg.Limits.NQ) {
		return nil, errPlain("nq [%d] is invalid, nq (number of search vector per search request) should be in range [1, %d], but got %d", nq, s.cfg.Limits.NQ, nq)
	}
	var rr rerank.Reranker
	if req.GetFunctionScore() != nil {
		rr, err = rerank.New(c.Schema, req.GetFunctionScore(), s.rerankModels(c.DBName))
	}
	if err == nil && rr == nil {
		rr, err = rerank.NewLegacy(c.Schema, req.GetSearchParams())
	}
	if err != nil {
		return nil, err
	}
	rank, err := parseRankParams(s.cfg.Limits, c.Schema, req.GetSearchParams())
	if err != nil {
		return nil, err
	}
	if rank.groupByField != "" && !rr.SupportsGroup() {
		return nil, errInvalidMsg("Current rerank does not support grouping search")
	}

	// The sub-searches fetch the user's output fields and the reranker's
	// inputs; the inputs the user did not ask for are dropped after fusion.
	// With a requery they fetch only the reranker's inputs, and the fused
	// hits' output fields are queried by key.
	fetchIDs := withDynamicField(c, outIDs, dynKeys)
	requery := s.requery.Load().hybrid.needsHybrid(c, req.GetOutputFields(), fetchIDs, rank.groupByField != "")
	requested := req.GetOutputFields()
	if requery {
		requested = nil
	}
	fetch, drop := withRerankInputs(c, requested, nil, rr)
	if !requery {
		fetch, drop = withRerankInputs(c, requested, outIDs, rr)
	}
	indexMetric, err := s.indexMetric(ctx, c)
	if err != nil {
		return nil, err
	}
	subs := make([]*milvuspb.SearchRequest, len(req.GetSubReqs()))
	metrics := make([]string, len(subs))
	for i, sub := range req.GetSubReqs() {
		subs[i] = &milvuspb.SearchRequest{
			Base: req.GetBase(), DbName: req.GetDbName(), CollectionName: req.GetCollectionName(),
			PartitionNames: req.GetPartitionNames(), Dsl: sub.GetDsl(), DslType: sub.GetDslType(),
			SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: sub.GetPlaceholderGroup()},
			Nq:           subNq(sub),
			SearchParams: subSearchParams(sub.GetSearchParams(), rank), OutputFields: fetch,
			ExprTemplateValues: sub.GetExprTemplateValues(), NotReturnAllMeta: req.GetNotReturnAllMeta(),
		}
		if subs[i], err = s.embedSearchRequest(ctx, c.DBName, c.Schema, subs[i]); err != nil {
			return nil, err
		}
		spec, err := parseSearchRequest(s.cfg.Limits, c.Schema, subs[i], indexMetric)
		if asSegcoreQueryError(err) {
			continue // the sub-search answers it as a plain search does
		}
		if err != nil {
			return nil, err
		}
		if spec.Field.GetDataType() == schemapb.DataType_ArrayOfVector {
			if _, ok := spec.Params["radius"]; ok {
				return nil, errInvalidValue("", "", "range search is not supported for vector array (embedding list) fields in hybrid search, fieldName:"+spec.Field.GetName())
			}
			if rank.groupByField != "" {
				return nil, errInvalidValue("", "", "group by search is not supported for vector array (embedding list) fields in hybrid search, fieldName:"+spec.Field.GetName())
			}
		}
		metrics[i] = string(spec.Metric)
	}
	if err := s.requireLoaded(ctx, c, nil, readSearch); err != nil {
		return nil, err
	}

	// Every sub-search reads at one timestamp.
	gts, err := s.guaranteeTS(ctx, c, req.GetConsistencyLevel(), req.GetUseDefaultConsistency(), req.GetGuaranteeTimestamp())
	if err != nil {
		return nil, err
	}
	// ... and each shard answers all of them at one MVCC timestamp, with
	// the collection TTL at one time (subBatch).
	ttlNow := tso.Compose(time.Now(), 0)
	results := make([]*schemapb.SearchResultData, len(subs))
	reads := make([]subSearch, len(subs))
	batch := newSubBatch(len(subs))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return batch.run(gctx, s.d.Shards) })
	for i, sub := range subs {
		sub.ConsistencyLevel, sub.UseDefaultConsistency, sub.GuaranteeTimestamp = commonpb.ConsistencyLevel_Customized, false, gts
		reads[i] = subSearch{batch: batch, index: i, ttlNow: ttlNow}
		g.Go(func() error {
			r, err := s.search(gctx, sub, &reads[i])
			if err != nil {
				return err
			}
			results[i] = r.GetResults()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	srcs := make([]*rankedSource, len(results))
	for i, r := range results {
		if srcs[i], err = newRankedSource(r, metrics[i], int(nq)); err != nil {
			return nil, err
		}
	}
	p := rerank.Params{NQ: int(nq), Limit: rank.limit, Offset: rank.offset, RoundDecimal: rank.roundDecimal,
		Grouping: rank.groupByField != "", GroupSize: rank.groupSize, GroupScorer: rank.groupScorer}
	data, err := fuseResults(ctx, c.Schema, srcs, rr, p, int(nq), drop, groupValueField(c.Schema, rank.groupByField, rank.groupByFieldID, schemapb.DataType_None))
	if err != nil {
		return nil, err
	}
	if requery {
		if data.FieldsData, err = s.requeryFused(ctx, c, partIDs, reads, ttlNow, subs[0], data, fetchIDs, dynKeys); err != nil {
			return nil, err
		}
	}
	data.OutputFields = outNames
	return &milvuspb.SearchResults{Results: data, CollectionName: c.Name, SessionTs: gts}, nil
}

// withRerankInputs returns the output fields a search must fetch for the
// reranker rr (the user's plus rr's inputs) and the names of the fields
// fetched only for rr.
func withRerankInputs(c *model.Collection, requested []string, outIDs []int64, rr rerank.Reranker) ([]string, map[string]bool) {
	fetch := requested
	drop := map[string]bool{}
	for _, name := range rr.InputFields() {
		f := fieldByName(c.Schema, name)
		if f == nil || containsID(outIDs, f.GetFieldID()) {
			continue
		}
		fetch = append(append([]string(nil), fetch...), name)
		drop[name] = true
	}
	return fetch, drop
}

// errUnsupportedGroupRerank is Milvus's refusal of a reranker that cannot
// rank groups on a plain search.
func errUnsupportedGroupRerank(name string) error {
	return errInvalidMsg("Rerank %s does not support grouping search", name)
}

// placeholderCount is the number of query vectors of a serialized
// placeholder group (0 when it does not decode).
func placeholderCount(b []byte) int64 {
	group := &commonpb.PlaceholderGroup{}
	if err := proto.Unmarshal(b, group); err != nil {
		return 0
	}
	var n int64
	for _, ph := range group.GetPlaceholders() {
		n += int64(len(ph.GetValues()))
	}
	return n
}

// searchReranker builds a plain Search's function reranker (nil without a
// FunctionScore) and adds its input fields to the fields to fetch; drop
// names those the user did not ask for.
func (s *Server) searchReranker(c *model.Collection, req *milvuspb.SearchRequest, spec *searchSpec, outIDs, fetchIDs []int64) (rerank.Reranker, map[string]bool, []int64, error) {
	if req.GetFunctionScore() == nil {
		return nil, nil, fetchIDs, nil
	}
	rr, err := rerank.New(c.Schema, req.GetFunctionScore(), s.rerankModels(c.DBName))
	if err != nil || rr == nil {
		return nil, nil, fetchIDs, err
	}
	if spec.GroupByField != "" && !rr.SupportsGroup() {
		return nil, nil, nil, errUnsupportedGroupRerank(rr.Name())
	}
	drop := map[string]bool{}
	for _, name := range rr.InputFields() {
		f := fieldByName(c.Schema, name)
		if f == nil || containsID(fetchIDs, f.GetFieldID()) {
			continue
		}
		fetchIDs = append(append([]int64(nil), fetchIDs...), f.GetFieldID())
		if !containsID(outIDs, f.GetFieldID()) {
			drop[name] = true
		}
	}
	return rr, drop, fetchIDs, nil
}

// rerankSearch reorders a plain Search's reduced hits with its function
// reranker, as Milvus 2.6's searchWithRerank pipeline: the page (offset
// already applied by the reduce) is reranked whole.
func rerankSearch(ctx context.Context, c *model.Collection, req *milvuspb.SearchRequest, spec *searchSpec, rr rerank.Reranker, drop map[string]bool, data *schemapb.SearchResultData) (*schemapb.SearchResultData, error) {
	src, err := newRankedSource(data, string(spec.Metric), spec.NQ)
	if err != nil {
		return nil, err
	}
	scorer, ok := kvLookup(req.GetSearchParams(), rankGroupScorerKey)
	if !ok {
		scorer = "max"
	}
	p := rerank.Params{NQ: spec.NQ, Limit: spec.TopK + spec.Offset, RoundDecimal: spec.RoundDecimal,
		Grouping: spec.GroupByField != "", GroupSize: max(spec.GroupSize, 1), GroupScorer: scorer}
	out, err := fuseResults(ctx, c.Schema, []*rankedSource{src}, rr, p, spec.NQ, drop, groupValueField(c.Schema, spec.GroupByField, spec.GroupByFieldID, spec.GroupJSONType))
	if err != nil {
		return nil, err
	}
	out.TopK, out.OutputFields = data.GetTopK(), data.GetOutputFields()
	return out, nil
}
