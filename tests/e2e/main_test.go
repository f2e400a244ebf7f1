package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/app"
)

// childEnv makes the test binary run a standalone server instead of tests
// (for tests that must kill the server with SIGKILL).
const childEnv = "MILVAGO_E2E_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	code := m.Run()
	stopClusters()
	os.Exit(code)
}

// runChild serves until killed, printing "READY <grpc addr>" once ready.
func runChild(dir string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	childHeapProfiles()
	cfg := app.DefaultStandalone()
	cfg.DataDir = dir
	cfg.Sync = childSyncPolicy() // insertbuf_test.go
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := app.NewStandalone(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	childBroker.Store(s.Broker())
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	go func() {
		// Ready once /healthz says so: until then the API answers
		// "service not ready".
		for {
			resp, err := http.Get("http://" + hl.Addr().String() + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		fmt.Printf("READY %s\n", gl.Addr())
	}()
	if err := s.Serve(ctx, gl, hl); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}
