//go:build linux

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/msg"
)

// writers reads the streaming coordinator's pchannel → streaming node table.
func writers(t *testing.T, ctx context.Context, store kv.Store) map[string]int64 {
	t.Helper()
	es, err := store.List(ctx, "streaming/pchannel/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range es {
		var a struct {
			Node int64 `json:"node"`
		}
		if err := json.Unmarshal(e.Value, &a); err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(e.Key, "streaming/pchannel/")] = a.Node
	}
	return out
}

func perNode(owners map[string]int64) map[int64]int {
	out := map[int64]int{}
	for _, n := range owners {
		out[n]++
	}
	return out
}

// TestClusterStreamingNodes runs several streaming nodes sharing the
// pchannels (docs/cluster.md, "Streaming nodes"):
//   - two streaming nodes: the pchannels are dealt evenly and the
//     collection's writes go through both;
//   - a third joins under a load of inserts and deletes: pchannels move
//     onto it one at a time (fenced hand-over) and no write fails (the
//     clients retry a refused call on the new writer);
//   - one is killed (SIGKILL) under the load: its pchannels go to the
//     live ones once its session expires, and writes resume;
//   - another is cut off (SIGSTOP past the session TTL): its pchannels
//     move, and when it resumes it appends nothing (it stops);
//   - then every acknowledged write is there (exact count(*), and by
//     primary key), no row is in the log twice, and each pchannel's
//     timestamps strictly increase in log order across every hand-over.
func TestClusterStreamingNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode-1:streamingnode", "streamingnode-2:streamingnode",
		"datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	store := meta(c, t, ctx)
	sn1, sn2 := serverID(c.Roles["streamingnode-1"], t), serverID(c.Roles["streamingnode-2"], t)
	const name, base = "streams", 2000

	eventually(t, 30*time.Second, "pchannels dealt over two streaming nodes", func() error {
		if per := perNode(writers(t, ctx, store)); per[sn1] != 8 || per[sn2] != 8 {
			return fmt.Errorf("writers per node %v", per)
		}
		return nil
	})
	createShards(t, ctx, cli, name, 4)
	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	if err != nil {
		t.Fatal(err)
	}
	used := map[int64]bool{}
	for _, pc := range coll.PhysicalChannels {
		used[writers(t, ctx, store)[pc]] = true
	}
	if !used[sn1] || !used[sn2] {
		t.Fatalf("the collection's pchannels %v are written by %v, want both streaming nodes", coll.PhysicalChannels, used)
	}
	for i := 0; i < base; i += 500 {
		if err := insertRange(ctx, cli, name, i, 500); err != nil {
			t.Fatal(err)
		}
	}

	// A third streaming node joins under load: 16 pchannels end 6/5/5.
	w := startWrites(ctx, name, cli)
	defer func() {
		select {
		case <-w.stop:
		default:
			w.halt()
		}
	}()
	time.Sleep(2 * time.Second)
	joined := time.Now()
	c.Add(t, "streamingnode-3:streamingnode").WaitReady(t, 60*time.Second)
	sn3 := serverID(c.Roles["streamingnode-3"], t)
	eventually(t, 90*time.Second, "pchannels spread over three streaming nodes", func() error {
		if per := perNode(writers(t, ctx, store)); per[sn3] != 5 || per[sn1]+per[sn2] != 11 {
			return fmt.Errorf("writers per node %v", per)
		}
		return nil
	})
	spread := time.Since(joined)
	time.Sleep(2 * time.Second)
	joinFails := w.failures()
	takes := logMatches(t, c.Roles["streamingnode-3"].LogPath(), `msg="pchannel taken".* waited=(\S+)`)
	t.Logf("third streaming node: pchannels spread %v after it started; takes (waited): %v; writes %v",
		spread.Round(time.Millisecond), takes, w)
	if len(takes) != 5 {
		t.Fatalf("streaming node 3 took %d pchannels, want 5", len(takes))
	}
	if joinFails > 0 {
		t.Fatalf("writes failed while pchannels moved to a joining streaming node: %v", w)
	}

	// Streaming node 1 is killed under the load.
	before := w.insOKNow()
	gone := writers(t, ctx, store)
	killed := time.Now()
	c.Roles["streamingnode-1"].Kill()
	eventually(t, 30*time.Second, "streaming node 1's pchannels on live nodes", func() error {
		for pc, n := range writers(t, ctx, store) {
			if n == sn1 {
				return fmt.Errorf("%s still written by the killed node", pc)
			}
		}
		return nil
	})
	moved := time.Since(killed)
	eventually(t, 30*time.Second, "inserts acknowledged on every pchannel again", w.flowing)
	resumed := time.Since(killed)
	killFails := w.failures() - joinFails
	var lost []string
	for pc, n := range gone {
		if n == sn1 {
			lost = append(lost, pc)
		}
	}
	t.Logf("streaming node 1 killed (wrote %d pchannels): reassigned after %v, writes flowing after %v; %d writes failed meanwhile; %d inserts ok before; writes %v",
		len(lost), moved.Round(time.Millisecond), resumed.Round(time.Millisecond), killFails, before, w)

	// Streaming node 2 is cut off (SIGSTOP) for twice the session TTL
	// under the load: its pchannels go to node 3; when it resumes it
	// finds its session gone and stops, refusing the calls queued on it
	// (their clients retry on node 3), so it appends nothing after its
	// successor's first append (checked in the log below).
	paused := time.Now()
	pauseFails := w.failures()
	pause(c.Roles["streamingnode-2"], t, 10*time.Second)
	exitsAfterPause(c.Roles["streamingnode-2"], t, 10*time.Second)
	for pc, n := range writers(t, ctx, store) {
		if n != sn3 {
			t.Fatalf("pchannel %s written by %d after streaming node 2 was cut off, want %d", pc, n, sn3)
		}
	}
	eventually(t, 30*time.Second, "inserts acknowledged after the pause", w.flowing)
	pauseFails = w.failures() - pauseFails
	t.Logf("streaming node 2 paused 10 s: writes flowing %v after the pause began; %d writes failed meanwhile; writes %v",
		time.Since(paused).Round(time.Millisecond), pauseFails, w)
	w.halt()

	// Exact counts: failed writes are uncertain, deleted again.
	w.mu.Lock()
	uncertain := make([]int64, 0, len(w.uncertain))
	for id := range w.uncertain {
		uncertain = append(uncertain, id)
	}
	live := slices.Clone(w.live)
	deleted := slices.Clone(w.deleted)
	w.mu.Unlock()
	slices.Sort(uncertain)
	for i := 0; i < len(uncertain); i += 500 {
		batch := uncertain[i:min(i+500, len(uncertain))]
		eventually(t, 30*time.Second, "delete the uncertain rows", func() error {
			_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", batch))
			return err
		})
	}
	flushAwait(t, ctx, cli, name)
	want := base + int64(len(live))
	if got := count(t, ctx, cli, name, "id >= 0"); got != want {
		t.Fatalf("count(*): %d, want %d (%d before the load + %d acknowledged inserts not deleted; %d uncertain deleted)",
			got, want, base, len(live), len(uncertain))
	}
	slices.Sort(live)
	for i := 0; i < len(live); i += 1000 {
		batch := live[i:min(i+1000, len(live))]
		if got := count(t, ctx, cli, name, idsFilter(batch)); got != int64(len(batch)) {
			t.Fatalf("acknowledged rows %d..%d: %d found, want %d", batch[0], batch[len(batch)-1], got, len(batch))
		}
	}
	if len(deleted) > 0 {
		if got := count(t, ctx, cli, name, idsFilter(deleted)); got != 0 {
			t.Fatalf("%d of %d acknowledged deletes undone", got, len(deleted))
		}
	}
	checkStreamingLog(t, ctx, c.NATS, coll.PhysicalChannels)
}

