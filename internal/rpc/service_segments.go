package rpc

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
)

// GetPersistentSegmentInfo lists a collection's sealed and flushed segments.
func (s *Service) GetPersistentSegmentInfo(ctx context.Context, req *milvuspb.GetPersistentSegmentInfoRequest) (*milvuspb.GetPersistentSegmentInfoResponse, error) {
	return reply(ctx, req, s.p.GetPersistentSegmentInfo, func() *milvuspb.GetPersistentSegmentInfoResponse { return &milvuspb.GetPersistentSegmentInfoResponse{} })
}
