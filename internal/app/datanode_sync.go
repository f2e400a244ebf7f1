package app

import (
	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/datanode"
)

// syncFromConfig is the data node's sync policy: dataNode.segment.insertBufSize
// and dataNode.memory.forceSync*.
func syncFromConfig(c *config.Config) datanode.SyncPolicy {
	k := c.DataNodeSync
	return datanode.SyncPolicy{InsertBufSize: k.DataNodeSegmentInsertBufSize, ForceSyncEnable: k.DataNodeMemoryForceSyncEnable,
		ForceSyncSegmentNum: k.DataNodeMemoryForceSyncSegmentNum, ForceSyncWatermark: k.DataNodeMemoryForceSyncWatermark}
}
