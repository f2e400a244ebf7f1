package segment

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

// Filter is what a segment needs from a compiled filter expression;
// *expr.Expr satisfies it. The segment never imports the filter engine.
type Filter interface {
	// Eval returns one bit per row of b, set where the row matches.
	Eval(ctx context.Context, b column.Batch) (*bitset.Set, error)
	// PrimaryKeyIn reports whether the whole filter is "pk in [...]" (or
	// "pk == x"), and with which keys; the segment then answers from its
	// primary-key index instead of evaluating.
	PrimaryKeyIn() (ints []int64, strs []string, ok bool)
}

// Pruner is optionally implemented by a Filter: MayMatch reports whether a
// segment whose fields have the given min/max statistics can hold a
// matching row. A false answer lets a sealed segment skip the request.
type Pruner interface {
	MayMatch(stats func(fieldID int64) (min, max any, ok bool)) bool
}

// FullMatcher is optionally implemented by a Filter: MustMatch reports
// whether every row of a segment whose fields have the given min/max
// statistics matches. A true answer lets a sealed segment skip evaluating
// the filter (a segment a clustering compaction cut inside the filter's
// key range).
type FullMatcher interface {
	MustMatch(stats func(fieldID int64) (min, max any, ok bool)) bool
}

// Segment is what the query node reads: a growing or a sealed segment.
// Every method is safe for concurrent use.
type Segment interface {
	// column.Batch: Len is NumRows; Column returns a field over every
	// physical row (deleted ones included) as of the call. The caller must
	// not modify the returned column.
	column.Batch

	ID() int64
	PartitionID() int64
	// NumRows is the number of physical rows, deleted ones included.
	NumRows() int
	// NumDeleted is the number of rows hidden by some delete (at the
	// newest timestamp).
	NumDeleted() int
	Schema() *schemapb.CollectionSchema
	// MemoryBytes estimates the bytes held by rows and bookkeeping.
	MemoryBytes() int64

	// Delete hides, from read timestamp ts[i] on, every row whose primary
	// key is pk i and whose insert timestamp is strictly less than ts[i].
	// Exactly one of intPKs and strPKs is used, matching the primary key
	// type. It returns how many rows became deleted.
	Delete(intPKs []int64, strPKs []string, ts []uint64) int

	Search(ctx context.Context, req *SearchRequest) (*SearchResult, error)
	Query(ctx context.Context, req *QueryRequest) (*QueryResult, error)
	Count(ctx context.Context, filter Filter, mvccTs uint64) (int64, error)
	// Fetch returns the given fields for the given rows, in that order.
	// TimestampFieldID is served as an Int64 column. The columns own their
	// memory: none aliases a sealed segment's mapped files, so they outlive
	// the segment.
	Fetch(ctx context.Context, offsets []int64, fieldIDs []int64) (map[int64]column.Column, error)
}

// SearchRequest is a top-K (or range) vector search of one field.
type SearchRequest struct {
	FieldID int64
	// Queries holds the query vectors: Float for FloatVector, Float16Vector,
	// BFloat16Vector and Int8Vector fields (the caller converts the
	// placeholders), Binary for BinaryVector, Sparse for SparseFloatVector.
	Queries index.Dataset
	// EmbListLens, for a search of an ArrayOfVector field (a struct
	// array's vector sub-field), is the number of vectors of each query
	// embedding list; Queries holds them all, list after list.
	EmbListLens []int
	// Metric is the metric type; empty means the index's metric, or L2,
	// HAMMING or IP by vector kind when the field has no index.
	Metric index.Metric
	// Params carries K and Milvus's search params (ef, nprobe, radius,
	// range_filter, ...). Params.Filter is ignored: the segment builds it.
	Params index.SearchParams
	// Filter selects the rows that may be returned; nil selects all.
	Filter Filter
	// MVCCTs is the read timestamp: rows inserted after it and deletes
	// after it are not seen.
	MVCCTs uint64
	// GroupBy, if set, asks for the K best groups instead of the K best
	// rows (Milvus's group_by_field and group_size).
	GroupBy *GroupBy
	// Exact forces a scan of the raw vectors even where the field has an
	// index, so that a row scores the same in every call: the pages of a
	// search iterator must agree on where the previous page ended.
	Exact bool
	// IndexType is the index type the collection defines on the field
	// ("": none). Interim indexes answer only when it names an index that
	// is not exact: Milvus builds none without an index, or for FLAT and
	// BIN_FLAT.
	IndexType string
	// After, if set, keeps only hits ranked strictly after this score
	// (Milvus's search_iter_last_bound): distance > After for L2, HAMMING
	// and JACCARD, similarity < After for IP, COSINE and BM25.
	After *float32
	// AfterTies, with After, also keeps the rows scoring exactly After,
	// except those whose primary key it lists (returned by earlier pages).
	// Nil skips every row scoring exactly After, as Milvus does.
	AfterTies *PKSet
}

// PKSet is a set of primary keys: Ints for an Int64 key, Strs for VarChar.
type PKSet struct {
	Ints []int64
	Strs []string
}

// SearchResult holds NQ*K slots, best first within each query. Empty
// slots have offset -1, score 0, a zero PK and timestamp 0. A grouping
// search has K = request K * GroupSize slots per query: group after group
// (groups ranked by their best hit), each group's GroupSize slots holding
// its hits best first, then empty slots.
type SearchResult struct {
	NQ, K int
	// GroupSize is the group size of a grouping search, else 0.
	GroupSize int
	// GroupValues holds, for a grouping search, each hit's group value:
	// int64 (integer fields), bool, string, or nil (null or empty slot).
	GroupValues []any
	// Metric is the metric the scores are in (the request's, or the
	// default it resolved to).
	Metric  index.Metric
	Offsets []int64
	// Scores are as Milvus reports them: squared L2, HAMMING and JACCARD
	// distance ascending; IP and COSINE similarity descending.
	Scores []float32
	// IntPKs (Int64 primary key) or StrPKs (VarChar) hold each hit's key.
	IntPKs []int64
	StrPKs []string
	// Timestamps are the hits' insert timestamps, for dedup across segments.
	Timestamps []uint64
}

// QueryRequest selects rows by filter at a read timestamp.
type QueryRequest struct {
	Filter Filter // nil: every row
	MVCCTs uint64
	Limit  int // 0: no limit; else at most Limit distinct primary keys
}

// QueryResult lists visible matching rows sorted by primary key ascending,
// one row per key (the one with the highest insert timestamp; on a tie,
// the one appended last).
type QueryResult struct {
	Offsets    []int64
	IntPKs     []int64
	StrPKs     []string
	Timestamps []uint64
}

// Len is the number of rows in r.
func (r *QueryResult) Len() int { return len(r.Offsets) }
