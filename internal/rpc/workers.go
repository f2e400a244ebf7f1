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
