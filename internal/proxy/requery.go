package proxy

import (
	"context"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"golang.org/x/sync/errgroup"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// RequeryPolicy is when a search fetches its hits' output fields in a
// second phase (Milvus 2.6's common.requery.searchPolicy and
// common.requery.hybridSearchPolicy): the shards then send only keys and
// scores, and the proxy queries the winners' fields by primary key at the
// timestamp each shard searched at. One phase moves and holds every
// shard's nq*topk candidates' fields, most of them discarded by the
// reduce; the requery moves only the winners', at the cost of a second
// round trip.
type RequeryPolicy string

const (
	// RequeryAlways requeries every search.
	RequeryAlways RequeryPolicy = "always"
	// RequeryOutputVector requeries a search with a vector output field
	// (Milvus's default).
	RequeryOutputVector RequeryPolicy = "outputvector"
	// RequeryOutputFields requeries a search with any output field.
	RequeryOutputFields RequeryPolicy = "outputfields"
	// RequeryNever never requeries (a Milvago value, not Milvus's): one
	// phase saves the second round trip where few candidates are
	// discarded (small nq*topk, one shard).
	RequeryNever RequeryPolicy = "never"
)

// requeryPolicies are a proxy's two policies.
type requeryPolicies struct {
	search, hybrid RequeryPolicy
}

// SetRequeryPolicies sets the requery policies of searches and hybrid
// searches from now on ("" is RequeryOutputVector), as a change of
// Milvus's refreshable common.requery.* keys does.
func (s *Server) SetRequeryPolicies(search, hybrid RequeryPolicy) {
	s.requery.Store(&requeryPolicies{search: search, hybrid: hybrid})
}

// needs reports whether a search whose shards would fetch the fields
// fetchIDs requeries them under p ("" is RequeryOutputVector).
func (p RequeryPolicy) needs(c *model.Collection, fetchIDs []int64) bool {
	if len(fetchIDs) == 0 || p == RequeryNever {
		return false // nothing to fetch: the keys and scores are the answer
	}
	switch p {
	case RequeryAlways, RequeryOutputFields:
		return true
	}
	for _, id := range fetchIDs {
		if f := fieldByID(c.Schema, id); f != nil && column.IsVector(f.GetDataType()) {
			return true
		}
	}
	return false
}

// requeryHit is one hit whose fields a requery fetches: its primary key
// (int64 or string) and the shard it came from (-1: unknown, every shard
// is asked for it).
type requeryHit struct {
	shard int
	key   any
}

// searchRequeryHits is the picked hits of a search as requery hits.
func searchRequeryHits(c *model.Collection, results []*contract.SearchResult, picked []shardHit) []requeryHit {
	strPK := pkField(c).GetDataType() != schemapb.DataType_Int64
	hits := make([]requeryHit, len(picked))
	for i, h := range picked {
		hits[i].shard = int(h.shard)
		if strPK {
			hits[i].key = results[h.shard].StrPKs[h.i]
		} else {
			hits[i].key = results[h.shard].IntPKs[h.i]
		}
	}
	return hits
}

// requeryColumns fetches the output fields fetchIDs of hits, one row per
// hit in order, by a query per shard for the keys of its hits, read where
// the search read (at): pinned to at.mvcc[shard], the timestamp the shard
// searched at (so a row deleted or replaced since is still read as the
// search saw it), with the collection TTL evaluated at the search's time
// (a row that expired since is still read), over the segments the shard
// searched (at.segments[shard], and the sealed segments compacted from
// them alone: with ignore_growing a growing segment the search skipped is
// not read even once it is sealed, so a key inserted again there does not
// replace the row the search found), in the search's partitions. A hit
// the queries do not return fails with Milvus's ErrInconsistentRequery.
//
// A shard's failure is a query's (shardReadError, readQuery): Milvus's
// requery is a queryTask run by the proxy's query (search_pipeline.go,
// requeryOperator.requery), whose status the search returns as it is, so
// a client reads "failed to query: " (task_query.go:609) in front of the
// shard's text, not the search's "failed to search: ".
func (s *Server) requeryColumns(ctx context.Context, c *model.Collection, partIDs []int64, at readAt,
	hits []requeryHit, fetchIDs []int64) (map[int64]column.Column, error) {
	strPK := pkField(c).GetDataType() != schemapb.DataType_Int64
	type shardKeys struct {
		ints []int64
		strs []string
		row  map[any]int // key -> row in the shard's query answer (-1: not answered)
	}
	keys := make([]shardKeys, len(c.VChannels))
	add := func(si int, key any) {
		k := &keys[si]
		if k.row == nil {
			k.row = map[any]int{}
		}
		if _, ok := k.row[key]; ok {
			return // another query's hit: fetched once
		}
		k.row[key] = -1
		if strPK {
			k.strs = append(k.strs, key.(string))
		} else {
			k.ints = append(k.ints, key.(int64))
		}
	}
	for _, h := range hits {
		if h.shard >= 0 {
			add(h.shard, h.key)
			continue
		}
		for si := range keys {
			add(si, h.key)
		}
	}
	answers := make([]*contract.QueryResult, len(keys))
	ask := func(ctx context.Context, si int) error {
		k := &keys[si]
		if k.row == nil {
			return nil // no hit of this shard won
		}
		filter, err := pkInFilter(c, k.ints, k.strs)
		if err != nil {
			return fmt.Errorf("requery filter: %w", err)
		}
		r, err := s.d.Shards.Query(ctx, &contract.QueryRequest{CollectionID: c.ID, VChannel: c.VChannels[si], PartitionIDs: partIDs,
			GuaranteeTS: at.mvcc[si], PinMVCC: true, IgnoreGrowing: at.ignoreGrowing, TTLNow: at.ttlNow, Filter: filter, OutputFields: fetchIDs,
			RestrictSegments: at.segments != nil, Segments: at.segments[si]})
		if err != nil {
			return fmt.Errorf("requery shard %s: %w", c.VChannels[si], err)
		}
		answers[si] = r
		return nil
	}
	busy := 0
	for si := range keys {
		if keys[si].row != nil {
			busy++
		}
	}
	if busy <= 1 {
		for si := range keys {
			if err := ask(ctx, si); err != nil {
				return nil, s.shardReadError(ctx, c, partIDs, readQuery, err)
			}
		}
	} else {
		g, gctx := errgroup.WithContext(ctx)
		for si := range keys {
			g.Go(func() error { return ask(gctx, si) })
		}
		if err := g.Wait(); err != nil {
			return nil, s.shardReadError(ctx, c, partIDs, readQuery, err)
		}
	}
	// Each hit's row in the shards' answers laid end to end.
	base := make([]int, len(answers))
	total := 0
	for si, r := range answers {
		base[si] = total
		if r == nil {
			continue
		}
		row := keys[si].row
		if strPK {
			for i, k := range r.StrPKs {
				row[k] = i
			}
		} else {
			for i, k := range r.IntPKs {
				row[k] = i
			}
		}
		total += max(len(r.IntPKs), len(r.StrPKs))
	}
	idx := make([]int, len(hits))
	for i, h := range hits {
		idx[i] = -1
		for si := range keys {
			if h.shard >= 0 && si != h.shard {
				continue
			}
			if j, ok := keys[si].row[h.key]; ok && j >= 0 {
				idx[i] = base[si] + j
				break
			}
		}
		if idx[i] < 0 {
			return nil, fmt.Errorf("incomplete query result, missing id %v, len(searchIDs) = %d, len(queryIDs) = %d, collection=%d: %w",
				h.key, len(hits), total, c.ID, errs.ErrInconsistentRequery)
		}
	}
	cols := make(map[int64]column.Column, len(fetchIDs))
	for _, fid := range fetchIDs {
		var col column.Column
		for _, r := range answers {
			if r == nil {
				continue
			}
			src := r.Fields[fid]
			if src == nil {
				continue
			}
			if col == nil {
				col = src.Empty()
			}
			col.Append(src)
		}
		switch {
		case col != nil:
			col = col.Take(idx)
		case len(hits) > 0:
			return nil, fmt.Errorf("requery: no shard returned field %d of collection %d: %w", fid, c.ID, errs.ErrInconsistentRequery)
		default:
			if col = emptyColumn(c, fid); col == nil {
				continue
			}
		}
		cols[fid] = col
	}
	return cols, nil
}

// needsHybrid reports whether a hybrid search requeries under p: output
// names the user's output fields, fetchIDs their IDs, grouped whether it
// has a group-by field (Milvus 2.6's hybridSearchPolicy: with
// "outputvector" a grouping search requeries too).
func (p RequeryPolicy) needsHybrid(c *model.Collection, output []string, fetchIDs []int64, grouped bool) bool {
	if len(fetchIDs) == 0 || p == RequeryNever {
		return false
	}
	switch p {
	case RequeryAlways:
		return true
	case RequeryOutputFields:
		return len(output) > 0
	}
	return grouped || RequeryOutputVector.needs(c, fetchIDs)
}

// requeryFused fetches the output fields of a hybrid search's fused hits
// (data's ids, in order), every shard asked where the sub-searches read it
// (one timestamp per shard, the sub-searches having been sent together;
// the growing segments too unless every sub-search skipped them), and
// returns them as the one-phase fusion would have: as the first
// sub-search (first) sends them, then copied hit by hit into the fused
// result.
func (s *Server) requeryFused(ctx context.Context, c *model.Collection, partIDs []int64, reads []subSearch, ttlNow uint64,
	first *milvuspb.SearchRequest, data *schemapb.SearchResultData, fetchIDs []int64, dynKeys []string) ([]*schemapb.FieldData, error) {
	at := readAt{mvcc: make([]uint64, len(c.VChannels)), segments: make([][]int64, len(c.VChannels)), ttlNow: ttlNow, ignoreGrowing: true}
	for _, r := range reads {
		if r.mvcc == nil {
			continue // answered without the shards
		}
		at.ignoreGrowing = at.ignoreGrowing && r.ignoreGrowing
		// Every segment a sub-search read (each read its own snapshot at
		// the shard's one timestamp).
		for i, ids := range r.segments {
			if i < len(at.segments) {
				at.segments[i] = append(at.segments[i], ids...)
			}
		}
		for i, ts := range r.mvcc {
			if i < len(at.mvcc) {
				if at.mvcc[i] != 0 && at.mvcc[i] != ts {
					return nil, fmt.Errorf("hybrid search requery: sub-searches read shard %s at %d and %d: %w", c.VChannels[i], at.mvcc[i], ts, errs.ErrInconsistentRequery)
				}
				at.mvcc[i] = ts
			}
		}
	}
	ints, strs := data.GetIds().GetIntId().GetData(), data.GetIds().GetStrId().GetData()
	hits := make([]requeryHit, 0, len(ints)+len(strs))
	for _, k := range ints {
		hits = append(hits, requeryHit{shard: -1, key: k})
	}
	for _, k := range strs {
		hits = append(hits, requeryHit{shard: -1, key: k})
	}
	cols, err := s.requeryColumns(ctx, c, partIDs, at, hits, fetchIDs)
	if err != nil {
		return nil, err
	}
	fds := fieldsDataFor(c.Schema, fetchIDs, cols, dynKeys)
	zone, err := requestZone(c, first.GetSearchParams())
	if err != nil {
		return nil, err
	}
	if err := s.timestamptzOutput(ctx, fds, zone, timeFields(first.GetSearchParams())); err != nil {
		return nil, err
	}
	// The fusion's copy: each field read back and re-encoded like the
	// sub-search's (fuseResults).
	src, err := newRankedSource(&schemapb.SearchResultData{FieldsData: fds}, "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]*schemapb.FieldData, 0, len(src.fds))
	for i, fd := range src.fds {
		col := src.fields[i].Empty()
		for r := range len(hits) {
			col.Append(src.fields[i].Slice(r, r+1))
		}
		out = append(out, fieldDataLike(c.Schema, fd, col))
	}
	return foldStructArrays(c.Schema, out), nil
}
