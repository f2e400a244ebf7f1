package querycoord

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/querynode"
	"github.com/milvago/milvago/internal/shardroute"
)

// nodeSet is a set of in-process query nodes by server ID.
type nodeSet struct {
	mu sync.Mutex
	m  map[int64]*querynode.Server
}

func (n *nodeSet) Node(_ context.Context, id int64) (QueryNode, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if q, ok := n.m[id]; ok {
		return q, nil
	}
	return nil, errs.NodeNotFound(id)
}

func (n *nodeSet) Dial(ctx context.Context, id int64, _ string) (shardroute.Reader, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if q, ok := n.m[id]; ok {
		return q, nil
	}
	return nil, fmt.Errorf("node %d: %w", id, errs.ErrServiceUnavailable)
}

// kill stops a node: it no longer answers.
func (n *nodeSet) kill(id int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.m, id)
}

// startNode starts a query node over the cluster's log and objects.
func (c *cluster) startNode(t *testing.T, set *nodeSet, id int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(c.ctx)
	q := querynode.New(querynode.Deps{Log: c.log, Objects: c.objects, Syncer: c.w})
	q.Start(ctx)
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	set.mu.Lock()
	set.m[id] = q
	set.mu.Unlock()
}

func infos(ids ...int64) []NodeInfo {
	out := make([]NodeInfo, 0, len(ids))
	for _, id := range ids {
		out = append(out, NodeInfo{ID: id, Addr: fmt.Sprintf("node-%d:19530", id)})
	}
	return out
}

// countVia counts the collection's rows through a shard router.
func (c *cluster) countVia(ctx context.Context, r *shardroute.Router, guarantee uint64) (int64, error) {
	var n int64
	for _, vc := range c.coll.VChannels {
		q, err := r.Query(ctx, &contract.QueryRequest{CollectionID: c.coll.ID, VChannel: vc, GuaranteeTS: guarantee, CountOnly: true})
		if err != nil {
			return 0, err
		}
		n += q.Count
	}
	return n, nil
}

func leadersOf(t *testing.T, qc *Server, collectionID int64) map[int64]map[string]int64 {
	t.Helper()
	rs, err := qc.Replicas(bg, collectionID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]map[string]int64{}
	for _, r := range rs {
		out[r.ID] = map[string]int64{}
		for _, sh := range r.Shards {
			out[r.ID][sh.VChannel] = sh.NodeID
		}
	}
	return out
}

