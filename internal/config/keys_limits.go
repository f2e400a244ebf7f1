package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Limits is what bounds one request and the whole server: Milvus's
// quotaAndLimits.*, proxy.maxResultEntries and proxy.grpc.serverMaxRecvSize.
type Limits struct {
	// Enabled is quotaAndLimits.enabled: rate limits and write protection.
	// The per-request limits (nq, topK, ...) apply regardless, as in Milvus.
	Enabled bool
	// NQ, TopK, MaxQueryResultWindow, MaxOutputSize, MaxInsertSize are
	// quotaAndLimits.limits.*; MaxInsertSize -1 is no limit beyond
	// ServerMaxRecvSize.
	NQ, TopK, MaxQueryResultWindow int
	MaxOutputSize, MaxInsertSize   int64
	// MaxResultEntries is proxy.maxResultEntries (nq*topk*groupSize);
	// <= 0 is no limit.
	MaxResultEntries int64
	// SearchRequeryPolicy and HybridSearchRequeryPolicy are
	// common.requery.searchPolicy and common.requery.hybridSearchPolicy:
	// when a search's shards return only keys and scores and the proxy
	// fetches the winners' output fields in a second query ("always",
	// "outputvector" or "outputfields").
	SearchRequeryPolicy, HybridSearchRequeryPolicy string
	// ServerMaxRecvSize is proxy.grpc.serverMaxRecvSize: the largest request.
	ServerMaxRecvSize int
	// CollectInterval is quotaAndLimits.quotaCenterCollectInterval in
	// seconds: how often memory and disk are sampled.
	CollectInterval float64

	// Rates: -1 (or any value < 0) is unlimited. Insert, upsert and
	// delete rates are in MB/s, search in vectors/s, the others in
	// requests/s.
	DMLEnabled, DQLEnabled, DDLEnabled bool
	Insert, Delete, BulkLoad           Rates // dml.*Rate; upserts count as inserts
	Search, Query                      Rates // dql.*Rate
	CollectionRate, PartitionRate      float64
	CollectionRateDB, PartitionRateDB  float64 // ddl.db.collectionRate, ddl.db.partitionRate
	FlushEnabled                       bool
	FlushRate, FlushRateCollection     float64
	FlushRateDB                        float64
	IndexEnabled                       bool // indexRate.*: CreateIndex, DropIndex
	IndexRate, IndexRateDB             float64
	CompactionEnabled                  bool // compactionRate.*: ManualCompaction
	CompactionRate, CompactionRateDB   float64
	DBRateEnabled                      bool // dbRate.*: CreateDatabase, DropDatabase, AlterDatabase
	DBRate                             float64
	ForceDenyWriting, ForceDenyReading bool
	// MaxCollectionNum and MaxCollectionNumPerDB are
	// quotaAndLimits.limits.maxCollectionNum and .maxCollectionNumPerDB
	// (the database property database.max.collections overrides the
	// latter); the root coordinator enforces them. 0: its default.
	MaxCollectionNum, MaxCollectionNumPerDB int
	// GrowingProtection is limitWriting.growingSegmentsSizeProtection.*.
	GrowingProtection                           bool
	GrowingMinRateRatio                         float64
	GrowingLowWaterLevel, GrowingHighWaterLevel float64
	// MemProtection: limitWriting.memProtection.*; between a node's low
	// and high water level the collection DML rates are scaled down,
	// above the high level writes are refused.
	MemProtection                                               bool
	DataNodeMemoryLowWaterLevel, DataNodeMemoryHighWaterLevel   float64
	QueryNodeMemoryLowWaterLevel, QueryNodeMemoryHighWaterLevel float64
	// DiskProtection: limitWriting.diskProtection.*, quotas in MB of
	// binlogs (< 0: none).
	DiskProtection                                    bool
	DiskQuotaMB, DiskQuotaPerDBMB                     float64
	DiskQuotaPerCollectionMB, DiskQuotaPerPartitionMB float64
	DiskHighWaterLevel                                float64
}

