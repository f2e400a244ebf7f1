package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

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
	// dataCoord.compaction.clustering.*
	DataCoordCompactionClusteringEnable                 bool
	DataCoordCompactionClusteringAutoEnable             bool
	DataCoordCompactionClusteringTriggerInterval        int // seconds
	DataCoordCompactionClusteringMinInterval            int // seconds
	DataCoordCompactionClusteringMaxInterval            int // seconds
	DataCoordCompactionClusteringNewDataSizeThreshold   int64
	DataCoordCompactionClusteringPreferSegmentSizeRatio float64
	// dataCoord.sortCompaction.enable, dataCoord.sortCompactionTriggerCount
	DataCoordSortCompactionEnable       bool
	DataCoordSortCompactionTriggerCount int
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
	boolKey("dataCoord.compaction.clustering.enable", "true", "allow the automatic clustering compaction (manual Compact(is_clustering) always runs, as in Milvus)",
		func(c *Config) *bool { return &c.DataCoordCompactionClusteringEnable }),
	boolKey("dataCoord.compaction.clustering.autoEnable", "false", "run the automatic clustering compaction trigger (needs enableAutoCompaction and clustering.enable)",
		func(c *Config) *bool { return &c.DataCoordCompactionClusteringAutoEnable }),
	intKey("dataCoord.compaction.clustering.triggerInterval", "600", 1, math.MaxInt32, "seconds between two passes of the automatic clustering trigger",
		func(c *Config) *int { return &c.DataCoordCompactionClusteringTriggerInterval }),
	intKey("dataCoord.compaction.clustering.minInterval", "3600", 0, math.MaxInt32, "seconds after a clustering compaction of a partition before the trigger compacts it again",
		func(c *Config) *int { return &c.DataCoordCompactionClusteringMinInterval }),
	intKey("dataCoord.compaction.clustering.maxInterval", "259200", 0, math.MaxInt32, "seconds after which the trigger compacts a clustered partition again whatever its new data",
		func(c *Config) *int { return &c.DataCoordCompactionClusteringMaxInterval }),
	sizeKey("dataCoord.compaction.clustering.newDataSizeThreshold", "512m", "bytes of segments not clustered yet (512m, 1g, 1024) above which the trigger compacts a partition",
		func(c *Config) *int64 { return &c.DataCoordCompactionClusteringNewDataSizeThreshold }),
	floatKey("dataCoord.compaction.clustering.preferSegmentSizeRatio", "0.8", 0.01, 10, "share of the maximum segment size a clustering compaction cuts its segments at",
		func(c *Config) *float64 { return &c.DataCoordCompactionClusteringPreferSegmentSizeRatio }),
	boolKey("dataCoord.sortCompaction.enable", "true", "rewrite every flushed segment sorted by primary key (sort compaction; the automatic triggers run it)",
		func(c *Config) *bool { return &c.DataCoordSortCompactionEnable }),
	intKey("dataCoord.sortCompactionTriggerCount", "100", 1, math.MaxInt32, "segments a pass of the triggers sorts at most",
		func(c *Config) *int { return &c.DataCoordSortCompactionTriggerCount }),
}

// sizeKey is a byte size as Milvus writes them: a number of bytes, or a
// number followed by k, m or g (powers of 1024; "kb", "mb", "gb" too).
func sizeKey(name, def, help string, field func(*Config) *int64) Key {
	return Key{Name: name, Type: "int", Default: def, Help: help, set: func(c *Config, raw string) error {
		n, err := parseSize(scalar(raw, def))
		if err != nil {
			return err
		}
		*field(c) = n
		return nil
	}}
}

func parseSize(s string) (int64, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("not a size (bytes, or a number with k, m or g)")
	}
	return n * mult, nil
}

func init() {
	for i := range lifecycleKeys {
		lifecycleKeys[i].Env = EnvName(lifecycleKeys[i].Name)
	}
	keys = append(keys, lifecycleKeys...)
}
