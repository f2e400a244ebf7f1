package config

import "math"

// ShardBalance is Milvus's queryCoord.* keys of the balance checker,
// which moves shards onto query nodes that joined a replica
// (internal/querycoord/autobalance.go). Its fields spell their keys (it is
// embedded in Config).
type ShardBalance struct {
	QueryCoordAutoBalance         bool
	QueryCoordAutoBalanceChannel  bool
	QueryCoordAutoBalanceInterval int // milliseconds
}

// shardBalanceKeys are the balance checker's keys, with Milvus's
// defaults. In Milvago a shard (a DML channel) is the unit a query node
// serves, so the checker runs when both switches are on.
var shardBalanceKeys = []Key{
	boolKey("queryCoord.autoBalance", "true", "run the query coordinator's balance checker, which evens out each replica's shards over its query nodes (a node that joins gets work); LoadBalance works either way",
		func(c *Config) *bool { return &c.QueryCoordAutoBalance }),
	boolKey("queryCoord.autoBalanceChannel", "true", "balance shards (DML channels) between query nodes; Milvago's checker moves shards only, so it runs when this and queryCoord.autoBalance are both on",
		func(c *Config) *bool { return &c.QueryCoordAutoBalanceChannel }),
	intKey("queryCoord.autoBalanceInterval", "3000", 100, math.MaxInt32, "milliseconds between two rounds of the balance checker (one shard move per replica per round)",
		func(c *Config) *int { return &c.QueryCoordAutoBalanceInterval }),
}

func init() {
	for i := range shardBalanceKeys {
		shardBalanceKeys[i].Env = EnvName(shardBalanceKeys[i].Name)
	}
	keys = append(keys, shardBalanceKeys...)
}
