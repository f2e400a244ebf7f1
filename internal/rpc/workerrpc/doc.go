// Package workerrpc carries the workers' internal services over gRPC: the
// query node (loads from querycoord, shard reads from the proxy), the data
// node (which collections to consume), the index node (builds) and the
// streaming node (the per-pchannel log writer the proxy appends through).
// Each has a server adapting the in-process component and a client that
// implements the consumer-side interface; errors keep their Milvus code
// and message (see coordrpc.Check).
package workerrpc
