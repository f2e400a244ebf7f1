package coordrpc

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/querycoord"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// QueryCoordServer serves a querycoord.Server.
type QueryCoordServer struct {
	pb.UnimplementedQueryCoordServer
	query *querycoord.Server
}

// RegisterQueryCoord serves query on g.
func RegisterQueryCoord(g *grpc.Server, query *querycoord.Server) {
	pb.RegisterQueryCoordServer(g, &QueryCoordServer{query: query})
}

// partitions decodes a partition list whose nil ("all") travels as a flag.
func partitions(all bool, ids []int64) []int64 {
	if all {
		return nil
	}
	if ids == nil {
		return []int64{}
	}
	return ids
}

func (s *QueryCoordServer) LoadCollection(ctx context.Context, r *pb.LoadRequest) (*pb.Empty, error) {
	return Empty(s.query.LoadCollection(ctx, pb.ToCollection(r.GetCollection()), partitions(r.GetAllPartitions(), r.GetPartitions()), r.GetReplicas(), r.GetResourceGroups()...)), nil
}

func (s *QueryCoordServer) ReleaseCollection(ctx context.Context, r *pb.ReleaseRequest) (*pb.Empty, error) {
	return Empty(s.query.ReleaseCollection(ctx, r.GetCollectionId())), nil
}

func (s *QueryCoordServer) ReleasePartitions(ctx context.Context, r *pb.ReleaseRequest) (*pb.Empty, error) {
	return Empty(s.query.ReleasePartitions(ctx, pb.ToCollection(r.GetCollection()), r.GetPartitions())), nil
}

func (s *QueryCoordServer) State(ctx context.Context, r *pb.LoadStateRequest) (*pb.LoadStateResponse, error) {
	st, err := s.query.State(ctx, r.GetCollectionId())
	return &pb.LoadStateResponse{Status: rpc.StatusOf(err), Loaded: st.Loaded, Partitions: st.Partitions, AllPartitions: st.Partitions == nil,
		Progress: st.Progress, Replicas: st.Replicas, Failure: failureStatus(st.Failure)}, nil
}

func failureStatus(err error) *commonpb.Status {
	if err == nil {
		return nil
	}
	return rpc.StatusOf(err)
}

func (s *QueryCoordServer) ChannelPlan(ctx context.Context, r *pb.ChannelPlanRequest) (*pb.ChannelPlanResponse, error) {
	p, err := s.query.ChannelPlan(ctx, r.GetCollectionId(), r.GetVchannel())
	return &pb.ChannelPlanResponse{Status: rpc.StatusOf(err), Plan: pb.FromChannelPlan(p)}, nil
}

func (s *QueryCoordServer) SegmentFlushed(ctx context.Context, r *pb.SegmentEvent) (*pb.Empty, error) {
	seg := pb.ToSegment(r.GetSegment())
	return Empty(s.query.SegmentFlushed(ctx, &seg)), nil
}

func (s *QueryCoordServer) IndexBuilt(ctx context.Context, r *pb.IndexBuiltEvent) (*pb.Empty, error) {
	return Empty(s.query.IndexBuilt(ctx, r.GetCollectionId(), r.GetSegmentId())), nil
}

func (s *QueryCoordServer) PartitionDropped(ctx context.Context, r *pb.DropPartitionDataRequest) (*pb.Empty, error) {
	return Empty(s.query.PartitionDropped(ctx, &model.Collection{ID: r.GetCollectionId()}, r.GetPartitionId())), nil
}

// QueryCoordClient calls a remote query coordinator: the proxy's
// queryCoord, a datacoord or indexcoord listener, and the query node's
// planner (ChannelPlan).
type QueryCoordClient struct{ c pb.QueryCoordClient }

// NewQueryCoordClient calls the query coordinator over conn.
func NewQueryCoordClient(conn grpc.ClientConnInterface) *QueryCoordClient {
	return &QueryCoordClient{c: pb.NewQueryCoordClient(conn)}
}

const queryName = "querycoord"

func (c *QueryCoordClient) LoadCollection(ctx context.Context, coll *model.Collection, parts []int64, replicas int32, rgs ...string) error {
	r, err := c.c.LoadCollection(ctx, &pb.LoadRequest{Collection: pb.FromCollection(coll), Partitions: parts, AllPartitions: parts == nil, Replicas: replicas, ResourceGroups: rgs})
	return Check(queryName, r, err)
}

func (c *QueryCoordClient) ReleaseCollection(ctx context.Context, collectionID int64) error {
	r, err := c.c.ReleaseCollection(ctx, &pb.ReleaseRequest{CollectionId: collectionID})
	return Check(queryName, r, err)
}

func (c *QueryCoordClient) ReleasePartitions(ctx context.Context, coll *model.Collection, parts []int64) error {
	r, err := c.c.ReleasePartitions(ctx, &pb.ReleaseRequest{CollectionId: coll.ID, Collection: pb.FromCollection(coll), Partitions: parts})
	return Check(queryName, r, err)
}

func (c *QueryCoordClient) State(ctx context.Context, collectionID int64) (contract.LoadState, error) {
	r, err := c.c.State(ctx, &pb.LoadStateRequest{CollectionId: collectionID})
	if err := Check(queryName, r, err); err != nil {
		return contract.LoadState{}, err
	}
	st := contract.LoadState{Loaded: r.GetLoaded(), Partitions: partitions(r.GetAllPartitions(), r.GetPartitions()), Progress: r.GetProgress(), Replicas: r.GetReplicas()}
	if f := r.GetFailure(); f != nil {
		st.Failure = rpc.ErrorOf(f)
	}
	return st, nil
}

// ChannelPlan plans one shard again.
func (c *QueryCoordClient) ChannelPlan(ctx context.Context, collectionID int64, vchannel string) (contract.ChannelPlan, error) {
	r, err := c.c.ChannelPlan(ctx, &pb.ChannelPlanRequest{CollectionId: collectionID, Vchannel: vchannel})
	if err := Check(queryName, r, err); err != nil {
		return contract.ChannelPlan{}, err
	}
	return pb.ToChannelPlan(r.GetPlan()), nil
}

func (c *QueryCoordClient) SegmentFlushed(ctx context.Context, seg *model.Segment) error {
	r, err := c.c.SegmentFlushed(ctx, &pb.SegmentEvent{Segment: pb.FromSegment(*seg)})
	return Check(queryName, r, err)
}

func (c *QueryCoordClient) IndexBuilt(ctx context.Context, collectionID, segmentID int64) error {
	r, err := c.c.IndexBuilt(ctx, &pb.IndexBuiltEvent{CollectionId: collectionID, SegmentId: segmentID})
	return Check(queryName, r, err)
}

// PartitionDropped stops serving a dropped partition's segments.
func (c *QueryCoordClient) PartitionDropped(ctx context.Context, coll *model.Collection, partitionID int64) error {
	r, err := c.c.PartitionDropped(ctx, &pb.DropPartitionDataRequest{CollectionId: coll.ID, PartitionId: partitionID})
	return Check(queryName, r, err)
}
