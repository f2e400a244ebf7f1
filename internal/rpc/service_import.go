package rpc

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
)

// Import starts a bulk import (docs/import.md).
func (s *Service) Import(ctx context.Context, req *milvuspb.ImportRequest) (*milvuspb.ImportResponse, error) {
	return reply(ctx, req, s.p.Import, func() *milvuspb.ImportResponse { return &milvuspb.ImportResponse{} })
}

// GetImportState reports an import job's state and progress.
func (s *Service) GetImportState(ctx context.Context, req *milvuspb.GetImportStateRequest) (*milvuspb.GetImportStateResponse, error) {
	return reply(ctx, req, s.p.GetImportState, func() *milvuspb.GetImportStateResponse { return &milvuspb.GetImportStateResponse{} })
}

// ListImportTasks lists a collection's import jobs.
func (s *Service) ListImportTasks(ctx context.Context, req *milvuspb.ListImportTasksRequest) (*milvuspb.ListImportTasksResponse, error) {
	return reply(ctx, req, s.p.ListImportTasks, func() *milvuspb.ListImportTasksResponse { return &milvuspb.ListImportTasksResponse{} })
}
