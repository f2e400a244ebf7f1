package e2e

import (
	"context"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
)

// server is a standalone Milvago serving on loopback.
type server struct {
	addr    string
	httpURL string
	dir     string
	cancel  context.CancelFunc
	done    chan error
}

// startServer runs a standalone server in-process with its data in dir
// ("" for a fresh temporary one) and stops it when the test ends.
func startServer(t *testing.T, dir string) *server {
	t.Helper()
	return startServerWith(t, dir, nil)
}

// startServerWith is startServer with the configuration adjusted by
// configure (nil: defaults).
func startServerWith(t *testing.T, dir string, configure func(*app.StandaloneConfig)) *server {
	t.Helper()
	var logger *slog.Logger
	if os.Getenv("MILVAGO_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return startServerLogged(t, dir, configure, logger)
}

// startServerLogged is startServerWith logging to logger (nil: nowhere).
func startServerLogged(t *testing.T, dir string, configure func(*app.StandaloneConfig), logger *slog.Logger) *server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := app.DefaultStandalone()
	cfg.DataDir = dir
	if configure != nil {
		configure(&cfg)
	}
	s, err := app.NewStandalone(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("start standalone: %v", err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{addr: gl.Addr().String(), httpURL: "http://" + hl.Addr().String(), dir: dir, cancel: cancel, done: make(chan error, 1)}
	go func() { srv.done <- s.Serve(ctx, gl, hl) }()
	t.Cleanup(srv.stop)
	return srv
}

func (s *server) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
	}
	s.cancel = nil
}

// client connects the official SDK to s.
func (s *server) client(t *testing.T) *milvusclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: s.addr})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
