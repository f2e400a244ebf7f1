// Package metacache is a cluster-mode proxy's cache of collection
// metadata, as Milvus's proxy MetaCache (internal/proxy/meta_cache.go):
// collections by database and name or alias and by ID (schema,
// partitions, aliases, properties), their load state, their index
// definitions and databases' properties. A search then costs no
// coordinator round trip before it reaches the shards.
//
// Invalidation is Milvus's: the coordinator that applies a DDL (rootcoord;
// querycoord for load and release; indexcoord for index DDL) calls
// InvalidateCollectionMetaCache on every proxy session before it
// acknowledges the DDL, so a DDL acknowledged on one proxy is seen at once
// on every other. A fetch that overlaps an invalidation is not stored
// (generation check), so a late answer cannot bring back what was
// invalidated. Only complete, stable facts are cached: a load state is
// cached once the load is complete, never while loading.
//
// The package also coalesces concurrent timestamp allocations into one
// TSO call (TSO), as Milvus's proxy batches its timestamp requests.
package metacache
