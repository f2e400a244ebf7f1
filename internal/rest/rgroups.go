package rest

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/rgpb"

	"github.com/milvago/milvago/internal/rpc"
)

// rgService is the public API's resource group calls (rpc.Service), which
// validate names and reach the query coordinator.
type rgService interface {
	CreateResourceGroup(context.Context, *milvuspb.CreateResourceGroupRequest) (*commonpb.Status, error)
	DropResourceGroup(context.Context, *milvuspb.DropResourceGroupRequest) (*commonpb.Status, error)
	UpdateResourceGroups(context.Context, *milvuspb.UpdateResourceGroupsRequest) (*commonpb.Status, error)
	DescribeResourceGroup(context.Context, *milvuspb.DescribeResourceGroupRequest) (*milvuspb.DescribeResourceGroupResponse, error)
	ListResourceGroups(context.Context, *milvuspb.ListResourceGroupsRequest) (*milvuspb.ListResourceGroupsResponse, error)
	TransferReplica(context.Context, *milvuspb.TransferReplicaRequest) (*commonpb.Status, error)
}

// WithResourceGroups serves /resource_groups/ over svc (they answer code
// 10 without it).
func (h *Handler) WithResourceGroups(svc rgService) *Handler {
	h.routes["/resource_groups/create"] = func(ctx context.Context, c *call) (any, error) {
		var r rgReq
		if err := c.decode(&r); err != nil {
			return nil, err
		}
		if err := required("name", r.Name); err != nil {
			return nil, err
		}
		return statusOnly(svc.CreateResourceGroup(ctx, &milvuspb.CreateResourceGroupRequest{ResourceGroup: r.Name, Config: r.Config.pb()}))
	}
	h.routes["/resource_groups/drop"] = func(ctx context.Context, c *call) (any, error) {
		var r rgReq
		if err := c.decode(&r); err != nil {
			return nil, err
		}
		if err := required("name", r.Name); err != nil {
			return nil, err
		}
		return statusOnly(svc.DropResourceGroup(ctx, &milvuspb.DropResourceGroupRequest{ResourceGroup: r.Name}))
	}
	h.routes["/resource_groups/alter"] = func(ctx context.Context, c *call) (any, error) {
		var r struct {
			ResourceGroups map[string]*rgConfigJSON `json:"resource_groups"`
		}
		if err := c.decode(&r); err != nil {
			return nil, err
		}
		// Milvus binds resource_groups as required.
		if len(r.ResourceGroups) == 0 {
			return nil, restErr(errMissingParam, "Key: 'resource_groups' Error:Field validation for 'resource_groups' failed on the 'required' tag")
		}
		req := &milvuspb.UpdateResourceGroupsRequest{ResourceGroups: map[string]*rgpb.ResourceGroupConfig{}}
		for name, cfg := range r.ResourceGroups {
			req.ResourceGroups[name] = cfg.pb()
		}
		return statusOnly(svc.UpdateResourceGroups(ctx, req))
	}
	h.routes["/resource_groups/describe"] = func(ctx context.Context, c *call) (any, error) {
		var r rgReq
		if err := c.decode(&r); err != nil {
			return nil, err
		}
		if err := required("name", r.Name); err != nil {
			return nil, err
		}
		resp, err := svc.DescribeResourceGroup(ctx, &milvuspb.DescribeResourceGroupRequest{ResourceGroup: r.Name})
		if err == nil {
			err = rpc.ErrorOf(resp.GetStatus())
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"resource_group": resp.GetResourceGroup()}, nil
	}
	h.routes["/resource_groups/list"] = func(ctx context.Context, c *call) (any, error) {
		resp, err := svc.ListResourceGroups(ctx, &milvuspb.ListResourceGroupsRequest{})
		if err == nil {
			err = rpc.ErrorOf(resp.GetStatus())
		}
		if err != nil {
			return nil, err
		}
		return nonNil(resp.GetResourceGroups()), nil
	}
	h.routes["/resource_groups/transfer_replica"] = func(ctx context.Context, c *call) (any, error) {
		var r struct {
			SourceRgName   string `json:"sourceRgName"`
			TargetRgName   string `json:"targetRgName"`
			CollectionName string `json:"collectionName"`
			ReplicaNum     int64  `json:"replicaNum"`
		}
		if err := c.decode(&r); err != nil {
			return nil, err
		}
		if err := required("sourceRgName", r.SourceRgName, "targetRgName", r.TargetRgName, "collectionName", r.CollectionName); err != nil {
			return nil, err
		}
		// Milvus binds replicaNum as required: 0 is missing.
		if r.ReplicaNum == 0 {
			return nil, restErr(errMissingParam, "Key: 'replicaNum' Error:Field validation for 'replicaNum' failed on the 'required' tag")
		}
		return statusOnly(svc.TransferReplica(ctx, &milvuspb.TransferReplicaRequest{SourceResourceGroup: r.SourceRgName,
			TargetResourceGroup: r.TargetRgName, CollectionName: r.CollectionName, NumReplica: r.ReplicaNum, DbName: c.db}))
	}
	return h
}

type rgReq struct {
	Name   string        `json:"name"`
	Config *rgConfigJSON `json:"config"`
}

// rgConfigJSON is Milvus's REST resource group configuration.
type rgConfigJSON struct {
	Requests *struct {
		NodeNum int32 `json:"node_num"`
	} `json:"requests"`
	Limits *struct {
		NodeNum int32 `json:"node_num"`
	} `json:"limits"`
	TransferFrom []struct {
		ResourceGroup string `json:"resource_group"`
	} `json:"transfer_from"`
	TransferTo []struct {
		ResourceGroup string `json:"resource_group"`
	} `json:"transfer_to"`
}

func (c *rgConfigJSON) pb() *rgpb.ResourceGroupConfig {
	if c == nil {
		return nil
	}
	out := &rgpb.ResourceGroupConfig{}
	if c.Requests != nil {
		out.Requests = &rgpb.ResourceGroupLimit{NodeNum: c.Requests.NodeNum}
	}
	if c.Limits != nil {
		out.Limits = &rgpb.ResourceGroupLimit{NodeNum: c.Limits.NodeNum}
	}
	for _, t := range c.TransferFrom {
		out.TransferFrom = append(out.TransferFrom, &rgpb.ResourceGroupTransfer{ResourceGroup: t.ResourceGroup})
	}
	for _, t := range c.TransferTo {
		out.TransferTo = append(out.TransferTo, &rgpb.ResourceGroupTransfer{ResourceGroup: t.ResourceGroup})
	}
	return out
}

func statusOnly(st *commonpb.Status, err error) (any, error) {
	if err == nil {
		err = rpc.ErrorOf(st)
	}
	if err != nil {
		return nil, err
	}
	return empty(), nil
}