// checkStreamingLog reads the collection's pchannels from the log: every
// primary key is in at most one insert, and each pchannel's timestamps
// strictly increase in log order.
func checkStreamingLog(t *testing.T, ctx context.Context, url string, pchannels []string) {
	t.Helper()
	lg, err := logbroker.NewNATS(ctx, logbroker.NATSConfig{URL: url, Replicas: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	seen := map[int64]int{}
	messages := 0
	for _, pc := range pchannels {
		latest, err := lg.Latest(ctx, pc)
		if err != nil {
			t.Fatal(err)
		}
		r, err := lg.Read(ctx, pc, 0)
		if err != nil {
			t.Fatal(err)
		}
		var last uint64
		for latest > 0 {
			m, err := r.Next(ctx)
			if err != nil {
				if errors.Is(err, logbroker.ErrTruncated) {
					t.Logf("%s truncated by retention", pc)
					break
				}
				t.Fatal(err)
			}
			dm, err := msg.Decode(m.Payload, m.Properties)
			if err != nil {
				t.Fatal(err)
			}
			if dm.TS <= last {
				t.Fatalf("%s: message %d has timestamp %d after %d", pc, m.ID, dm.TS, last)
			}
			last = dm.TS
			messages++
			if dm.Insert != nil {
				for _, f := range dm.Insert.GetFieldsData() {
					if f.GetFieldName() == "id" {
						for _, id := range f.GetScalars().GetLongData().GetData() {
							seen[id]++
						}
					}
				}
			}
			if m.ID >= latest {
				break
			}
		}
		r.Close()
	}
	for id, n := range seen {
		if n > 1 {
			t.Fatalf("row %d inserted %d times in the log", id, n)
		}
	}
	t.Logf("log: %d messages on %d pchannels, timestamps strictly increasing, %d rows each inserted once", messages, len(pchannels), len(seen))
}
