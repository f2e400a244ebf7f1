package quota

import (
	"maps"
	"slices"

	"github.com/milvago/milvago/internal/contract"
)

// nodeMetrics puts the sampled nodes into m as Milvus's quota center keeps
// them: query nodes (and streaming nodes, whose growing data Milvus 2.6
// serves with an embedded query node, unless a query node has the same
// ID, as in standalone), data nodes and proxies. A node's Effect is where
// its collections live when the center read that this sample (query,
// data), else every collection for a center that has no placement
// (standalone: every node holds all), else what the node reports.
func (c *Center) nodeMetrics(m *contract.QuotaCenterMetrics, nodes []NodeMemory, query, data map[int64][]int64, colls []StoredCollection) {
	var all []int64
	if c.cfg.Placement == nil && colls != nil {
		all = make([]int64, 0, len(colls))
		for _, coll := range colls {
			all = append(all, coll.ID)
		}
		slices.Sort(all)
	}
	effect := func(n NodeMemory, placed map[int64][]int64) contract.NodeEffect {
		ids := n.Collections
		switch {
		case placed != nil:
			ids = placed[n.ID]
		case all != nil:
			ids = all
		}
		return contract.NodeEffect{NodeID: n.ID, CollectionIDs: append([]int64{}, ids...)}
	}
	for _, n := range nodes {
		switch n.Role {
		case RoleQueryNode, RoleStreamingNode:
			if _, ok := m.QueryNodeMetrics[n.ID]; ok && n.Role == RoleStreamingNode {
				continue
			}
			m.QueryNodeMetrics[n.ID] = &contract.QueryNodeQuotaMetrics{Hms: n.Hardware, Rms: []contract.RateMetric{},
				GrowingSegmentsSize: int64(n.Growing), Effect: effect(n, query),
				DeleteBufferInfo: contract.DeleteBufferInfo{CollectionDeleteBufferNum: map[int64]int64{}, CollectionDeleteBufferSize: map[int64]int64{}}}
		case RoleDataNode:
			m.DataNodeMetrics[n.ID] = &contract.DataNodeQuotaMetrics{Hms: n.Hardware, Rms: []contract.RateMetric{}, Effect: effect(n, data)}
		case RoleProxy:
			m.ProxyMetrics[n.ID] = &contract.ProxyQuotaMetrics{Hms: n.Hardware, Rms: []contract.RateMetric{},
				QueueMetrics: []contract.TaskQueueMetrics{}}
		}
	}
}

// stateMetrics is the verdict in Milvus's names.
func stateMetrics(s *States) contract.QuotaStateMetrics {
	out := contract.QuotaStateMetrics{States: []contract.QuotaState{}}
	if s.Factor > 0 && s.Factor < 1 {
		out.DMLRateFactor = s.Factor
	} else {
		out.DMLRateFactor = 1
	}
	if len(s.Factors) > 0 {
		out.CollectionDMLRateFactors = maps.Clone(s.Factors)
	}
	deny := func(scope string, id int64, name, code, reason string) {
		out.States = append(out.States, contract.QuotaState{Scope: scope, ID: id, Name: name,
			State: contract.QuotaDenyToWrite, Code: code, Reason: reason})
	}
	if s.MemoryAll {
		deny(contract.QuotaStateScopeCluster, 0, "", contract.QuotaMemoryExhausted, "")
	}
	if s.DiskAll != "" {
		deny(contract.QuotaStateScopeCluster, 0, "", contract.QuotaDiskExhausted, s.DiskAll)
	}
	for _, db := range slices.Sorted(maps.Keys(s.DiskDBs)) {
		deny(contract.QuotaStateScopeDB, 0, db, contract.QuotaDiskExhausted, "")
	}
	for _, id := range slices.Sorted(maps.Keys(s.Memory)) {
		deny(contract.QuotaStateScopeColl, id, "", contract.QuotaMemoryExhausted, "")
	}
	for _, id := range slices.Sorted(maps.Keys(s.DiskCollections)) {
		deny(contract.QuotaStateScopeColl, id, "", contract.QuotaDiskExhausted, "")
	}
	for _, id := range slices.Sorted(maps.Keys(s.DiskPartitions)) {
		deny(contract.QuotaStateScopePartition, id, "", contract.QuotaDiskExhausted, "")
	}
	return out
}
