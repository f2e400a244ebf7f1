package rest

import (
	"context"
	"maps"
	"slices"

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
// 10 without it). The bodies are bound as Milvus's handler binds them
// (resource_group_handler_v2.go, request_v2.go). The "required" fields are
// checked before any route by bind (binding.go), against Milvus's
// ResourceGroupReq, UpdateResourceGroupReq and TransferReplicaReq: it
// descends into a create/drop/describe config (whose requests, limits and
// their node_num are required, so 0 is missing) but not into alter's map
// of configs, where an omitted requests or limits is sent as node_num 0.
func (h *Handler) WithResourceGroups(svc rgService) *Handler {
	named := func(c *call) (rgReq, error) {
		var r rgReq
		return r, c.decode(&r)
	}
	h.routes["/resource_groups/create"] = func(ctx context.Context, c *call) (any, error) {
		r, err := named(c)
		if err != nil {
			return nil, err
		}
		return statusOnly(svc.CreateResourceGroup(ctx, &milvuspb.CreateResourceGroupRequest{ResourceGroup: r.Name, Config: r.Config.pb()}))
	}
	h.routes["/resource_groups/drop"] = func(ctx context.Context, c *call) (any, error) {
		r, err := named(c)
		if err != nil {
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
		// bind required resource_groups present; an empty map passes, and
		// Milvus's query coordinator answers success for it.
		req := &milvuspb.UpdateResourceGroupsRequest{ResourceGroups: map[string]*rgpb.ResourceGroupConfig{}}
		for name, cfg := range r.ResourceGroups {
			req.ResourceGroups[name] = cfg.pb()
		}
		return statusOnly(svc.UpdateResourceGroups(ctx, req))
	}
	h.routes["/resource_groups/describe"] = func(ctx context.Context, c *call) (any, error) {
		r, err := named(c)
		if err != nil {
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
		// Milvus's handler sends no database: the collection is looked up
		// in the default one, whatever dbName the body or header names.
		return statusOnly(svc.TransferReplica(ctx, &milvuspb.TransferReplicaRequest{SourceResourceGroup: r.SourceRgName,
			TargetResourceGroup: r.TargetRgName, CollectionName: r.CollectionName, NumReplica: r.ReplicaNum}))
	}
	return h
}

type rgReq struct {
	Name   string        `json:"name"`
	Config *rgConfigJSON `json:"config"`
}

type rgLimitJSON struct {
	NodeNum int32 `json:"node_num"`
}

// rgConfigJSON is Milvus's REST resource group configuration.
type rgConfigJSON struct {
	Requests     *rgLimitJSON `json:"requests"`
	Limits       *rgLimitJSON `json:"limits"`
	TransferFrom []struct {
		ResourceGroup string `json:"resource_group"`
	} `json:"transfer_from"`
	TransferTo []struct {
		ResourceGroup string `json:"resource_group"`
	} `json:"transfer_to"`
	NodeFilter *struct {
		NodeLabels map[string]string `json:"node_labels"`
	} `json:"node_filter"`
}

// pb is Milvus's toPbResourceGroupConfig: requests and limits are always
// sent (node_num 0 when the body omits them); node_filter only when given,
// its labels in key order (Milvus ranges over a map: any order).
func (c *rgConfigJSON) pb() *rgpb.ResourceGroupConfig {
	if c == nil {
		return nil
	}
	out := &rgpb.ResourceGroupConfig{Requests: &rgpb.ResourceGroupLimit{}, Limits: &rgpb.ResourceGroupLimit{}}
	if c.Requests != nil {
		out.Requests.NodeNum = c.Requests.NodeNum
	}
	if c.Limits != nil {
		out.Limits.NodeNum = c.Limits.NodeNum
	}
	for _, t := range c.TransferFrom {
		out.TransferFrom = append(out.TransferFrom, &rgpb.ResourceGroupTransfer{ResourceGroup: t.ResourceGroup})
	}
	for _, t := range c.TransferTo {
		out.TransferTo = append(out.TransferTo, &rgpb.ResourceGroupTransfer{ResourceGroup: t.ResourceGroup})
	}
	if c.NodeFilter != nil {
		out.NodeFilter = &rgpb.ResourceGroupNodeFilter{}
		for _, k := range slices.Sorted(maps.Keys(c.NodeFilter.NodeLabels)) {
			out.NodeFilter.NodeLabels = append(out.NodeFilter.NodeLabels, &commonpb.KeyValuePair{Key: k, Value: c.NodeFilter.NodeLabels[k]})
		}
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
