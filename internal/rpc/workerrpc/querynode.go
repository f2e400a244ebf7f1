package workerrpc

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/querynode"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/pb"
	"github.com/milvago/milvago/internal/segment"
)

// Planner plans a shard again for a query node whose log position fell
// behind the log's retention (the query coordinator).
type Planner interface {
	ChannelPlan(ctx context.Context, collectionID int64, vchannel string) (contract.ChannelPlan, error)
}

// QueryNodeServer serves a querynode.Server.
type QueryNodeServer struct {
	pb.UnimplementedQueryNodeServer
	node    *querynode.Server
	planner Planner
}

// RegisterQueryNode serves node on g; planner (nil: none) replans shards.
func RegisterQueryNode(g *grpc.Server, node *querynode.Server, planner Planner) {
	pb.RegisterQueryNodeServer(g, &QueryNodeServer{node: node, planner: planner})
}

// withReplan gives a received plan the Replan that asks the planner.
func (s *QueryNodeServer) withReplan(collectionID int64, p contract.ChannelPlan) contract.ChannelPlan {
	if s.planner == nil {
		return p
	}
	vc := p.VChannel
	p.Replan = func(ctx context.Context) (contract.ChannelPlan, error) {
		next, err := s.planner.ChannelPlan(ctx, collectionID, vc)
		if err != nil {
			return contract.ChannelPlan{}, err
		}
		return s.withReplan(collectionID, next), nil
	}
	return p
}

func (s *QueryNodeServer) LoadCollection(ctx context.Context, r *pb.LoadChannelsRequest) (*pb.Empty, error) {
	coll := pb.ToCollection(r.GetCollection())
	if coll == nil {
		return coordrpc.Empty(fmt.Errorf("querynode: load without a collection")), nil
	}
	var plans []contract.ChannelPlan
	if r.GetPlans() != nil {
		plans = make([]contract.ChannelPlan, 0, len(r.GetPlans()))
		for _, p := range r.GetPlans() {
			plans = append(plans, s.withReplan(coll.ID, pb.ToChannelPlan(p)))
		}
	}
	parts := r.GetPartitions()
	if r.GetAllPartitions() {
		parts = nil
	} else if parts == nil {
		parts = []int64{}
	}
	return coordrpc.Empty(s.node.LoadCollection(ctx, coll, parts, plans)), nil
}

func (s *QueryNodeServer) ReleaseCollection(ctx context.Context, r *pb.CollectionIDRequest) (*pb.Empty, error) {
	return coordrpc.Empty(s.node.ReleaseCollection(ctx, r.GetCollectionId())), nil
}

func (s *QueryNodeServer) SyncSegment(ctx context.Context, r *pb.SyncSegmentRequest) (*pb.Empty, error) {
	return coordrpc.Empty(s.node.SyncSegment(ctx, r.GetCollectionId(), pb.ToSegmentPlan(r.GetPlan()))), nil
}

func (s *QueryNodeServer) DropSegments(ctx context.Context, r *pb.DropSegmentsRequest) (*pb.Empty, error) {
	return coordrpc.Empty(s.node.DropSegments(ctx, r.GetCollectionId(), r.GetPartitionId())), nil
}

func (s *QueryNodeServer) Progress(ctx context.Context, r *pb.CollectionIDRequest) (*pb.ProgressResponse, error) {
	p, ok, err := s.node.Progress(ctx, r.GetCollectionId())
	return &pb.ProgressResponse{Status: rpc.StatusOf(err), Progress: p, Loaded: ok}, nil
}

