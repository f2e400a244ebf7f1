package querynode

import (
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/segment"
)

// A search's answer is bounded by the request's MaxHits (the proxy's
// maxOutputSize): a shard refuses to build an answer that the proxy would
// refuse anyway, so that nq*topk hits are never materialised per segment,
// per shard and again in the proxy. Milvus fails the same searches, in its
// proxy's reduce, with the same error.

// errOutputSize is Milvus's reduce error (ParameterInvalid, 1100).
func errOutputSize(req *contract.SearchRequest) error {
	return errs.InvalidParameter("search results exceed the maxOutputSize Limit %d", req.MaxOutputSize)
}

// checkHitsBefore refuses, before any segment is searched, a search whose
// answer is sure to exceed MaxHits: without a filter, a range, grouping or
// an iterator bound, every query returns min(K, live rows) hits.
func checkHitsBefore(req *contract.SearchRequest, segs []segment.Segment) error {
	if req.MaxHits <= 0 {
		return nil
	}
	s := req.Search
	if s.Filter != nil || s.GroupBy != nil || s.After != nil || hasRange(s.Params.Params) {
		return nil
	}
	live := 0
	for _, seg := range segs {
		live += seg.NumRows() - seg.NumDeleted()
	}
	if int64(s.Queries.Len())*int64(min(s.Params.K, live)) > int64(req.MaxHits) {
		return errOutputSize(req)
	}
	return nil
}

// hasRange reports a range search (radius), whose answer may be smaller.
func hasRange(params map[string]string) bool {
	_, ok := params["radius"]
	return ok
}

// checkHits counts, after the segments answered, the most hits the shard's
// answer can hold (per query the lesser of K and the segments' hits) and
// refuses it above MaxHits, before the merge allocates it.
func checkHits(req *contract.SearchRequest, results []*segment.SearchResult, nq, k int) error {
	if req.MaxHits <= 0 || req.Search.GroupBy != nil {
		return nil
	}
	total := 0
	for q := range nq {
		n := 0
		for _, r := range results {
			for j := q * r.K; j < (q+1)*r.K && n < k; j++ {
				if r.Offsets[j] >= 0 {
					n++
				}
			}
		}
		if total += min(n, k); total > req.MaxHits {
			return errOutputSize(req)
		}
	}
	return nil
}
