package datacoord

import (
	"context"
	"sort"
	"time"

	"github.com/milvago/milvago/internal/model"
)

// Sort compaction (Milvus 2.6's sort stats task): a flushed segment is
// written in arrival order; the trigger rewrites each one alone through the
// data node's compaction, which writes its output in primary-key order
// (dropping the rows deleted or expired meanwhile, as any compaction), and
// the output is committed Sorted in place of its source. Query nodes look
// keys up by binary search over a sealed segment's key order, which for a
// sorted segment is its row order: no sort at load and no key permutation
// to keep in memory (segment/query.go). The source's files go to garbage
// collection after dataCoord.gc.dropTolerance, as any compacted segment's.

// triggerSort plans and starts the sort compactions of every collection
// with unsorted flushed segments, at most SortPerTrigger segments a pass
// (Milvus's dataCoord.sortCompactionTriggerCount), oldest first. Segments
// another plan is compacting are left for a later pass: that plan's
// output is sorted anyway.
func (s *Server) triggerSort(ctx context.Context) {
	if !s.ccfg.Enable || !s.ccfg.Sort {
		return
	}
	budget := s.ccfg.SortPerTrigger
	if budget <= 0 {
		budget = 100
	}
	for _, c := range s.flushedCollections() {
		if budget <= 0 || ctx.Err() != nil {
			return
		}
		plans, err := s.planSort(ctx, c, budget)
		if err != nil {
			s.logger.Warn("plan sort compaction", "collection", c, "err", err)
			continue
		}
		if len(plans) == 0 {
			continue
		}
		budget -= len(plans)
		if _, err := s.startJob(ctx, c, plans); err != nil {
			s.logger.Warn("start sort compaction", "collection", c, "err", err)
		}
	}
}

// planSort plans a sort compaction of each of a collection's unsorted
// flushed segments (at most limit), marking them compacting.
func (s *Server) planSort(ctx context.Context, collectionID int64, limit int) ([]plan, error) {
	if !s.hasUnsorted(collectionID) {
		return nil, nil
	}
	coll, err := s.compactedCollection(ctx, collectionID)
	if err != nil {
		return nil, err
	}
	expire := s.expireTS(coll, time.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	var segs []*model.Segment
	for _, seg := range s.segments {
		if s.needsSortLocked(seg) && seg.CollectionID == collectionID {
			segs = append(segs, seg)
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].ID < segs[j].ID })
	if len(segs) > limit {
		segs = segs[:limit]
	}
	out := make([]plan, 0, len(segs))
	for _, seg := range segs {
		out = append(out, plan{coll: coll, sources: []model.Segment{*seg}, expire: expire})
	}
	s.markPlannedLocked(out)
	return out, nil
}

func (s *Server) hasUnsorted(collectionID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seg := range s.segments {
		if seg.CollectionID == collectionID && s.needsSortLocked(seg) {
			return true
		}
	}
	return false
}

// needsSortLocked reports whether seg is a flushed segment with rows, not
// in key order and not being compacted.
func (s *Server) needsSortLocked(seg *model.Segment) bool {
	return seg.State == model.SegmentFlushed && !seg.Sorted && seg.NumRows > 0 && !s.compacting[seg.ID]
}