func (s *QueryNodeServer) filters(coll *model.Collection) func([]byte) (segment.Filter, error) {
	return func(b []byte) (segment.Filter, error) {
		e, err := expr.Unmarshal(coll.Schema, b)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}

func (s *QueryNodeServer) Search(ctx context.Context, r *pb.SearchRequest) (*pb.SearchResult, error) {
	res, err := s.search(ctx, r)
	if err != nil {
		return &pb.SearchResult{Status: rpc.StatusOf(err)}, nil
	}
	res.Status = rpc.StatusOf(nil)
	return res, nil
}

func (s *QueryNodeServer) search(ctx context.Context, r *pb.SearchRequest) (*pb.SearchResult, error) {
	coll, err := s.node.Collection(r.GetCollectionId())
	if err != nil {
		return nil, err
	}
	req, err := pb.ToSearchRequest(r, s.filters(coll))
	if err != nil {
		return nil, err
	}
	res, err := s.node.Search(ctx, req)
	if err != nil {
		return nil, err
	}
	return pb.FromSearchResult(res, coll.Schema)
}

func (s *QueryNodeServer) Query(ctx context.Context, r *pb.QueryRequest) (*pb.QueryResult, error) {
	res, err := s.query(ctx, r)
	if err != nil {
		return &pb.QueryResult{Status: rpc.StatusOf(err)}, nil
	}
	res.Status = rpc.StatusOf(nil)
	return res, nil
}

func (s *QueryNodeServer) query(ctx context.Context, r *pb.QueryRequest) (*pb.QueryResult, error) {
	coll, err := s.node.Collection(r.GetCollectionId())
	if err != nil {
		return nil, err
	}
	req, err := pb.ToQueryRequest(r, s.filters(coll))
	if err != nil {
		return nil, err
	}
	res, err := s.node.Query(ctx, req)
	if err != nil {
		return nil, err
	}
	return pb.FromQueryResult(res, coll.Schema)
}

// QueryNodeClient calls a remote query node: querycoord's queryNode and
// the proxy's shards.
type QueryNodeClient struct{ c pb.QueryNodeClient }

// NewQueryNodeClient calls a query node over conn.
func NewQueryNodeClient(conn grpc.ClientConnInterface) *QueryNodeClient {
	return &QueryNodeClient{c: pb.NewQueryNodeClient(conn)}
}

const queryNodeName = "querynode"

func (c *QueryNodeClient) LoadCollection(ctx context.Context, coll *model.Collection, parts []int64, plans []contract.ChannelPlan) error {
	req := &pb.LoadChannelsRequest{Collection: pb.FromCollection(coll), Partitions: parts, AllPartitions: parts == nil}
	if plans != nil {
		req.Plans = make([]*pb.ChannelPlan, 0, len(plans))
		for _, p := range plans {
			req.Plans = append(req.Plans, pb.FromChannelPlan(p))
		}
	}
	r, err := c.c.LoadCollection(ctx, req)
	return coordrpc.Check(queryNodeName, r, err)
}

func (c *QueryNodeClient) ReleaseCollection(ctx context.Context, collectionID int64) error {
	r, err := c.c.ReleaseCollection(ctx, &pb.CollectionIDRequest{CollectionId: collectionID})
	return coordrpc.Check(queryNodeName, r, err)
}

func (c *QueryNodeClient) SyncSegment(ctx context.Context, collectionID int64, plan contract.SegmentPlan) error {
	r, err := c.c.SyncSegment(ctx, &pb.SyncSegmentRequest{CollectionId: collectionID, Plan: pb.FromSegmentPlan(plan)})
	return coordrpc.Check(queryNodeName, r, err)
}

func (c *QueryNodeClient) DropSegments(ctx context.Context, collectionID, partitionID int64) error {
	r, err := c.c.DropSegments(ctx, &pb.DropSegmentsRequest{CollectionId: collectionID, PartitionId: partitionID})
	return coordrpc.Check(queryNodeName, r, err)
}

func (c *QueryNodeClient) Progress(ctx context.Context, collectionID int64) (int64, bool, error) {
	r, err := c.c.Progress(ctx, &pb.CollectionIDRequest{CollectionId: collectionID})
	if err := coordrpc.Check(queryNodeName, r, err); err != nil {
		return 0, false, err
	}
	return r.GetProgress(), r.GetLoaded(), nil
}

func (c *QueryNodeClient) Search(ctx context.Context, req *contract.SearchRequest) (*contract.SearchResult, error) {
	preq, err := pb.FromSearchRequest(req)
	if err != nil {
		return nil, fmt.Errorf("querynode: encode search: %w", err)
	}
	r, err := c.c.Search(ctx, preq)
	if err := coordrpc.Check(queryNodeName, r, err); err != nil {
		return nil, err
	}
	return pb.ToSearchResult(r)
}

func (c *QueryNodeClient) Query(ctx context.Context, req *contract.QueryRequest) (*contract.QueryResult, error) {
	preq, err := pb.FromQueryRequest(req)
	if err != nil {
		return nil, fmt.Errorf("querynode: encode query: %w", err)
	}
	r, err := c.c.Query(ctx, preq)
	if err := coordrpc.Check(queryNodeName, r, err); err != nil {
		return nil, err
	}
	return pb.ToQueryResult(r)
}
