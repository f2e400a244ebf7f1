// Package quota is Milvus's quotaAndLimits. Center is the one quota
// center of a deployment (Milvus's QuotaCenter: next to the root
// coordinator, or in a standalone process): it samples the workers' memory
// water levels (a node over its level throttles the collections it holds),
// their growing segments, and the disk quotas of the cluster, each
// database, collection and partition, and keeps the verdict (States).
// Limiter is one proxy's: token-bucket rate limits on DML (MB/s), DQL
// (vectors and queries per second), DDL, index, flush, compaction and
// database requests, per cluster, database, collection and partition
// (collection properties override the collection rates); the force-deny
// switches of the configuration and of database properties; and the
// center's verdict, which it fetches (DML rates scaled down between the
// low and high levels, inserts and upserts refused above high). The
// protection never refuses deletes (they free space). Errors are
// Milvus's: "quota exceeded" (code 9) and "rate limit exceeded" (code 8).
package quota
