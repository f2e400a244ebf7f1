package rpc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/rgpb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
)

// replicaSource describes a loaded collection's replicas and the segments
// they serve, and moves segments between nodes (the query coordinator, or
// its client).
type replicaSource interface {
	Replicas(ctx context.Context, collectionID int64) ([]contract.Replica, error)
	QuerySegments(ctx context.Context, collectionID int64) ([]contract.QuerySegment, error)
	LoadBalance(ctx context.Context, collectionID int64, src, dst, segmentIDs []int64) error
}

// WithReplicas serves GetReplicas from src.
func (s *Service) WithReplicas(src replicaSource) *Service {
	s.replicas = src
	return s
}

// GetReplicas lists a collection's replicas: their nodes and each shard's
// leader node and address. A collection that is not loaded has none.
func (s *Service) GetReplicas(ctx context.Context, req *milvuspb.GetReplicasRequest) (*milvuspb.GetReplicasResponse, error) {
	return reply(ctx, req, s.getReplicas, func() *milvuspb.GetReplicasResponse { return &milvuspb.GetReplicasResponse{} })
}

func (s *Service) getReplicas(ctx context.Context, req *milvuspb.GetReplicasRequest) (*milvuspb.GetReplicasResponse, error) {
	if s.replicas == nil {
		return nil, errs.ErrServiceUnimplemented
	}
	id := req.GetCollectionID()
	if req.GetCollectionName() != "" {
		d, err := s.p.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{DbName: req.GetDbName(), CollectionName: req.GetCollectionName()})
		if err != nil {
			return nil, err
		}
		id = d.GetCollectionID()
	}
	rs, err := s.replicas.Replicas(ctx, id)
	if errors.Is(err, errs.ErrCollectionNotLoaded) {
		return &milvuspb.GetReplicasResponse{Replicas: []*milvuspb.ReplicaInfo{}}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &milvuspb.GetReplicasResponse{Replicas: make([]*milvuspb.ReplicaInfo, 0, len(rs))}
	for _, r := range rs {
		ri := &milvuspb.ReplicaInfo{ReplicaID: r.ID, CollectionID: r.CollectionID, NodeIds: r.Nodes, ResourceGroupName: r.ResourceGroup,
			NumOutboundNode: map[string]int32{}}
		maps.Copy(ri.NumOutboundNode, r.Outbound)
		for _, sh := range r.Shards {
			sr := &milvuspb.ShardReplica{LeaderID: sh.NodeID, LeaderAddr: sh.Addr, DmChannelName: sh.VChannel}
			if req.GetWithShardNodes() && sh.NodeID != 0 {
				sr.NodeIds = []int64{sh.NodeID}
			}
			ri.ShardReplicas = append(ri.ShardReplicas, sr)
		}
		out.Replicas = append(out.Replicas, ri)
	}
	return out, nil
}

// resourceGroups manages resource groups (the query coordinator, or its
// client).
type resourceGroups interface {
	CreateResourceGroup(ctx context.Context, name string, cfg contract.RGConfig) error
	UpdateResourceGroups(ctx context.Context, groups map[string]contract.RGConfig) error
	DropResourceGroup(ctx context.Context, name string) error
	ListResourceGroups(ctx context.Context) ([]string, error)
	DescribeResourceGroup(ctx context.Context, name string) (contract.RGInfo, error)
	TransferNode(ctx context.Context, source, target string, n int32) error
	TransferReplica(ctx context.Context, source, target string, collectionID int64, collectionName string, n int64) error
}

// WithResourceGroups serves the resource group calls from rg.
func (s *Service) WithResourceGroups(rg resourceGroups) *Service {
	s.rgs = rg
	return s
}

func (s *Service) rgAPI() (resourceGroups, error) {
	if s.rgs == nil {
		return nil, errs.ErrServiceUnimplemented
	}
	return s.rgs, nil
}

// validateRGName is Milvus's proxy ValidateResourceGroupName.
func validateRGName(name string) error {
	if name == "" {
		return fmt.Errorf("resource group name couldn't be empty: %w", errs.ErrParameterMissing)
	}
	invalid := fmt.Sprintf("Invalid resource group name %s.", name)
	if len(name) > maxNameLength {
		return errs.InvalidParameter("%s the length of a resource group name must be less than %d characters", invalid, maxNameLength)
	}
	alpha := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	if c := name[0]; c != '_' && !alpha(c) {
		return errs.InvalidParameter("%s the first character of a resource group name must be an underscore or letter", invalid)
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; c != '_' && !alpha(c) && (c < '0' || c > '9') {
			return errs.InvalidParameter("%s resource group name can only contain numbers, letters and underscores", invalid)
		}
	}
	return nil
}

// maxNameLength is proxy.maxNameLength.
const maxNameLength = 255

