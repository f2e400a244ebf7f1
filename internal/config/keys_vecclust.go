package config

import "math"

// VectorClustering is the keys Milvus 2.6 reads for clustering compaction
// on a vector clustering key and for pruning segments at search time
// (docs/vector-clustering.md). Its fields spell their keys (it is embedded
// in Config).
type VectorClustering struct {
	// common.enableVectorClusteringKey, common.useVectorAsClusteringKey,
	// common.usePartitionKeyAsClusteringKey
	CommonEnableVectorClusteringKey      bool
	CommonUseVectorAsClusteringKey       bool
	CommonUsePartitionKeyAsClusteringKey bool
	// dataCoord.compaction.clustering.*: the k-means of a vector key
	DataCoordCompactionClusteringMaxSegmentSizeRatio float64
	DataCoordCompactionClusteringMaxTrainSizeRatio   float64
	DataCoordCompactionClusteringMaxCentroidsNum     int
	DataCoordCompactionClusteringMinCentroidsNum     int
	DataCoordCompactionClusteringMinClusterSizeRatio float64
	DataCoordCompactionClusteringMaxClusterSizeRatio float64
	DataCoordCompactionClusteringMaxClusterSize      int64
	// queryNode.enableSegmentPrune, queryNode.defaultSegmentFilterRatio
	QueryNodeEnableSegmentPrune        bool
	QueryNodeDefaultSegmentFilterRatio float64
}

// vecClusteringKeys are those keys, with Milvus 2.6's defaults.
var vecClusteringKeys = []Key{
	boolKey("common.enableVectorClusteringKey", "false", "allow a FloatVector clustering key (off: CreateCollection refuses one with \"vector clustering key not allowed\") and clustering compaction by k-means on it",
		func(c *Config) *bool { return &c.CommonEnableVectorClusteringKey }),
	boolKey("common.useVectorAsClusteringKey", "false", "with enableVectorClusteringKey, a collection without a clustering key whose only FloatVector field is that field is clustered and pruned by it",
		func(c *Config) *bool { return &c.CommonUseVectorAsClusteringKey }),
	boolKey("common.usePartitionKeyAsClusteringKey", "false", "a collection without a clustering key is clustered by its partition key field",
		func(c *Config) *bool { return &c.CommonUsePartitionKeyAsClusteringKey }),
	floatKey("dataCoord.compaction.clustering.maxSegmentSizeRatio", "1.0", 0.01, 10, "share of the maximum segment size a vector clustering compaction aims each cluster at (the number of centroids is the vectors' bytes over it), and at which it cuts a larger cluster",
		func(c *Config) *float64 { return &c.DataCoordCompactionClusteringMaxSegmentSizeRatio }),
	floatKey("dataCoord.compaction.clustering.maxTrainSizeRatio", "0.8", 0.01, 1, "at most this share of the vectors (and at most 256 per centroid) trains the k-means; the rest are only assigned",
		func(c *Config) *float64 { return &c.DataCoordCompactionClusteringMaxTrainSizeRatio }),
	intKey("dataCoord.compaction.clustering.maxCentroidsNum", "10240", 1, math.MaxInt32, "most centroids of a vector clustering compaction",
		func(c *Config) *int { return &c.DataCoordCompactionClusteringMaxCentroidsNum }),
	intKey("dataCoord.compaction.clustering.minCentroidsNum", "16", 1, math.MaxInt32, "fewest centroids: a partition whose vectors would need fewer is not clustered (its plan fails with \"vector field clustering compaction is not supported\", as Milvus)",
		func(c *Config) *int { return &c.DataCoordCompactionClusteringMinCentroidsNum }),
	floatKey("dataCoord.compaction.clustering.minClusterSizeRatio", "0.01", 0, 1, "a cluster smaller than this share of the average cluster is merged into its nearest cluster",
		func(c *Config) *float64 { return &c.DataCoordCompactionClusteringMinClusterSizeRatio }),
	floatKey("dataCoord.compaction.clustering.maxClusterSizeRatio", "10", 1, math.MaxFloat32, "a cluster larger than this many average clusters is cut into several segments sharing its centroid",
		func(c *Config) *float64 { return &c.DataCoordCompactionClusteringMaxClusterSizeRatio }),
	sizeKey("dataCoord.compaction.clustering.maxClusterSize", "5g", "bytes of vectors above which a cluster is cut into several segments sharing its centroid",
		func(c *Config) *int64 { return &c.DataCoordCompactionClusteringMaxClusterSize }),
	boolKey("queryNode.enableSegmentPrune", "false", "prune sealed segments of a search by the distance from each query to the centroids of a vector clustering key (partition statistics)",
		func(c *Config) *bool { return &c.QueryNodeEnableSegmentPrune }),
	floatKey("queryNode.defaultSegmentFilterRatio", "2", 0, math.MaxFloat32, "a pruned search keeps the sqrt(n) * ratio segments whose centroids are nearest each query (n clustered segments), and more until they hold topk rows",
		func(c *Config) *float64 { return &c.QueryNodeDefaultSegmentFilterRatio }),
}

func init() {
	for i := range vecClusteringKeys {
		vecClusteringKeys[i].Env = EnvName(vecClusteringKeys[i].Name)
	}
	keys = append(keys, vecClusteringKeys...)
}
