// Package quota is Milvus's quotaAndLimits for one proxy: token-bucket
// rate limits on DML (MB/s), DQL (vectors and queries per second), DDL and
// Flush (per second, globally and per collection), and write protection —
// inserts and upserts are refused while the memory in use is above its
// high water level, the data directory's disk is nearly full or its quota
// used up, or an operator forces it. Deletes are never refused by the
// protection (they free space). Errors are Milvus's: "quota exceeded"
// (code 9, legacy ForceDeny) and "rate limit exceeded" (8, RateLimit).
package quota
