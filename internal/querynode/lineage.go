package querynode

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/segment"
)

// A compacted segment names the segments it was made from (CompactedFrom),
// and a handoff takes those out of the shard. That list can be short of
// what the shard serves: when X (made from A) is compacted again into Y
// before X was handed off (the query coordinator hands a compacted segment
// off only once its index is built, and never hands off a segment already
// dropped), Y names X, and names A only while the data coordinator still
// has A's record; garbage collection forgets it a drop tolerance after the
// compaction. The shard then still serves A, never saw X, and Y would join
// it: every row of A that survived the compactions read twice. Queries
// deduplicate by primary key and hide it; count(*) does not (issue 12).
//
// So when a handed-off segment names a source the shard does not know,
// its lineage has a gap, and the shard finds the segments Y descends from
// by their rows: compaction keeps a row's primary key and insert
// timestamp, and one insert message writes to one segment, so a row (pk,
// ts) lives in one segment and the copies compactions make of it. A
// segment that has a visible row, whose copy Y holds, is one of Y's
// sources; one row per served segment decides (a compaction takes whole
// segments: every row of a source not deleted before it is in Y).

// untracedSources returns the segments the shard serves that seg (just
// loaded as loaded) descends from without naming them, when seg names a
// source the shard does not know; nil otherwise.
func (dl *delegator) untracedSources(ctx context.Context, seg model.Segment, loaded segment.Segment) []int64 {
	if len(seg.CompactedFrom) == 0 {
		return nil
	}
	type candidate struct {
		id  int64
		seg segment.Segment
		pin *sealedSegment // pinned while queried: a handoff may replace it meanwhile
	}
	var cands []candidate
	dl.mu.RLock()
	gap := false
	for _, id := range seg.CompactedFrom {
		_, s := dl.sealed[id]
		_, g := dl.growing[id]
		_, p := dl.pending[id]
		if !s && !g && !p && !dl.dropped[id] {
			gap = true
			break
		}
	}
	if gap {
		named := func(id int64) bool {
			return id == seg.ID || slices.Contains(seg.CompactedFrom, id) || slices.Contains(seg.Siblings, id)
		}
		for id, s := range dl.sealed {
			if !named(id) {
				s.acquire()
				cands = append(cands, candidate{id, s.seg, s})
			}
		}
		for id, g := range dl.growing {
			if !named(id) {
				cands = append(cands, candidate{id, g, nil})
			}
		}
	}
	dl.mu.RUnlock()
	if !gap {
		return nil
	}
	var out []int64
	for _, c := range cands {
		if holdsRowOf(ctx, loaded, c.seg) {
			out = append(out, c.id)
		}
		if c.pin != nil {
			c.pin.release()
		}
	}
	if len(out) > 0 {
		dl.logger.Warn("handed-off segment does not name every segment it was compacted from: replacing them by their rows",
			"segment", seg.ID, "compacted_from", seg.CompactedFrom, "untraced", out)
	}
	return out
}

// holdsRowOf reports whether dst holds a copy of a visible row of src (the
// row of src with the smallest primary key).
func holdsRowOf(ctx context.Context, dst, src segment.Segment) bool {
	r, err := src.Query(ctx, &segment.QueryRequest{MVCCTs: math.MaxUint64, Limit: 1})
	if err != nil || r.Len() == 0 {
		return false // nothing visible: serving it beside dst counts nothing twice
	}
	f := pkEquals{}
	if r.StrPKs != nil {
		f.strs = []string{r.StrPKs[0]}
	} else {
		f.ints = []int64{r.IntPKs[0]}
	}
	ts := r.Timestamps[0]
	// At ts, the newest row of that key in dst is the copy if dst has one:
	// no delete at or before ts hides a row inserted at ts.
	d, err := dst.Query(ctx, &segment.QueryRequest{Filter: f, MVCCTs: ts})
	if err != nil {
		return false
	}
	return slices.Contains(d.Timestamps, ts)
}

// pkEquals is the filter "pk in (keys)", answered from a segment's primary
// key index.
type pkEquals struct {
	ints []int64
	strs []string
}

// Eval implements segment.Filter. Segments answer a PrimaryKeyIn filter
// from their primary key index and do not evaluate it.
func (f pkEquals) Eval(ctx context.Context, b column.Batch) (*bitset.Set, error) {
	return nil, fmt.Errorf("querynode: the primary key filter is answered from the primary key index: %w", errs.ErrServiceInternal)
}

// PrimaryKeyIn implements segment.Filter.
func (f pkEquals) PrimaryKeyIn() ([]int64, []string, bool) { return f.ints, f.strs, true }
