package config

import "math"

// InterimIndex is Milvus's queryNode.segcore.interimIndex.* keys: the
// index a query node builds on growing segments' dense vector fields
// (docs/interim-index.md). Its fields spell their keys (it is embedded in
// Config).
type InterimIndex struct {
	QueryNodeSegcoreInterimIndexEnableIndex     bool
	QueryNodeSegcoreInterimIndexNlist           int
	QueryNodeSegcoreInterimIndexNprobe          int
	QueryNodeSegcoreInterimIndexIndexBuildRatio float64
}

// interimKeys are the interim index keys, with Milvus 2.6's defaults.
var interimKeys = []Key{
	boolKey("queryNode.segcore.interimIndex.enableIndex", "true", "build an interim IVF index on growing segments' dense vector fields (float, float16, bfloat16, int8), chunk by chunk in the background, so that searching unsealed rows is not a full scan",
		func(c *Config) *bool { return &c.QueryNodeSegcoreInterimIndexEnableIndex }),
	intKey("queryNode.segcore.interimIndex.nlist", "128", 1, 1024, "lists (k-means centroids) of the interim index",
		func(c *Config) *int { return &c.QueryNodeSegcoreInterimIndexNlist }),
	intKey("queryNode.segcore.interimIndex.nprobe", "16", 1, 1024, "lists an interim index search probes when the request gives no nprobe; at most nlist",
		func(c *Config) *int { return &c.QueryNodeSegcoreInterimIndexNprobe }),
	floatKey("queryNode.segcore.interimIndex.indexBuildRatio", "0.1", 0, math.Nextafter(1, 0), "share of a full segment's rows (1 GiB of the vector field) a growing segment holds before its interim index is trained",
		func(c *Config) *float64 { return &c.QueryNodeSegcoreInterimIndexIndexBuildRatio }),
}

func init() {
	for i := range interimKeys {
		interimKeys[i].Env = EnvName(interimKeys[i].Name)
	}
	keys = append(keys, interimKeys...)
}
