package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/sysinfo"
)

// nodeMemory gives the write protection the workers' memory from the
// component infos GetMetrics reports: in a cluster each data, query and
// streaming node's own (gathered through the sessions), standalone the
// process's, with a query node's growing segment bytes and collections
// from its quota_metrics (Milvus's QueryNodeQuotaMetrics). The proxies'
// come along for the quota metrics (when the infos list them). One code
// path for both modes.
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
		case sysinfo.RoleQueryNode:
			role = quota.RoleQueryNode
		case sysinfo.RoleStreamingNode: // it holds the growing segments of its channels
			role = quota.RoleStreamingNode
		case sysinfo.RoleProxy:
			role = quota.RoleProxy
		default:
			continue
		}
		if c.HasError {
			continue
		}
		hw := c.HardwareInfos
		m := quota.NodeMemory{Role: role, ID: c.ID, Used: hw.MemoryUsage, Total: hw.Memory, Hardware: hw}
		if q := c.QuotaMetrics; q != nil {
			m.Growing = uint64(max(q.GrowingSegmentsSize, 0))
			m.Collections = q.Effect.CollectionIDs
		}
		out = append(out, m)
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
	QuotaMetrics(ctx context.Context) (*contract.DataCoordQuotaMetrics, error)
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

// BinlogSizes is the data coordinator's sizes, kept as segments change:
// one call (in a cluster one RPC) for every collection.
func (s storedSizes) BinlogSizes(ctx context.Context) (*contract.DataCoordQuotaMetrics, error) {
	m, err := s.data.QuotaMetrics(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: binlog sizes: %w", err)
	}
	return m, nil
}

func props(kvs []*commonpb.KeyValuePair) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = kv.GetValue()
	}
	return m
}

// quotaReplicas and quotaChannels are what placement reads of the query
// and data coordinators (in-process or their RPC clients).
type quotaReplicas interface {
	Replicas(ctx context.Context, collectionID int64) ([]contract.Replica, error)
}

type quotaChannels interface {
	Assignments(ctx context.Context) (map[string]int64, error)
}

// placement tells the quota center which collections each worker holds,
// as Milvus's nodes report their metric.Effect.CollectionIDs: a query node
// the collections of the replicas it belongs to, a data node those whose
// physical channels it consumes.
type placement struct {
	root     quotaRoot
	replicas quotaReplicas
	channels quotaChannels
}

func (p placement) Placement(ctx context.Context) (query, data map[int64][]int64, err error) {
	owners, err := p.channels.Assignments(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("app: channel assignments: %w", err)
	}
	dbs, err := p.root.ListDatabases(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("app: list databases: %w", err)
	}
	query, data = map[int64][]int64{}, map[int64][]int64{}
	add := func(m map[int64][]int64, node, coll int64) {
		if node != 0 && (len(m[node]) == 0 || m[node][len(m[node])-1] != coll) {
			m[node] = append(m[node], coll)
		}
	}
	for _, db := range dbs {
		colls, err := p.root.ListCollections(ctx, db.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("app: list collections of %s: %w", db.Name, err)
		}
		for _, c := range colls {
			seen := map[int64]bool{}
			for _, pc := range c.PChannels {
				if n := owners[pc]; !seen[n] {
					seen[n] = true
					add(data, n, c.ID)
				}
			}
			rs, err := p.replicas.Replicas(ctx, c.ID)
			if errors.Is(err, errs.ErrCollectionNotLoaded) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("app: replicas of collection %d: %w", c.ID, err)
			}
			seen = map[int64]bool{}
			for _, r := range rs {
				for _, n := range r.Nodes {
					if !seen[n] {
						seen[n] = true
						add(query, n, c.ID)
					}
				}
				for _, sh := range r.Shards {
					if !seen[sh.NodeID] {
						seen[sh.NodeID] = true
						add(query, sh.NodeID, c.ID)
					}
				}
			}
		}
	}
	return query, data, nil
}
