package kv_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/kvtest"
)

// startEmbedded starts a server on dir, which a test may restart; a 500 ms
// election timeout brings the minimum lease TTL down to 1 s, which keeps
// lease tests short. kvtest.StartEmbedded is the same for a fresh directory.
func startEmbedded(t *testing.T, dir string) *kv.Embedded {
	t.Helper()
	start := time.Now()
	e, err := kv.StartEmbedded(t.Context(), kv.EmbedConfig{Dir: dir, ElectionMs: 500}, nil)
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Logf("embedded etcd ready in %v", time.Since(start))
	return e
}

// TestEtcdConformance runs the suite through the unix socket, with the
// same client as cluster mode.
func TestEtcdConformance(t *testing.T) {
	t.Parallel()
	e := startEmbedded(t, t.TempDir())
	t.Cleanup(func() { e.Close() })
	var n atomic.Int64
	kvtest.Run(t, func(t *testing.T) kv.Store {
		// Every store gets its own root: they share one server.
		root := fmt.Sprintf("test-%d", n.Add(1))
		s, err := kv.NewEtcd(t.Context(), kv.EtcdConfig{Endpoints: []string{e.Endpoint()}, RootPath: root}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestEmbeddedConformance runs the suite through the in-process client.
func TestEmbeddedConformance(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	var n atomic.Int64
	kvtest.Run(t, func(t *testing.T) kv.Store {
		return e.NewStore(fmt.Sprintf("test-%d", n.Add(1)))
	})
}

func TestFaultyConformance(t *testing.T) {
	t.Parallel()
	kvtest.Run(t, func(t *testing.T) kv.Store {
		return &kvtest.Faulty{Store: kv.NewMemory(), FailAfter: -1}
	})
}

func TestFaulty(t *testing.T) {
	ctx := context.Background()
	f := &kvtest.Faulty{Store: kv.NewMemory(), FailAfter: 2}
	defer f.Close()
	for i := range 2 {
		if _, err := f.Put(ctx, "k", []byte("v")); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if _, err := f.Get(ctx, "k"); !errors.Is(err, kvtest.ErrInjected) {
		t.Fatalf("third call: err = %v, want ErrInjected", err)
	}
	if f.Calls() != 3 {
		t.Fatalf("Calls = %d", f.Calls())
	}
}

// TestEmbeddedRestart checks that acknowledged writes survive a restart and
// that the root path separates stores.
func TestEmbeddedRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "etcd")
	e := startEmbedded(t, dir)
	s := e.Client()
	if s.RootPath() != "milvago/" {
		t.Fatalf("RootPath = %q", s.RootPath())
	}
	const n = 200
	start := time.Now()
	var rev int64
	for i := range n {
		r, err := s.Put(ctx, fmt.Sprintf("k/%03d", i), []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		rev = r
	}
	t.Logf("put: %v each", time.Since(start)/n)
	other, err := kv.NewEtcd(ctx, kv.EtcdConfig{Endpoints: []string{e.Endpoint()}, RootPath: "other/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := other.List(ctx, ""); err != nil || len(l) != 0 {
		t.Fatalf("another root lists %d keys, %v", len(l), err)
	}
	other.Close()
	start = time.Now()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("close: %v", time.Since(start))

	e = startEmbedded(t, dir)
	defer e.Close()
	l, err := e.Client().List(ctx, "k/")
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != n || l[n-1].Revision != rev {
		t.Fatalf("after restart: %d keys, last at %d; want %d, %d", len(l), l[len(l)-1].Revision, n, rev)
	}
}

func TestEmbeddedLongDir(t *testing.T) {
	// Too long for a unix socket path: the sockets go elsewhere.
	dir := filepath.Join(t.TempDir(), "a-rather-long-directory-name-to-push-the-socket-path", "past-the-108-byte-limit-of-sun-path")
	e := startEmbedded(t, dir)
	defer e.Close()
	if _, err := e.Client().Put(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
}

func TestNewEtcdUnreachable(t *testing.T) {
	_, err := kv.NewEtcd(context.Background(), kv.EtcdConfig{
		Endpoints:   []string{"unix://" + filepath.Join(t.TempDir(), "nobody.sock")},
		DialTimeout: 300 * time.Millisecond,
	}, nil)
	if err == nil {
		t.Fatal("NewEtcd of a dead endpoint succeeded")
	}
}

func TestEmbeddedDirInUse(t *testing.T) {
	dir := t.TempDir()
	e := startEmbedded(t, dir)
	defer e.Close()
	if e2, err := kv.StartEmbedded(t.Context(), kv.EmbedConfig{Dir: dir}, nil); err == nil {
		e2.Close()
		t.Fatal("a second server started on the same directory")
	}
	// The first one still serves, on a fresh connection too.
	s, err := kv.NewEtcd(t.Context(), kv.EtcdConfig{Endpoints: []string{e.Endpoint()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
}

// TestEtcdWatchCompacted checks that a watch from a compacted revision ends
// (closes) instead of hanging or skipping changes silently.
func TestEtcdWatchCompacted(t *testing.T) {
	ctx := t.Context()
	e := startEmbedded(t, t.TempDir())
	defer e.Close()
	s := e.Client()
	r1, _ := s.Put(ctx, "c/1", []byte("1"))
	r2, _ := s.Put(ctx, "c/2", []byte("2"))
	if _, err := s.Client().Compact(ctx, r2); err != nil {
		t.Fatal(err)
	}
	ch := s.Watch(ctx, "c/", r1-1)
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("watch from a compacted revision delivered %+v", ev)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("watch from a compacted revision did not end")
	}
	// From the compaction point on, watching works.
	ch = s.Watch(ctx, "c/", r2)
	r3, _ := s.Put(ctx, "c/3", []byte("3"))
	select {
	case ev := <-ch:
		if ev.Revision != r3 {
			t.Fatalf("event %+v, want revision %d", ev, r3)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no event")
	}
}

// TestEtcdLargeValue puts a value above the etcd client's 2 MiB default
// send limit and below the embedded server's 8 MiB request limit, through
// the socket and in-process.
func TestEtcdLargeValue(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := startEmbedded(t, t.TempDir())
	defer e.Close()
	sock, err := kv.NewEtcd(ctx, kv.EtcdConfig{Endpoints: []string{e.Endpoint()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	big := make([]byte, 5<<20)
	for name, s := range map[string]kv.Store{"socket": sock, "in-process": e.Client()} {
		if _, err := s.Put(ctx, "big", big); err != nil {
			t.Fatalf("%s: Put of 5 MiB: %v", name, err)
		}
		if got, err := s.Get(ctx, "big"); err != nil || len(got.Value) != len(big) {
			t.Fatalf("%s: Get of 5 MiB: %d bytes, %v", name, len(got.Value), err)
		}
	}
	if _, err := sock.Put(ctx, "too-big", make([]byte, 9<<20)); err == nil {
		t.Fatal("Put of 9 MiB succeeded past the 8 MiB request limit")
	}
}
