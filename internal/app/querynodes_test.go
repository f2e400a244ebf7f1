package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/rpc/framed"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
	"github.com/milvago/milvago/internal/session"
)

// frameCountingNode serves a port as a query node process does (framed
// searches beside gRPC), with a gRPC server that has no query node
// service and a framed handler that counts its calls and refuses each
// with ErrNodeNotMatch, so a test tells which transport a search took.
func frameCountingNode(t *testing.T) (addr string, frames *atomic.Int64) {
	t.Helper()
	root, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	frames = new(atomic.Int64)
	l := framed.Split(root, func(context.Context, framed.Header, []byte) []byte {
		frames.Add(1)
		return workerrpc.FramedRefusal(errs.NodeNotMatch(1, 2))
	}, slog.New(slog.DiscardHandler))
	g := grpc.NewServer()
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(l) }()
	t.Cleanup(func() { g.Stop(); <-done; l.Close(); l.Wait() })
	return root.Addr().String(), frames
}

func noCaller() (int64, error) { return 0, nil }

// TestFramedSearchKeyHonoured: with milvago.rpc.framedSearch the proxy's
// searches reach the node as frames; without it, over gRPC only.
func TestFramedSearchKeyHonoured(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := &contract.SearchRequest{CollectionID: 1, VChannel: "v"}
	for _, on := range []bool{true, false} {
		addr, frames := frameCountingNode(t)
		p := newQueryNodePool(slog.New(slog.DiscardHandler), nil, noCaller, on)
		p.set([]session.Info{{ServerID: 1, Address: addr}})
		r, err := p.Dial(ctx, 1, addr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Search(ctx, req)
		switch {
		case on && (frames.Load() != 1 || !errors.Is(err, errs.ErrNodeNotMatch)):
			t.Errorf("framedSearch true: %d frames, error %v; want 1 frame and its refusal", frames.Load(), err)
		case !on && (frames.Load() != 0 || err == nil || errors.Is(err, errs.ErrNodeNotMatch)):
			t.Errorf("framedSearch false: %d frames, error %v; want none and gRPC's failure (no query node service)", frames.Load(), err)
		}
		p.close()
	}
}

// TestFramedClientEndsWithTheSession: a node's framed client is closed
// when its session ends, with its gRPC connection, even while searches
// dial the node concurrently.
func TestFramedClientEndsWithTheSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr, frames := frameCountingNode(t)
	p := newQueryNodePool(slog.New(slog.DiscardHandler), nil, noCaller, true)
	live := []session.Info{{ServerID: 1, Address: addr}}
	p.set(live)
	r, err := p.Dial(ctx, 1, addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Search(ctx, &contract.SearchRequest{CollectionID: 1}); !errors.Is(err, errs.ErrNodeNotMatch) {
		t.Fatalf("framed search: %v", err)
	}
	p.fmu.Lock()
	fc := p.framed[nodeAddr{1, addr}]
	p.fmu.Unlock()
	if fc == nil {
		t.Fatal("no framed client after a framed search")
	}
	p.set(nil) // the node's session ended
	if _, err := fc.Call(ctx, 0, nil); !errors.Is(err, framed.ErrClosed) {
		t.Fatalf("framed client after the session ended: %v", err)
	}
	if frames.Load() != 1 {
		t.Fatalf("%d frames, want 1", frames.Load())
	}

	// Dials racing the session's end leave no framed client behind.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, err := p.Dial(ctx, 1, addr); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 200 {
		p.set(live)
		p.set(nil)
	}
	wg.Wait()
	p.set(nil)
	p.mu.Lock()
	conns := len(p.conns)
	p.mu.Unlock()
	p.fmu.Lock()
	left := len(p.framed)
	p.fmu.Unlock()
	if conns != 0 || left != 0 {
		t.Fatalf("after the session ended: %d gRPC connections, %d framed clients", conns, left)
	}
}
