package config

import "math"

// Lifecycle is Milvus's dataCoord.* keys for compaction and garbage
// collection. Its fields spell their keys (it is embedded in Config).
type Lifecycle struct {
	DataCoordEnableCompaction               bool
	DataCoordCompactionEnableAutoCompaction bool
	DataCoordCompactionMixTriggerInterval   int // seconds
	DataCoordCompactionSingleRatioThreshold float64
	DataCoordSegmentSmallProportion         float64
	DataCoordEnableGarbageCollection        bool
	DataCoordGCInterval                     int // seconds
	DataCoordGCMissingTolerance             int // seconds
	DataCoordGCDropTolerance                int // seconds
}

// lifecycleKeys are the compaction and garbage-collection keys. Defaults
// are Milvus's except the intervals, shorter so that space comes back
// within minutes of a delete (docs/compaction.md).
var lifecycleKeys = []Key{
	boolKey("dataCoord.enableCompaction", "true", "compact segments: rewrite them without deleted and expired rows, merge small ones (off: ManualCompaction answers \"compaction disabled\")",
		func(c *Config) *bool { return &c.DataCoordEnableCompaction }),
	boolKey("dataCoord.compaction.enableAutoCompaction", "true", "run the automatic compaction triggers (deleted ratio, small segments, expired rows)",
		func(c *Config) *bool { return &c.DataCoordCompactionEnableAutoCompaction }),
	intKey("dataCoord.compaction.mix.triggerInterval", "30", 1, math.MaxInt32, "seconds between two passes of the automatic compaction triggers (Milvus: 60)",
		func(c *Config) *int { return &c.DataCoordCompactionMixTriggerInterval }),
	floatKey("dataCoord.compaction.single.ratio.threshold", "0.2", 0, 1, "share of a segment's rows deleted above which it is rewritten",
		func(c *Config) *float64 { return &c.DataCoordCompactionSingleRatioThreshold }),
	floatKey("dataCoord.segment.smallProportion", "0.5", 0, 10, "a segment below this share of the maximum segment size is small: small segments are merged",
		func(c *Config) *float64 { return &c.DataCoordSegmentSmallProportion }),
	boolKey("dataCoord.enableGarbageCollection", "true", "delete the files of compacted and dropped segments, and files no metadata refers to",
		func(c *Config) *bool { return &c.DataCoordEnableGarbageCollection }),
	intKey("dataCoord.gc.interval", "60", 1, math.MaxInt32, "seconds between two garbage collection passes (Milvus: 3600)",
		func(c *Config) *int { return &c.DataCoordGCInterval }),
	intKey("dataCoord.gc.missingTolerance", "3600", 1, math.MaxInt32, "seconds a file no metadata refers to is kept before it is deleted (Milvus: 86400)",
		func(c *Config) *int { return &c.DataCoordGCMissingTolerance }),
	intKey("dataCoord.gc.dropTolerance", "300", 0, math.MaxInt32, "seconds the files of a compacted or dropped segment are kept for readers still planned on them (Milvus: 10800)",
		func(c *Config) *int { return &c.DataCoordGCDropTolerance }),
}

func init() {
	for i := range lifecycleKeys {
		lifecycleKeys[i].Env = EnvName(lifecycleKeys[i].Name)
	}
	keys = append(keys, lifecycleKeys...)
}
