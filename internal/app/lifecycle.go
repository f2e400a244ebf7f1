package app

import (
	"time"

	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/datacoord"
)

// dataFromConfig is the data coordinator's configuration: its defaults
// with the compaction and garbage-collection keys (dataCoord.*) applied.
func dataFromConfig(c *config.Config) datacoord.Config {
	d := datacoord.Default()
	l := c.Lifecycle
	d.Compaction.Enable = l.DataCoordEnableCompaction
	d.Compaction.Auto = l.DataCoordCompactionEnableAutoCompaction
	d.Compaction.TriggerInterval = time.Duration(l.DataCoordCompactionMixTriggerInterval) * time.Second
	d.Compaction.DeletedRatio = l.DataCoordCompactionSingleRatioThreshold
	d.Compaction.SmallProportion = l.DataCoordSegmentSmallProportion
	d.Compaction.Clustering.Enable = l.DataCoordCompactionClusteringEnable
	d.Compaction.Clustering.Auto = l.DataCoordCompactionClusteringAutoEnable
	d.Compaction.Clustering.TriggerInterval = time.Duration(l.DataCoordCompactionClusteringTriggerInterval) * time.Second
	d.Compaction.Clustering.MinInterval = time.Duration(l.DataCoordCompactionClusteringMinInterval) * time.Second
	d.Compaction.Clustering.MaxInterval = time.Duration(l.DataCoordCompactionClusteringMaxInterval) * time.Second
	d.Compaction.Clustering.NewDataSize = l.DataCoordCompactionClusteringNewDataSizeThreshold
	d.Compaction.Clustering.PreferSegmentSizeRatio = l.DataCoordCompactionClusteringPreferSegmentSizeRatio
	d.Compaction.Sort = l.DataCoordSortCompactionEnable
	d.Compaction.SortPerTrigger = l.DataCoordSortCompactionTriggerCount
	d.GC.Enable = l.DataCoordEnableGarbageCollection
	d.GC.Interval = time.Duration(l.DataCoordGCInterval) * time.Second
	d.GC.MissingTolerance = time.Duration(l.DataCoordGCMissingTolerance) * time.Second
	d.GC.DropTolerance = time.Duration(l.DataCoordGCDropTolerance) * time.Second
	return d
}
