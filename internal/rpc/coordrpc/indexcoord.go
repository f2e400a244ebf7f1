package coordrpc

import (
	"context"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/indexcoord"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// IndexCoordServer serves an indexcoord.Server.
type IndexCoordServer struct {
	pb.UnimplementedIndexCoordServer
	index *indexcoord.Server
}

// RegisterIndexCoord serves index on g.
func RegisterIndexCoord(g *grpc.Server, index *indexcoord.Server) {
	pb.RegisterIndexCoordServer(g, &IndexCoordServer{index: index})
	pb.RegisterIndexFaultsServer(g, &IndexFaultsServer{index: index})
}

func (s *IndexCoordServer) CreateIndex(ctx context.Context, r *pb.CreateIndexRequest) (*pb.Empty, error) {
	return Empty(s.index.CreateIndex(ctx, contract.CreateIndexRequest{Collection: pb.ToCollection(r.GetCollection()), Field: r.GetField(),
		Name: r.GetName(), Params: r.GetParams(), UserParams: r.GetUserParams()})), nil
}

func (s *IndexCoordServer) Indexes(ctx context.Context, r *pb.IndexesRequest) (*pb.IndexesResponse, error) {
	defs, err := s.index.Indexes(ctx, r.GetCollectionId())
	resp := &pb.IndexesResponse{Status: rpc.StatusOf(err)}
	for _, d := range defs {
		resp.Indexes = append(resp.Indexes, pb.FromIndexDef(d))
	}
	return resp, nil
}

func (s *IndexCoordServer) IndexProgress(ctx context.Context, r *pb.IndexProgressRequest) (*pb.IndexProgressResponse, error) {
	p, err := s.index.IndexProgress(ctx, pb.ToIndexDef(r.GetIndex()))
	return &pb.IndexProgressResponse{Status: rpc.StatusOf(err), State: p.State, FailReason: p.FailReason, IndexedRows: p.IndexedRows,
		TotalRows: p.TotalRows, PendingRows: p.PendingRows}, nil
}

func (s *IndexCoordServer) DropIndex(ctx context.Context, r *pb.DropIndexRequest) (*pb.Empty, error) {
	return Empty(s.index.DropIndex(ctx, r.GetCollectionId(), r.GetIndexId())), nil
}

func (s *IndexCoordServer) DropCollection(ctx context.Context, r *pb.IndexesRequest) (*pb.Empty, error) {
	return Empty(s.index.DropCollection(ctx, r.GetCollectionId())), nil
}

func (s *IndexCoordServer) SegmentIndexes(ctx context.Context, r *pb.SegmentRequest) (*pb.SegmentIndexesResponse, error) {
	sis, err := s.index.SegmentIndexes(ctx, r.GetSegmentId())
	return &pb.SegmentIndexesResponse{Status: rpc.StatusOf(err), Indexes: pb.FromSegmentIndexes(sis)}, nil
}

func (s *IndexCoordServer) SegmentFlushed(ctx context.Context, r *pb.SegmentEvent) (*pb.Empty, error) {
	seg := pb.ToSegment(r.GetSegment())
	return Empty(s.index.SegmentFlushed(ctx, &seg)), nil
}

// IndexCoordClient calls a remote index coordinator: the proxy's and
// querycoord's indexCoord, and a datacoord listener.
type IndexCoordClient struct {
	c pb.IndexCoordClient
	f pb.IndexFaultsClient // indexfaults.go
}

// NewIndexCoordClient calls the index coordinator over conn.
func NewIndexCoordClient(conn grpc.ClientConnInterface) *IndexCoordClient {
	return &IndexCoordClient{c: pb.NewIndexCoordClient(conn), f: pb.NewIndexFaultsClient(conn)}
}

const indexName = "indexcoord"

func (c *IndexCoordClient) CreateIndex(ctx context.Context, req contract.CreateIndexRequest) error {
	r, err := c.c.CreateIndex(ctx, &pb.CreateIndexRequest{Collection: pb.FromCollection(req.Collection), Field: req.Field, Name: req.Name,
		Params: req.Params, UserParams: req.UserParams})
	return Check(indexName, r, err)
}

func (c *IndexCoordClient) Indexes(ctx context.Context, collectionID int64) ([]model.IndexDef, error) {
	r, err := c.c.Indexes(ctx, &pb.IndexesRequest{CollectionId: collectionID})
	if err := Check(indexName, r, err); err != nil {
		return nil, err
	}
	var out []model.IndexDef
	for _, d := range r.GetIndexes() {
		out = append(out, pb.ToIndexDef(d))
	}
	return out, nil
}

func (c *IndexCoordClient) IndexProgress(ctx context.Context, def model.IndexDef) (contract.IndexProgress, error) {
	r, err := c.c.IndexProgress(ctx, &pb.IndexProgressRequest{Index: pb.FromIndexDef(def)})
	if err := Check(indexName, r, err); err != nil {
		return contract.IndexProgress{}, err
	}
	return contract.IndexProgress{State: r.GetState(), FailReason: r.GetFailReason(), IndexedRows: r.GetIndexedRows(),
		TotalRows: r.GetTotalRows(), PendingRows: r.GetPendingRows()}, nil
}

func (c *IndexCoordClient) DropIndex(ctx context.Context, collectionID, indexID int64) error {
	r, err := c.c.DropIndex(ctx, &pb.DropIndexRequest{CollectionId: collectionID, IndexId: indexID})
	return Check(indexName, r, err)
}

// DropCollection forgets a dropped collection's indexes.
func (c *IndexCoordClient) DropCollection(ctx context.Context, collectionID int64) error {
	r, err := c.c.DropCollection(ctx, &pb.IndexesRequest{CollectionId: collectionID})
	return Check(indexName, r, err)
}

func (c *IndexCoordClient) SegmentIndexes(ctx context.Context, segmentID int64) ([]model.SegmentIndex, error) {
	r, err := c.c.SegmentIndexes(ctx, &pb.SegmentRequest{SegmentId: segmentID})
	if err := Check(indexName, r, err); err != nil {
		return nil, err
	}
	return pb.ToSegmentIndexes(r.GetIndexes()), nil
}

func (c *IndexCoordClient) SegmentFlushed(ctx context.Context, seg *model.Segment) error {
	r, err := c.c.SegmentFlushed(ctx, &pb.SegmentEvent{Segment: pb.FromSegment(*seg)})
	return Check(indexName, r, err)
}
