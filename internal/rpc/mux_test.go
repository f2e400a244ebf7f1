package rpc

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestSplitter serves gRPC and HTTP/1 on one listener and uses both, also
// at the same time, then checks that a silent connection does not block
// others and that closing stops both sides.
func TestSplitter(t *testing.T) {
	root, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sp := newSplitter(root, slog.New(slog.DiscardHandler))
	sp.start()
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go gs.Serve(sp.grpc)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "rest "+r.URL.Path) })}
	go hs.Serve(sp.http)

	// A connection that never sends anything must not hold up the others.
	idle, err := net.Dial("tcp", root.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	conn, err := grpc.NewClient(root.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("grpc health: %v %v", resp, err)
		}
		r, err := http.Post("http://"+root.Addr().String()+"/v2/x", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if string(body) != "rest /v2/x" {
			t.Fatalf("http body %q", body)
		}
	}

	gs.Stop() // closes sp.grpc, which closes the splitter
	sp.Close()
	if _, err := sp.http.Accept(); err == nil {
		t.Fatal("http side still accepts after close")
	}
	hs.Close()
}
