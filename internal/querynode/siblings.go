package querynode

import "github.com/milvago/milvago/internal/model"

// stagedSegment is a loaded sealed segment not yet serving.
type stagedSegment struct {
	seg model.Segment
	ss  *sealedSegment
}

// stageLocked decides when a loaded segment starts serving. A clustering
// compaction writes several segments (Siblings) from the same sources,
// each holding one key range of their rows: swapping the sources out when
// the first of them loads would hide the rows of the others until they
// load, and serving a sibling next to its sources would return its rows
// twice. So while the shard still serves a source, a sibling waits aside
// until every sibling is loaded (or gone), and the group then goes in,
// and the sources out, in one critical section.
//
// It returns the segments to put in now (none: seg waits) and a staged
// copy of seg that a reload replaced, for the caller to close.
func (dl *delegator) stageLocked(seg model.Segment, ss *sealedSegment) ([]stagedSegment, *sealedSegment) {
	me := stagedSegment{seg: seg, ss: ss}
	if len(seg.Siblings) == 0 || !dl.servesAnyLocked(seg.CompactedFrom) {
		return []stagedSegment{me}, nil
	}
	var stale *sealedSegment
	if old, ok := dl.pending[seg.ID]; ok {
		stale = old.ss
	}
	if dl.pending == nil {
		dl.pending = map[int64]stagedSegment{}
	}
	dl.pending[seg.ID] = me
	group := []stagedSegment{me}
	for _, id := range seg.Siblings {
		if p, ok := dl.pending[id]; ok {
			group = append(group, p)
			continue
		}
		if _, ok := dl.sealed[id]; ok || dl.dropped[id] {
			continue
		}
		return nil, stale
	}
	for _, g := range group {
		delete(dl.pending, g.seg.ID)
	}
	return group, stale
}

// servesAnyLocked reports whether the shard serves one of ids.
func (dl *delegator) servesAnyLocked(ids []int64) bool {
	for _, id := range ids {
		if _, ok := dl.sealed[id]; ok {
			return true
		}
		if _, ok := dl.growing[id]; ok {
			return true
		}
	}
	return false
}
