package coordrpc

// The index coordinator's analyze tasks (indexcoord.Analyses), which the
// data coordinator's vector clustering compactions create, wait for and
// drop.

import (
	"context"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/indexcoord"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// AnalyzeCoordServer serves an indexcoord.Analyses.
type AnalyzeCoordServer struct {
	pb.UnimplementedAnalyzeCoordServer
	a *indexcoord.Analyses
}

// RegisterAnalyzeCoord serves a on g.
func RegisterAnalyzeCoord(g *grpc.Server, a *indexcoord.Analyses) {
	pb.RegisterAnalyzeCoordServer(g, &AnalyzeCoordServer{a: a})
}

func (s *AnalyzeCoordServer) CreateAnalysis(ctx context.Context, r *pb.Analysis) (*pb.Empty, error) {
	return Empty(s.a.CreateAnalysis(ctx, pb.ToAnalysis(r))), nil
}

func (s *AnalyzeCoordServer) GetAnalysis(ctx context.Context, r *pb.AnalysisRequest) (*pb.AnalysisResponse, error) {
	t, ok, err := s.a.Analysis(ctx, r.GetId())
	out := &pb.AnalysisResponse{Status: rpc.StatusOf(err), Found: ok}
	if ok {
		out.Analysis = pb.FromAnalysis(t)
	}
	return out, nil
}

func (s *AnalyzeCoordServer) ListAnalyses(ctx context.Context, _ *pb.Empty) (*pb.AnalysesResponse, error) {
	ts, err := s.a.ListAnalyses(ctx)
	out := &pb.AnalysesResponse{Status: rpc.StatusOf(err)}
	for _, t := range ts {
		out.Analyses = append(out.Analyses, pb.FromAnalysis(t))
	}
	return out, nil
}

func (s *AnalyzeCoordServer) DropAnalyses(ctx context.Context, r *pb.AnalysisIDsRequest) (*pb.Empty, error) {
	return Empty(s.a.DropAnalyses(ctx, r.GetIds())), nil
}

// AnalyzeCoordClient calls a remote index coordinator's analyze tasks.
type AnalyzeCoordClient struct{ c pb.AnalyzeCoordClient }

// NewAnalyzeCoordClient calls the index coordinator over conn.
func NewAnalyzeCoordClient(conn grpc.ClientConnInterface) *AnalyzeCoordClient {
	return &AnalyzeCoordClient{c: pb.NewAnalyzeCoordClient(conn)}
}

// CreateAnalysis records and queues an analyze task.
func (c *AnalyzeCoordClient) CreateAnalysis(ctx context.Context, t model.AnalyzeTask) error {
	r, err := c.c.CreateAnalysis(ctx, pb.FromAnalysis(t))
	return Check(indexName, r, err)
}

// Analysis returns an analyze task and its state (false when unknown).
func (c *AnalyzeCoordClient) Analysis(ctx context.Context, id int64) (model.AnalyzeTask, bool, error) {
	r, err := c.c.GetAnalysis(ctx, &pb.AnalysisRequest{Id: id})
	if err := Check(indexName, r, err); err != nil || !r.GetFound() {
		return model.AnalyzeTask{}, false, err
	}
	return pb.ToAnalysis(r.GetAnalysis()), true, nil
}

// ListAnalyses returns every analyze task.
func (c *AnalyzeCoordClient) ListAnalyses(ctx context.Context) ([]model.AnalyzeTask, error) {
	r, err := c.c.ListAnalyses(ctx, &pb.Empty{})
	if err := Check(indexName, r, err); err != nil {
		return nil, err
	}
	out := make([]model.AnalyzeTask, 0, len(r.GetAnalyses()))
	for _, a := range r.GetAnalyses() {
		out = append(out, pb.ToAnalysis(a))
	}
	return out, nil
}

// DropAnalyses forgets analyze tasks and stops those running.
func (c *AnalyzeCoordClient) DropAnalyses(ctx context.Context, ids []int64) error {
	r, err := c.c.DropAnalyses(ctx, &pb.AnalysisIDsRequest{Ids: ids})
	return Check(indexName, r, err)
}
