//go:build linux

package cluster

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pause stops a role's process (SIGSTOP) for d, then lets it continue
// (SIGCONT): the process is cut off from everything, as by a network
// partition, and comes back with all its state.
func pause(r *role, t *testing.T, d time.Duration) {
	t.Helper()
	if err := r.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP %s: %v", r.Name, err)
	}
	time.Sleep(d)
	if err := r.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT %s: %v", r.Name, err)
	}
}

// exitsAfterPause waits for a resumed role to stop by itself: its session
// expired while it was stopped, so it must neither serve nor write again
// under that session.
func exitsAfterPause(r *role, t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-r.Done:
	case <-time.After(within):
		t.Fatalf("%s still runs %v after it resumed with an expired session:\n%s", r.Name, within, tail(r.LogPath()))
	}
	b, _ := os.ReadFile(r.LogPath())
	if !strings.Contains(string(b), "lost the session; stopping") {
		t.Fatalf("%s exited without noticing its lost session:\n%s", r.Name, tail(r.LogPath()))
	}
}

// TestClusterPausedNodes cuts off a query node and then a data node by
// stopping their processes (SIGSTOP) for twice the session TTL, under
// reads of a two-replica collection and a load of writes:
//   - reads never fail: the proxy hedges the hung node's shard reads on
//     the other replica after its per-attempt deadline, and once the
//     node's session expires its shards are off it;
//   - the data node's pchannels move to the other data node, which
//     replays them from their checkpoints;
//   - each resumed node finds its session gone and stops without serving
//     or reporting anything (a report would be refused anyway: the data
//     coordinator accepts flushes and checkpoints only from a channel's
//     owner);
//   - every acknowledged write is there, counted exactly, after a flush.
func TestClusterPausedNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode-1:datanode", "datanode-2:datanode",
		"querynode-1:querynode", "querynode-2:querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	store := meta(c, t, ctx)
	const n = 1000
	vecs := flowReplicas(t, ctx, cli, "fenced", n, 2)
	dn2 := serverID(c.Roles["datanode-2"], t)

	reads := startReads(ctx, cli, "fenced", vecs)
	writes := startWrites(ctx, "fenced", cli)
	time.Sleep(time.Second)

	// A query node is cut off for 10 s (the session TTL is 5 s).
	start := time.Now()
	pause(c.Roles["querynode-1"], t, 10*time.Second)
	exitsAfterPause(c.Roles["querynode-1"], t, 10*time.Second)
	t.Logf("query node paused 10 s and resumed: %v (%v after the pause began)", reads, time.Since(start).Round(time.Millisecond))
	if reads.failed.Load() > 0 {
		t.Fatalf("reads failed while a query node of a two-replica collection was paused: %v", reads)
	}

	// A data node is cut off: its pchannels move to the other one.
	pause(c.Roles["datanode-1"], t, 10*time.Second)
	exitsAfterPause(c.Roles["datanode-1"], t, 10*time.Second)
	for pc, node := range channelOwners(t, ctx, store) {
		if node != dn2 {
			t.Fatalf("pchannel %s owned by %d after data node 1 was cut off, want %d", pc, node, dn2)
		}
	}
	time.Sleep(time.Second)
	writes.halt()
	reads.halt()
	t.Logf("data node paused 10 s and resumed: writes %v; reads %v", writes, reads)
	if writes.failures() > 0 {
		t.Fatalf("writes failed while a data node was paused: %v", writes)
	}
	if reads.failed.Load() > 0 {
		t.Fatalf("reads failed: %v", reads)
	}
	flushAwait(t, ctx, cli, "fenced")
	writes.mu.Lock()
	want := int64(n + len(writes.live))
	writes.mu.Unlock()
	if got := count(t, ctx, cli, "fenced", "id >= 0"); got != want {
		t.Fatalf("rows after both pauses and a flush: %d, want %d", got, want)
	}
	checkSearch(t, ctx, cli, "fenced", vecs, 5, n-1)
}
