package rpc

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Keepalive of the public API, as Milvus's proxy
// (internal/distributed/proxy/service.go). The enforcement policy is what
// matters to clients: grpc-go's default refuses pings more often than every
// 5 minutes and, after three, closes the connection with GOAWAY
// "too_many_pings" — yet Milvus's SDKs ping every 5 s (10 s for pymilvus)
// even on an idle connection.
const (
	// keepaliveMinTime is the shortest interval between a client's pings
	// that the server tolerates.
	keepaliveMinTime = 5 * time.Second
	// keepaliveTime: the server pings a client idle this long ...
	keepaliveTime = 60 * time.Second
	// keepaliveTimeout: ... and drops it if no answer comes within this.
	keepaliveTimeout = 10 * time.Second
)

// keepaliveOptions are the server options of Milvus's proxy: clients may
// ping every 5 s, with or without calls in flight; the server probes a
// connection idle for 60 s and closes it if the probe is not answered in 10
// s. An idle connection is never closed for being idle.
func keepaliveOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: keepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: keepaliveTime, Timeout: keepaliveTimeout}),
	}
}
