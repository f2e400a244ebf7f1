package coordrpc

import (
	"context"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// rgSource manages resource groups (the query coordinator).
type rgSource interface {
	CreateResourceGroup(ctx context.Context, name string, cfg contract.RGConfig) error
	UpdateResourceGroups(ctx context.Context, groups map[string]contract.RGConfig) error
	DropResourceGroup(ctx context.Context, name string) error
	ListResourceGroups(ctx context.Context) ([]string, error)
	DescribeResourceGroup(ctx context.Context, name string) (contract.RGInfo, error)
	TransferNode(ctx context.Context, source, target string, n int32) error
	TransferReplica(ctx context.Context, source, target string, collectionID int64, collectionName string, n int64) error
}

// ResourceGroupsServer serves a query coordinator's resource groups.
type ResourceGroupsServer struct {
	pb.UnimplementedQueryCoordResourceGroupsServer
	src rgSource
}

// RegisterResourceGroups serves src's resource groups on g.
func RegisterResourceGroups(g *grpc.Server, src rgSource) {
	pb.RegisterQueryCoordResourceGroupsServer(g, &ResourceGroupsServer{src: src})
}

func toRGConfig(c *pb.RGConfig) contract.RGConfig {
	out := contract.RGConfig{Requests: c.GetRequests(), Limits: c.GetLimits(), TransferFrom: c.GetTransferFrom(), TransferTo: c.GetTransferTo(),
		NoRequests: c.GetNoRequests(), NoLimits: c.GetNoLimits()}
	for _, l := range c.GetNodeLabels() {
		out.NodeLabels = append(out.NodeLabels, contract.NodeLabel{Key: l.GetKey(), Value: l.GetValue()})
	}
	return out
}

func fromRGConfig(c contract.RGConfig) *pb.RGConfig {
	out := &pb.RGConfig{Requests: c.Requests, Limits: c.Limits, TransferFrom: c.TransferFrom, TransferTo: c.TransferTo,
		NoRequests: c.NoRequests, NoLimits: c.NoLimits}
	for _, l := range c.NodeLabels {
		out.NodeLabels = append(out.NodeLabels, &pb.NodeLabel{Key: l.Key, Value: l.Value})
	}
	return out
}

func rgStatus(err error) *pb.RGStatus { return &pb.RGStatus{Status: rpc.StatusOf(err)} }

func (s *ResourceGroupsServer) CreateResourceGroup(ctx context.Context, r *pb.RGRequest) (*pb.RGStatus, error) {
	return rgStatus(s.src.CreateResourceGroup(ctx, r.GetName(), toRGConfig(r.GetConfig()))), nil
}

func (s *ResourceGroupsServer) UpdateResourceGroups(ctx context.Context, r *pb.UpdateRGsRequest) (*pb.RGStatus, error) {
	groups := map[string]contract.RGConfig{}
	for name, c := range r.GetGroups() {
		groups[name] = toRGConfig(c)
	}
	return rgStatus(s.src.UpdateResourceGroups(ctx, groups)), nil
}

func (s *ResourceGroupsServer) DropResourceGroup(ctx context.Context, r *pb.RGRequest) (*pb.RGStatus, error) {
	return rgStatus(s.src.DropResourceGroup(ctx, r.GetName())), nil
}

func (s *ResourceGroupsServer) ListResourceGroups(ctx context.Context, _ *pb.RGRequest) (*pb.ListRGsResponse, error) {
	names, err := s.src.ListResourceGroups(ctx)
	return &pb.ListRGsResponse{Status: rpc.StatusOf(err), Names: names}, nil
}

func (s *ResourceGroupsServer) DescribeResourceGroup(ctx context.Context, r *pb.RGRequest) (*pb.DescribeRGResponse, error) {
	info, err := s.src.DescribeResourceGroup(ctx, r.GetName())
	out := &pb.DescribeRGResponse{Status: rpc.StatusOf(err), Name: info.Name, Config: fromRGConfig(info.Config),
		LoadedReplicas: info.LoadedReplicas, Outgoing: info.Outgoing, Incoming: info.Incoming}
	for _, n := range info.Nodes {
		out.Nodes = append(out.Nodes, &pb.RGNode{Id: n.ID, Addr: n.Addr})
	}
	return out, nil
}

func (s *ResourceGroupsServer) TransferNode(ctx context.Context, r *pb.TransferNodeRequest) (*pb.RGStatus, error) {
	return rgStatus(s.src.TransferNode(ctx, r.GetSource(), r.GetTarget(), r.GetNumNode())), nil
}

func (s *ResourceGroupsServer) TransferReplica(ctx context.Context, r *pb.TransferReplicaRequest) (*pb.RGStatus, error) {
	return rgStatus(s.src.TransferReplica(ctx, r.GetSource(), r.GetTarget(), r.GetCollectionId(), r.GetCollectionName(), r.GetNumReplica())), nil
}

// ResourceGroupsClient manages a remote query coordinator's resource groups.
type ResourceGroupsClient struct {
	c pb.QueryCoordResourceGroupsClient
}

// NewResourceGroupsClient calls the query coordinator over conn.
func NewResourceGroupsClient(conn grpc.ClientConnInterface) *ResourceGroupsClient {
	return &ResourceGroupsClient{c: pb.NewQueryCoordResourceGroupsClient(conn)}
}

func (c *ResourceGroupsClient) CreateResourceGroup(ctx context.Context, name string, cfg contract.RGConfig) error {
	r, err := c.c.CreateResourceGroup(ctx, &pb.RGRequest{Name: name, Config: fromRGConfig(cfg)})
	return Check(queryName, r, err)
}

func (c *ResourceGroupsClient) UpdateResourceGroups(ctx context.Context, groups map[string]contract.RGConfig) error {
	req := &pb.UpdateRGsRequest{Groups: map[string]*pb.RGConfig{}}
	for name, cfg := range groups {
		req.Groups[name] = fromRGConfig(cfg)
	}
	r, err := c.c.UpdateResourceGroups(ctx, req)
	return Check(queryName, r, err)
}

func (c *ResourceGroupsClient) DropResourceGroup(ctx context.Context, name string) error {
	r, err := c.c.DropResourceGroup(ctx, &pb.RGRequest{Name: name})
	return Check(queryName, r, err)
}

func (c *ResourceGroupsClient) ListResourceGroups(ctx context.Context) ([]string, error) {
	r, err := c.c.ListResourceGroups(ctx, &pb.RGRequest{})
	if err := Check(queryName, r, err); err != nil {
		return nil, err
	}
	return r.GetNames(), nil
}

func (c *ResourceGroupsClient) DescribeResourceGroup(ctx context.Context, name string) (contract.RGInfo, error) {
	r, err := c.c.DescribeResourceGroup(ctx, &pb.RGRequest{Name: name})
	if err := Check(queryName, r, err); err != nil {
		return contract.RGInfo{}, err
	}
	info := contract.RGInfo{Name: r.GetName(), Config: toRGConfig(r.GetConfig()), LoadedReplicas: r.GetLoadedReplicas(),
		Outgoing: r.GetOutgoing(), Incoming: r.GetIncoming()}
	for _, n := range r.GetNodes() {
		info.Nodes = append(info.Nodes, contract.RGNode{ID: n.GetId(), Addr: n.GetAddr()})
	}
	return info, nil
}

func (c *ResourceGroupsClient) TransferNode(ctx context.Context, source, target string, n int32) error {
	r, err := c.c.TransferNode(ctx, &pb.TransferNodeRequest{Source: source, Target: target, NumNode: n})
	return Check(queryName, r, err)
}

func (c *ResourceGroupsClient) TransferReplica(ctx context.Context, source, target string, collectionID int64, collectionName string, n int64) error {
	r, err := c.c.TransferReplica(ctx, &pb.TransferReplicaRequest{Source: source, Target: target, CollectionId: collectionID,
		CollectionName: collectionName, NumReplica: n})
	return Check(queryName, r, err)
}
