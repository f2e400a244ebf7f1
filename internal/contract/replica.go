package contract

import (
	"fmt"
	"slices"
	"strings"
)

// Replica is one copy of a loaded collection: the query nodes it owns in
// its resource group and, per shard (vchannel), the node that serves it
// (Milvus's shard leader).
type Replica struct {
	ID            int64
	CollectionID  int64
	ResourceGroup string
	Nodes         []int64
	Shards        []ShardReplica
	// Outbound counts, per other resource group, the replica's read-only
	// nodes there: nodes it keeps serving from outside its own group
	// until that group has a node for it (Milvus's NumOutboundNode).
	Outbound map[string]int32
}

// ShardReplica is one shard of a replica: its serving node and that
// node's address; NodeID 0: the shard has no live node (the replica is
// unhealthy until one joins its resource group).
type ShardReplica struct {
	VChannel string
	NodeID   int64
	Addr     string
}

// Serviceable reports whether every shard of the replica has a node.
func (r Replica) Serviceable() bool {
	for _, s := range r.Shards {
		if s.NodeID == 0 {
			return false
		}
	}
	return len(r.Shards) > 0
}

// RGConfig is a resource group's configuration (Milvus's
// rgpb.ResourceGroupConfig): how many query nodes it asks for and may
// hold, and which groups it prefers to take nodes from and give them to.
type RGConfig struct {
	Requests     int32    `json:"requests"`
	Limits       int32    `json:"limits"`
	TransferFrom []string `json:"transfer_from,omitempty"`
	TransferTo   []string `json:"transfer_to,omitempty"`
	// NodeLabels is node_filter.node_labels: a group other than the
	// default one takes only query nodes carrying every one of these
	// labels (empty: any node).
	NodeLabels []NodeLabel `json:"node_labels,omitempty"`
	// NoRequests and NoLimits mark a configuration that left requests or
	// limits out (a nil rgpb.ResourceGroupLimit), which Milvus refuses
	// with "requests or limits is required"; a stored group never has
	// them set.
	NoRequests bool `json:"no_requests,omitempty"`
	NoLimits   bool `json:"no_limits,omitempty"`
}

// NodeLabel is one key and value of a query node's labels.
type NodeLabel struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// String renders the configuration as Milvus's errors show an
// rgpb.ResourceGroupConfig (its compact protobuf text: absent parts and
// zero node counts left out).
func (c RGConfig) String() string {
	var parts []string
	limit := func(name string, n int32) string {
		if n == 0 {
			return name + ":{}"
		}
		return fmt.Sprintf("%s:{node_num:%d}", name, n)
	}
	if !c.NoRequests {
		parts = append(parts, limit("requests", c.Requests))
	}
	if !c.NoLimits {
		parts = append(parts, limit("limits", c.Limits))
	}
	for _, g := range c.TransferFrom {
		parts = append(parts, fmt.Sprintf("transfer_from:{resource_group:%q}", g))
	}
	for _, g := range c.TransferTo {
		parts = append(parts, fmt.Sprintf("transfer_to:{resource_group:%q}", g))
	}
	if len(c.NodeLabels) > 0 {
		var ls []string
		for _, l := range c.NodeLabels {
			ls = append(ls, fmt.Sprintf("node_labels:{key:%q value:%q}", l.Key, l.Value))
		}
		parts = append(parts, "node_filter:{"+strings.Join(ls, " ")+"}")
	}
	return strings.Join(parts, " ")
}

// Equal reports whether two configurations are the same.
func (c RGConfig) Equal(o RGConfig) bool {
	return c.Requests == o.Requests && c.Limits == o.Limits && slices.Equal(c.TransferFrom, o.TransferFrom) && slices.Equal(c.TransferTo, o.TransferTo) &&
		slices.Equal(c.NodeLabels, o.NodeLabels) && c.NoRequests == o.NoRequests && c.NoLimits == o.NoLimits
}

// RGNode is a query node of a resource group.
type RGNode struct {
	ID   int64
	Addr string
}

// RGInfo describes a resource group (DescribeResourceGroup).
type RGInfo struct {
	Name   string
	Config RGConfig
	Nodes  []RGNode
	// LoadedReplicas counts, per collection, its replicas in the group;
	// Outgoing, per collection, the read-only nodes outside the group that
	// its replicas in the group still use, Incoming the group's nodes that
	// its replicas in other groups still use (Milvus's NumOutgoingNode and
	// NumIncomingNode; empty: every replica uses its own group's nodes).
	LoadedReplicas map[int64]int32
	Outgoing       map[int64]int32
	Incoming       map[int64]int32
}

// QuerySegment is a sealed segment as the query nodes serve it
// (GetQuerySegmentInfo): the nodes serving its shard, one per replica.
type QuerySegment struct {
	SegmentID    int64
	CollectionID int64
	PartitionID  int64
	NumRows      int64
	MemSize      int64
	IndexID      int64
	IndexName    string
	NodeIDs      []int64
}
