package workerrpc

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/querynode"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/framed"
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
// The server returned also answers framed searches (FramedSearch).
func RegisterQueryNode(g *grpc.Server, node *querynode.Server, planner Planner) *QueryNodeServer {
	s := &QueryNodeServer{node: node, planner: planner}
	pb.RegisterQueryNodeServer(g, s)
	return s
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

// FramedSearch is Search over a framed connection (internal/rpc/framed):
// payload is a marshalled pb.SearchRequest, the answer a marshalled
// pb.SearchResult whose status carries any failure.
func (s *QueryNodeServer) FramedSearch(ctx context.Context, payload []byte) []byte {
	var r pb.SearchRequest
	if err := proto.Unmarshal(payload, &r); err != nil {
		return FramedRefusal(fmt.Errorf("querynode: decode a framed search: %w", errs.ErrParameterInvalid))
	}
	res, _ := s.Search(ctx, &r)
	b, err := proto.Marshal(res)
	if err != nil {
		return FramedRefusal(fmt.Errorf("querynode: encode a search result: %w", err))
	}
	return b
}

// FramedRefusal is the answer of a framed search that fails with err.
func FramedRefusal(err error) []byte {
	b, _ := proto.Marshal(&pb.SearchResult{Status: rpc.StatusOf(err)}) // a status alone always marshals
	return b
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
type QueryNodeClient struct {
	c pb.QueryNodeClient
	// framed, if set, carries Search instead of gRPC (internal/rpc/framed);
	// caller stamps its calls with the caller's server ID.
	framed *framed.Client
	caller func() (int64, error)
}

// NewQueryNodeClient calls a query node over conn.
func NewQueryNodeClient(conn grpc.ClientConnInterface) *QueryNodeClient {
	return &QueryNodeClient{c: pb.NewQueryNodeClient(conn)}
}

// WithFramed returns a client of the same node whose searches go over fc;
// caller gives the caller's server ID (0: none) or refuses to send, as the
// fence of the gRPC connection does. A search whose framed call fails on
// its connection (not a failure the node reports) is sent over gRPC, which
// reports the node's state in its own terms: a node that does not speak
// the framed protocol is still reached.
func (c *QueryNodeClient) WithFramed(fc *framed.Client, caller func() (int64, error)) *QueryNodeClient {
	return &QueryNodeClient{c: c.c, framed: fc, caller: caller}
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
	if c.framed != nil {
		r, err := c.framedSearch(ctx, preq)
		if err == nil || !errors.Is(err, errFramedTransport) {
			return r, err
		}
	}
	r, err := c.c.Search(ctx, preq)
	if err := coordrpc.Check(queryNodeName, r, err); err != nil {
		return nil, err
	}
	return pb.ToSearchResult(r)
}

// errFramedTransport marks a framed search that failed on its connection.
var errFramedTransport = errors.New("framed transport")

func (c *QueryNodeClient) framedSearch(ctx context.Context, preq *pb.SearchRequest) (*contract.SearchResult, error) {
	caller, err := c.caller()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", queryNodeName, err)
	}
	payload, err := proto.Marshal(preq)
	if err != nil {
		return nil, fmt.Errorf("querynode: encode search: %w", err)
	}
	ans, err := c.framed.Call(ctx, caller, payload)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("%s: %w", queryNodeName, cerr)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: %w", queryNodeName, err)
		}
		return nil, fmt.Errorf("%s: %w: %w", queryNodeName, errFramedTransport, err)
	}
	var r pb.SearchResult
	if err := proto.Unmarshal(ans, &r); err != nil {
		return nil, fmt.Errorf("%s: %w: decode a search result: %w", queryNodeName, errFramedTransport, err)
	}
	if err := coordrpc.Check(queryNodeName, &r, nil); err != nil {
		return nil, err
	}
	return pb.ToSearchResult(&r)
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
