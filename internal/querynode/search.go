package querynode

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"golang.org/x/sync/errgroup"

	"github.com/milvago/milvago/internal/bm25"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kmerge"
	"github.com/milvago/milvago/internal/segment"
)

// hit is one candidate row of a read.
type hit struct {
	seg    int // index into the read set
	offset int64
	intPK  int64
	strPK  string
	score  float32
	ts     uint64
	group  any // grouping search: the hit's group value
}

func (dl *delegator) strPK() bool {
	pk := dl.coll().PrimaryField()
	return pk != nil && pk.GetDataType() != schemapb.DataType_Int64
}

func (dl *delegator) search(ctx context.Context, req *contract.SearchRequest, parts map[int64]bool) (*contract.SearchResult, error) {
	mvcc, err := dl.waitTSafe(ctx, req.GuaranteeTS)
	if err != nil {
		return nil, err
	}
	if req.PinMVCC {
		mvcc = req.GuaranteeTS
	}
	rs := dl.snapshot(parts, req.IgnoreGrowing)
	defer rs.release()
	read := rs.ids() // before pruning: a requery reads them again
	// Segments a vector clustering key's centroids rule out are not
	// searched (prune.go); rs.sealed keeps them pinned until release.
	if kept := pruneByCentroids(dl.d.prune(), dl.coll().Schema, &req.Search, rs.segs, rs.sealed); len(kept) < len(rs.segs) {
		dl.logger.Debug("search pruned segments by centroids", "searched", len(kept), "segments", len(rs.segs))
		rs.segs = kept
	}
	if err := checkHitsBefore(req, rs.segs); err != nil {
		return nil, err
	}
	sreq := req.Search
	sreq.MVCCTs = mvcc
	sreq.Filter = dl.withTTL(sreq.Filter, ttlNow(req.TTLNow)) // ttl.go
	if bm25.IsOutput(dl.coll().Schema, sreq.FieldID) {
		ok, err := dl.weightBM25(ctx, &sreq)
		if err != nil {
			return nil, err
		}
		if !ok { // no rows or tokens in the shard: no hits
			nq := sreq.Queries.Len()
			out := &contract.SearchResult{NQ: nq, Topks: make([]int, nq), MVCCTs: mvcc, Segments: read}
			if !dl.strPK() {
				out.IntPKs = []int64{}
			}
			if out.Fields, err = fetch(ctx, rs.segs, nil, req.OutputFields); err != nil {
				return nil, err
			}
			return out, nil
		}
	}
	results := make([]*segment.SearchResult, len(rs.segs))
	searchSeg := func(ctx context.Context, i int) error {
		r, err := rs.segs[i].Search(ctx, &sreq)
		if err != nil {
			return fmt.Errorf("search segment %d: %w", rs.segs[i].ID(), err)
		}
		results[i] = r
		return nil
	}
	if err := searchSegments(ctx, rs.segs, searchSeg); err != nil {
		return nil, err
	}
	nq, k := sreq.Queries.Len(), sreq.Params.K
	if len(sreq.EmbListLens) > 0 {
		nq = len(sreq.EmbListLens) // one query per embedding list
	}
	if err := checkHits(req, results, nq, k); err != nil {
		return nil, err
	}
	grouped := sreq.GroupBy != nil
	higher := sreq.Metric.HigherIsBetter()
	out := &contract.SearchResult{NQ: nq, Topks: make([]int, nq), MVCCTs: mvcc, Segments: read}
	groupSize := 0
	if grouped {
		groupSize = sreq.GroupBy.Size
	}
	hits := mergeSegmentHits(results, nq, k, higher, grouped, groupSize, out.Topks)
	strPK := dl.strPK()
	for _, h := range hits {
		if strPK {
			out.StrPKs = append(out.StrPKs, h.strPK)
		} else {
			out.IntPKs = append(out.IntPKs, h.intPK)
		}
		out.Scores = append(out.Scores, h.score)
		if grouped {
			out.GroupValues = append(out.GroupValues, h.group)
		}
	}
	if !strPK && out.IntPKs == nil {
		out.IntPKs = []int64{}
	}
	out.Fields, err = fetch(ctx, rs.segs, hits, req.OutputFields)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// searchSubs answers a hybrid search's sub-searches on this shard
// (req.Subs), all at one MVCC timestamp: the shard's service time once it
// reached req.GuaranteeTS (req.GuaranteeTS itself with PinMVCC), as
// Milvus's delegator reads an advanced search's sub-requests at one
// tSafe. Each sub then reads pinned there, over its own snapshot of the
// segments: a segment handed off meanwhile holds the same rows at the
// same timestamps, so every sub sees the same rows.
func (dl *delegator) searchSubs(ctx context.Context, req *contract.SearchRequest, parts map[int64]bool) (*contract.SearchResult, error) {
	mvcc, err := dl.waitTSafe(ctx, req.GuaranteeTS)
	if err != nil {
		return nil, err
	}
	if req.PinMVCC {
		mvcc = req.GuaranteeTS
	}
	out := &contract.SearchResult{MVCCTs: mvcc, Subs: make([]*contract.SearchResult, len(req.Subs))}
	g, gctx := errgroup.WithContext(ctx)
	for i, sub := range req.Subs {
		if sub.CollectionID != req.CollectionID || sub.VChannel != req.VChannel || !slices.Equal(sub.PartitionIDs, req.PartitionIDs) {
			return nil, fmt.Errorf("querynode: sub-search %d of shard %s reads another shard or partitions", i, req.VChannel)
		}
		if len(sub.Subs) > 0 {
			return nil, fmt.Errorf("querynode: sub-search %d of shard %s has sub-searches", i, req.VChannel)
		}
		pinned := *sub
		pinned.GuaranteeTS, pinned.PinMVCC, pinned.TTLNow = mvcc, true, req.TTLNow
		g.Go(func() error {
			r, err := dl.search(gctx, &pinned, parts)
			if err != nil {
				return err
			}
			out.Subs[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// inlineRows is the size under which a segment is searched by the
// request's own goroutine after the large ones were handed out: a small
// growing segment (a brute-force scan of a few thousand rows) takes less
// time than starting a goroutine and waking a thread to run it.
const inlineRows = 4096

// searchSegments runs search(ctx, i) for every segment, up to four at
// once: the request's goroutine searches the first large segment itself
// and then every small one (fewer than inlineRows rows), the others run
// in goroutines. With one large segment and small ones (the common shape
// of an nq=1 search: one sealed segment and the growing tail) no goroutine
// is started at all.
func searchSegments(ctx context.Context, segs []segment.Segment, search func(context.Context, int) error) error {
	var large, small []int
	for i, s := range segs {
		if s.NumRows() < inlineRows {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	if len(large) <= 1 {
		for _, i := range append(large, small...) {
			if err := search(ctx, i); err != nil {
				return err
			}
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(3)
	for _, i := range large[1:] {
		g.Go(func() error { return search(gctx, i) })
	}
	err := search(gctx, large[0])
	for _, i := range small {
		if err != nil {
			break
		}
		err = search(gctx, i)
	}
	if werr := g.Wait(); werr != nil {
		return werr
	}
	return err
}

// fetch gathers output fields for hits, in hit order.
func fetch(ctx context.Context, segs []segment.Segment, hits []hit, fieldIDs []int64) (map[int64]column.Column, error) {
	if len(fieldIDs) == 0 {
		return nil, nil
	}
	// Offsets per segment, and where each hit's row lands in its segment's fetch.
	perSeg := map[int][]int64{}
	pos := make([]int, len(hits))
	for i, h := range hits {
		pos[i] = len(perSeg[h.seg])
		perSeg[h.seg] = append(perSeg[h.seg], h.offset)
	}
	fetched := map[int]map[int64]column.Column{}
	for si, offs := range perSeg {
		cols, err := segs[si].Fetch(ctx, offs, fieldIDs)
		if err != nil {
			return nil, fmt.Errorf("fetch from segment %d: %w", segs[si].ID(), err)
		}
		fetched[si] = cols
	}
	// Each field: the segments' fetched rows end to end, then one Take in
	// hit order (not an Append of one row per hit).
	segOrder := make([]int, 0, len(fetched))
	for si := range fetched {
		segOrder = append(segOrder, si)
	}
	slices.Sort(segOrder)
	out := map[int64]column.Column{}
	for _, fid := range fieldIDs {
		var col column.Column
		if len(hits) > 0 {
			base := make(map[int]int, len(segOrder))
			var all column.Column
			for _, si := range segOrder {
				src := fetched[si][fid]
				if src == nil {
					return nil, fmt.Errorf("segment %d returned no field %d", segs[si].ID(), fid)
				}
				if all == nil {
					all = src.Empty()
				}
				base[si] = all.Len()
				all.Append(src)
			}
			idx := make([]int, len(hits))
			for i, h := range hits {
				idx[i] = base[h.seg] + pos[i]
			}
			col = all.Take(idx)
		}
		if col == nil {
			// No hits: an empty column of the right type from any segment.
			for _, s := range segs {
				cols, err := s.Fetch(ctx, nil, []int64{fid})
				if err == nil && cols[fid] != nil {
					col = cols[fid].Empty()
					break
				}
			}
		}
		if col != nil {
			out[fid] = col
		}
	}
	return out, nil
}

func (dl *delegator) query(ctx context.Context, req *contract.QueryRequest, parts map[int64]bool) (*contract.QueryResult, error) {
	mvcc, err := dl.waitTSafe(ctx, req.GuaranteeTS)
	if err != nil {
		return nil, err
	}
	if req.PinMVCC {
		mvcc = req.GuaranteeTS
	}
	var only map[int64]bool
	if req.RestrictSegments {
		only = make(map[int64]bool, len(req.Segments))
		for _, id := range req.Segments {
			only[id] = true
		}
	}
	rs := dl.snapshotOf(parts, req.IgnoreGrowing, only)
	defer rs.release()
	filter := dl.withTTL(req.Filter, ttlNow(req.TTLNow)) // ttl.go
	if req.CountOnly {
		var n int64
		for _, s := range rs.segs {
			c, err := s.Count(ctx, filter, mvcc)
			if err != nil {
				return nil, fmt.Errorf("count segment %d: %w", s.ID(), err)
			}
			n += c
		}
		return &contract.QueryResult{Count: n, MVCCTs: mvcc}, nil
	}
	results := make([]*segment.QueryResult, len(rs.segs))
	total, withHits := 0, 0
	for si, s := range rs.segs {
		r, err := s.Query(ctx, &segment.QueryRequest{Filter: filter, MVCCTs: mvcc, Limit: req.Limit})
		if err != nil {
			return nil, fmt.Errorf("query segment %d: %w", s.ID(), err)
		}
		results[si] = r
		total += len(r.Offsets)
		if len(r.Offsets) > 0 {
			withHits++
		}
	}
	strPK := dl.strPK()
	hits := mergeHits(results, total, withHits, strPK)
	if req.Limit > 0 && len(hits) > req.Limit {
		hits = hits[:req.Limit]
	}
	out := &contract.QueryResult{MVCCTs: mvcc}
	if strPK {
		out.StrPKs = make([]string, len(hits))
		for i, h := range hits {
			out.StrPKs[i] = h.strPK
		}
	} else {
		out.IntPKs = make([]int64, len(hits))
		for i, h := range hits {
			out.IntPKs[i] = h.intPK
		}
	}
	out.Fields, err = fetch(ctx, rs.segs, hits, req.OutputFields)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mergeHits merges the segments' query rows, each segment's one row per
// key in key order, into one row per key in key order: the newest (highest
// timestamp) among segments holding the key. A k-way merge over a heap of
// segment cursors: O(n log k) with no sort of the n rows.
func mergeHits(results []*segment.QueryResult, total, withHits int, strPK bool) []hit {
	hits := make([]hit, 0, total)
	at := func(si, j int) hit {
		r := results[si]
		h := hit{seg: si, offset: r.Offsets[j], ts: r.Timestamps[j]}
		if r.StrPKs != nil {
			h.strPK = r.StrPKs[j]
		} else {
			h.intPK = r.IntPKs[j]
		}
		return h
	}
	if withHits <= 1 {
		for si, r := range results {
			for j := range r.Offsets {
				hits = append(hits, at(si, j))
			}
		}
		return hits
	}
	type cursor struct {
		seg, j int
		h      hit
	}
	less := func(a, b *cursor) bool {
		c := cmp.Compare(a.h.intPK, b.h.intPK)
		if strPK {
			c = cmp.Compare(a.h.strPK, b.h.strPK)
		}
		if c != 0 {
			return c < 0
		}
		return a.h.ts > b.h.ts // newest first among equal keys
	}
	heap := make([]*cursor, 0, withHits)
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(heap) {
				return
			}
			m := l
			if r := l + 1; r < len(heap) && less(heap[r], heap[l]) {
				m = r
			}
			if !less(heap[m], heap[i]) {
				return
			}
			heap[i], heap[m] = heap[m], heap[i]
			i = m
		}
	}
	for si, r := range results {
		if len(r.Offsets) > 0 {
			heap = append(heap, &cursor{seg: si, h: at(si, 0)})
		}
	}
	for i := len(heap)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(heap) > 0 {
		c := heap[0]
		if n := len(hits); n == 0 || hits[n-1].intPK != c.h.intPK || hits[n-1].strPK != c.h.strPK {
			hits = append(hits, c.h)
		}
		c.j++
		if c.j < len(results[c.seg].Offsets) {
			c.h = at(c.seg, c.j)
		} else {
			heap[0] = heap[len(heap)-1]
			heap = heap[:len(heap)-1]
		}
		down(0)
	}
	return hits
}

// mergeSegmentHits merges the segments' hits of each of nq queries: best
// first, one hit per primary key (the first met), k hits per query, or
// with grouping the k best groups of groupSize hits. It sets topks[q] to
// query q's number of hits and returns the hits, query after query.
func mergeSegmentHits(results []*segment.SearchResult, nq, k int, higher, grouped bool, groupSize int, topks []int) []hit {
	slots := 0
	for _, r := range results {
		slots += len(r.Offsets)
	}
	// Sized once: appending nq*k hits to a growing slice allocates about
	// five times their size (a large slice grows by a quarter).
	hits := make([]hit, 0, min(nq*k, slots))
	// Each query's hits are merged from one cursor per segment (kmerge):
	// in the order of a stable sort by score, then primary key (the
	// smaller first, as Milvus reduces), without gathering them first.
	runs := make([]kmerge.Hits, len(results))
	for si, r := range results {
		runs[si] = kmerge.Hits{Scores: r.Scores, IntPKs: r.IntPKs, StrPKs: r.StrPKs}
	}
	compare := func(a, i, b, j int) int {
		return kmerge.CompareHits(&runs[a], i, &runs[b], j, higher)
	}
	var merger kmerge.Merger
	seenInt, seenStr := map[int64]bool{}, map[string]bool{}
	for q := range nq {
		limit := k // hits, or with grouping every hit, grouped below
		if grouped {
			limit = math.MaxInt
		}
		clear(seenInt)
		clear(seenStr)
		first := len(hits)
		n := 0
		merger.Merge(len(results), func(si int) (int, int) {
			r := results[si]
			start, end := q*r.K, (q+1)*r.K
			for end > start && r.Offsets[end-1] < 0 { // unfilled slots
				end--
			}
			return start, end
		}, compare, func(si, j int) bool {
			if n == limit {
				return false
			}
			r := results[si]
			if r.Offsets[j] < 0 {
				return true
			}
			h := hit{seg: si, offset: r.Offsets[j], score: r.Scores[j], ts: r.Timestamps[j]}
			if r.GroupValues != nil {
				h.group = r.GroupValues[j]
			}
			if r.StrPKs != nil {
				h.strPK = r.StrPKs[j]
				if seenStr[h.strPK] {
					return true
				}
				seenStr[h.strPK] = true
			} else {
				h.intPK = r.IntPKs[j]
				if seenInt[h.intPK] {
					return true
				}
				seenInt[h.intPK] = true
			}
			hits = append(hits, h)
			n++
			return true
		})
		if grouped {
			// The K best groups over all segments, GroupSize hits each.
			kept := segment.PickGroups(hits[first:], func(h hit) any { return h.group }, 0, k, groupSize)
			hits = append(hits[:first], kept...)
			n = len(kept)
		}
		topks[q] = n
	}
	return hits
}
