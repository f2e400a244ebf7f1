package querynode

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"

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
// served segment one of whose rows Y holds is one of Y's sources (a
// compaction takes whole segments; rows it dropped were deleted, and the
// shard hides them too once it reads their deletes). Every row is
// compared, not only the visible ones: the shard may not have read yet a
// delete the compaction applied. This costs a pass over the shard's rows,
// and happens only when a lineage has a gap.

// untracedSources returns the segments the shard serves that seg (just
// loaded as loaded) descends from without naming them, when seg names a
// source the shard does not know; nil otherwise.
func (dl *delegator) untracedSources(ctx context.Context, seg model.Segment, loaded segment.Segment) (ids []int64, gapped *gappedSegment) {
	if len(seg.CompactedFrom) == 0 {
		return nil, nil
	}
	gap := false
	type candidate struct {
		id  int64
		seg segment.Segment
		pin *sealedSegment // pinned while queried: a handoff may replace it meanwhile
	}
	var cands []candidate
	dl.mu.RLock()
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
		// Growing segments are checked under the lock that swaps seg in
		// (untracedGrowingLocked): the shard may read more of them
		// meanwhile.
	}
	dl.mu.RUnlock()
	if !gap {
		return nil, nil
	}
	defer func() {
		for _, c := range cands {
			if c.pin != nil {
				c.pin.release()
			}
		}
	}()
	pk := dl.coll().PrimaryField()
	if pk == nil {
		return nil, nil
	}
	rows, err := rowIDs(ctx, loaded, pk.GetFieldID())
	if err != nil {
		dl.logger.Error("cannot trace the sources of a handed-off segment", "segment", seg.ID, "err", err)
		return nil, nil
	}
	gapped = &gappedSegment{held: make(map[rowID]struct{}, len(rows)), since: time.Now(), checked: map[int64]*sealedSegment{}}
	for _, c := range cands {
		gapped.checked[c.id] = c.pin
	}
	held := gapped.held
	for _, r := range rows {
		held[r] = struct{}{}
		gapped.maxTS = max(gapped.maxTS, uint64(r.ts))
	}
	var out []int64
	for _, c := range cands {
		rows, err := rowIDs(ctx, c.seg, pk.GetFieldID())
		if err != nil {
			dl.logger.Error("cannot trace the sources of a handed-off segment", "segment", seg.ID, "candidate", c.id, "err", err)
			continue
		}
		for _, r := range rows {
			if _, ok := held[r]; ok {
				out = append(out, c.id)
				break
			}
		}
	}
	if len(out) > 0 {
		dl.logger.Warn("handed-off segment does not name every segment it was compacted from: replacing them by their rows",
			"segment", seg.ID, "compacted_from", seg.CompactedFrom, "untraced", out)
	}
	return out, gapped
}

// untracedLockedSources returns the growing segments, and the sealed ones
// that joined the shard since untracedSources looked, holding a row of
// gapped, a segment handed off with a gap in its lineage (seg): untraced
// sources the shard rebuilt from the log or had handed off meanwhile.
// Caller holds mu.
func (dl *delegator) untracedLockedSources(ctx context.Context, seg model.Segment, gapped *gappedSegment) []int64 {
	pk := dl.coll().PrimaryField()
	if pk == nil {
		return nil
	}
	cands := map[int64]segment.Segment{}
	for id, g := range dl.growing {
		cands[id] = g
	}
	for id, s := range dl.sealed {
		if gapped.checked[id] != s {
			cands[id] = s.seg
		}
	}
	var out []int64
	for id, g := range cands {
		if id == seg.ID || slices.Contains(seg.CompactedFrom, id) || slices.Contains(seg.Siblings, id) {
			continue
		}
		rows, err := rowIDs(ctx, g, pk.GetFieldID())
		if err != nil {
			dl.logger.Error("cannot trace the sources of a handed-off segment", "segment", seg.ID, "candidate", id, "err", err)
			continue
		}
		for _, r := range rows {
			if _, ok := gapped.held[r]; ok {
				out = append(out, id)
				break
			}
		}
	}
	return out
}

// gappedSegment is a sealed segment handed off with a gap in its lineage.
// An untraced source of it may still show up: its inserts, when the shard
// lags behind the log, or its own handoff, finishing late. Both are
// recognised by its rows (held) and refused, until the shard has read
// past its newest row and gappedHold has passed.
type gappedSegment struct {
	seg   *sealedSegment
	held  map[rowID]struct{}
	maxTS uint64 // the newest insert timestamp among its rows
	since time.Time
	// checked: the sealed segments untracedSources compared (the rest
	// are compared under the lock that swaps it in).
	checked map[int64]*sealedSegment
}

