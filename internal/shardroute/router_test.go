package shardroute

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

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
