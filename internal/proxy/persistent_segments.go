package proxy

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
)

// PersistentSegments lists a collection's sealed and flushed segments, as
// Milvus's GetPersistentSegmentInfo (datacoord's segments in the states
// Flushing, Flushed and Sealed, every partition). Milvago's segments are
// L1 (deletes live in per-channel L0 delta logs, not listed here).
func (s *Server) PersistentSegments(ctx context.Context, db, collection string) ([]*milvuspb.PersistentSegmentInfo, error) {
	c, err := s.d.Root.DescribeCollection(ctx, dbOf(ctx, db), collection, 0)
	if err != nil {
		return nil, err
	}
	segs, err := s.d.Data.Segments(ctx, c.ID, "")
	if err != nil {
		return nil, err
	}
	out := []*milvuspb.PersistentSegmentInfo{}
	for _, seg := range segs {
		st := segmentStatePB(seg.State)
		if st != commonpb.SegmentState_Sealed && st != commonpb.SegmentState_Flushed {
			continue
		}
		out = append(out, &milvuspb.PersistentSegmentInfo{SegmentID: seg.ID, CollectionID: seg.CollectionID,
			PartitionID: seg.PartitionID, NumRows: seg.NumRows, State: st, Level: commonpb.SegmentLevel_L1})
	}
	return out, nil
}
