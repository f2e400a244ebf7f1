package coordrpc

import (
	"context"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// replicaSource is what the replica service serves (the query
// coordinator): replicas, the segments they serve, and moving segments.
type replicaSource interface {
	Replicas(ctx context.Context, collectionID int64) ([]contract.Replica, error)
	QuerySegments(ctx context.Context, collectionID int64) ([]contract.QuerySegment, error)
	LoadBalance(ctx context.Context, collectionID int64, src, dst, segmentIDs []int64) error
}

// ReplicasServer serves a query coordinator's replicas.
type ReplicasServer struct {
	pb.UnimplementedQueryCoordReplicasServer
	src replicaSource
}

// RegisterReplicas serves src's replicas on g.
func RegisterReplicas(g *grpc.Server, src replicaSource) {
	pb.RegisterQueryCoordReplicasServer(g, &ReplicasServer{src: src})
}

func (s *ReplicasServer) Replicas(ctx context.Context, r *pb.ReplicasRequest) (*pb.ReplicasResponse, error) {
	rs, err := s.src.Replicas(ctx, r.GetCollectionId())
	out := &pb.ReplicasResponse{Status: rpc.StatusOf(err)}
	for _, x := range rs {
		pr := &pb.Replica{Id: x.ID, CollectionId: x.CollectionID, ResourceGroup: x.ResourceGroup, Nodes: x.Nodes, Outbound: x.Outbound}
		for _, sh := range x.Shards {
			pr.Shards = append(pr.Shards, &pb.ShardReplica{Vchannel: sh.VChannel, NodeId: sh.NodeID, Addr: sh.Addr})
		}
		out.Replicas = append(out.Replicas, pr)
	}
	return out, nil
}

// ReplicasClient asks a remote query coordinator for replicas: the proxy's
// shard-leader lookup and GetReplicas.
type ReplicasClient struct{ c pb.QueryCoordReplicasClient }

// NewReplicasClient calls the query coordinator over conn.
func NewReplicasClient(conn grpc.ClientConnInterface) *ReplicasClient {
	return &ReplicasClient{c: pb.NewQueryCoordReplicasClient(conn)}
}

// Replicas describes a loaded collection's replicas.
func (c *ReplicasClient) Replicas(ctx context.Context, collectionID int64) ([]contract.Replica, error) {
	r, err := c.c.Replicas(ctx, &pb.ReplicasRequest{CollectionId: collectionID})
	if err := Check(queryName, r, err); err != nil {
		return nil, err
	}
	out := make([]contract.Replica, 0, len(r.GetReplicas()))
	for _, x := range r.GetReplicas() {
		cr := contract.Replica{ID: x.GetId(), CollectionID: x.GetCollectionId(), ResourceGroup: x.GetResourceGroup(), Nodes: x.GetNodes(),
			Outbound: x.GetOutbound()}
		for _, sh := range x.GetShards() {
			cr.Shards = append(cr.Shards, contract.ShardReplica{VChannel: sh.GetVchannel(), NodeID: sh.GetNodeId(), Addr: sh.GetAddr()})
		}
		out = append(out, cr)
	}
	return out, nil
}

func (s *ReplicasServer) QuerySegments(ctx context.Context, r *pb.ReplicasRequest) (*pb.QuerySegmentsResponse, error) {
	segs, err := s.src.QuerySegments(ctx, r.GetCollectionId())
	out := &pb.QuerySegmentsResponse{Status: rpc.StatusOf(err)}
	for _, q := range segs {
		out.Segments = append(out.Segments, &pb.QuerySegment{SegmentId: q.SegmentID, CollectionId: q.CollectionID, PartitionId: q.PartitionID,
			NumRows: q.NumRows, MemSize: q.MemSize, IndexId: q.IndexID, IndexName: q.IndexName, NodeIds: q.NodeIDs})
	}
	return out, nil
}

func (s *ReplicasServer) LoadBalance(ctx context.Context, r *pb.LoadBalanceRequest) (*pb.LoadBalanceResponse, error) {
	err := s.src.LoadBalance(ctx, r.GetCollectionId(), r.GetSrcNodes(), r.GetDstNodes(), r.GetSegmentIds())
	return &pb.LoadBalanceResponse{Status: rpc.StatusOf(err)}, nil
}

// QuerySegments lists a loaded collection's sealed segments and their nodes.
func (c *ReplicasClient) QuerySegments(ctx context.Context, collectionID int64) ([]contract.QuerySegment, error) {
	r, err := c.c.QuerySegments(ctx, &pb.ReplicasRequest{CollectionId: collectionID})
	if err := Check(queryName, r, err); err != nil {
		return nil, err
	}
	out := make([]contract.QuerySegment, 0, len(r.GetSegments()))
	for _, q := range r.GetSegments() {
		out = append(out, contract.QuerySegment{SegmentID: q.GetSegmentId(), CollectionID: q.GetCollectionId(), PartitionID: q.GetPartitionId(),
			NumRows: q.GetNumRows(), MemSize: q.GetMemSize(), IndexID: q.GetIndexId(), IndexName: q.GetIndexName(), NodeIDs: q.GetNodeIds()})
	}
	return out, nil
}

// LoadBalance moves sealed segments off a node.
func (c *ReplicasClient) LoadBalance(ctx context.Context, collectionID int64, src, dst, segmentIDs []int64) error {
	r, err := c.c.LoadBalance(ctx, &pb.LoadBalanceRequest{CollectionId: collectionID, SrcNodes: src, DstNodes: dst, SegmentIds: segmentIDs})
	return Check(queryName, r, err)
}
