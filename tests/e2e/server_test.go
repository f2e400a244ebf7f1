package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
)

// server is a standalone Milvago serving on loopback, or in cluster mode
// (cluster_mode_test.go) the proxies of a cluster of processes.
type server struct {
	addr    string
	httpURL string
	dir     string
	cancel  context.CancelFunc
	done    chan error

	sa      *app.Standalone // standalone mode: the server in this process, once started is closed
	started chan struct{}   // standalone mode: closed once sa is set (its stores are open)
	objects string          // cluster mode: the S3 server's directory of the deployment's objects
	proxies []string        // cluster mode: the proxies client alternates over
	next    int             // cluster mode: which one client hands out next
	cl      *e2eCluster     // cluster mode: the cluster of processes
}

// clusterEnv set to 1 runs the tests against a cluster of processes
// instead of an in-process standalone server (cluster_mode_test.go,
// docs/cluster.md).
const clusterEnv = "MILVAGO_E2E_CLUSTER"

// standaloneOnly skips t in cluster mode: the one place that decides a
// test cannot run on a cluster. why says what the test needs of the
// in-process standalone server (its configuration, its data directory,
// its process).
func standaloneOnly(t testing.TB, why string) {
	t.Helper()
	if clusterMode() {
		t.Skipf("standalone only (%s=1 runs on a cluster): %s", clusterEnv, why)
	}
}

// dataDir is the standalone server's data directory, for tests that read
// or write its files.
func (s *server) dataDir(t testing.TB) string {
	t.Helper()
	standaloneOnly(t, "reads or writes the server's files in its data directory")
	return s.dir
}

// objectsDir is the directory that holds the deployment's objects as
// files, object key K at objectsDir/K: the standalone server's
// data directory's objects/, or on a cluster the S3 server's directory of
// its bucket (versitygw keeps each object as a file). Tests read, damage
// or remove objects there; on a cluster the roles see it at once, as a
// standalone server does.
func (s *server) objectsDir() string {
	if s.objects != "" {
		return s.objects
	}
	return filepath.Join(s.dir, "objects")
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
	if clusterMode() {
		return startOnCluster(t, dir, configure)
	}
	var logger *slog.Logger
	if os.Getenv("MILVAGO_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else {
		logger = tailLogger(t)
	}
	return startServerLogged(t, dir, configure, logger)
}

// startServerLogged is startServerWith logging to logger (nil: nowhere).
func startServerLogged(t *testing.T, dir string, configure func(*app.StandaloneConfig), logger *slog.Logger) *server {
	t.Helper()
	srv := startServerStarting(t, dir, configure, logger)
	srv.waitReady(t, 10*time.Minute)
	return srv
}

// startServerStarting is startServerLogged without waiting until the
// server is ready.
func startServerStarting(t *testing.T, dir string, configure func(*app.StandaloneConfig), logger *slog.Logger) *server {
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
	// The API listens before the stores open, as `milvago standalone`
	// does: a client connecting meanwhile gets "service not ready".
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		gl.Close()
		t.Fatal(err)
	}
	srv := &server{addr: gl.Addr().String(), httpURL: "http://" + hl.Addr().String(), dir: dir, cancel: cancel,
		done: make(chan error, 1), started: make(chan struct{})}
	go func() {
		s, err := app.StartStandalone(ctx, cfg, gl, hl, logger)
		if err != nil {
			srv.done <- fmt.Errorf("start standalone: %w", err)
			return
		}
		srv.sa = s
		close(srv.started)
		srv.done <- s.Serve(ctx, gl, hl)
	}()
	t.Cleanup(srv.stop)
	return srv
}

// standalone returns the in-process server once its stores are open.
func (s *server) standalone(t testing.TB) *app.Standalone {
	t.Helper()
	standaloneOnly(t, "uses the in-process standalone server")
	select {
	case <-s.started:
		return s.sa
	case err := <-s.done:
		s.done <- err // for stop
		t.Fatalf("the server stopped while starting: %v", err)
		return nil
	}
}

// waitReady waits until the server's /healthz answers 200: the API
// listens at once, but answers "service not ready" until the collections
// are recovered (a restart with thousands loaded takes a while).
func (s *server) waitReady(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(s.httpURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-s.done:
			s.done <- err // for stop
			t.Fatalf("the server stopped while starting: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server is not ready after %v (last: %v)", within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop stops a standalone server; a cluster outlives the test.
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

// client connects the official SDK to s; in cluster mode each call
// connects to the next proxy.
func (s *server) client(t *testing.T) *milvusclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := s.addr
	if len(s.proxies) > 0 {
		addr = s.proxies[s.next%len(s.proxies)]
		s.next++
	}
	c, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: addr})
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
