package proxy

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/model"
)

// GetPersistentSegmentInfo lists a collection's segments that reached
// storage or are on their way there (Milvus: the Flushing, Flushed and
// Sealed states; growing segments are the query nodes' business).
func (s *Server) GetPersistentSegmentInfo(ctx context.Context, req *milvuspb.GetPersistentSegmentInfoRequest) (*milvuspb.GetPersistentSegmentInfoResponse, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	segs, err := s.d.Data.Segments(ctx, c.ID, "")
	if err != nil {
		return nil, err
	}
	infos := []*milvuspb.PersistentSegmentInfo{}
	for _, seg := range segs {
		var state commonpb.SegmentState
		switch seg.State {
		case model.SegmentSealed:
			state = commonpb.SegmentState_Sealed
		case model.SegmentFlushed:
			state = commonpb.SegmentState_Flushed
		default:
			continue
		}
		infos = append(infos, &milvuspb.PersistentSegmentInfo{
			SegmentID:    seg.ID,
			CollectionID: seg.CollectionID,
			PartitionID:  seg.PartitionID,
			NumRows:      seg.NumRows,
			State:        state,
			Level:        commonpb.SegmentLevel_L1,
		})
	}
	return &milvuspb.GetPersistentSegmentInfoResponse{Infos: infos}, nil
}
