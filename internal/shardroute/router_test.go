package shardroute

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
)

// table is a query coordinator's replica table that counts its lookups.
type table struct {
	mu      sync.Mutex
	rs      []contract.Replica
	lookups int
}

func (t *table) Replicas(_ context.Context, id int64) ([]contract.Replica, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lookups++
	if t.rs == nil {
		return nil, errs.CollectionNotLoaded(id)
	}
	return t.rs, nil
}

// node answers with its ID, or fails while down.
type node struct {
	id   int64
	down bool
	hits int
}

func (n *node) Search(context.Context, *contract.SearchRequest) (*contract.SearchResult, error) {
	n.hits++
	if n.down {
		return nil, fmt.Errorf("node %d: %w", n.id, errs.ErrServiceUnavailable)
	}
	return &contract.SearchResult{NQ: 1, IntPKs: []int64{n.id}}, nil
}

func (n *node) Query(context.Context, *contract.QueryRequest) (*contract.QueryResult, error) {
	n.hits++
	if n.down {
		return nil, fmt.Errorf("node %d: %w", n.id, errs.ErrServiceUnavailable)
	}
	return &contract.QueryResult{Count: n.id}, nil
}

type nodes map[int64]*node

func (ns nodes) Dial(_ context.Context, id int64, _ string) (Reader, error) { return ns[id], nil }

func twoReplicas() []contract.Replica {
	return []contract.Replica{
		{ID: 1, Nodes: []int64{1}, Shards: []contract.ShardReplica{{VChannel: "v0", NodeID: 1}}},
		{ID: 2, Nodes: []int64{2}, Shards: []contract.ShardReplica{{VChannel: "v0", NodeID: 2}}},
	}
}

