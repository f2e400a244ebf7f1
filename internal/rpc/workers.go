package rpc

import (
	"runtime"

	"google.golang.org/grpc"
)

// StreamWorkers is the server option of every Milvago gRPC server on the
// request path (the public API, and the internal servers of the roles):
// a fixed set of goroutines handles the calls, instead of a new goroutine
// per call. A new goroutine starts with a small stack and grows it (copies
// it) several times on the way down the gRPC, interceptor and handler
// frames; in a profile of the proxy under nq=1 searches that copying was
// about 10% of its CPU. A worker keeps its grown stack for the next call
// (grpc-go replaces it after 65,536 calls), and when every worker is busy
// grpc-go falls back to a new goroutine, so this bounds nothing. Idle
// workers block on a channel and cost no CPU.
func StreamWorkers() grpc.ServerOption {
	return grpc.NumStreamWorkers(uint32(max(4, 2*runtime.GOMAXPROCS(0))))
}

// staticWindow is the flow-control window of the connections between
// Milvago's own processes, per stream and per connection.
const staticWindow = 16 << 20

// FlowControlServerOptions are the flow-control options of the gRPC servers
// on the request path (the internal servers of the roles, and the public
// API, whose SDK clients call the same way): static windows.
//
// grpc-go's default is a dynamic window: it estimates the link's
// bandwidth-delay product by sending a PING with a WINDOW_UPDATE whenever
// data arrives and no estimate is in flight. Between two processes that
// exchange one small request and one small answer at a time (a search
// sub-request to a query node) that is every call, on both sides: two
// frames more per call, written by a woken-up writer goroutine, read and
// acknowledged (another write) by the peer. A static window of 16 MiB,
// the most the dynamic one grows to, sends no such PING.
func FlowControlServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.StaticStreamWindowSize(staticWindow), grpc.StaticConnWindowSize(staticWindow)}
}

// FlowControlDialOptions are the same for the clients of internal servers.
func FlowControlDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithStaticStreamWindowSize(staticWindow), grpc.WithStaticConnWindowSize(staticWindow)}
}
