package kv_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/kvtest"
	"github.com/milvago/milvago/internal/testservers"
)

// TestEtcdClusterConformance runs the suite with the cluster-mode client
// against a real 3-member etcd cluster, every store on all three endpoints.
func TestEtcdClusterConformance(t *testing.T) {
	c := testservers.StartEtcd(t, 3)
	var n atomic.Int64
	kvtest.Run(t, func(t *testing.T) kv.Store {
		s, err := kv.NewEtcd(t.Context(), kv.EtcdConfig{
			Endpoints: c.Endpoints(),
			RootPath:  fmt.Sprintf("test-%d", n.Add(1)),
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// etcdWriter puts w/00000, w/00001, ... one at a time until stopped,
// remembering which puts were acknowledged. A put that fails (a timeout
// while the cluster elects a leader) may or may not have been applied; the
// test only holds the store to the acknowledged ones.
type etcdWriter struct {
	s     *kv.Etcd
	mu    sync.Mutex
	acked map[string]int64 // key -> revision
	fails int
	last  string
}

func (w *etcdWriter) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		key := fmt.Sprintf("w/%05d", i)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		rev, err := w.s.Put(pctx, key, []byte(key))
		cancel()
		w.mu.Lock()
		if err == nil {
			w.acked[key] = rev
			w.last = key
		} else if ctx.Err() == nil {
			w.fails++
		}
		w.mu.Unlock()
	}
}

func (w *etcdWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// waitAcked waits until n more puts than now have been acknowledged.
func (w *etcdWriter) waitAcked(t *testing.T, n int, what string) {
	t.Helper()
	want := w.count() + n
	deadline := time.Now().Add(60 * time.Second)
	for w.count() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d puts acknowledged in 60 s, want %d", what, w.count(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// etcdLeader returns the index of the member that leads the cluster.
func etcdLeader(t *testing.T, cli *clientv3.Client, c *testservers.EtcdCluster) int {
	t.Helper()
	for i, m := range c.Members {
		if !m.Running() {
			continue
		}
		st, err := cli.Status(t.Context(), m.ClientURL)
		if err == nil && st.Leader == st.Header.MemberId {
			return i
		}
	}
	t.Fatal("no etcd leader")
	return -1
}

// TestEtcdClusterKillMember kills the leader of a 3-member cluster with
// SIGKILL while a client writes: the two others elect a new leader and
// keep acknowledging writes, the killed member restarts and catches up,
// and once it has, the cluster survives losing another member, so the
// rejoined one is a full voter holding every acknowledged write.
func TestEtcdClusterKillMember(t *testing.T) {
	c := testservers.StartEtcd(t, 3)
	s, err := kv.NewEtcd(t.Context(), kv.EtcdConfig{Endpoints: c.Endpoints(), RootPath: "kill"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := &etcdWriter{s: s, acked: make(map[string]int64)}
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.run(ctx)
	}()
	stopWriter := func() {
		stop()
		wg.Wait()
	}
	defer stopWriter()

	w.waitAcked(t, 50, "before the kill")
	victim := etcdLeader(t, s.Client(), c)
	t.Logf("killing the leader, %s, after %d puts", c.Members[victim].Name, w.count())
	c.Members[victim].Kill(t)
	w.waitAcked(t, 100, "with 2 of 3 members")

	c.Members[victim].Restart(t)
	w.waitAcked(t, 50, "after the restart")
	stopWriter()
	w.mu.Lock()
	t.Logf("%d puts acknowledged, %d failed", len(w.acked), w.fails)
	last := w.acked[w.last]
	w.mu.Unlock()

	// The restarted member's own copy (serializable reads are served
	// from its local state) catches up with every acknowledged write.
	rejoined := c.Members[victim].ClientURL
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := s.Client().Status(t.Context(), rejoined)
		if err == nil && st.Header.Revision >= last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted member did not catch up to revision %d: %v %v", last, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := s.Client().Get(t.Context(), "kill/w/", clientv3.WithPrefix(), clientv3.WithSerializable())
	if err != nil {
		t.Fatal(err)
	}
	local := make(map[string]int64)
	for _, kv := range resp.Kvs {
		local[string(kv.Key[len("kill/"):])] = kv.ModRevision
	}
	checkAcked(t, "restarted member's local copy", w.acked, local)

	// Now lose another member: the rejoined one is needed for a quorum.
	other := (victim + 1) % 3
	c.Members[other].Kill(t)
	t.Logf("killed %s; %s rejoined", c.Members[other].Name, c.Members[victim].Name)
	pctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		_, err := s.Put(pctx, "after/second-kill", []byte("x"))
		if err == nil {
			break
		}
		if pctx.Err() != nil {
			t.Fatalf("put with the rejoined member and one other: %v", err)
		}
	}
	all, err := s.List(pctx, "w/")
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]int64)
	for _, kv := range all {
		if kv.Key != string(kv.Value) {
			t.Fatalf("key %q holds %q", kv.Key, kv.Value)
		}
		got[kv.Key] = kv.Revision
	}
	checkAcked(t, "after the second kill", w.acked, got)
}

// checkAcked fails unless every acknowledged key is in got at the revision
// its put returned.
func checkAcked(t *testing.T, what string, acked, got map[string]int64) {
	t.Helper()
	for k, rev := range acked {
		if g, ok := got[k]; !ok || g != rev {
			t.Fatalf("%s: acknowledged %s at revision %d; found %v at %d", what, k, rev, ok, g)
		}
	}
}
