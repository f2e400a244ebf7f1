// Package proxy is the access layer: it implements the Milvus public API's
// semantics over the coordinators and workers. It validates requests,
// resolves collections, allocates IDs, routes rows to shards by primary-key
// hash and writes them through the channel writer, turns consistency levels
// into guarantee timestamps, fans reads out to every shard and reduces the
// shards' partial results into the answer.
//
// Its methods take and return the Milvus protobuf messages (they are the
// public API's own types), but return failures as Go errors from the errs
// catalogue; the gRPC edge (package rpc) turns those into statuses.
// The proxy keeps no state of its own beyond a few caches.
package proxy
