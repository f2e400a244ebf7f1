package app

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
)

// isCoordinator reports whether role is one of the coordinators, which
// run active-standby: while the active one is lost, a standby takes over
// within about a session TTL.
func isCoordinator(role string) bool {
	switch role {
	case "rootcoord", "datacoord", "querycoord", "indexcoord", "mixcoord":
		return true
	}
	return false
}

// waitForCoordinator is a unary client interceptor for the connection to
// a coordinator: a call made while no coordinator is reachable (its
// session expired and no standby has won the election yet, or its address
// refuses connections) first waits up to max for the connection to become
// ready, as Milvus's coordinator clients retry through a failover, instead
// of failing at once. Only calls not yet sent wait: a call that fails
// after it was sent is never repeated here.
func waitForCoordinator(max time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if s := cc.GetState(); s == connectivity.TransientFailure || s == connectivity.Idle || s == connectivity.Connecting {
			wctx, cancel := context.WithTimeout(ctx, max)
			cc.Connect()
			for s := cc.GetState(); s != connectivity.Ready && s != connectivity.Shutdown; s = cc.GetState() {
				if !cc.WaitForStateChange(wctx, s) {
					break // waited max, or ctx ended: the call reports it
				}
			}
			cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}
