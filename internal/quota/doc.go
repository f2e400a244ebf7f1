// Package quota is Milvus's quotaAndLimits for one proxy: token-bucket
// rate limits on DML (MB/s), DQL (vectors and queries per second), DDL and
// Flush, per cluster, database, collection and partition (collection
// properties override the collection rates); the force-deny switches of
// the configuration and of database properties; and the write protection
// Milvus's QuotaCenter computes — the workers' memory water levels (DML
// rates scaled down between low and high, inserts and upserts refused
// above high) and the disk quotas of the cluster, each database,
// collection and partition. The protection never refuses deletes (they
// free space). Errors are Milvus's: "quota exceeded" (code 9) and
// "rate limit exceeded" (code 8).
package quota
