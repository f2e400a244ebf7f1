package app

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/kv"
)

func TestSessionsRegisterWatchAndExpire(t *testing.T) {
	store := kv.NewMemory()
	defer store.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watcher := newSessions(store, discard())
	updates := watcher.Watch(ctx, "querynode")
	if ms := <-updates; len(ms) != 0 {
		t.Fatalf("initial members %v", ms)
	}
	nodeCtx, stopNode := context.WithCancel(ctx)
	node := newSessions(store, discard())
	id, err := node.Register(nodeCtx, "querynode", "127.0.0.1:1234")
	if err != nil {
		t.Fatal(err)
	}
	ms := <-updates
	if len(ms) != 1 || ms[0].ServerID != id || ms[0].Address != "127.0.0.1:1234" || ms[0].Role != "querynode" {
		t.Fatalf("members after register %+v", ms)
	}
	if got, err := watcher.Members(ctx, "querynode"); err != nil || len(got) != 1 {
		t.Fatalf("Members = %v, %v", got, err)
	}
	// A stopped process revokes its lease: its session goes at once.
	stopNode()
	select {
	case ms := <-updates:
		if len(ms) != 0 {
			t.Fatalf("members after stop %+v", ms)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("session outlived its process")
	}
}

func TestSessionsCampaignIsExclusive(t *testing.T) {
	store := kv.NewMemory()
	defer store.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	aCtx, stopA := context.WithCancel(ctx)
	a := newSessions(store, discard())
	lostA, err := a.Campaign(aCtx, "mixcoord", "a:1")
	if err != nil {
		t.Fatal(err)
	}
	b := newSessions(store, discard())
	won := make(chan error, 1)
	go func() {
		_, err := b.Campaign(ctx, "mixcoord", "b:1")
		won <- err
	}()
	select {
	case err := <-won:
		t.Fatalf("second campaign won while the first holds the role: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	stopA()
	<-lostA // the first process's context ended
	select {
	case err := <-won:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("standby did not take over")
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