func TestRoundRobinAndFailover(t *testing.T) {
	tab := &table{rs: twoReplicas()}
	ns := nodes{1: {id: 1}, 2: {id: 2}}
	r := New(Default(), tab, ns, nil)
	ctx := context.Background()
	req := &contract.SearchRequest{CollectionID: 7, VChannel: "v0"}
	for range 10 {
		if _, err := r.Search(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if ns[1].hits != 5 || ns[2].hits != 5 {
		t.Fatalf("hits %d and %d, want 5 each", ns[1].hits, ns[2].hits)
	}
	if tab.lookups != 1 {
		t.Fatalf("%d lookups, want 1 (cached)", tab.lookups)
	}
	// Node 1 fails: every request is served by node 2, node 1 is tried
	// once and then last.
	ns[1].down = true
	for range 10 {
		res, err := r.Search(ctx, req)
		if err != nil || res.IntPKs[0] != 2 {
			t.Fatalf("with node 1 down: %v, %v", res, err)
		}
	}
	if ns[1].hits > 6 {
		t.Fatalf("node 1 tried %d times while failing", ns[1].hits-5)
	}
	// Both down: the request fails after its rounds, with the node's error.
	ns[2].down = true
	cfg := Default()
	cfg.Backoff = 0
	r = New(cfg, tab, ns, nil)
	if _, err := r.Query(ctx, &contract.QueryRequest{CollectionID: 7, VChannel: "v0"}); !errors.Is(err, errs.ErrServiceUnavailable) {
		t.Fatalf("both down: %v", err)
	}
	// A shard no replica serves: channel not available.
	tab.rs = []contract.Replica{{ID: 1, Shards: []contract.ShardReplica{{VChannel: "v0"}}}}
	r = New(cfg, tab, ns, nil)
	if _, err := r.Query(ctx, &contract.QueryRequest{CollectionID: 7, VChannel: "v0"}); !errors.Is(err, errs.ErrChannelNotAvailable) {
		t.Fatalf("no leader: %v", err)
	}
	// Not loaded: at once, unwrapped.
	tab.rs = nil
	if _, err := r.Query(ctx, &contract.QueryRequest{CollectionID: 7, VChannel: "v0"}); !errors.Is(err, errs.ErrCollectionNotLoaded) {
		t.Fatalf("not loaded: %v", err)
	}
}

// hung never answers until its caller gives up, as a paused (SIGSTOP)
// query node whose connection stays open.
type hung struct{ calls chan struct{} }

func (h hung) Search(ctx context.Context, _ *contract.SearchRequest) (*contract.SearchResult, error) {
	h.calls <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

func (h hung) Query(ctx context.Context, _ *contract.QueryRequest) (*contract.QueryResult, error) {
	h.calls <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

// slow answers after a delay.
type slow struct {
	id    int64
	delay time.Duration
}

func (s slow) Search(ctx context.Context, _ *contract.SearchRequest) (*contract.SearchResult, error) {
	select {
	case <-time.After(s.delay):
		return &contract.SearchResult{NQ: 1, IntPKs: []int64{s.id}}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s slow) Query(ctx context.Context, req *contract.QueryRequest) (*contract.QueryResult, error) {
	return nil, errors.New("unused")
}

type readers map[int64]Reader

func (rs readers) Dial(_ context.Context, id int64, _ string) (Reader, error) { return rs[id], nil }

func TestHungReplicaIsHedged(t *testing.T) {
	tab := &table{rs: twoReplicas()}
	h := hung{calls: make(chan struct{}, 100)}
	rs := readers{1: h, 2: slow{id: 2}}
	cfg := Default()
	cfg.AttemptTimeout = 50 * time.Millisecond
	r := New(cfg, tab, rs, nil)
	req := &contract.SearchRequest{CollectionID: 7, VChannel: "v0"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 6 {
		start := time.Now()
		res, err := r.Search(ctx, req)
		if err != nil || res.IntPKs[0] != 2 {
			t.Fatalf("search %d: %v, %v", i, res, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("search %d took %v with one replica hung", i, d)
		}
	}
	// The hung node was tried once, then put last (Penalty) so the other
	// requests went straight to node 2.
	if n := len(h.calls); n != 1 {
		t.Fatalf("hung node asked %d times, want 1", n)
	}
}

func TestSlowOnlyReplicaCompletes(t *testing.T) {
	tab := &table{rs: twoReplicas()[:1]}
	cfg := Default()
	cfg.AttemptTimeout = 10 * time.Millisecond
	r := New(cfg, tab, readers{1: slow{id: 1, delay: 100 * time.Millisecond}}, nil)
	res, err := r.Search(context.Background(), &contract.SearchRequest{CollectionID: 7, VChannel: "v0"})
	if err != nil || res.IntPKs[0] != 1 {
		t.Fatalf("slow single replica: %v, %v", res, err)
	}
}

func TestSlowReplicasFirstAnswerWins(t *testing.T) {
	tab := &table{rs: twoReplicas()}
	cfg := Default()
	cfg.AttemptTimeout = 20 * time.Millisecond
	// Both slow, node 1 much slower: whichever goes first, node 2's
	// answer arrives first once both run.
	r := New(cfg, tab, readers{1: slow{id: 1, delay: 5 * time.Second}, 2: slow{id: 2, delay: 60 * time.Millisecond}}, nil)
	for range 2 {
		start := time.Now()
		res, err := r.Search(context.Background(), &contract.SearchRequest{CollectionID: 7, VChannel: "v0"})
		if err != nil || res.IntPKs[0] != 2 {
			t.Fatalf("%v, %v", res, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v: the slow attempt was waited for", d)
		}
	}
}

// TestStaleLeadersRefreshInBackground: past CacheTTL a request still uses
// the cached leaders and the refresh runs beside it; the refreshed table
// is used from then on. A failure on the only replica refreshes at once.
func TestStaleLeadersRefreshInBackground(t *testing.T) {
	tab := &table{rs: []contract.Replica{{ID: 1, Nodes: []int64{1}, Shards: []contract.ShardReplica{{VChannel: "v0", NodeID: 1}}}}}
	ns := nodes{1: {id: 1}, 2: {id: 2}}
	cfg := Default()
	cfg.CacheTTL = 20 * time.Millisecond
	cfg.Backoff = 0
	r := New(cfg, tab, ns, nil)
	ctx := context.Background()
	req := &contract.SearchRequest{CollectionID: 7, VChannel: "v0"}
	if res, err := r.Search(ctx, req); err != nil || res.IntPKs[0] != 1 {
		t.Fatalf("first search: %v, %v", res, err)
	}
	// The shard moves to node 2; node 1 still answers (as a node does
	// until it is told to release).
	tab.mu.Lock()
	tab.rs = []contract.Replica{{ID: 1, Nodes: []int64{2}, Shards: []contract.ShardReplica{{VChannel: "v0", NodeID: 2}}}}
	tab.mu.Unlock()
	time.Sleep(30 * time.Millisecond)
	if res, err := r.Search(ctx, req); err != nil || res.IntPKs[0] != 1 {
		t.Fatalf("stale entry not used: %v, %v", res, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := r.Search(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.IntPKs[0] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background refresh never reached the cache")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Node 2 dies, the shard is back on node 1: the failed read refreshes
	// at once and succeeds in the same request.
	ns[2].down = true
	tab.mu.Lock()
	tab.rs = []contract.Replica{{ID: 1, Nodes: []int64{1}, Shards: []contract.ShardReplica{{VChannel: "v0", NodeID: 1}}}}
	tab.mu.Unlock()
	if res, err := r.Search(ctx, req); err != nil || res.IntPKs[0] != 1 {
		t.Fatalf("after the only replica failed: %v, %v", res, err)
	}
	// An Invalidate drops the entry: the next request asks.
	lookups := func() int { tab.mu.Lock(); defer tab.mu.Unlock(); return tab.lookups }
	before := lookups()
	r.Invalidate(7)
	if _, err := r.Search(ctx, req); err != nil || lookups() < before+1 {
		t.Fatalf("after Invalidate: %v, %d lookups (was %d)", err, lookups(), before)
	}
}

// refusing answers every read with a query node's refusal.
type refusing struct {
	id   int64
	hits int
}

func (n *refusing) Search(context.Context, *contract.SearchRequest) (*contract.SearchResult, error) {
	n.hits++
	return nil, errs.PartitionNotLoaded(9)
}

func (n *refusing) Query(context.Context, *contract.QueryRequest) (*contract.QueryResult, error) {
	n.hits++
	return nil, errs.PartitionNotLoaded(9)
}

type refusingNodes map[int64]*refusing

func (ns refusingNodes) Dial(_ context.Context, id int64, _ string) (Reader, error) {
	if n, ok := ns[id]; ok {
		return n, nil
	}
	return nil, fmt.Errorf("dial node %d: %w", id, errs.ErrServiceUnavailable)
}

// TestShardReadErrorText checks the text of a failed shard read: Milvus's
// load balancer's "failed to search/query delegator N for channel C: "
// (shardclient/lb_policy.go:302) naming the last replica asked, with the
// shard call's "fail to search on QueryNode N: " (task_search.go:1084) or
// "fail to Query on QueryNode N: " (task_query.go:752) when the node
// refused, and the node's own error last, whose code it keeps. Clients'
// Reason is the innermost of those prefixes with the node's error, as
// Milvus's merr.Status gives it (errs.Reason); the error's whole text
// (the status's Detail) has the load balancer's too.
func TestShardReadErrorText(t *testing.T) {
	ctx := context.Background()
	cfg := Default()
	cfg.Backoff, cfg.Rounds = 0, 1
	oneReplica := []contract.Replica{{ID: 1, Nodes: []int64{3}, Shards: []contract.ShardReplica{{VChannel: "v0", NodeID: 3}}}}
	for _, c := range []struct {
		name     string
		replicas []contract.Replica
		ns       refusingNodes
		search   bool
		want     string
	}{
		{"search refused", oneReplica, refusingNodes{3: {id: 3}}, true,
			"fail to search on QueryNode 3: partition not loaded[partition=9]"},
		{"query refused", oneReplica, refusingNodes{3: {id: 3}}, false,
			"fail to Query on QueryNode 3: partition not loaded[partition=9]"},
		{"node unreachable", oneReplica, refusingNodes{}, true,
			"failed to search/query delegator 3 for channel v0: dial node 3: service unavailable"},
	} {
		r := New(cfg, &table{rs: c.replicas}, c.ns, nil)
		var err error
		if c.search {
			_, err = r.Search(ctx, &contract.SearchRequest{CollectionID: 7, VChannel: "v0"})
		} else {
			_, err = r.Query(ctx, &contract.QueryRequest{CollectionID: 7, VChannel: "v0"})
		}
		if err == nil || errs.Reason(err) != c.want {
			t.Errorf("%s: %v; want %s", c.name, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), "failed to search/query delegator 3 for channel v0: ") {
			t.Errorf("%s: detail %q lacks the load balancer's context", c.name, err.Error())
		}
		if !errs.IsShardRead(err) {
			t.Errorf("%s: %v is not a shard read error", c.name, err)
		}
	}
	// Two replicas both refusing: both are asked, and the text names the
	// last, as Milvus's ExecuteWithRetry reports its last attempt.
	ns := refusingNodes{1: {id: 1}, 2: {id: 2}}
	r := New(cfg, &table{rs: twoReplicas()}, ns, nil)
	start := r.rr.Load() + 1 // the candidates' rotation of this read
	_, err := r.Search(ctx, &contract.SearchRequest{CollectionID: 7, VChannel: "v0"})
	if ns[1].hits != 1 || ns[2].hits != 1 {
		t.Fatalf("hits %d and %d, want 1 each", ns[1].hits, ns[2].hits)
	}
	// The replica asked second is the one the round robin did not start at.
	last := int64(1 + (start+1)%2) // twoReplicas lists node 1, then node 2
	want := fmt.Sprintf("fail to search on QueryNode %d: partition not loaded[partition=9]", last)
	if err == nil || errs.Reason(err) != want || !errors.Is(err, errs.ErrPartitionNotLoaded) || errs.CodeOf(err) != 201 {
		t.Fatalf("two replicas refusing: %v (code %d); want 201 %s", err, errs.CodeOf(err), want)
	}
}