// TestReplicasPlacementAndNodeDeath loads two replicas over real query
// nodes and reads through the shard router while nodes join and die: each
// replica owns distinct nodes and serves every shard; a dead node's shards
// move to its replica's other node; a replica with no node left is
// unhealthy while the other keeps serving; handoffs reach every replica.
func TestReplicasPlacementAndNodeDeath(t *testing.T) {
	c := newCluster(t)
	c.createIndex(t)
	c.insertRange(t, 0, 40)
	set := &nodeSet{m: map[int64]*querynode.Server{}}
	c.startNode(t, set, 11)
	c.startNode(t, set, 12)
	store := kv.NewMemory()
	t.Cleanup(func() { store.Close() })
	qc, err := New(c.ctx, Deps{KV: store, Data: c.data, Indexes: c.icoord, Nodes: set, IDs: c.root, Collections: c.root})
	if err != nil {
		t.Fatal(err)
	}
	c.data.AddListener(qc)
	c.icoord.AddListener(qc)
	if err := qc.SetNodes(c.ctx, infos(11, 12)); err != nil {
		t.Fatal(err)
	}
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 3); !errors.Is(err, errs.ErrResourceGroupNodeNotEnough) ||
		err.Error() != "failed to spawn replica for collection: resource group node not enough[rg=__default_resource_group][currentNodeNum=2][expectedNodeNum=3]" {
		t.Fatalf("three replicas on two nodes: %v", err)
	}
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 2); err != nil {
		t.Fatal(err)
	}
	rs := must(qc.Replicas(bg, c.coll.ID))
	if len(rs) != 2 || len(rs[0].Nodes) != 1 || len(rs[1].Nodes) != 1 || rs[0].Nodes[0] == rs[1].Nodes[0] {
		t.Fatalf("replicas %+v: want two with one distinct node each", rs)
	}
	for _, r := range rs {
		for _, sh := range r.Shards {
			if sh.NodeID != r.Nodes[0] || sh.Addr != fmt.Sprintf("node-%d:19530", r.Nodes[0]) {
				t.Fatalf("replica %d shard %+v not on its node", r.ID, sh)
			}
		}
	}
	r0 := rs[0].ID
	waitProgress := func(what string) {
		eventually(t, what, func() bool { st := must(qc.State(bg, c.coll.ID)); return st.Loaded && st.Progress == 100 })
	}
	waitProgress("two replicas loaded")
	router := shardroute.New(shardroute.Default(), qc, set, nil)
	wantCount := func(what string, want int64) {
		t.Helper()
		for range 4 { // every replica, round robin
			if n, err := c.countVia(c.ctx, router, c.now(t)); err != nil || n != want {
				t.Fatalf("%s: count %d, %v; want %d", what, n, err, want)
			}
		}
	}
	wantCount("two replicas", 40)

	// A third node joins the first replica (both have one node); the
	// first replica's node dies: its shards move to the newcomer.
	c.startNode(t, set, 13)
	if err := qc.SetNodes(c.ctx, infos(11, 12, 13)); err != nil {
		t.Fatal(err)
	}
	rs = must(qc.Replicas(bg, c.coll.ID))
	if len(rs[0].Nodes) != 2 || rs[0].Nodes[1] != 13 {
		t.Fatalf("node 13 joined %+v, want the first replica", rs)
	}
	dead := rs[0].Nodes[0]
	set.kill(dead)
	wantCount("a node dead, its session not yet expired", 40) // the router retries on the other replica
	if err := qc.SetNodes(c.ctx, infos(12, 13)); err != nil {
		t.Fatal(err)
	}
	for vc, n := range leadersOf(t, qc, c.coll.ID)[r0] {
		if n != 13 {
			t.Fatalf("shard %s of replica %d on node %d after node %d died, want 13", vc, r0, n, dead)
		}
	}
	waitProgress("shards moved to node 13")
	// Handoffs reach both replicas: rows sealed now are served sealed.
	c.insertRange(t, 40, 60)
	sealed := c.sealAll(t)
	eventually(t, "flush", func() bool { return must(c.data.Flushed(bg, sealed)) })
	wantCount("after the move and a flush", 60)
	for _, id := range []int64{12, 13} {
		q := must(set.Node(bg, id)).(*querynode.Server)
		eventually(t, fmt.Sprintf("node %d serves the flushed rows sealed", id), func() bool {
			var n int64
			for _, vc := range c.coll.VChannels {
				r, err := q.Query(c.ctx, &contract.QueryRequest{CollectionID: c.coll.ID, VChannel: vc, GuaranteeTS: c.now(t), CountOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				n += r.Count
			}
			return n == 60
		})
	}

	// Loading again with one replica drops the newest; with two, one comes
	// back, taking a node from the other (evened out); loading partitions
	// cannot change the number.
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 1); err != nil {
		t.Fatal(err)
	}
	if rs := must(qc.Replicas(bg, c.coll.ID)); len(rs) != 1 || rs[0].ID != r0 || !rs[0].Serviceable() {
		t.Fatalf("after loading with one replica: %+v", rs)
	}
	if st := must(qc.State(bg, c.coll.ID)); st.Replicas != 1 {
		t.Fatalf("state after loading with one replica: %+v", st)
	}
	wantCount("one replica left", 60)
	if err := qc.LoadCollection(c.ctx, c.coll, []int64{c.coll.Partitions[0].ID}, 2); !errors.Is(err, errs.ErrParameterInvalid) ||
		!strings.Contains(err.Error(), "can't change the replica number for loaded partitions") {
		t.Fatalf("partitions with another replica number: %v", err)
	}
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 2); err != nil {
		t.Fatal(err)
	}
	rs = must(qc.Replicas(bg, c.coll.ID))
	if len(rs) != 2 || len(rs[0].Nodes) != 1 || len(rs[1].Nodes) != 1 || !rs[0].Serviceable() || !rs[1].Serviceable() {
		t.Fatalf("after loading with two replicas again: %+v", rs)
	}
	waitProgress("two replicas again")
	wantCount("two replicas again", 60)
	r0 = 0 // the replica on node 13, which dies next
	for _, r := range rs {
		if r.Nodes[0] == 13 {
			r0 = r.ID
		}
	}
	if r0 == 0 {
		t.Fatalf("no replica on node 13: %+v", rs)
	}

	// Node 13 dies too: the first replica has no node left and is
	// unhealthy; the collection stays loaded and the second serves reads.
	set.kill(13)
	if err := qc.SetNodes(c.ctx, infos(12)); err != nil {
		t.Fatal(err)
	}
	for vc, n := range leadersOf(t, qc, c.coll.ID)[r0] {
		if n != 0 {
			t.Fatalf("shard %s of the replica with no node on node %d", vc, n)
		}
	}
	if st := must(qc.State(bg, c.coll.ID)); !st.Loaded || st.Progress != 100 {
		t.Fatalf("state with one healthy replica: %+v", st)
	}
	wantCount("one healthy replica", 60)

	// The assignments survive a restart of the coordinator.
	qc2, err := New(c.ctx, Deps{KV: store, Data: c.data, Indexes: c.icoord, Nodes: set, IDs: c.root, Collections: c.root})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(leadersOf(t, qc2, c.coll.ID)), fmt.Sprint(leadersOf(t, qc, c.coll.ID)); got != want {
		t.Fatalf("after restart %s, want %s", got, want)
	}

	// One replica over two nodes spreads the two shards.
	c.startNode(t, set, 14)
	if err := qc.SetNodes(c.ctx, infos(12, 14)); err != nil {
		t.Fatal(err)
	}
	if err := qc.ReleaseCollection(c.ctx, c.coll.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := qc.Replicas(bg, c.coll.ID); !errors.Is(err, errs.ErrCollectionNotLoaded) {
		t.Fatalf("replicas after release: %v", err)
	}
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 1); err != nil {
		t.Fatal(err)
	}
	rs = must(qc.Replicas(bg, c.coll.ID))
	if len(rs) != 1 || len(rs[0].Nodes) != 2 || len(rs[0].Shards) != 2 || rs[0].Shards[0].NodeID == rs[0].Shards[1].NodeID {
		t.Fatalf("one replica on two nodes: %+v", rs)
	}
	waitProgress("one replica over two nodes")
	wantCount("one replica over two nodes", 60)

	// GetQuerySegmentInfo: every flushed segment, on its shard's node.
	segs := must(qc.QuerySegments(bg, c.coll.ID))
	if len(segs) == 0 {
		t.Fatal("no sealed segments served")
	}
	for _, q := range segs {
		if len(q.NodeIDs) != 1 || (q.NodeIDs[0] != 12 && q.NodeIDs[0] != 14) || q.NumRows == 0 {
			t.Fatalf("segment %+v", q)
		}
	}
	// LoadBalance: Milvus's checks, then node 12's shards move to node 14
	// while reads go on.
	if err := qc.LoadBalance(c.ctx, c.coll.ID, []int64{12, 14}, nil, nil); !errors.Is(err, errs.ErrParameterInvalid) {
		t.Fatalf("two source nodes: %v", err)
	}
	if err := qc.LoadBalance(c.ctx, c.coll.ID, []int64{99}, nil, nil); !errors.Is(err, errs.ErrNodeNotFound) {
		t.Fatalf("unknown source node: %v", err)
	}
	if err := qc.LoadBalance(c.ctx, c.coll.ID, []int64{12}, []int64{99}, nil); !errors.Is(err, errs.ErrNodeNotFound) {
		t.Fatalf("unknown destination node: %v", err)
	}
	var on14 int64
	for _, q := range segs {
		if q.NodeIDs[0] == 14 {
			on14 = q.SegmentID
		}
	}
	if on14 != 0 {
		if err := qc.LoadBalance(c.ctx, c.coll.ID, []int64{12}, nil, []int64{on14}); !errors.Is(err, errs.ErrSegmentNotFound) {
			t.Fatalf("a segment not on the source: %v", err)
		}
	}
	if err := qc.LoadBalance(c.ctx, c.coll.ID, []int64{12}, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, sh := range must(qc.Replicas(bg, c.coll.ID))[0].Shards {
		if sh.NodeID != 14 {
			t.Fatalf("shard %s on node %d after balancing node 12 off", sh.VChannel, sh.NodeID)
		}
	}
	wantCount("after the balance", 60)
	if p, _ := must2(must(set.Node(bg, 12)).Progress(bg, c.coll.ID)); p != 0 {
		t.Fatalf("node 12 still serves the collection (progress %d)", p)
	}
}
