package contract

// Replica is one copy of a loaded collection: the query nodes it owns in
// its resource group and, per shard (vchannel), the node that serves it
// (Milvus's shard leader).
type Replica struct {
	ID            int64
	CollectionID  int64
	ResourceGroup string
	Nodes         []int64
	Shards        []ShardReplica
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