// Rates are one kind's quotaAndLimits rates: .max, .db.max,
// .collection.max and .partition.max (< 0: unlimited).
type Rates struct {
	Max, DB, Collection, Partition float64
	// CollectionMin is .collection.min: the floor the write protection
	// does not scale a collection's DML rate below (<= 0: none).
	CollectionMin float64
}

func floatKey(name, def string, minV, maxV float64, help string, field func(*Config) *float64) Key {
	return Key{Name: name, Type: "float", Default: def, Help: help, set: func(c *Config, raw string) error {
		f, err := strconv.ParseFloat(scalar(raw, def), 64)
		if err != nil || math.IsNaN(f) {
			return fmt.Errorf("not a number")
		}
		if f < minV || f > maxV {
			return fmt.Errorf("out of range [%g, %g]", minV, maxV)
		}
		*field(c) = f
		return nil
	}}
}

// rate is a quotaAndLimits rate: a number, < 0 meaning unlimited.
func rate(name, unit string, field func(*Config) *float64) Key {
	return floatKey(name, "-1", math.Inf(-1), math.MaxFloat64, unit+"; -1: unlimited", field)
}

// rates are the four keys of one kind's rates: prefix.max, prefix.db.max,
// prefix.collection.max and prefix.partition.max.
func rates(prefix, unit string, field func(*Config) *Rates) []Key {
	return []Key{
		rate(prefix+".max", unit+", all collections together", func(c *Config) *float64 { return &field(c).Max }),
		rate(prefix+".db.max", unit+" of one database", func(c *Config) *float64 { return &field(c).DB }),
		rate(prefix+".collection.max", unit+" of one collection", func(c *Config) *float64 { return &field(c).Collection }),
		rate(prefix+".partition.max", unit+" of one partition (of a request naming it)", func(c *Config) *float64 { return &field(c).Partition }),
	}
}

// minRate is a DML kind's .collection.min key.
func minRate(prefix, unit string, field func(*Config) *Rates) Key {
	return floatKey(prefix+".collection.min", "0", 0, math.MaxFloat64, unit+" below which the memory and growing segments protection does not scale one collection's rate (the collection's .min. property overrides it); 0: no floor",
		func(c *Config) *float64 { return &field(c).CollectionMin })
}

