package rpc

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
)

// ManualCompaction starts a compaction of a collection.
func (s *Service) ManualCompaction(ctx context.Context, req *milvuspb.ManualCompactionRequest) (*milvuspb.ManualCompactionResponse, error) {
	return reply(ctx, req, s.p.ManualCompaction, func() *milvuspb.ManualCompactionResponse { return &milvuspb.ManualCompactionResponse{} })
}

// GetCompactionState reports a compaction's state.
func (s *Service) GetCompactionState(ctx context.Context, req *milvuspb.GetCompactionStateRequest) (*milvuspb.GetCompactionStateResponse, error) {
	return reply(ctx, req, s.p.GetCompactionState, func() *milvuspb.GetCompactionStateResponse { return &milvuspb.GetCompactionStateResponse{} })
}

// GetCompactionStateWithPlans reports a compaction's state and plans.
func (s *Service) GetCompactionStateWithPlans(ctx context.Context, req *milvuspb.GetCompactionPlansRequest) (*milvuspb.GetCompactionPlansResponse, error) {
	return reply(ctx, req, s.p.GetCompactionStateWithPlans, func() *milvuspb.GetCompactionPlansResponse { return &milvuspb.GetCompactionPlansResponse{} })
}
