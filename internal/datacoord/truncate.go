package datacoord

import (
	"context"
	"slices"

	"github.com/milvago/milvago/internal/model"
)

// DropSegments forgets the given segments of a collection (a truncated
// collection's flushed segments), as DropPartition does for a partition's.
func (s *Server) DropSegments(ctx context.Context, collection int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return s.drop(ctx, func(seg *model.Segment) bool {
		return seg.CollectionID == collection && slices.Contains(ids, seg.ID)
	}, nil)
}