// rateKeys are the DML and DQL rates of every level.
var rateKeys = slices.Concat(
	rates("quotaAndLimits.dml.insertRate", "insert (and upsert) MB per second", func(c *Config) *Rates { return &c.Limits.Insert }),
	rates("quotaAndLimits.dml.deleteRate", "delete MB per second", func(c *Config) *Rates { return &c.Limits.Delete }),
	rates("quotaAndLimits.dml.bulkLoadRate", "bulk import MB per second", func(c *Config) *Rates { return &c.Limits.BulkLoad }),
	rates("quotaAndLimits.dql.searchRate", "search query vectors per second", func(c *Config) *Rates { return &c.Limits.Search }),
	rates("quotaAndLimits.dql.queryRate", "queries per second", func(c *Config) *Rates { return &c.Limits.Query }),
	[]Key{
		minRate("quotaAndLimits.dml.insertRate", "insert (and upsert) MB per second", func(c *Config) *Rates { return &c.Limits.Insert }),
		minRate("quotaAndLimits.dml.deleteRate", "delete MB per second", func(c *Config) *Rates { return &c.Limits.Delete }),
		minRate("quotaAndLimits.dml.bulkLoadRate", "bulk import MB per second", func(c *Config) *Rates { return &c.Limits.BulkLoad }),
	},
	[]Key{
		rate("quotaAndLimits.ddl.db.collectionRate", "collection DDL per second of one database", func(c *Config) *float64 { return &c.Limits.CollectionRateDB }),
		rate("quotaAndLimits.ddl.db.partitionRate", "partition DDL per second of one database", func(c *Config) *float64 { return &c.Limits.PartitionRateDB }),
		rate("quotaAndLimits.flushRate.db.max", "Flush calls per second of one database", func(c *Config) *float64 { return &c.Limits.FlushRateDB }),
		boolKey("quotaAndLimits.indexRate.enabled", "false", "limit the rate of CreateIndex and DropIndex",
			func(c *Config) *bool { return &c.Limits.IndexEnabled }),
		rate("quotaAndLimits.indexRate.max", "CreateIndex and DropIndex calls per second, all databases together", func(c *Config) *float64 { return &c.Limits.IndexRate }),
		rate("quotaAndLimits.indexRate.db.max", "CreateIndex and DropIndex calls per second of one database", func(c *Config) *float64 { return &c.Limits.IndexRateDB }),
		boolKey("quotaAndLimits.compactionRate.enabled", "false", "limit the rate of ManualCompaction",
			func(c *Config) *bool { return &c.Limits.CompactionEnabled }),
		rate("quotaAndLimits.compactionRate.max", "ManualCompaction calls per second, all databases together", func(c *Config) *float64 { return &c.Limits.CompactionRate }),
		rate("quotaAndLimits.compactionRate.db.max", "ManualCompaction calls per second of one database", func(c *Config) *float64 { return &c.Limits.CompactionRateDB }),
		boolKey("quotaAndLimits.dbRate.enabled", "false", "limit the rate of CreateDatabase, DropDatabase and AlterDatabase",
			func(c *Config) *bool { return &c.Limits.DBRateEnabled }),
		rate("quotaAndLimits.dbRate.max", "database DDL (create, drop, alter) per second", func(c *Config) *float64 { return &c.Limits.DBRate }),
		intKey("quotaAndLimits.limits.maxCollectionNum", "65536", 1, math.MaxInt32, "most collections of all databases together",
			func(c *Config) *int { return &c.Limits.MaxCollectionNum }),
		intKey("quotaAndLimits.limits.maxCollectionNumPerDB", "65536", 1, math.MaxInt32, "most collections of one database (the database property database.max.collections overrides it)",
			func(c *Config) *int { return &c.Limits.MaxCollectionNumPerDB }),
		boolKey("quotaAndLimits.limitWriting.growingSegmentsSizeProtection.enabled", "false", "scale down the DML rates of the collections on a query or streaming node whose growing segments take more than lowWaterLevel of its memory",
			func(c *Config) *bool { return &c.Limits.GrowingProtection }),
		floatKey("quotaAndLimits.limitWriting.growingSegmentsSizeProtection.minRateRatio", "0.5", 0, 1, "the lowest factor the growing segments protection scales a DML rate by",
			func(c *Config) *float64 { return &c.Limits.GrowingMinRateRatio }),
		floatKey("quotaAndLimits.limitWriting.growingSegmentsSizeProtection.lowWaterLevel", "0.2", 0, 1, "fraction of a node's memory its growing segments may take before the DML rates of its collections are scaled down",
			func(c *Config) *float64 { return &c.Limits.GrowingLowWaterLevel }),
		floatKey("quotaAndLimits.limitWriting.growingSegmentsSizeProtection.highWaterLevel", "0.4", 0, 1, "fraction of a node's memory in growing segments at which the factor reaches minRateRatio ((high - level) / (high - low), not below minRateRatio; with minRateRatio 0, at or above it the collections' inserts are refused for memory quota, as Milvus)",
			func(c *Config) *float64 { return &c.Limits.GrowingHighWaterLevel }),
	},
)

