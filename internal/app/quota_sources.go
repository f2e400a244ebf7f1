package app

import (
	"context"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/sysinfo"
)

// nodeMemory gives the write protection the workers' memory from the
// component infos GetMetrics reports: in a cluster each data, query and
// streaming node's own (gathered through the sessions), standalone the
// process's. One code path for both modes.
type nodeMemory struct{ infos rpc.SystemInfo }

func (n nodeMemory) NodeMemory(ctx context.Context) ([]quota.NodeMemory, error) {
	comps, err := n.infos.Components(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: component infos: %w", err)
	}
	var out []quota.NodeMemory
	for _, c := range comps {
		var role string
		switch c.Type {
		case sysinfo.RoleDataNode:
			role = quota.RoleDataNode
		case sysinfo.RoleQueryNode, sysinfo.RoleStreamingNode: // the streaming node holds the growing segments
			role = quota.RoleQueryNode
		default:
			continue
		}
		if c.HasError {
			continue
		}
		hw := c.HardwareInfos
		out = append(out, quota.NodeMemory{Role: role, ID: c.ID, Used: hw.MemoryUsage, Total: hw.Memory})
	}
	return out, nil
}

// quotaRoot and quotaData are what storedSizes reads of the root and data
// coordinators (in-process or their RPC clients).
type quotaRoot interface {
	ListDatabases(ctx context.Context) ([]contract.Database, error)
	ListCollections(ctx context.Context, db string) ([]*model.Collection, error)
}

type quotaData interface {
	Segments(ctx context.Context, collection int64, vchannel string) ([]model.Segment, error)
}

// storedSizes gives the disk quotas the collections and their binlog
// bytes by partition, as Milvus's QuotaCenter reads datacoord's quota
// metrics.
type storedSizes struct {
	root quotaRoot
	data quotaData
}

func (s storedSizes) Collections(ctx context.Context) ([]quota.StoredCollection, error) {
	dbs, err := s.root.ListDatabases(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: list databases: %w", err)
	}
	var out []quota.StoredCollection
	for _, db := range dbs {
		colls, err := s.root.ListCollections(ctx, db.Name)
		if err != nil {
			return nil, fmt.Errorf("app: list collections of %s: %w", db.Name, err)
		}
		for _, c := range colls {
			out = append(out, quota.StoredCollection{ID: c.ID, DB: db.Name, DBProps: db.Properties, Props: props(c.Properties)})
		}
	}
	return out, nil
}

func (s storedSizes) PartitionBytes(ctx context.Context, collection int64) (map[int64]int64, error) {
	segs, err := s.data.Segments(ctx, collection, "")
	if err != nil {
		return nil, fmt.Errorf("app: segments of collection %d: %w", collection, err)
	}
	out := map[int64]int64{}
	for _, seg := range segs {
		out[seg.PartitionID] += seg.SizeBytes
	}
	return out, nil
}

func props(kvs []*commonpb.KeyValuePair) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = kv.GetValue()
	}
	return m
}
