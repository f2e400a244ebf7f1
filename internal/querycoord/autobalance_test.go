package querycoord

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/querynode"
	"github.com/milvago/milvago/internal/shardroute"
)

// TestAutoBalanceNewNode loads one replica on one node (both shards
// there); a second node joins the replica and serves nothing until the
// balance checker moves a shard onto it, while reads through the shard
// router never fail.
func TestAutoBalanceNewNode(t *testing.T) {
	c := newCluster(t)
	c.createIndex(t)
	c.insertRange(t, 0, 40)
	set := &nodeSet{m: map[int64]*querynode.Server{}}
	c.startNode(t, set, 11)
	store := kv.NewMemory()
	t.Cleanup(func() { store.Close() })
	qc, err := New(c.ctx, Deps{KV: store, Data: c.data, Indexes: c.icoord, Nodes: set, IDs: c.root, Collections: c.root})
	if err != nil {
		t.Fatal(err)
	}
	c.data.AddListener(qc)
	c.icoord.AddListener(qc)
	mustDo(qc.SetNodes(c.ctx, infos(11)))
	mustDo(qc.LoadCollection(c.ctx, c.coll, nil, 1))
	eventually(t, "loaded", func() bool { st := must(qc.State(bg, c.coll.ID)); return st.Loaded && st.Progress == 100 })
	if n := must(qc.BalanceShards(c.ctx)); n != 0 {
		t.Fatalf("one node: %d moves", n)
	}

	c.startNode(t, set, 12)
	mustDo(qc.SetNodes(c.ctx, infos(11, 12)))
	rs := must(qc.Replicas(bg, c.coll.ID))
	if len(rs) != 1 || len(rs[0].Nodes) != 2 {
		t.Fatalf("replicas %+v: want node 12 in the replica", rs)
	}
	for vc, n := range leadersOf(t, qc, c.coll.ID)[rs[0].ID] {
		if n != 11 {
			t.Fatalf("shard %s on %d before balancing", vc, n)
		}
	}

	// Reads run through the move.
	router := shardroute.New(shardroute.Default(), qc, set, nil)
	ctx, stop := context.WithCancel(c.ctx)
	var reads, failed atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			n, err := c.countVia(ctx, router, c.now(t))
			if ctx.Err() != nil {
				return
			}
			if err != nil || n != 40 {
				failed.Add(1)
				t.Errorf("read during the move: %d, %v", n, err)
			}
			reads.Add(1)
		}
	})
	moved := must(qc.BalanceShards(c.ctx))
	eventually(t, "reads after the move", func() bool { return reads.Load() > 20 })
	stop()
	wg.Wait()
	if moved != 1 {
		t.Fatalf("%d shards moved, want 1", moved)
	}
	per := map[int64]int{}
	for _, n := range leadersOf(t, qc, c.coll.ID)[rs[0].ID] {
		per[n]++
	}
	if per[11] != 1 || per[12] != 1 {
		t.Fatalf("after balancing: %v, want one shard per node", per)
	}
	if failed.Load() > 0 {
		t.Fatalf("%d of %d reads failed during the move", failed.Load(), reads.Load())
	}
	// Balanced: nothing more to do.
	if n := must(qc.BalanceShards(c.ctx)); n != 0 {
		t.Fatalf("balanced replica: %d more moves", n)
	}
}
