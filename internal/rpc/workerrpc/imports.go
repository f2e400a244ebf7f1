package workerrpc

import (
	"context"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// importExecutor is what the data node's import service serves.
type importExecutor interface {
	ExecuteImport(ctx context.Context, job contract.ImportJob) ([]model.Segment, error)
}

// ImportsServer serves a data node's import executor.
type ImportsServer struct {
	pb.UnimplementedDataNodeImportsServer
	e importExecutor
}

// RegisterImports serves e's import execution on g.
func RegisterImports(g *grpc.Server, e importExecutor) {
	pb.RegisterDataNodeImportsServer(g, &ImportsServer{e: e})
}

func (s *ImportsServer) ExecuteImport(ctx context.Context, r *pb.ImportJob) (*pb.ExecuteImportResponse, error) {
	segs, err := s.e.ExecuteImport(ctx, pb.ToImportJob(r))
	return &pb.ExecuteImportResponse{Status: rpc.StatusOf(err), Segments: pb.FromSegments(segs)}, nil
}

// ImportsClient has a remote data node execute import jobs (the data
// coordinator's executor in cluster mode).
type ImportsClient struct{ c pb.DataNodeImportsClient }

// NewImportsClient calls the data node over conn.
func NewImportsClient(conn grpc.ClientConnInterface) *ImportsClient {
	return &ImportsClient{c: pb.NewDataNodeImportsClient(conn)}
}

const dataNodeName = "datanode"

// ExecuteImport runs a job on the data node and returns its segments,
// flushed, with their files written.
func (c *ImportsClient) ExecuteImport(ctx context.Context, job contract.ImportJob) ([]model.Segment, error) {
	// A job waits for a data node rather than failing while none is up.
	r, err := c.c.ExecuteImport(ctx, pb.FromImportJob(job), grpc.WaitForReady(true))
	if err := coordrpc.Check(dataNodeName, r, err); err != nil {
		return nil, err
	}
	return pb.ToSegments(r.GetSegments()), nil
}
