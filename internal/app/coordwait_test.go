package app

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	"github.com/milvago/milvago/internal/errs"
)

// TestWaitForCoordinator: with no coordinator known (the resolver has no
// address, as when no session is live), a call fails at once without the
// interceptor; with it, the call waits and succeeds once a coordinator
// appears, and gives up after its bound when none does.
func TestWaitForCoordinator(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(l)
	t.Cleanup(srv.Stop)

	dial := func(t *testing.T, opts ...grpc.DialOption) (*manual.Resolver, healthpb.HealthClient) {
		r := manual.NewBuilderWithScheme("coordtest")
		r.InitialState(resolver.State{}) // no address: no live session
		opts = append(opts, grpc.WithResolvers(r), grpc.WithTransportCredentials(insecure.NewCredentials()))
		cc, err := grpc.NewClient("coordtest:///rootcoord", opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return r, healthpb.NewHealthClient(cc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	_, plain := dial(t)
	if _, err := plain.Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("no coordinator, no interceptor: %v, want Unavailable at once", err)
	}

	r, waiting := dial(t, grpc.WithUnaryInterceptor(waitForCoordinator(10*time.Second)))
	time.AfterFunc(300*time.Millisecond, func() {
		r.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: l.Addr().String()}}})
	})
	start := time.Now()
	if _, err := waiting.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("the call did not wait for the coordinator: %v", err)
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Fatalf("answered in %v, before the coordinator appeared", took)
	}

	_, bounded := dial(t, grpc.WithUnaryInterceptor(waitForCoordinator(300*time.Millisecond)))
	start = time.Now()
	if _, err := bounded.Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("no coordinator ever: %v, want Unavailable", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("waited %v, past the bound", took)
	}
}

// notReadyUntil is a health server that refuses calls as a coordinator
// still opening its stores does (refusal: "service not ready" before any
// handler runs) until ready is set.
type notReadyUntil struct {
	healthpb.UnimplementedHealthServer
	ready atomic.Bool
	calls atomic.Int32
}

func (s *notReadyUntil) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	s.calls.Add(1)
	if !s.ready.Load() {
		return nil, refusal(errs.ServiceNotReady("rootcoord", 0, "Initializing"))
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// TestWaitForCoordinatorNotReady: a coordinator that answers "service not
// ready" (it listens before its stores open) is called again until it
// serves, within the bound, and past the bound the refusal is returned
// (a querycoord that took it for an answer dropped the loaded collections
// it could not describe after a restart).
func TestWaitForCoordinatorNotReady(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &notReadyUntil{}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	dial := func(max time.Duration) healthpb.HealthClient {
		cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithUnaryInterceptor(waitForCoordinator(max)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return healthpb.NewHealthClient(cc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	_, err = dial(300*time.Millisecond).Check(ctx, &healthpb.HealthCheckRequest{})
	if !refusedNotReady(err) {
		t.Fatalf("never ready, past the bound: %v, want the not-ready refusal", err)
	}
	time.AfterFunc(500*time.Millisecond, func() { hs.ready.Store(true) })
	if _, err := dial(10*time.Second).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("the call did not wait for the coordinator to be ready: %v", err)
	}
	if n := hs.calls.Load(); n < 3 {
		t.Fatalf("%d calls: the refused ones were not sent again", n)
	}
}
