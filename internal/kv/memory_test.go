package kv_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/kvtest"
)

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	kvtest.Run(t, func(t *testing.T) kv.Store { return kv.NewMemory() })
}

// TestMemorySynctest checks that Memory runs on synctest's fake clock, so
// coordinator tests can expire sessions without waiting.
func TestMemorySynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		m := kv.NewMemory()
		defer m.Close()
		kept, _ := m.Grant(ctx, 10)
		dropped, _ := m.Grant(ctx, 10)
		m.PutWithLease(ctx, "kept", []byte("k"), kept)
		m.PutWithLease(ctx, "dropped", []byte("d"), dropped)
		kaCtx, stop := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- m.KeepAlive(kaCtx, kept) }()

		time.Sleep(time.Hour) // fake time
		synctest.Wait()
		if _, err := m.Get(ctx, "dropped"); !errors.Is(err, kv.ErrNotFound) {
			t.Fatalf("dropped lease's key: %v", err)
		}
		if _, err := m.Get(ctx, "kept"); err != nil {
			t.Fatalf("kept lease's key: %v", err)
		}
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if _, err := m.Get(ctx, "kept"); !errors.Is(err, kv.ErrNotFound) {
			t.Fatalf("key of a lease no longer kept alive: %v", err)
		}
	})
}
