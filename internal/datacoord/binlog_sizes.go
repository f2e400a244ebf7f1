package datacoord

import (
	"context"
	"maps"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// binlogSizes are the binlog bytes of the segments that are not dropped,
// by collection and partition, kept as segments are flushed, compacted,
// imported and dropped (as Milvus's data coordinator keeps them in its
// meta), so that the quota center's sample is one call that reads no
// segment.
type binlogSizes map[int64]map[int64]int64

// add counts seg (sign 1) or takes it back (sign -1); dropped segments
// and segments without binlogs count nothing.
func (b binlogSizes) add(seg *model.Segment, sign int64) {
	if seg == nil || seg.State == model.SegmentDropped || seg.SizeBytes == 0 {
		return
	}
	parts := b[seg.CollectionID]
	if parts == nil {
		parts = map[int64]int64{}
		b[seg.CollectionID] = parts
	}
	parts[seg.PartitionID] += sign * seg.SizeBytes
	if parts[seg.PartitionID] == 0 {
		delete(parts, seg.PartitionID)
		if len(parts) == 0 {
			delete(b, seg.CollectionID)
		}
	}
}

// putSegmentLocked records seg as the segment of its ID.
func (s *Server) putSegmentLocked(seg *model.Segment) {
	s.sizes.add(s.segments[seg.ID], -1)
	s.segments[seg.ID] = seg
	s.sizes.add(seg, 1)
}

// replaceSegmentLocked changes a recorded segment to next.
func (s *Server) replaceSegmentLocked(seg *model.Segment, next model.Segment) {
	s.sizes.add(seg, -1)
	*seg = next
	s.sizes.add(seg, 1)
}

// dropSegmentLocked marks a recorded segment dropped at now (unix ms).
func (s *Server) dropSegmentLocked(seg *model.Segment, now int64) {
	s.sizes.add(seg, -1)
	seg.State, seg.DroppedAt = model.SegmentDropped, now
}

// deleteSegmentLocked forgets a segment.
func (s *Server) deleteSegmentLocked(id int64) {
	s.sizes.add(s.segments[id], -1)
	delete(s.segments, id)
}

// QuotaMetrics is the binlog bytes of every collection and partition
// (segments not dropped; Milvus's DataCoordQuotaMetrics), read from the
// sizes kept as segments change: one call for the whole cluster, for the
// quota center's disk quotas. L0 row counts are not kept (Milvago has no
// L0 segments).
func (s *Server) QuotaMetrics(context.Context) (*contract.DataCoordQuotaMetrics, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &contract.DataCoordQuotaMetrics{CollectionBinlogSize: make(map[int64]int64, len(s.sizes)),
		PartitionsBinlogSize: make(map[int64]map[int64]int64, len(s.sizes)), CollectionL0RowCount: map[int64]int64{}}
	for coll, parts := range s.sizes {
		var n int64
		for _, b := range parts {
			n += b
		}
		m.CollectionBinlogSize[coll] = n
		m.PartitionsBinlogSize[coll] = maps.Clone(parts)
		m.TotalBinlogSize += n
	}
	return m, nil
}
