package contract

import (
	"context"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/segment"
)

// LoadState is whether and how far a collection is loaded.
type LoadState struct {
	Loaded     bool
	Partitions []int64 // nil: all
	Progress   int64   // 0-100
	Replicas   int32
	// Failure is why the load cannot finish (a segment whose file is
	// corrupt or missing: errs.ErrSegmentLoadFailed); nil while it can.
	// The collection stays loading: a repaired file is picked up.
	Failure error
}

// ChannelPlan is what the query coordinator tells a query node to serve
// for one shard.
type ChannelPlan struct {
	VChannel   string
	PChannel   string
	Checkpoint Checkpoint
	Sealed     []SegmentPlan
	DeltaLogs  []model.DeltaLog
	// Indexes are the collection's index definitions when planned
	// (Milvus's IndexInfoList of a load): a shard's growing segments, and
	// its sealed ones loaded without their index, build interim indexes
	// for the vector fields whose index is not an exact one. A loaded
	// collection's later changes arrive by the query node's UpdateIndexes.
	Indexes []model.IndexDef
	// Replan returns a fresh plan for the same shard. A delegator whose
	// log was truncated past its position (see package retention) reloads
	// from it; nil: the shard fails instead. It does not cross the
	// network: the receiving side sets it to ask its coordinator.
	Replan func(ctx context.Context) (ChannelPlan, error) `json:"-"`
}

// SegmentPlan is a flushed segment and the indexes built for it.
type SegmentPlan struct {
	Segment model.Segment
	Indexes []model.SegmentIndex // Finished builds only
}

// SearchRequest is one shard's share of a search.
type SearchRequest struct {
	CollectionID int64
	VChannel     string
	PartitionIDs []int64 // empty: every loaded partition
	GuaranteeTS  uint64
	// PinMVCC reads at GuaranteeTS itself instead of the service time (a
	// search or query iterator's later pages, pinned to its first page).
	PinMVCC       bool
	IgnoreGrowing bool
	// TTLNow is the hybrid timestamp the collection TTL is evaluated at:
	// rows inserted before it less the TTL are expired. The proxy takes it
	// when the search arrives, as Milvus's proxy computes its TTL
	// timestamp from the request's, and sends the same to every phase of
	// the search (sub-searches and requery), so a row cannot expire
	// between them. 0: the shard's clock.
	TTLNow       uint64
	OutputFields []int64
	// Search holds the vector field, queries, metric, K (offset+limit) and
	// params; MVCCTs is set by the delegator.
	Search segment.SearchRequest
	// MaxHits, if > 0, bounds the hits of the shard's answer: a shard
	// whose answer would hold more fails, before building it, with
	// Milvus's "search results exceed the maxOutputSize Limit
	// <MaxOutputSize>" (the proxy derives MaxHits from MaxOutputSize).
	MaxHits       int
	MaxOutputSize int64
	// Subs are a hybrid search's sub-searches on this shard, answered in
	// SearchResult.Subs (the request's own Search is not run): every one
	// reads at one MVCC timestamp, the shard's when the request arrives
	// (GuaranteeTS, PinMVCC and TTLNow here apply to all; the subs' own
	// are ignored), as Milvus's delegator runs an advanced search's
	// sub-requests, so a row deleted or inserted meanwhile is seen by all
	// of them or by none. A sub's CollectionID, VChannel and PartitionIDs
	// must be the request's.
	Subs []*SearchRequest
}

// SearchResult is one shard's answer: for query i, Topks[i] hits, best first.
type SearchResult struct {
	NQ     int
	Topks  []int
	IntPKs []int64
	StrPKs []string
	Scores []float32
	// GroupValues holds each hit's group value in a grouping search
	// (hits come group after group), else nil.
	GroupValues []any
	Fields      map[int64]column.Column // one row per hit, in hit order
	// MVCCTs is the timestamp the shard read at.
	MVCCTs uint64
	// Segments are the IDs of the segments the shard read (before any
	// pruning), which a requery reads again (QueryRequest.Segments).
	Segments []int64
	// Subs answer SearchRequest.Subs, in order; the result's own hits
	// are then empty.
	Subs []*SearchResult
}

// QueryRequest is one shard's share of a query or count.
type QueryRequest struct {
	CollectionID int64
	VChannel     string
	PartitionIDs []int64
	GuaranteeTS  uint64
	PinMVCC      bool // read at GuaranteeTS, as SearchRequest.PinMVCC
	// IgnoreGrowing reads the sealed segments only (a search requery of a
	// search that ignored the growing ones).
	IgnoreGrowing bool
	TTLNow        uint64 // as SearchRequest.TTLNow
	// RestrictSegments reads only Segments (a search's requery reads the
	// segments the search read, SearchResult.Segments) and the segments
	// compacted from them alone: not a segment sealed since from a
	// growing one the search skipped (IgnoreGrowing), whose rows it never
	// saw. A key whose segment was compacted with others since is then
	// not found, which the requery reports as inconsistent.
	RestrictSegments bool
	Segments         []int64
	Filter           segment.Filter // nil: every row
	Limit            int            // 0: no limit (offset+limit otherwise)
	OutputFields     []int64
	CountOnly        bool
}

// QueryResult is one shard's rows sorted by primary key, or its count.
type QueryResult struct {
	IntPKs []int64
	StrPKs []string
	Fields map[int64]column.Column
	Count  int64
	MVCCTs uint64 // the timestamp the shard read at
}
