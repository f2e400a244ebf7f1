package workerrpc_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
	"github.com/milvago/milvago/internal/streaming"
)

// owns is a writer's ownership: it holds every pchannel or none.
type owns struct{ held atomic.Bool }

func (o *owns) Check(pchannel string) (int64, error) {
	if !o.held.Load() {
		return 0, errs.ChannelMisrouted(pchannel, 1, 2)
	}
	return 1, nil
}

// A call refused by a writer that no longer holds the pchannel is sent
// again to the writer the route names next; an append whose transport
// failed after it may have been sent is not retried (it could be logged
// twice), an idempotent SyncTo is.
func TestRoutedStreamingClientRetries(t *testing.T) {
	ctx := t.Context()
	store := kv.NewMemory()
	log := logbroker.NewMemory(logbroker.MemoryConfig{})
	t.Cleanup(func() { log.Close(); store.Close() })
	root, err := rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store})
	if err != nil {
		t.Fatal(err)
	}
	data, err := datacoord.New(ctx, datacoord.Default(), datacoord.Deps{KV: store, IDs: root})
	if err != nil {
		t.Fatal(err)
	}
	var oldOwner, newOwner owns
	newOwner.held.Store(true)
	oldW := streaming.New(streaming.Default(), streaming.Deps{Log: log, TSO: root, Segments: data, Owner: &oldOwner})
	newW := streaming.New(streaming.Default(), streaming.Deps{Log: log, TSO: root, Segments: data, Owner: &newOwner})
	oldConn := serve(t, func(g *grpc.Server) { workerrpc.RegisterStreamingNode(g, oldW) })
	newConn := serve(t, func(g *grpc.Server) { workerrpc.RegisterStreamingNode(g, newW) })

	var calls atomic.Int32
	// The route is stale on the first call (the table had not seen the
	// hand-over yet).
	routed := workerrpc.NewRoutedStreamingClient(func(context.Context, string) (grpc.ClientConnInterface, error) {
		if calls.Add(1) == 1 {
			return oldConn, nil
		}
		return newConn, nil
	}, 5*time.Second)
	del := &msg.Message{Kind: msg.KindDelete, VChannel: vch, Delete: &msgpb.DeleteRequest{CollectionID: coll, ShardName: vch, NumRows: 1}}
	if _, err := routed.AppendDelete(ctx, pch, del); err != nil {
		t.Fatalf("append through a stale route: %v", err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d routes, want 2 (a refusal, then the new writer)", calls.Load())
	}

	// No writer yet: retried until the route finds one.
	calls.Store(0)
	waiting := workerrpc.NewRoutedStreamingClient(func(_ context.Context, pc string) (grpc.ClientConnInterface, error) {
		if calls.Add(1) < 3 {
			return nil, errs.ChannelNotAvailable(pc, "no streaming node writes it yet")
		}
		return newConn, nil
	}, 5*time.Second)
	if err := waiting.SyncTo(ctx, pch, 1); err != nil {
		t.Fatal(err)
	}

	// A transport failure after the request may have left: an append
	// fails at once, SyncTo is retried.
	calls.Store(0)
	broken := workerrpc.NewRoutedStreamingClient(func(context.Context, string) (grpc.ClientConnInterface, error) {
		if calls.Add(1) == 1 {
			return nil, fmt.Errorf("streamingnode: %w: connection reset by peer", errs.ErrServiceUnavailable)
		}
		return newConn, nil
	}, 5*time.Second)
	if _, err := broken.AppendDelete(ctx, pch, del); !errors.Is(err, errs.ErrServiceUnavailable) || calls.Load() != 1 {
		t.Fatalf("append after a reset: %v after %d routes, want service unavailable after 1", err, calls.Load())
	}
	calls.Store(0)
	if err := broken.SyncTo(ctx, pch, 1); err != nil || calls.Load() != 2 {
		t.Fatalf("SyncTo after a reset: %v after %d routes, want success after 2", err, calls.Load())
	}

	// Past the retry budget the refusal is the caller's.
	stale := workerrpc.NewRoutedStreamingClient(func(context.Context, string) (grpc.ClientConnInterface, error) { return oldConn, nil }, 200*time.Millisecond)
	if _, err := stale.AppendDelete(ctx, pch, del); !errors.Is(err, errs.ErrChannelMisrouted) {
		t.Fatalf("append to a writer that never holds the pchannel: %v, want channel misrouted", err)
	}
}