// rgConfigOf converts a request's configuration; a request without one
// asks for Milvus's default (0 requests, 0 limits: "compatible with old
// client", ddl_callbacks_alter_resource_group.go), one without requests or
// limits is marked so that the query coordinator refuses it as Milvus does.
func rgConfigOf(c *rgpb.ResourceGroupConfig) contract.RGConfig {
	out := contract.RGConfig{Requests: c.GetRequests().GetNodeNum(), Limits: c.GetLimits().GetNodeNum()}
	if c != nil {
		out.NoRequests, out.NoLimits = c.GetRequests() == nil, c.GetLimits() == nil
	}
	for _, t := range c.GetTransferFrom() {
		out.TransferFrom = append(out.TransferFrom, t.GetResourceGroup())
	}
	for _, t := range c.GetTransferTo() {
		out.TransferTo = append(out.TransferTo, t.GetResourceGroup())
	}
	for _, l := range c.GetNodeFilter().GetNodeLabels() {
		out.NodeLabels = append(out.NodeLabels, contract.NodeLabel{Key: l.GetKey(), Value: l.GetValue()})
	}
	return out
}

func rgConfigPB(c contract.RGConfig) *rgpb.ResourceGroupConfig {
	out := &rgpb.ResourceGroupConfig{Requests: &rgpb.ResourceGroupLimit{NodeNum: c.Requests}, Limits: &rgpb.ResourceGroupLimit{NodeNum: c.Limits}}
	for _, t := range c.TransferFrom {
		out.TransferFrom = append(out.TransferFrom, &rgpb.ResourceGroupTransfer{ResourceGroup: t})
	}
	for _, t := range c.TransferTo {
		out.TransferTo = append(out.TransferTo, &rgpb.ResourceGroupTransfer{ResourceGroup: t})
	}
	if len(c.NodeLabels) > 0 {
		out.NodeFilter = &rgpb.ResourceGroupNodeFilter{}
		for _, l := range c.NodeLabels {
			out.NodeFilter.NodeLabels = append(out.NodeFilter.NodeLabels, &commonpb.KeyValuePair{Key: l.Key, Value: l.Value})
		}
	}
	return out
}

func (s *Service) CreateResourceGroup(ctx context.Context, req *milvuspb.CreateResourceGroupRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.CreateResourceGroupRequest) error {
		rg, err := s.rgAPI()
		if err != nil {
			return err
		}
		if err := validateRGName(req.GetResourceGroup()); err != nil {
			return err
		}
		return rg.CreateResourceGroup(ctx, req.GetResourceGroup(), rgConfigOf(req.GetConfig()))
	})
}

func (s *Service) UpdateResourceGroups(ctx context.Context, req *milvuspb.UpdateResourceGroupsRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.UpdateResourceGroupsRequest) error {
		rg, err := s.rgAPI()
		if err != nil {
			return err
		}
		groups := map[string]contract.RGConfig{}
		for name, cfg := range req.GetResourceGroups() {
			if err := validateRGName(name); err != nil {
				return err
			}
			c := rgConfigOf(cfg)
			if cfg == nil { // no default here: Milvus validates the nil config as given
				c.NoRequests, c.NoLimits = true, true
			}
			groups[name] = c
		}
		return rg.UpdateResourceGroups(ctx, groups)
	})
}

func (s *Service) DropResourceGroup(ctx context.Context, req *milvuspb.DropResourceGroupRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.DropResourceGroupRequest) error {
		rg, err := s.rgAPI()
		if err != nil {
			return err
		}
		if err := validateRGName(req.GetResourceGroup()); err != nil {
			return err
		}
		return rg.DropResourceGroup(ctx, req.GetResourceGroup())
	})
}

func (s *Service) ListResourceGroups(ctx context.Context, req *milvuspb.ListResourceGroupsRequest) (*milvuspb.ListResourceGroupsResponse, error) {
	return reply(ctx, req, func(ctx context.Context, _ *milvuspb.ListResourceGroupsRequest) (*milvuspb.ListResourceGroupsResponse, error) {
		rg, err := s.rgAPI()
		if err != nil {
			return nil, err
		}
		names, err := rg.ListResourceGroups(ctx)
		if err != nil {
			return nil, err
		}
		return &milvuspb.ListResourceGroupsResponse{ResourceGroups: names}, nil
	}, func() *milvuspb.ListResourceGroupsResponse { return &milvuspb.ListResourceGroupsResponse{} })
}

// collectionNames resolves collection IDs to names for a description.
func (s *Service) collectionNames(ctx context.Context, ids map[int64]int32) map[string]int32 {
	out := map[string]int32{}
	for id, n := range ids {
		name := strconv.FormatInt(id, 10)
		if d, err := s.p.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionID: id}); err == nil && d.GetCollectionName() != "" {
			name = d.GetCollectionName()
		}
		out[name] += n
	}
	return out
}

