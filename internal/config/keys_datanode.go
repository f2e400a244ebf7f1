package config

import "math"

// DataNodeSync is Milvus's keys of when the data node syncs a growing
// segment's insert buffer to the object store before the segment is
// sealed (docs/insert-buffer.md). Its fields spell their keys (it is
// embedded in Config).
type DataNodeSync struct {
	DataNodeSegmentInsertBufSize      int64
	DataNodeMemoryForceSyncEnable     bool
	DataNodeMemoryForceSyncSegmentNum int
	DataNodeMemoryForceSyncWatermark  float64
}

// dataNodeSyncKeys are the sync keys, with Milvus 2.6's defaults.
var dataNodeSyncKeys = []Key{
	int64Key("dataNode.segment.insertBufSize", "16777216", 0, math.MaxInt64, "bytes of a growing segment's buffered rows above which the data node writes them to the object store (one insert binlog per field) and frees them; 0: only at the seal",
		func(c *Config) *int64 { return &c.DataNodeSegmentInsertBufSize }),
	boolKey("dataNode.memory.forceSyncEnable", "true", "sync the largest buffers when the data node's buffers together pass forceSyncWatermark of the memory",
		func(c *Config) *bool { return &c.DataNodeMemoryForceSyncEnable }),
	intKey("dataNode.memory.forceSyncSegmentNum", "1", 1, math.MaxInt32, "buffers synced, largest first, each time the watermark is passed",
		func(c *Config) *int { return &c.DataNodeMemoryForceSyncSegmentNum }),
	floatKey("dataNode.memory.forceSyncWatermark", "0.5", math.SmallestNonzeroFloat64, 1, "share of the memory (the host's, or its cgroup limit) the data node's buffers may take before the largest are synced",
		func(c *Config) *float64 { return &c.DataNodeMemoryForceSyncWatermark }),
}

func init() {
	for i := range dataNodeSyncKeys {
		dataNodeSyncKeys[i].Env = EnvName(dataNodeSyncKeys[i].Name)
	}
	keys = append(keys, dataNodeSyncKeys...)
}
