package config

import "math"

// Tuning is the settings of standalone's in-process configuration that a
// cluster's roles also need and that had no key: the segment size bounds,
// the model services' request timing and the log's retention. Milvus has
// dataCoord.segment.maxSize; the others are Milvago's (Milvus has no row
// bound on segments, hard-codes its model clients' timeout and retries,
// and its log retention is the message queue's own). Its fields spell
// their keys (it is embedded in Config).
type Tuning struct {
	// dataCoord.segment.maxSize, in MB (a fraction is allowed: Milvus
	// reads it as a float).
	DataCoordSegmentMaxSize float64
	// milvago.dataCoord.segment.maxRows
	MilvagoDataCoordSegmentMaxRows int64
	// milvago.function.requestTimeout (ms), maxRetries, retryBackoff (ms)
	MilvagoFunctionRequestTimeout int
	MilvagoFunctionMaxRetries     int
	MilvagoFunctionRetryBackoff   int
	// milvago.logRetention.interval (ms), window (s)
	MilvagoLogRetentionInterval int
	MilvagoLogRetentionWindow   int
	// milvago.queryNode.loadConcurrency
	MilvagoQueryNodeLoadConcurrency int
	// milvago.idleTimerSlack (ms)
	MilvagoIdleTimerSlack int
}

// tuningKeys are those keys. Defaults are Milvago's current behaviour:
// segments of 512 MB (Milvus: 1024) or 1Mi rows, Milvus's 30 s and 3
// attempts for model services, a retention pass every 30 s keeping 10
// minutes.
var tuningKeys = []Key{
	floatKey("dataCoord.segment.maxSize", "512", 0.001, math.MaxInt32, "MB a growing segment holds before it is sealed; compaction and clustering aim at this size (Milvus: 1024)",
		func(c *Config) *float64 { return &c.DataCoordSegmentMaxSize }),
	int64Key("milvago.dataCoord.segment.maxRows", "1048576", 1, math.MaxInt64, "rows a growing segment holds before it is sealed, and at most in a segment compaction or clustering writes (Milvus has no row bound)",
		func(c *Config) *int64 { return &c.MilvagoDataCoordSegmentMaxRows }),
	intKey("milvago.function.requestTimeout", "30000", 1, math.MaxInt32, "ms one HTTP request of a text_embedding function or model reranker to its model service may take (Milvus: 30 s, not configurable)",
		func(c *Config) *int { return &c.MilvagoFunctionRequestTimeout }),
	intKey("milvago.function.maxRetries", "3", 1, 100, "attempts of a failed model service request (Milvus: 3, not configurable)",
		func(c *Config) *int { return &c.MilvagoFunctionMaxRetries }),
	intKey("milvago.function.retryBackoff", "1000", 1, math.MaxInt32, "ms before the second attempt of a model service request, doubled before each next one",
		func(c *Config) *int { return &c.MilvagoFunctionRetryBackoff }),
	intKey("milvago.logRetention.interval", "30000", 1, math.MaxInt32, "ms between two passes of the log retention, which truncates each channel of the log behind every checkpoint (on each streaming node, standalone's embedded log)",
		func(c *Config) *int { return &c.MilvagoLogRetentionInterval }),
	intKey("milvago.logRetention.window", "600", 0, math.MaxInt32, "seconds a position of the log stays behind every checkpoint before it is truncated (readers replaying an older plan)",
		func(c *Config) *int { return &c.MilvagoLogRetentionWindow }),
	intKey("milvago.queryNode.loadConcurrency", "0", 0, 1024, "shards a query node loads at once, in the order asked, a shard a read waits for first (after a restart the collections in use serve before the others finish loading); 0: 4 per CPU (GOMAXPROCS). Milvus has no such key",
		func(c *Config) *int { return &c.MilvagoQueryNodeLoadConcurrency }),
	intKey("milvago.idleTimerSlack", "200", 0, 10000, "ms of timer slack (Linux /proc/TID/timerslack_ns; needs CAP_SYS_NICE, else unused) on every thread of the process once no request arrived for 5 s, so the kernel runs the idle server's timers in fewer wake-ups; the first request puts the default back. 0: never. Milvus has no such key",
		func(c *Config) *int { return &c.MilvagoIdleTimerSlack }),
}

func init() {
	for i := range tuningKeys {
		tuningKeys[i].Env = EnvName(tuningKeys[i].Name)
	}
	keys = append(keys, tuningKeys...)
}
