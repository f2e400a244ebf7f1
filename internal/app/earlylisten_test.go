package app

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestStagedListenerHandsOff (issue 11): a role's gRPC port answers "not
// ready" while its stores open; once its own server takes the port, a
// client that connected early is served by it on the same ClientConn,
// and stopping that server closes the port.
func TestStagedListenerHandsOff(t *testing.T) {
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	staged := newStagedListener(pl)
	early := serveNotReady("querynode", staged.early())
	defer early.stop()
	cc, err := grpc.NewClient(pl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(cc)
	_, err = hc.Check(ctx, &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "service not ready") ||
		!strings.Contains(err.Error(), "querynode") {
		t.Fatalf("a call while the stores open: %v, want FailedPrecondition service not ready [querynode=0]", err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	l := staged.handoff()
	early.stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	for {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		if err == nil {
			if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("health after the handoff: %v", resp.GetStatus())
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the client that connected early was not served after the handoff: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Stop()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if c, err := net.DialTimeout("tcp", pl.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Fatal("the port still accepts after the role's server stopped")
	}
}
