package proxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"golang.org/x/sync/errgroup"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/tso"
)

// guaranteeTS turns a consistency level into the timestamp a read must
// see: Strong a fresh one, Bounded one a few seconds old, Session the
// client's last write, Eventually anything.
func (s *Server) guaranteeTS(ctx context.Context, c *model.Collection, level commonpb.ConsistencyLevel, useDefault bool, clientTS uint64) (uint64, error) {
	if useDefault {
		level = c.ConsistencyLevel
	}
	switch level {
	case commonpb.ConsistencyLevel_Strong:
		return s.d.Root.AllocTimestamp(ctx, 1)
	case commonpb.ConsistencyLevel_Bounded:
		return tso.Compose(time.Now().Add(-time.Duration(s.cfg.BoundedStalenessMs)*time.Millisecond), 0), nil
	case commonpb.ConsistencyLevel_Session:
		if clientTS > 0 {
			return clientTS, nil
		}
		return max(s.sessions.lastWrite(ctx), 1), nil
	case commonpb.ConsistencyLevel_Customized:
		if clientTS > 0 {
			return clientTS, nil
		}
		return 1, nil
	default: // Eventually
		return 1, nil
	}
}

// readKind names a read in the texts of Milvus's proxy: its task's
// "failed to search" / "failed to query" and its shard call's "fail to
// search on QueryNode" / "fail to Query on QueryNode".
type readKind int

const (
	readSearch readKind = iota
	readQuery
)

// requireLoaded checks that a collection (and the named partitions) serve
// reads. A read that goes on to ask the shards names no partitions here:
// its shards refuse a partition they do not serve, as Milvus's delegators
// do, and the read returns the first refusal (shardReadError); reads
// answered without the shards check the partitions here.
func (s *Server) requireLoaded(ctx context.Context, c *model.Collection, partIDs []int64, kind readKind) error {
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return err
	}
	if !st.Loaded {
		return errs.CollectionNotLoaded(c.Name)
	}
	if st.Partitions != nil {
		if len(partIDs) == 0 {
			return nil // search what is loaded
		}
		for _, p := range partIDs {
			if !containsID(st.Partitions, p) {
				// Milvus's delegator refuses a partition its
				// distribution does not hold (delegator/distribution.go:197-201).
				return s.delegatorError(ctx, c, kind, errs.PartitionNotLoaded(p))
			}
		}
	}
	return nil
}

// delegatorError is err, a refusal the proxy makes on a shard's behalf
// without asking it (a read answered without the shards), as Milvus's
// proxy returns a delegator's refusal (errs.ShardRead and errs.ReadFailed),
// with err's code. The shard is the collection's first and the node its
// leader: Milvus names the shard whose refusal came first, which for a
// collection of one shard (the default) is that one. A shard without a
// leader leaves err as it is.
func (s *Server) delegatorError(ctx context.Context, c *model.Collection, kind readKind, err error) error {
	if len(c.VChannels) == 0 {
		return err
	}
	vc := c.VChannels[0]
	node, lerr := s.d.Shards.Leader(ctx, c.ID, vc)
	if lerr != nil || node == 0 {
		return err
	}
	return errs.ReadFailed(kind == readSearch, errs.ShardRead(kind == readSearch, node, vc, true, err))
}

// shardRowsResult is the merged answer of a query over every shard.
type shardRowsResult struct {
	IntPKs []int64
	StrPKs []string
	Fields map[int64]column.Column
	Count  int64
	MVCCTs uint64 // the newest timestamp a shard read at
}

// queryShards runs a query on every shard and merges by primary key.
// limit 0 means no limit; offset rows are skipped after merging.
func (s *Server) queryShards(ctx context.Context, c *model.Collection, filter *expr.Expr, partIDs []int64,
	level commonpb.ConsistencyLevel, limit, offset int, outputs []int64) (*shardRowsResult, error) {
	return s.queryShardsAt(ctx, c, filter, partIDs, level, false, 0, 0, limit, offset, outputs, false, false)
}

