//go:build linux

package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// ledger is what a set of writers had acknowledged: the tag of every live
// row, the rows whose delete was acknowledged, and, for the writes that
// failed (in flight when the cluster died), every outcome that is allowed
// ("" is the row being absent).
type ledger struct {
	mu    sync.Mutex
	want  map[int64]string
	gone  map[int64]bool
	maybe map[int64]map[string]bool
	ops   [3]int // acknowledged inserts, upserts, deletes
	fails int
}

// take removes up to n random acknowledged live rows from the ledger for
// an upsert or delete, so that no other writer touches them meanwhile.
func (l *ledger) take(r *rand.Rand, n int) map[int64]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int64]string{}
	for id, tag := range l.want { // map order is random; r breaks ties between runs
		if len(out) == n {
			break
		}
		if r.IntN(4) == 0 {
			out[id] = tag
			delete(l.want, id)
		}
	}
	return out
}

// settle records an operation on rows whose tags were old (absent for an
// insert) and would be tag ("" for a delete).
func (l *ledger) settle(op int, old map[int64]string, tag string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.fails++
		for id, was := range old {
			l.maybe[id] = map[string]bool{was: true, tag: true}
		}
		return
	}
	l.ops[op]++
	for id := range old {
		if tag == "" {
			l.gone[id] = true
		} else {
			l.want[id] = tag
		}
	}
}

// TestClusterKill9Durability is standalone's kill -9 durability test
// (tests/e2e TestDurabilityKill9) on the cluster: three writers insert,
// upsert and delete through the proxy — some rows flushed to the object
// store, some only in the log, some in flight — and then every role
// process is killed with SIGKILL at the same moment and started again on
// the same etcd, log and bucket. Every acknowledged write must be there
// (rows by primary key with their last acknowledged tag, acknowledged
// deletes absent) and nothing else: a row present is either acknowledged
// or was written by a call that failed at the kill.
func TestClusterKill9Durability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1},
		"mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	const name, initial = "kill9", 200
	flow(t, ctx, cli, name, initial)

	l := &ledger{want: map[int64]string{}, gone: map[int64]bool{}, maybe: map[int64]map[string]bool{}}
	for i := range initial {
		l.want[int64(i)] = fmt.Sprintf("t%d", i%5)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			next := int64(1_000_000 * (w + 1))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
				switch i % 4 {
				case 0, 1: // insert 10 new rows
					old := map[int64]string{}
					ids, tags := make([]int64, 10), make([]string, 10)
					for j := range ids {
						ids[j], tags[j] = next, "i"
						old[next] = ""
						next++
					}
					_, err := cli.Insert(cctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
						WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", dim, vectors(r, len(ids))))
					l.settle(0, old, "i", err)
				case 2: // upsert 5 acknowledged rows with a new tag
					old := l.take(r, 5)
					tag := fmt.Sprintf("u%d-%d", w, i)
					var ids []int64
					var tags []string
					for id := range old {
						ids, tags = append(ids, id), append(tags, tag)
					}
					if len(ids) == 0 {
						break
					}
					_, err := cli.Upsert(cctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
						WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", dim, vectors(r, len(ids))))
					l.settle(1, old, tag, err)
				case 3: // delete 5 acknowledged rows
					old := l.take(r, 5)
					var ids []int64
					for id := range old {
						ids = append(ids, id)
					}
					if len(ids) == 0 {
						break
					}
					_, err := cli.Delete(cctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", ids))
					l.settle(2, old, "", err)
				}
				ccancel()
			}
		})
	}
	// Some of the writes reach the object store, the later ones only the log.
	time.Sleep(time.Second)
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatalf("flush under writes: %v", err)
	}
	if err := ft.Await(ctx); err != nil {
		t.Fatalf("flush await: %v", err)
	}
	time.Sleep(time.Second)

	// Every role at once, writes in flight.
	for _, n := range c.Order {
		c.Roles[n].Cmd.Process.Signal(syscall.SIGKILL)
	}
	for _, n := range c.Order {
		<-c.Roles[n].Done
	}
	close(stop)
	wg.Wait()
	l.mu.Lock()
	t.Logf("acknowledged before the kill: %d inserts, %d upserts, %d deletes; %d calls failed at the kill; %d live rows",
		l.ops[0], l.ops[1], l.ops[2], l.fails, len(l.want))
	l.mu.Unlock()
	if l.ops[0] == 0 || l.ops[1] == 0 || l.ops[2] == 0 {
		t.Fatalf("the writers did not get every kind of write acknowledged: %v", l.ops)
	}

	restarted := time.Now()
	for _, n := range c.Order {
		c.Roles[n].Start(t)
	}
	for _, n := range c.Order {
		c.Roles[n].WaitReady(t, 90*time.Second)
	}
	cli2 := connect(t, ctx, c.ProxyAddr("proxy"))
	var rs milvusclient.ResultSet
	eventually(t, 90*time.Second, "Strong query after the restart", func() error {
		rs, err = cli2.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("id", "tag").
			WithConsistencyLevel(entity.ClStrong).WithLimit(16384))
		return err
	})
	t.Logf("reads served %v after the restart began", time.Since(restarted).Round(time.Millisecond))
	got := map[int64]string{}
	for i := range rs.ResultCount {
		id, _ := rs.GetColumn("id").GetAsInt64(i)
		tag, _ := rs.GetColumn("tag").GetAsString(i)
		if _, dup := got[id]; dup {
			t.Errorf("row %d returned twice", id)
		}
		got[id] = tag
	}
	for id, tag := range l.want {
		if got[id] != tag {
			t.Errorf("acknowledged row %d: tag %q after the restart, want %q", id, got[id], tag)
		}
	}
	for id := range l.gone {
		if tag, ok := got[id]; ok {
			t.Errorf("row %d deleted (acknowledged) is back with tag %q", id, tag)
		}
	}
	for id, tag := range got {
		if _, ok := l.want[id]; ok {
			continue
		}
		if allowed := l.maybe[id]; !allowed[tag] {
			t.Errorf("row %d with tag %q was never acknowledged nor in flight", id, tag)
		}
	}
	for id, allowed := range l.maybe {
		if _, ok := got[id]; !ok && !allowed[""] {
			t.Errorf("row %d of an upsert in flight at the kill is gone", id)
		}
	}
	if t.Failed() {
		return
	}
	// The restarted cluster takes writes; the count is exact.
	n := count(t, ctx, cli2, name, "id >= 0")
	eventually(t, 30*time.Second, "insert after the restart", func() error {
		_, err := cli2.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{9_000_000}).
			WithVarcharColumn("tag", []string{"after"}).WithFloatVectorColumn("v", dim, vectors(rand.New(rand.NewPCG(1, 1)), 1)))
		return err
	})
	if after := count(t, ctx, cli2, name, "id >= 0"); after != n+1 {
		t.Fatalf("count after one more insert: %d, want %d", after, n+1)
	}
}
