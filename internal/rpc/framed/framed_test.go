package framed_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/milvago/milvago/internal/rpc/framed"
)

// echo answers "<target> <caller> <has deadline> <payload>".
func echo(ctx context.Context, h framed.Header, payload []byte) []byte {
	_, hasDeadline := ctx.Deadline()
	return []byte(strconv.FormatInt(h.Target, 10) + " " + strconv.FormatInt(h.Caller, 10) + " " +
		strconv.FormatBool(hasDeadline) + " " + string(payload))
}

// serve splits a listener between handle and a gRPC server (health).
func serve(t *testing.T, handle framed.Handler) (addr string, stop func()) {
	t.Helper()
	root, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := framed.Split(root, handle, slog.New(slog.DiscardHandler))
	g := grpc.NewServer()
	healthpb.RegisterHealthServer(g, health.NewServer())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Serve(l)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			g.Stop()
			<-done
			l.Close()
			l.Wait()
		})
	}
	t.Cleanup(stop)
	return root.Addr().String(), stop
}

func TestCallsAndGRPCShareTheListener(t *testing.T) {
	addr, _ := serve(t, echo)
	c := framed.NewClient(addr, 7)
	defer c.Close()
	ctx := context.Background()
	// Several calls at once: each on a connection of its own, the
	// connections then reused.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				p := strconv.Itoa(i*1000 + j)
				ans, err := c.Call(ctx, 3, []byte(p))
				if err != nil {
					t.Errorf("call: %v", err)
					return
				}
				if want := "7 3 false " + p; string(ans) != want {
					t.Errorf("answer %q, want %q", ans, want)
				}
			}
		})
	}
	wg.Wait()
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ans, err := c.Call(dctx, 0, nil)
	if err != nil || string(ans) != "7 0 true " {
		t.Fatalf("call with a deadline: %q, %v", ans, err)
	}
	// gRPC on the same port.
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	r, err := healthpb.NewHealthClient(cc).Check(dctx, &healthpb.HealthCheckRequest{})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC beside the framed calls: %v, %v", r, err)
	}
}

func TestCallEndsWithItsContext(t *testing.T) {
	release := make(chan struct{})
	addr, _ := serve(t, func(ctx context.Context, h framed.Header, payload []byte) []byte {
		select {
		case <-release:
		case <-ctx.Done(): // the caller's deadline travelled with the call
			return []byte(ctx.Err().Error())
		}
		return payload
	})
	defer close(release)
	c := framed.NewClient(addr, 0)
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The server's context ends at the same instant as the client's: the
	// client fails the call, or gets the server's answer that its context
	// ended, if that answer won the race with the client's own timer.
	if ans, err := c.Call(ctx, 0, []byte("x")); !errors.Is(err, context.DeadlineExceeded) &&
		(err != nil || string(ans) != context.DeadlineExceeded.Error()) {
		t.Fatalf("call past its deadline: %q, %v", ans, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("call past its deadline took %v", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := c.Call(ctx, 0, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled call: %v", err)
	}
}

func TestPooledConnectionOfARestartedServer(t *testing.T) {
	root, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := root.Addr().String()
	l := framed.Split(root, echo, slog.New(slog.DiscardHandler))
	go func() { // the gRPC side of the port: nothing is expected there
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	c := framed.NewClient(addr, 1)
	defer c.Close()
	if _, err := c.Call(context.Background(), 0, []byte("a")); err != nil {
		t.Fatal(err)
	}
	// The server goes away and another starts at the same address: the
	// pooled connection is dead; the call is sent again on a new one.
	l.Close()
	l.Wait()
	root2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("address taken before the restart: %v", err)
	}
	l2 := framed.Split(root2, echo, slog.New(slog.DiscardHandler))
	defer func() { l2.Close(); l2.Wait() }()
	ans, err := c.Call(context.Background(), 0, []byte("b"))
	if err != nil || string(ans) != "1 0 false b" {
		t.Fatalf("call after the restart: %q, %v", ans, err)
	}
	c.Close()
	if _, err := c.Call(context.Background(), 0, nil); !errors.Is(err, framed.ErrClosed) {
		t.Fatalf("call on a closed client: %v", err)
	}
}

func TestNoServer(t *testing.T) {
	root, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := root.Addr().String()
	root.Close()
	c := framed.NewClient(addr, 0)
	defer c.Close()
	_, err = c.Call(context.Background(), 0, nil)
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("call to no server: %v", err)
	}
}

// A server that does not speak the protocol (a gRPC server alone) fails
// the call rather than hanging it.
func TestServerWithoutFraming(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	go g.Serve(l)
	defer g.Stop()
	c := framed.NewClient(l.Addr().String(), 0)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = c.Call(ctx, 0, []byte("x"))
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call to a gRPC server: %v", err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Logf("call to a gRPC server: %v", err)
	}
}

// A call whose client leaves (its context ends: the client closes the
// connection, as when the proxy dies) has its context canceled on the
// server, as gRPC cancels a call whose stream ends.
func TestCallCanceledWhenTheClientLeaves(t *testing.T) {
	started := make(chan struct{}, 1)
	ended := make(chan error, 1)
	addr, _ := serve(t, func(ctx context.Context, h framed.Header, payload []byte) []byte {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			ended <- ctx.Err()
		case <-time.After(30 * time.Second):
			ended <- errors.New("still running 30s after the client left")
		}
		return payload
	})
	c := framed.NewClient(addr, 0)
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Call(ctx, 0, []byte("slow")); errc <- err }()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client's call: %v", err)
	}
	start := time.Now()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("server's call after the client left: %v", err)
	}
	t.Logf("server's call canceled %v after the client left", time.Since(start))
}

// Calls that run long enough to be watched are answered, and their
// connection serves the next calls.
func TestWatchedCallsAnswered(t *testing.T) {
	addr, _ := serve(t, func(ctx context.Context, h framed.Header, payload []byte) []byte {
		time.Sleep(25 * time.Millisecond) // past two of the server's sweeps: watched
		if ctx.Err() != nil {
			return []byte("canceled")
		}
		return payload
	})
	c := framed.NewClient(addr, 0)
	defer c.Close()
	for i := range 8 {
		p := strconv.Itoa(i)
		ans, err := c.Call(context.Background(), 0, []byte(p))
		if err != nil || string(ans) != p {
			t.Fatalf("call %d: %q, %v", i, ans, err)
		}
	}
}