// queryShardsAt is queryShards at a consistency level or, with pinTS > 0,
// at exactly the timestamp pinTS (a query iterator's later pages);
// ignoreGrowing reads the sealed segments only (a Query's ignore_growing).
func (s *Server) queryShardsAt(ctx context.Context, c *model.Collection, filter *expr.Expr, partIDs []int64,
	level commonpb.ConsistencyLevel, useDefault bool, clientTS, pinTS uint64, limit, offset int, outputs []int64, countOnly, ignoreGrowing bool) (*shardRowsResult, error) {
	gts := pinTS
	if gts == 0 {
		var err error
		if gts, err = s.guaranteeTS(ctx, c, level, useDefault, clientTS); err != nil {
			return nil, err
		}
	}
	// The collection TTL is evaluated at one time for every shard, the
	// request's arrival, as Milvus's query task takes its TTL timestamp
	// from its own (CollectionTtlTimestamps): each page of an iterator at
	// its own time, its rows read at the pinned MVCC timestamp. Left to
	// each shard, a row expiring meanwhile was kept by one shard and
	// dropped by another (a shard waiting for its service time to reach
	// gts evaluated it later).
	ttlNow := tso.Compose(time.Now(), 0)
	results := make([]*contract.QueryResult, len(c.VChannels))
	g, gctx := errgroup.WithContext(ctx)
	for i, vc := range c.VChannels {
		req := &contract.QueryRequest{CollectionID: c.ID, VChannel: vc, PartitionIDs: partIDs, GuaranteeTS: gts,
			PinMVCC: pinTS > 0, IgnoreGrowing: ignoreGrowing, TTLNow: ttlNow, OutputFields: outputs, CountOnly: countOnly}
		if filter != nil {
			req.Filter = filter
		}
		if limit > 0 {
			req.Limit = limit + offset
		}
		g.Go(func() error {
			r, err := s.d.Shards.Query(gctx, req)
			if err != nil {
				return err
			}
			results[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, s.shardReadError(ctx, c, partIDs, readQuery, err)
	}
	out := &shardRowsResult{MVCCTs: maxMVCC(results, func(r *contract.QueryResult) uint64 { return r.MVCCTs }, gts)}
	if countOnly {
		for _, r := range results {
			out.Count += r.Count
		}
		return out, nil
	}
	// Shards hold disjoint keys: merge their sorted rows by key.
	type row struct {
		shard, i int
	}
	var rows []row
	for si, r := range results {
		n := max(len(r.IntPKs), len(r.StrPKs))
		for i := range n {
			rows = append(rows, row{si, i})
		}
	}
	strPK := pkField(c).GetDataType() != schemapb.DataType_Int64
	slices.SortFunc(rows, func(a, b row) int {
		if strPK {
			return cmp.Compare(results[a.shard].StrPKs[a.i], results[b.shard].StrPKs[b.i])
		}
		return cmp.Compare(results[a.shard].IntPKs[a.i], results[b.shard].IntPKs[b.i])
	})
	if offset > 0 {
		rows = rows[min(offset, len(rows)):]
	}
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	for _, r := range rows {
		if strPK {
			out.StrPKs = append(out.StrPKs, results[r.shard].StrPKs[r.i])
		} else {
			out.IntPKs = append(out.IntPKs, results[r.shard].IntPKs[r.i])
		}
	}
	if !strPK && out.IntPKs == nil {
		out.IntPKs = []int64{}
	}
	out.Fields = map[int64]column.Column{}
	for _, fid := range outputs {
		var col column.Column
		for _, r := range results {
			if src := r.Fields[fid]; src != nil {
				col = src.Empty()
				break
			}
		}
		if col == nil {
			// No shard had a row (an empty collection or partition):
			// Milvus answers with empty columns, not an error.
			f := c.FieldByID(fid)
			if f == nil {
				return nil, fmt.Errorf("no shard returned field %d", fid)
			}
			empty, err := column.New(f.GetDataType(), fieldDim(f), f.GetElementType())
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.GetName(), err)
			}
			col = empty
		}
		if len(rows) > 0 {
			// The shards' rows end to end, then one Take in merged order
			// (not an Append of one row per result row).
			base := make([]int, len(results))
			for si, r := range results {
				base[si] = col.Len()
				if src := r.Fields[fid]; src != nil {
					col.Append(src)
				}
			}
			idx := make([]int, len(rows))
			for k, r := range rows {
				idx[k] = base[r.shard] + r.i
			}
			col = col.Take(idx)
		}
		out.Fields[fid] = col
	}
	return out, nil
}

// shardReadError is the error of a read whose shard answered err. A shard
// released under the read (the collection released or dropped while the
// request was in flight) answers 503 channel not available; Milvus's proxy
// then looks the collection up again and the read fails as not loaded (or
// not found), so a client sees the collection's state, not a channel's.
//
// A shard's failure on a query node (errs.ShardRead: a refusal, such as a
// partition it does not serve, or a failed call) is under the task's
// "failed to search: " or "failed to query: " (errs.ReadFailed), as in
// Milvus's searchTask.Execute and queryTask.Execute.
func (s *Server) shardReadError(ctx context.Context, c *model.Collection, partIDs []int64, kind readKind, err error) error {
	if errors.Is(err, errs.ErrChannelNotAvailable) && ctx.Err() == nil {
		if lerr := s.requireLoaded(ctx, c, partIDs, kind); lerr != nil {
			return lerr
		}
	}
	if errs.IsShardRead(err) {
		return errs.ReadFailed(kind == readSearch, err)
	}
	return err
}

// pkInFilter is the filter "pk in [keys]" of a collection: ints for an
// Int64 primary key, strs for a VarChar one.
func pkInFilter(c *model.Collection, ints []int64, strs []string) (*expr.Expr, error) {
	pk := pkField(c)
	tv := &schemapb.TemplateArrayValue{}
	if pk.GetDataType() == schemapb.DataType_Int64 {
		tv.Data = &schemapb.TemplateArrayValue_LongData{LongData: &schemapb.LongArray{Data: ints}}
	} else {
		tv.Data = &schemapb.TemplateArrayValue_StringData{StringData: &schemapb.StringArray{Data: strs}}
	}
	return expr.Parse(c.Schema, pk.GetName()+" in {keys}",
		map[string]*schemapb.TemplateValue{"keys": {Val: &schemapb.TemplateValue_ArrayVal{ArrayVal: tv}}})
}
