// Package coordrpc carries the coordinators' internal services over gRPC:
// for each of rootcoord, datacoord, querycoord and indexcoord, a server that
// adapts the in-process component and a client that implements the
// consumer-side interfaces the other roles define (proxy's rootCoord,
// datanode's dataCoord, ...). Errors cross the wire as a commonpb.Status in
// every response, keeping their Milvus code and message (rpc.StatusOf,
// rpc.ErrorOf); a transport failure becomes errs.ErrServiceUnavailable.
package coordrpc
