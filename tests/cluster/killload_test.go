//go:build linux

package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// writeLoop inserts batches of new rows and deletes some of the rows it
// inserted earlier, until stopped, through the proxies clients holds (the
// test swaps them when a proxy dies). It remembers what was acknowledged
// and what is uncertain: a failed insert or delete may or may not have
// been carried out, so those rows are deleted again at the end (a delete is
// idempotent) and left out of the exact count.
type writeLoop struct {
	clients atomic.Pointer[[]*milvusclient.Client]
	name    string

	mu        sync.Mutex
	live      []int64        // acknowledged inserts not deleted
	deleted   []int64        // acknowledged deletes
	uncertain map[int64]bool // failed inserts and deletes
	insOK     int
	delOK     int
	insFail   int
	delFail   int
	failAt    []time.Time
	lastErr   error

	stop, done chan struct{}
}

const (
	writeBase  = 1_000_000 // writer's IDs; the initial rows are 0..n-1
	writeBatch = 20
)

func startWrites(ctx context.Context, name string, clients ...*milvusclient.Client) *writeLoop {
	w := &writeLoop{name: name, uncertain: map[int64]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	w.setClients(clients...)
	r := rand.New(rand.NewPCG(3, 5))
	go func() {
		defer close(w.done)
		next := int64(writeBase)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			cs := *w.clients.Load()
			cli := cs[i%len(cs)]
			if i%3 != 2 {
				ids := make([]int64, writeBatch)
				tags := make([]string, writeBatch)
				for j := range ids {
					ids[j], tags[j] = next, "w"
					next++
				}
				_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
					WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", dim, vectors(r, writeBatch)))
				w.mu.Lock()
				if err != nil {
					w.fail(err)
					w.insFail++
					for _, id := range ids {
						w.uncertain[id] = true
					}
				} else {
					w.insOK++
					w.live = append(w.live, ids...)
				}
				w.mu.Unlock()
				continue
			}
			// Delete 5 acknowledged rows picked at random.
			w.mu.Lock()
			var ids []int64
			for k := 0; k < 5 && len(w.live) > 0; k++ {
				j := r.IntN(len(w.live))
				ids = append(ids, w.live[j])
				w.live[j] = w.live[len(w.live)-1]
				w.live = w.live[:len(w.live)-1]
			}
			w.mu.Unlock()
			if len(ids) == 0 {
				continue
			}
			_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", ids))
			w.mu.Lock()
			if err != nil {
				w.fail(err)
				w.delFail++
				for _, id := range ids {
					w.uncertain[id] = true
				}
			} else {
				w.delOK++
				w.deleted = append(w.deleted, ids...)
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *writeLoop) setClients(cs ...*milvusclient.Client) { w.clients.Store(&cs) }

// fail records a failure; w.mu is held.
func (w *writeLoop) fail(err error) {
	w.failAt = append(w.failAt, time.Now())
	w.lastErr = err
}

func (w *writeLoop) halt() {
	close(w.stop)
	<-w.done
}

// failures is the number of failed writes so far.
func (w *writeLoop) failures() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.insFail + w.delFail
}

func (w *writeLoop) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("%d inserts ok (%d rows), %d failed; %d deletes ok (%d rows), %d failed; last error: %v",
		w.insOK, w.insOK*writeBatch, w.insFail, w.delOK, len(w.deleted), w.delFail, w.lastErr)
}

// phase is the numbers of one kill.
type phase struct {
	what                    string
	readFails1, readFails2  int64 // failed reads through each proxy
	reads                   int64
	writeFails              int
	readOutage, writeOutage time.Duration // first to last failure
	recovered               time.Duration // kill to the role's work served again
}

func (p phase) String() string {
	return fmt.Sprintf("%-28s reads %6d, failed %3d via proxy-1 / %3d via proxy-2 (outage %v); writes failed %3d (outage %v); recovered in %v",
		p.what, p.reads, p.readFails1, p.readFails2, p.readOutage.Round(time.Millisecond), p.writeFails,
		p.writeOutage.Round(time.Millisecond), p.recovered.Round(time.Millisecond))
}

// TestClusterKillUnderLoad runs two mixcoords (one active, one standing
// by), two proxies, two query nodes holding a two-replica collection, a
// streaming node, a data node and an index node, on a 3-member etcd and a
// 3-node NATS (R3 streams). Under a steady load of inserts and deletes and
// of searches and queries through both proxies, it kills with SIGKILL, one
// at a time: a query node, the data node, the index node, a proxy and the
// active coordinator, replacing each. Then every acknowledged write must
// be there, counts (Strong) exact, and no read may have failed while the
// query node died (two replicas).
func TestClusterKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord-1:mixcoord", "streamingnode", "datanode", "querynode-1:querynode",
		"querynode-2:querynode", "indexnode", "proxy-1:proxy", "proxy-2:proxy")
	// The standby: it waits for the election, so its health check passes
	// only once it is active.
	standby := c.Add(t, "mixcoord-2:mixcoord")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cli1 := connect(t, ctx, c.ProxyAddr("proxy-1"))
	cli2 := connect(t, ctx, c.ProxyAddr("proxy-2"))

	const name, n = "underload", 1000
	vecs := flowReplicas(t, ctx, cli1, name, n, 2)
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

	var phases []phase
	// run kills with kill, lets the load run through the loss and the
	// replacement that recover does (returning when the role's work is
	// served again), then settles for a few seconds and records.
	run := func(what string, kill func(), recover func()) phase {
		t.Helper()
		f1, f2, ok0 := reads1.failed.Load(), reads2.failed.Load(), reads1.ok.Load()+reads2.ok.Load()
		wf := writes.failures()
		start := time.Now()
		kill()
		recover()
		p := phase{what: what, recovered: time.Since(start)}
		time.Sleep(3 * time.Second)
		p.readFails1, p.readFails2 = reads1.failed.Load()-f1, reads2.failed.Load()-f2
		p.reads = reads1.ok.Load() + reads2.ok.Load() - ok0 + p.readFails1 + p.readFails2
		p.writeFails = writes.failures() - wf
		for _, l := range []*readLoop{reads1, reads2} {
			l.mu.Lock()
			if !l.first.IsZero() && l.last.After(start) {
				from := l.first
				if from.Before(start) {
					from = start
				}
				p.readOutage = max(p.readOutage, l.last.Sub(from))
			}
			l.mu.Unlock()
		}
		writes.mu.Lock()
		var in []time.Time
		for _, at := range writes.failAt {
			if at.After(start) {
				in = append(in, at)
			}
		}
		if len(in) > 0 {
			p.writeOutage = in[len(in)-1].Sub(in[0])
		}
		writes.mu.Unlock()
		t.Logf("KILL %v", p)
		phases = append(phases, p)
		return p
	}
	waitFlush := func(what string) {
		t.Helper()
		eventually(t, 90*time.Second, what, func() error {
			fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			ft, err := cli1.Flush(fctx, milvusclient.NewFlushOption(name))
			if err != nil {
				return err
			}
			return ft.Await(fctx)
		})
	}

	// 1. A query node: the other replica serves every read at once.
	before := map[int64]bool{}
	for _, r := range describeReplicas(t, ctx, cli1, name) {
		for _, id := range r.Nodes {
			before[id] = true
		}
	}
	qn := run("querynode-1 (2 replicas)", func() { c.Roles["querynode-1"].Kill() }, func() {
		c.Add(t, "querynode-3:querynode").WaitReady(t, 60*time.Second)
		eventually(t, 90*time.Second, "both replicas served again", func() error {
			rs, err := cli1.DescribeReplica(ctx, milvusclient.NewDescribeReplicaOption(name))
			if err != nil {
				return err
			}
			// Served again: two replicas of one node each, one of
			// them querynode-3 (a node that held no replica before).
			var nodes []int64
			newcomer := false
			for _, r := range rs {
				if len(r.Nodes) == 0 {
					return fmt.Errorf("replica %d has no node", r.ReplicaID)
				}
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
	})
	if qn.readFails1+qn.readFails2 != 0 {
		t.Errorf("reads failed while a query node of a 2-replica collection died: proxy-1 %v; proxy-2 %v", reads1, reads2)
	}

	// 2. The data node: a flush (sealing segments, writing binlogs) completes on its replacement.
	run("datanode", func() { c.Roles["datanode"].Kill() }, func() {
		c.Add(t, "datanode-2:datanode").WaitReady(t, 60*time.Second)
		waitFlush("flush on datanode-2")
	})

	// 3. The index node: the segments sealed after the kill get their index on the replacement.
	run("indexnode", func() { c.Roles["indexnode"].Kill() }, func() {
		waitFlush("flush with the index node dead")
		c.Add(t, "indexnode-2:indexnode").WaitReady(t, 60*time.Second)
		eventually(t, 120*time.Second, "index built on indexnode-2", func() error {
			d, err := cli1.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(name, "v"))
			if err != nil {
				return err
			}
			// Growing rows count in TotalRows only: every flushed
			// segment indexed is Finished with nothing pending.
			if d.State != index.IndexState(commonpb.IndexState_Finished) || d.PendingIndexRows != 0 {
				return fmt.Errorf("index: state %v, %d of %d rows indexed, %d pending", d.State, d.IndexedRows, d.TotalRows, d.PendingIndexRows)
			}
			return nil
		})
	})

	// 4. A proxy: the clients of proxy-2 fail, the others keep serving;
	// the writer moves to proxy-1 and a new proxy-3. (The Go SDK retries a
	// call to an unreachable proxy with backoff, so the read in flight on
	// proxy-2 hangs for a while instead of failing: the log says how long.)
	var cli3 *milvusclient.Client
	px := run("proxy-2", func() {
		c.Roles["proxy-2"].Kill()
		writes.setClients(cli1)
	}, func() {
		c.Add(t, "proxy-3:proxy").WaitReady(t, 60*time.Second)
		cli3 = connect(t, ctx, c.ProxyAddr("proxy-3"))
		writes.setClients(cli1, cli3)
		eventually(t, 30*time.Second, "search through proxy-3", func() error { return searchFinds(ctx, cli3, name, vecs[9], 9) })
	})
	if px.readFails1 != 0 {
		t.Errorf("reads through proxy-1 failed while proxy-2 died: %v", reads1)
	}
	haltAt := time.Now()
	reads2.halt() // its proxy is gone
	t.Logf("reads via proxy-2 until it was replaced: %v (the read in flight returned %v after the replacement)",
		reads2, time.Since(haltAt).Round(time.Millisecond))
	reads2 = startReads(ctx, cli3, name, vecs)

	// 5. The active coordinator: the standby wins the election.
	run("mixcoord-1 (active)", func() { c.Roles["mixcoord-1"].Kill() }, func() {
		standby.WaitReady(t, 60*time.Second)
		eventually(t, 60*time.Second, "flush after the failover", func() error {
			fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			ft, err := cli1.Flush(fctx, milvusclient.NewFlushOption(name))
			if err != nil {
				return err
			}
			return ft.Await(fctx)
		})
	})

	stopLoad()
	t.Logf("load: writes %v", writes)
	t.Logf("load: reads via proxy-1 %v; via proxy-2 then proxy-3 %v", reads1, reads2)

	// Uncertain rows: delete them (again) so that the count is exact.
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
	live := writes.live
	want := int64(n + len(live))
	for _, cli := range []*milvusclient.Client{cli1, cli3} {
		if got := count(t, ctx, cli, name, "id >= 0"); got != want {
			t.Errorf("count(*): %d, want %d (%d initial + %d acknowledged inserts not deleted; %d uncertain rows deleted)",
				got, want, n, len(live), len(uncertain))
		}
	}
	if got := count(t, ctx, cli3, name, fmt.Sprintf("id >= %d", writeBase)); got != int64(len(live)) {
		t.Errorf("writer's rows: %d, want %d", got, len(live))
	}
	// Every acknowledged row by ID, and no acknowledged delete undone.
	slices.Sort(live)
	for i := 0; i < len(live); i += 1000 {
		batch := live[i:min(i+1000, len(live))]
		if got := count(t, ctx, cli1, name, idsFilter(batch)); got != int64(len(batch)) {
			t.Errorf("acknowledged rows %d..%d: %d found, want %d", batch[0], batch[len(batch)-1], got, len(batch))
		}
	}
	if len(writes.deleted) > 0 {
		if got := count(t, ctx, cli1, name, idsFilter(writes.deleted)); got != 0 {
			t.Errorf("%d of %d acknowledged deletes undone", got, len(writes.deleted))
		}
	}
	checkSearch(t, ctx, cli3, name, vecs, 0, n-1)

	t.Logf("summary of the kills (load: inserts of %d rows and deletes of 5 every 20 ms, searches and queries through two proxies):", writeBatch)
	for _, p := range phases {
		t.Logf("  %v", p)
	}
}

func idsFilter(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return "id in [" + strings.Join(s, ",") + "]"
}
