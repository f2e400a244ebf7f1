package app

import (
	"context"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/session"
)

// TestQuotaRatesFollowLiveProxies: the quota center counts the proxies'
// sessions when a proxy fetches its verdict, so a proxy that registers
// gets a share counting itself, and the others' shares follow proxies
// joining and leaving at their next fetch; other roles do not count.
func TestQuotaRatesFollowLiveProxies(t *testing.T) {
	store := kv.NewMemory()
	defer store.Close()
	ctx := context.Background()
	center := quota.NewCenter(quota.CenterConfig{Proxies: liveProxies{store}}, discard())
	limiter := func() *quota.Limiter {
		return quota.New(quota.Config{Enabled: true, CompactionEnabled: true, CompactionRate: 0.1, CompactionRateDB: -1,
			Insert: quota.Unlimited, Delete: quota.Unlimited, BulkLoad: quota.Unlimited, Search: quota.Unlimited, Query: quota.Unlimited,
			Source: center}, discard())
	}
	register(t, store, session.RoleRootCoord, "127.0.0.1:1000")
	register(t, store, session.RoleProxy, "127.0.0.1:1001")
	a := limiter()
	a.Sample(ctx)
	if a.Proxies() != 1 {
		t.Fatalf("one proxy: shares with %d", a.Proxies())
	}
	second := register(t, store, session.RoleProxy, "127.0.0.1:1002")
	b := limiter()
	b.Sample(ctx) // the new proxy asks once its session is published
	if b.Proxies() != 2 {
		t.Fatalf("the joining proxy shares with %d, want 2", b.Proxies())
	}
	if a.Proxies() != 1 {
		t.Fatalf("before its next fetch the first proxy shares with %d", a.Proxies())
	}
	a.Sample(ctx)
	if a.Proxies() != 2 {
		t.Fatalf("after its next fetch the first proxy shares with %d, want 2", a.Proxies())
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	a.Sample(ctx)
	if a.Proxies() != 1 {
		t.Fatalf("the second proxy left: the first shares with %d, want 1", a.Proxies())
	}
}

// TestQuotaShareFollowsProxySessions: a cluster proxy's share follows the
// proxies' sessions through a watch: counted when it starts, then as soon
// as a proxy registers or revokes its session, with no fetch from the
// quota center.
func TestQuotaShareFollowsProxySessions(t *testing.T) {
	store := kv.NewMemory()
	defer store.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	register(t, store, session.RoleProxy, "127.0.0.1:1001")
	register(t, store, session.RoleQueryNode, "127.0.0.1:1002") // another role: not counted
	lim := quota.New(quota.Config{Enabled: true, Insert: quota.Unlimited, Delete: quota.Unlimited, BulkLoad: quota.Unlimited,
		Search: quota.Unlimited, Query: quota.Unlimited}, discard())
	follow := followProxies(ctx, ctx, sessionDiscovery{store: store}, lim, discard())
	done := make(chan struct{})
	go func() { defer close(done); follow() }()
	if lim.Proxies() != 1 {
		t.Fatalf("at the start: shares with %d, want 1", lim.Proxies())
	}
	waitProxies := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for lim.Proxies() != want {
			if time.Now().After(deadline) {
				t.Fatalf("shares with %d, want %d", lim.Proxies(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	second := register(t, store, session.RoleProxy, "127.0.0.1:1003")
	third := register(t, store, session.RoleProxy, "127.0.0.1:1004")
	waitProxies(3)
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	waitProxies(2)
	if err := third.Close(); err != nil {
		t.Fatal(err)
	}
	waitProxies(1)
	cancel()
	<-done
}

// TestQuotaShareAwaitsProxySessions: until a cluster proxy has listed the
// proxies' sessions it refuses every request a rate applies to, with
// Milvus's rate-limit error (code 8, retried by clients), even when the
// quota center has counted the proxies: the count may predate its own
// session, and the whole rate would add to the others' shares. A listing
// with no proxy session leaves it refusing; the first that counts one
// lets its share through. Requests no rate applies to always pass.
func TestQuotaShareAwaitsProxySessions(t *testing.T) {
	store := kv.NewMemory()
	defer store.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	register(t, store, session.RoleQueryNode, "127.0.0.1:1002") // another role: no proxy listed yet
	center := quota.NewCenter(quota.CenterConfig{Proxies: liveProxies{store}}, discard())
	lim := quota.New(quota.Config{Enabled: true, FlushEnabled: true, FlushRate: -1, FlushRateDB: -1, FlushRateCollection: 1,
		Insert: quota.Unlimited, Delete: quota.Unlimited, BulkLoad: quota.Unlimited, Search: quota.Unlimited, Query: quota.Unlimited,
		Source: center}, discard())
	start, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	lim.Sample(start)
	follow := followProxies(ctx, start, sessionDiscovery{store: store}, lim, discard())
	done := make(chan struct{})
	go func() { defer close(done); follow() }()
	<-start.Done()
	err := lim.Admit(ctx, quota.Flush, 7, 1)
	if err == nil || err.Error() != "request is rejected by grpc RateLimiter middleware, please retry later: rate limit exceeded[rate=0]" || errs.CodeOf(err) != 8 {
		t.Fatalf("a flush before the proxies are listed: %v", err)
	}
	if err := lim.Admit(ctx, quota.Search, 7, 1); err != nil {
		t.Fatalf("a search, under no rate, before the proxies are listed: %v", err)
	}
	register(t, store, session.RoleProxy, "127.0.0.1:1001")
	deadline := time.Now().Add(10 * time.Second)
	for lim.Admit(ctx, quota.Flush, 7, 1) != nil {
		if time.Now().After(deadline) {
			t.Fatal("still refusing flushes 10 s after a proxy session was listed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if lim.Proxies() != 1 {
		t.Fatalf("shares with %d proxies, want 1", lim.Proxies())
	}
	cancel()
	<-done
}