func (s *Service) DescribeResourceGroup(ctx context.Context, req *milvuspb.DescribeResourceGroupRequest) (*milvuspb.DescribeResourceGroupResponse, error) {
	return reply(ctx, req, func(ctx context.Context, req *milvuspb.DescribeResourceGroupRequest) (*milvuspb.DescribeResourceGroupResponse, error) {
		rg, err := s.rgAPI()
		if err != nil {
			return nil, err
		}
		info, err := rg.DescribeResourceGroup(ctx, req.GetResourceGroup())
		if err != nil {
			return nil, err
		}
		capacity := info.Config.Requests
		if info.Name == defaultResourceGroup {
			capacity = defaultRGCapacity
		}
		g := &milvuspb.ResourceGroup{Name: info.Name, Capacity: capacity, NumAvailableNode: int32(len(info.Nodes)),
			NumLoadedReplica: s.collectionNames(ctx, info.LoadedReplicas), NumOutgoingNode: s.collectionNames(ctx, info.Outgoing),
			NumIncomingNode: s.collectionNames(ctx, info.Incoming), Config: rgConfigPB(info.Config)}
		for _, n := range info.Nodes {
			g.Nodes = append(g.Nodes, &commonpb.NodeInfo{NodeId: n.ID, Address: n.Addr})
		}
		return &milvuspb.DescribeResourceGroupResponse{ResourceGroup: g}, nil
	}, func() *milvuspb.DescribeResourceGroupResponse { return &milvuspb.DescribeResourceGroupResponse{} })
}

const (
	defaultResourceGroup = "__default_resource_group"
	defaultRGCapacity    = 1000000
)

func (s *Service) TransferNode(ctx context.Context, req *milvuspb.TransferNodeRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.TransferNodeRequest) error {
		rg, err := s.rgAPI()
		if err != nil {
			return err
		}
		for _, name := range []string{req.GetSourceResourceGroup(), req.GetTargetResourceGroup()} {
			if err := validateRGName(name); err != nil {
				return err
			}
		}
		return rg.TransferNode(ctx, req.GetSourceResourceGroup(), req.GetTargetResourceGroup(), req.GetNumNode())
	})
}

func (s *Service) TransferReplica(ctx context.Context, req *milvuspb.TransferReplicaRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.TransferReplicaRequest) error {
		rg, err := s.rgAPI()
		if err != nil {
			return err
		}
		for _, name := range []string{req.GetSourceResourceGroup(), req.GetTargetResourceGroup()} {
			if err := validateRGName(name); err != nil {
				return err
			}
		}
		d, err := s.p.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{DbName: req.GetDbName(), CollectionName: req.GetCollectionName()})
		if err != nil {
			return err
		}
		return rg.TransferReplica(ctx, req.GetSourceResourceGroup(), req.GetTargetResourceGroup(), d.GetCollectionID(), d.GetCollectionName(), req.GetNumReplica())
	})
}

// collectionID resolves a request's collection name in its database.
func (s *Service) collectionID(ctx context.Context, db, name string) (int64, error) {
	return s.p.CollectionID(ctx, db, name)
}

// GetQuerySegmentInfo lists the sealed segments the query nodes serve for
// a loaded collection, with their nodes (one per replica).
func (s *Service) GetQuerySegmentInfo(ctx context.Context, req *milvuspb.GetQuerySegmentInfoRequest) (*milvuspb.GetQuerySegmentInfoResponse, error) {
	return reply(ctx, req, func(ctx context.Context, req *milvuspb.GetQuerySegmentInfoRequest) (*milvuspb.GetQuerySegmentInfoResponse, error) {
		if s.replicas == nil {
			return nil, errs.ErrServiceUnimplemented
		}
		id, err := s.collectionID(ctx, req.GetDbName(), req.GetCollectionName())
		if err != nil {
			return nil, err
		}
		segs, err := s.replicas.QuerySegments(ctx, id)
		if err != nil {
			return nil, err
		}
		out := &milvuspb.GetQuerySegmentInfoResponse{Infos: make([]*milvuspb.QuerySegmentInfo, 0, len(segs))}
		for _, q := range segs {
			info := &milvuspb.QuerySegmentInfo{SegmentID: q.SegmentID, CollectionID: q.CollectionID, PartitionID: q.PartitionID, MemSize: q.MemSize,
				NumRows: q.NumRows, IndexName: q.IndexName, IndexID: q.IndexID, State: commonpb.SegmentState_Sealed, NodeIds: q.NodeIDs}
			if len(q.NodeIDs) > 0 {
				info.NodeID = q.NodeIDs[0]
			}
			out.Infos = append(out.Infos, info)
		}
		return out, nil
	}, func() *milvuspb.GetQuerySegmentInfoResponse { return &milvuspb.GetQuerySegmentInfoResponse{} })
}

// LoadBalance moves a collection's sealed segments off a query node to
// other nodes of its replica.
func (s *Service) LoadBalance(ctx context.Context, req *milvuspb.LoadBalanceRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.LoadBalanceRequest) error {
		if s.replicas == nil {
			return errs.ErrServiceUnimplemented
		}
		id, err := s.collectionID(ctx, req.GetDbName(), req.GetCollectionName())
		if err != nil {
			return err
		}
		return s.replicas.LoadBalance(ctx, id, []int64{req.GetSrcNodeID()}, req.GetDstNodeIDs(), req.GetSealedSegmentIDs())
	})
}
