//go:build linux

package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// insOKNow is the number of acknowledged inserts so far.
func (w *writeLoop) insOKNow() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.insOK
}

// flowing is nil when ten more inserts are acknowledged within a few
// seconds: under CI's load the writers manage about 5 a second even with
// every log writer up, so one second cannot tell a stall from a busy
// machine.
func (w *writeLoop) flowing() error {
	ok := w.insOKNow()
	time.Sleep(4 * time.Second)
	if w.insOKNow() < ok+10 {
		return fmt.Errorf("inserts stall: %v", w)
	}
	return nil
}

// TestClusterKafka runs the cluster with its log on Kafka (mq.type: kafka,
// kafka.brokerList naming the three brokers of a kfake process) instead of
// NATS: mixcoord, streaming node, data node, index node, two query nodes
// and two proxies, each its own process. It drives a collection through
// both proxies (insert, flush, index, load with two replicas, search,
// query, delete, growing inserts), then, under a load of inserts, deletes,
// searches and queries through both proxies, kills a query node (no read
// may fail: the other replica serves) and the data node (a flush completes
// on its replacement), then Kafka itself (restarted on its data), and
// checks that every acknowledged write is there and counts are exact.
func TestClusterKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c, _ := startClusterWith(t, clusterOpts{logLevel: "debug", storageNodes: 3, kafkaBrokers: 3},
		"mixcoord", "streamingnode", "datanode", "querynode-1:querynode", "querynode-2:querynode", "indexnode",
		"proxy-1:proxy", "proxy-2:proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cli1 := connect(t, ctx, c.ProxyAddr("proxy-1"))
	cli2 := connect(t, ctx, c.ProxyAddr("proxy-2"))

	// The flow of TestClusterFlow, on Kafka.
	const name, n = "onkafka", 1000
	vecs := flowReplicas(t, ctx, cli1, name, n, 2)
	checkSearch(t, ctx, cli1, name, vecs, 3, 700)
	checkSearch(t, ctx, cli2, name, vecs, 42, n-1)
	if got := count(t, ctx, cli2, name, `tag == "t1"`); got != n/5 {
		t.Fatalf("count through proxy-2: %d, want %d", got, n/5)
	}
	del, err := cli2.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr("id in [1, 2, 3]"))
	if err != nil || del.DeleteCount != 3 {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	if got := count(t, ctx, cli1, name, "id < 10"); got != 7 {
		t.Fatalf("after delete, count through proxy-1: %d, want 7", got)
	}
	// Back again, so that the readers below find every row 0..n-1.
	if _, err := cli2.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1, 2, 3}).
		WithVarcharColumn("tag", []string{"t1", "t2", "t3"}).WithFloatVectorColumn("v", dim, vecs[1:4])); err != nil {
		t.Fatalf("insert the deleted rows again: %v", err)
	}
	if got := count(t, ctx, cli1, name, "id < 10"); got != 10 {
		t.Fatalf("after re-inserting, count through proxy-1: %d, want 10", got)
	}
	late := make([]int64, 10)
	tags := make([]string, len(late))
	for i := range late {
		late[i], tags[i] = int64(5000+i), "late"
	}
	if _, err := cli1.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", late).
		WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", dim, vectors(rand.New(rand.NewPCG(11, 13)), len(late)))); err != nil {
		t.Fatalf("insert growing rows: %v", err)
	}
	if got := count(t, ctx, cli2, name, `tag == "late"`); got != int64(len(late)) {
		t.Fatalf("growing rows through proxy-2: %d, want %d", got, len(late))
	}
	base := int64(n + len(late)) // rows before the load

	// Kills under load.
	reads1 := startReads(ctx, cli1, name, vecs)
	reads2 := startReads(ctx, cli2, name, vecs)
	writes := startWrites(ctx, name, cli1, cli2)
	halted := false
	stopLoad := func() {
		if !halted {
			halted = true
			writes.halt()
			reads1.halt()
			reads2.halt()
		}
	}
	defer stopLoad()
	time.Sleep(3 * time.Second)
	if reads1.failed.Load()+reads2.failed.Load() != 0 || writes.failures() != 0 {
		t.Fatalf("failures before any kill: proxy-1 %v; proxy-2 %v; writes %v", reads1, reads2, writes)
	}

	// 1. A query node of the two-replica collection: the other replica
	// serves every read; a new node takes the dead one's replica.
	before := map[int64]bool{}
	for _, r := range describeReplicas(t, ctx, cli1, name) {
		for _, id := range r.Nodes {
			before[id] = true
		}
	}
	f0 := reads1.failed.Load() + reads2.failed.Load()
	start := time.Now()
	c.Roles["querynode-1"].Kill()
	c.Add(t, "querynode-3:querynode").WaitReady(t, 60*time.Second)
	eventually(t, 90*time.Second, "both replicas served again", func() error {
		rs, err := cli1.DescribeReplica(ctx, milvusclient.NewDescribeReplicaOption(name))
		if err != nil {
			return err
		}
		var nodes []int64
		newcomer := false
		for _, r := range rs {
			nodes = append(nodes, r.Nodes...)
			for _, id := range r.Nodes {
				newcomer = newcomer || !before[id]
			}
			for _, sh := range r.Shards {
				if !slices.Contains(r.Nodes, sh.ShardLeader) {
					return fmt.Errorf("replica %d: shard %s led by node %d, not one of %v", r.ReplicaID, sh.ChannelName, sh.ShardLeader, r.Nodes)
				}
			}
		}
		if len(rs) != 2 || len(nodes) != 2 || !newcomer {
			return fmt.Errorf("%d replicas on nodes %v (before the kill: %v)", len(rs), nodes, before)
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	if f := reads1.failed.Load() + reads2.failed.Load() - f0; f != 0 {
		t.Errorf("%d reads failed while a query node of a 2-replica collection died: proxy-1 %v; proxy-2 %v", f, reads1, reads2)
	}
	t.Logf("querynode-1 killed: replica back on querynode-3 in %v; reads proxy-1 %v; proxy-2 %v",
		time.Since(start).Round(time.Millisecond), reads1, reads2)

	// 2. The data node: its channels move to the replacement, which
	// consumes them from Kafka where the dead one stopped; a flush completes.
	start = time.Now()
	c.Roles["datanode"].Kill()
	c.Add(t, "datanode-2:datanode").WaitReady(t, 60*time.Second)
	eventually(t, 120*time.Second, "flush on datanode-2", func() error {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		ft, err := cli1.Flush(fctx, milvusclient.NewFlushOption(name))
		if err != nil {
			return err
		}
		return ft.Await(fctx)
	})
	t.Logf("datanode killed: flush on datanode-2 after %v; writes %v", time.Since(start).Round(time.Millisecond), writes)
	// 3. Kafka itself: SIGKILL and restart on its data. Writes fail
	// while it is down (they are uncertain, deleted again below); the
	// roles' clients reconnect, and reads never needed it.
	wf := writes.failures()
	start = time.Now()
	c.Kafka.Kill(t)
	time.Sleep(time.Second)
	c.Kafka.Restart(t)
	eventually(t, 60*time.Second, "writes acknowledged after the Kafka restart", func() error {
		ok := writes.insOKNow()
		time.Sleep(500 * time.Millisecond)
		if writes.insOKNow() <= ok {
			return fmt.Errorf("no insert acknowledged: %v", writes)
		}
		return nil
	})
	eventually(t, 120*time.Second, "flush after the Kafka restart", func() error {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		ft, err := cli2.Flush(fctx, milvusclient.NewFlushOption(name))
		if err != nil {
			return err
		}
		return ft.Await(fctx)
	})
	t.Logf("kafka killed and restarted: writes again and a flush after %v; %d writes failed meanwhile; writes %v",
		time.Since(start).Round(time.Millisecond), writes.failures()-wf, writes)

	time.Sleep(2 * time.Second)
	stopLoad()
	t.Logf("load: writes %v; reads via proxy-1 %v; via proxy-2 %v", writes, reads1, reads2)

	// Exact counts: uncertain rows (failed writes) are deleted again.
	var uncertain []int64
	for id := range writes.uncertain {
		uncertain = append(uncertain, id)
	}
	slices.Sort(uncertain)
	for i := 0; i < len(uncertain); i += 500 {
		batch := uncertain[i:min(i+500, len(uncertain))]
		eventually(t, 30*time.Second, "delete the uncertain rows", func() error {
			_, err := cli1.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", batch))
			return err
		})
	}
	want := base + int64(len(writes.live))
	for i, cli := range []*milvusclient.Client{cli1, cli2} {
		if got := count(t, ctx, cli, name, "id >= 0"); got != want {
			t.Errorf("count(*) through proxy-%d: %d, want %d (%d before the load + %d acknowledged inserts not deleted; %d uncertain rows deleted)",
				i+1, got, want, base, len(writes.live), len(uncertain))
		}
	}
	slices.Sort(writes.live)
	for i := 0; i < len(writes.live); i += 1000 {
		batch := writes.live[i:min(i+1000, len(writes.live))]
		if got := count(t, ctx, cli2, name, idsFilter(batch)); got != int64(len(batch)) {
			t.Errorf("acknowledged rows %d..%d: %d found, want %d", batch[0], batch[len(batch)-1], got, len(batch))
		}
	}
	if len(writes.deleted) > 0 {
		if got := count(t, ctx, cli1, name, idsFilter(writes.deleted)); got != 0 {
			t.Errorf("%d of %d acknowledged deletes undone", got, len(writes.deleted))
		}
	}
	checkSearch(t, ctx, cli2, name, vecs, 2, n-1)
}