// gappedHold is how long a gapped segment's rows are remembered at least:
// longer than a handoff of a source can plausibly lag behind it.
const gappedHold = time.Minute

// expiredGappedLocked drops the gapped segments no longer served, or
// past their hold. Caller holds mu.
func (dl *delegator) expireGappedLocked() {
	safe := dl.tsafe.Load()
	for id, g := range dl.gapped {
		if dl.sealed[id] != g.seg || safe >= g.maxTS && time.Since(g.since) > gappedHold {
			delete(dl.gapped, id)
		}
	}
}

// heldByGappedLocked reports whether a gapped segment holds a copy of one
// of the rows of an insert at ts: the insert's segment is then one of its
// untraced sources. Caller holds mu.
func (dl *delegator) heldByGappedLocked(ints []int64, strs []string, ts uint64) bool {
	dl.expireGappedLocked()
	for _, g := range dl.gapped {
		if ts > g.maxTS {
			continue
		}
		for _, k := range ints {
			if _, ok := g.held[rowID{intPK: k, ts: int64(ts)}]; ok {
				return true
			}
		}
		for _, k := range strs {
			if _, ok := g.held[rowID{strPK: k, ts: int64(ts)}]; ok {
				return true
			}
		}
	}
	return false
}

// lateSourceLocked reports whether a gapped segment newer than seg holds
// one of seg's rows: seg is an untraced source of it whose handoff
// finished late. (A compaction's output gets its ID after its sources.)
// Caller holds mu.
func (dl *delegator) lateSourceLocked(ctx context.Context, seg model.Segment, loaded segment.Segment) bool {
	dl.expireGappedLocked()
	pk := dl.coll().PrimaryField()
	if len(dl.gapped) == 0 || pk == nil {
		return false
	}
	rows, err := rowIDs(ctx, loaded, pk.GetFieldID())
	if err != nil {
		dl.logger.Error("cannot trace a handed-off segment", "segment", seg.ID, "err", err)
		return false
	}
	for id, g := range dl.gapped {
		if id <= seg.ID || slices.Contains(seg.CompactedFrom, id) {
			continue
		}
		for _, r := range rows {
			if _, ok := g.held[r]; ok {
				return true
			}
		}
	}
	return false
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

// rowID identifies a row across the copies compactions make of it.
type rowID struct {
	intPK int64
	strPK string
	ts    int64
}

// rowIDs returns the identity of every physical row of s, deleted ones
// included.
func rowIDs(ctx context.Context, s segment.Segment, pkField int64) ([]rowID, error) {
	offsets := make([]int64, s.NumRows())
	for i := range offsets {
		offsets[i] = int64(i)
	}
	cols, err := s.Fetch(ctx, offsets, []int64{pkField, segment.TimestampFieldID})
	if err != nil {
		return nil, fmt.Errorf("querynode: rows of segment %d: %w", s.ID(), err)
	}
	ts, ok := cols[segment.TimestampFieldID].(*column.Scalar[int64])
	if !ok {
		return nil, fmt.Errorf("querynode: segment %d has no timestamps: %w", s.ID(), errs.ErrServiceInternal)
	}
	out := make([]rowID, len(offsets))
	switch pk := cols[pkField].(type) {
	case *column.Scalar[int64]:
		for i := range out {
			out[i] = rowID{intPK: pk.Data[i], ts: ts.Data[i]}
		}
	case *column.Scalar[string]:
		for i := range out {
			out[i] = rowID{strPK: pk.Data[i], ts: ts.Data[i]}
		}
	default:
		return nil, fmt.Errorf("querynode: segment %d: primary key column %T: %w", s.ID(), cols[pkField], errs.ErrServiceInternal)
	}
	return out, nil
}

// insertKeys returns the primary keys of an insert's rows.
func insertKeys(ins *msgpb.InsertRequest, coll *model.Collection) ([]int64, []string) {
	pk := coll.PrimaryField()
	if pk == nil {
		return nil, nil
	}
	for _, fd := range ins.GetFieldsData() {
		if fd.GetFieldId() == pk.GetFieldID() {
			sc := fd.GetScalars()
			return sc.GetLongData().GetData(), sc.GetStringData().GetData()
		}
	}
	return nil, nil
}