// limitKeys are the keys of security and bounded resources: the bind
// address, pprof, request limits, rates and write protection.
var limitKeys = []Key{
	strKey("milvago.listen", "", "host or IP address the Milvus API port (proxy.port) and the metrics port (common.MetricsPort) bind to, e.g. 127.0.0.1; empty: all interfaces, as Milvus",
		func(c *Config) *string { return &c.Milvago.Listen }),
	boolKey("milvago.pprof.enabled", "false", "serve Go's /debug/pprof profiles on the metrics port (common.MetricsPort); off by default because profiles reveal internals and cost CPU",
		func(c *Config) *bool { return &c.Milvago.Pprof }),
	intKey("proxy.grpc.serverMaxRecvSize", "67108864", 1024, math.MaxInt32, "largest request the Milvus API accepts, in bytes (Milvus's default is 256 MiB; Milvago's 64 MiB, its largest insert)",
		func(c *Config) *int { return &c.Limits.ServerMaxRecvSize }),
	int64Key("proxy.maxResultEntries", "-1", math.MinInt64, math.MaxInt64, "largest nq * topK * group size of a search; larger searches are refused. <= 0: no limit (Milvus's default)",
		func(c *Config) *int64 { return &c.Limits.MaxResultEntries }),
	boolKey("quotaAndLimits.enabled", "true", "enforce the rate limits (quotaAndLimits.dml/dql/ddl/flushRate) and the write protection (memory and disk water levels)",
		func(c *Config) *bool { return &c.Limits.Enabled }),
	floatKey("quotaAndLimits.quotaCenterCollectInterval", "3", 0.1, 65536, "seconds between two samples of memory and disk use for the write protection",
		func(c *Config) *float64 { return &c.Limits.CollectInterval }),
	intKey("quotaAndLimits.limits.nq", "16384", 1, math.MaxInt32, "most query vectors in one search",
		func(c *Config) *int { return &c.Limits.NQ }),
	intKey("quotaAndLimits.limits.topK", "16384", 1, math.MaxInt32, "largest limit (topK), and offset + limit, of a search",
		func(c *Config) *int { return &c.Limits.TopK }),
	intKey("quotaAndLimits.limits.maxQueryResultWindow", "16384", 1, math.MaxInt32, "largest offset + limit of a query",
		func(c *Config) *int { return &c.Limits.MaxQueryResultWindow }),
	int64Key("quotaAndLimits.limits.maxOutputSize", "104857600", 1, math.MaxInt64, "largest result of one search or query, in bytes (100 MiB); a larger one fails with \"search results exceed the maxOutputSize Limit\"",
		func(c *Config) *int64 { return &c.Limits.MaxOutputSize }),
	enumKey("common.requery.searchPolicy", "outputvector", "when a search fetches its hits' output fields in a second phase, a query by primary key at the search's timestamp, instead of every shard sending its candidates' fields: always, outputvector (when a vector field is an output field), outputfields (when any is) or never (a Milvago value: one phase)",
		func(c *Config) *string { return &c.Limits.SearchRequeryPolicy }, "always", "outputvector", "outputfields", "never"),
	enumKey("common.requery.hybridSearchPolicy", "outputvector", "the same for a hybrid search: always, outputvector (when a vector field is an output field, or with a group-by field) outputfields (when any field is an output field) or never; a reranker's input fields are fetched in the first phase whatever the policy",
		func(c *Config) *string { return &c.Limits.HybridSearchRequeryPolicy }, "always", "outputvector", "outputfields", "never"),
	int64Key("quotaAndLimits.limits.maxInsertSize", "-1", -1, math.MaxInt64, "largest insert or upsert request in bytes; -1: no limit but proxy.grpc.serverMaxRecvSize",
		func(c *Config) *int64 { return &c.Limits.MaxInsertSize }),
	boolKey("quotaAndLimits.ddl.enabled", "false", "limit the rate of collection and partition DDL",
		func(c *Config) *bool { return &c.Limits.DDLEnabled }),
	rate("quotaAndLimits.ddl.collectionRate", "collection DDL (create, drop, load, release, ...) per second", func(c *Config) *float64 { return &c.Limits.CollectionRate }),
	rate("quotaAndLimits.ddl.partitionRate", "partition DDL per second", func(c *Config) *float64 { return &c.Limits.PartitionRate }),
	boolKey("quotaAndLimits.flushRate.enabled", "true", "limit the rate of Flush calls",
		func(c *Config) *bool { return &c.Limits.FlushEnabled }),
	rate("quotaAndLimits.flushRate.max", "Flush calls per second, all collections together", func(c *Config) *float64 { return &c.Limits.FlushRate }),
	floatKey("quotaAndLimits.flushRate.collection.max", "0.1", math.Inf(-1), math.MaxFloat64, "Flush calls per second of one collection (0.1: one every 10 s, as Milvus); -1: unlimited",
		func(c *Config) *float64 { return &c.Limits.FlushRateCollection }),
	boolKey("quotaAndLimits.dml.enabled", "false", "limit the rate of inserts, upserts and deletes",
		func(c *Config) *bool { return &c.Limits.DMLEnabled }),
	boolKey("quotaAndLimits.dql.enabled", "false", "limit the rate of searches and queries",
		func(c *Config) *bool { return &c.Limits.DQLEnabled }),
	boolKey("quotaAndLimits.limitWriting.forceDeny", "false", "refuse every insert and upsert (deletes pass)",
		func(c *Config) *bool { return &c.Limits.ForceDenyWriting }),
	boolKey("quotaAndLimits.limitReading.forceDeny", "false", "refuse every search and query",
		func(c *Config) *bool { return &c.Limits.ForceDenyReading }),
	boolKey("quotaAndLimits.limitWriting.memProtection.enabled", "true", "refuse inserts and upserts while the memory in use is above the high water level (deletes pass)",
		func(c *Config) *bool { return &c.Limits.MemProtection }),
	floatKey("quotaAndLimits.limitWriting.memProtection.dataNodeMemoryLowWaterLevel", "0.85", 0, 1, "fraction of a data node's memory (its process's, of the cgroup limit or the host's) in use above which the collection DML rates are scaled down, to 0 at the high level",
		func(c *Config) *float64 { return &c.Limits.DataNodeMemoryLowWaterLevel }),
	floatKey("quotaAndLimits.limitWriting.memProtection.dataNodeMemoryHighWaterLevel", "0.95", 0, 1, "fraction of a data node's memory in use at which inserts and upserts are refused (a standalone process is both a data node and a query node)",
		func(c *Config) *float64 { return &c.Limits.DataNodeMemoryHighWaterLevel }),
	floatKey("quotaAndLimits.limitWriting.memProtection.queryNodeMemoryLowWaterLevel", "0.85", 0, 1, "the low level for query nodes (and streaming nodes, which hold the growing segments)",
		func(c *Config) *float64 { return &c.Limits.QueryNodeMemoryLowWaterLevel }),
	floatKey("quotaAndLimits.limitWriting.memProtection.queryNodeMemoryHighWaterLevel", "0.95", 0, 1, "the high level for query nodes (and streaming nodes)",
		func(c *Config) *float64 { return &c.Limits.QueryNodeMemoryHighWaterLevel }),
	boolKey("quotaAndLimits.limitWriting.diskProtection.enabled", "true", "refuse inserts and upserts while the data directory's disk is fuller than milvago.quota.diskHighWaterLevel or the data exceeds diskQuota (deletes pass)",
		func(c *Config) *bool { return &c.Limits.DiskProtection }),
	rate("quotaAndLimits.limitWriting.diskProtection.diskQuota", "MB of binlogs all collections together may hold", func(c *Config) *float64 { return &c.Limits.DiskQuotaMB }),
	rate("quotaAndLimits.limitWriting.diskProtection.diskQuotaPerDB", "MB of binlogs one database may hold (the database property database.diskQuota.mb overrides it)", func(c *Config) *float64 { return &c.Limits.DiskQuotaPerDBMB }),
	rate("quotaAndLimits.limitWriting.diskProtection.diskQuotaPerCollection", "MB of binlogs one collection may hold (the collection property collection.diskProtection.diskQuota.mb overrides it)", func(c *Config) *float64 { return &c.Limits.DiskQuotaPerCollectionMB }),
	rate("quotaAndLimits.limitWriting.diskProtection.diskQuotaPerPartition", "MB of binlogs one partition may hold", func(c *Config) *float64 { return &c.Limits.DiskQuotaPerPartitionMB }),
	floatKey("milvago.quota.diskHighWaterLevel", "0.95", 0, 1, "fraction of the data directory's file system in use, as df's Use% counts it (used of used + available: root's reserved blocks are neither), above which writes are refused, so the disk never fills up (standalone)",
		func(c *Config) *float64 { return &c.Limits.DiskHighWaterLevel }),
}

func init() {
	limitKeys = append(limitKeys, rateKeys...)
	for i := range limitKeys {
		limitKeys[i].Env = EnvName(limitKeys[i].Name)
	}
	keys = append(keys, limitKeys...)
}
