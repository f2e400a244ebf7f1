package app

import (
	"time"

	"github.com/milvago/milvago/internal/clusterkey"
	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/querynode"
	"github.com/milvago/milvago/internal/retention"
)

// dataFromConfig is the data coordinator's configuration: its defaults
// with the compaction and garbage-collection keys (dataCoord.*) applied.
func dataFromConfig(c *config.Config) datacoord.Config {
	d := datacoord.Default()
	d.MaxSegmentBytes = int64(c.Tuning.DataCoordSegmentMaxSize * (1 << 20))
	d.MaxSegmentRows = c.Tuning.MilvagoDataCoordSegmentMaxRows
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
	vc := c.VectorClustering
	d.Compaction.Clustering.Key = clusterKeyOptions(c)
	d.Compaction.Clustering.MaxSegmentSizeRatio = vc.DataCoordCompactionClusteringMaxSegmentSizeRatio
	d.Compaction.Clustering.MaxTrainSizeRatio = vc.DataCoordCompactionClusteringMaxTrainSizeRatio
	d.Compaction.Clustering.MinCentroids = int64(vc.DataCoordCompactionClusteringMinCentroidsNum)
	d.Compaction.Clustering.MaxCentroids = int64(vc.DataCoordCompactionClusteringMaxCentroidsNum)
	d.Compaction.Clustering.MinClusterSizeRatio = vc.DataCoordCompactionClusteringMinClusterSizeRatio
	d.Compaction.Clustering.MaxClusterSizeRatio = vc.DataCoordCompactionClusteringMaxClusterSizeRatio
	d.Compaction.Clustering.MaxClusterSize = vc.DataCoordCompactionClusteringMaxClusterSize
	d.Compaction.Sort = l.DataCoordSortCompactionEnable
	d.Compaction.SortPerTrigger = l.DataCoordSortCompactionTriggerCount
	d.GC.Enable = l.DataCoordEnableGarbageCollection
	d.GC.Interval = time.Duration(l.DataCoordGCInterval) * time.Second
	d.GC.MissingTolerance = time.Duration(l.DataCoordGCMissingTolerance) * time.Second
	d.GC.DropTolerance = time.Duration(l.DataCoordGCDropTolerance) * time.Second
	return d
}

// clusterKeyOptions are the common.* keys that decide a collection's
// clustering key (the data coordinator's, the proxy's and the query
// nodes' view of it must agree).
func clusterKeyOptions(c *config.Config) clusterkey.Options {
	vc := c.VectorClustering
	return clusterkey.Options{EnableVectorKey: vc.CommonEnableVectorClusteringKey, UseVectorAsKey: vc.CommonUseVectorAsClusteringKey,
		UsePartitionKeyAsKey: vc.CommonUsePartitionKeyAsClusteringKey}
}

// pruneFromConfig is the query nodes' segment pruning
// (queryNode.enableSegmentPrune, defaultSegmentFilterRatio).
func pruneFromConfig(c *config.Config) querynode.PruneConfig {
	return querynode.PruneConfig{Enable: c.VectorClustering.QueryNodeEnableSegmentPrune,
		FilterRatio: c.VectorClustering.QueryNodeDefaultSegmentFilterRatio, Key: clusterKeyOptions(c)}
}

// retentionFromConfig is the log retention's timing
// (milvago.logRetention.interval, window).
func retentionFromConfig(c *config.Config) retention.Config {
	return retention.Config{Interval: time.Duration(c.Tuning.MilvagoLogRetentionInterval) * time.Millisecond,
		Window: time.Duration(c.Tuning.MilvagoLogRetentionWindow) * time.Second}
}
