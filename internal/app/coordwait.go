package app

import (
	"context"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/milvago/milvago/internal/errs"
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
		// A coordinator that listens before its stores open, or before it
		// has won the election, refuses calls with "service not ready"
		// before any handler runs: such a call was never executed, and is
		// sent again until the coordinator serves, for at most max.
		deadline := time.Now().Add(max)
		for {
			err := invoker(ctx, method, req, reply, cc, opts...)
			if !refusedNotReady(err) || time.Now().After(deadline) {
				return err
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(notReadyRetry):
			}
		}
	}
}

// notReadyRetry is how often a call refused as not ready is sent again.
const notReadyRetry = 100 * time.Millisecond

// refusedNotReady reports whether err is a call refused before its handler
// ran (refusal) because the callee is not ready yet.
func refusedNotReady(err error) bool {
	if status.Code(err) != codes.FailedPrecondition {
		return false
	}
	for _, d := range status.Convert(err).Details() {
		if st, ok := d.(*commonpb.Status); ok {
			return st.GetCode() == errs.ErrServiceNotReady.Code
		}
	}
	return false
}
