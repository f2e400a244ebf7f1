//go:build linux

package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestClusterPausedDataNodeSyncing (issue 8, docs/insert-buffer.md): data
// nodes that sync every insert as a piece (dataNode.segment.insertBufSize
// of one byte) under a load of writes; one is stopped (SIGSTOP) in the
// middle of that for twice the session TTL, its pchannels move to the
// other, which replays the growing segments from their recorded sync
// manifests, and it is resumed (SIGCONT). Whatever it writes after it
// resumes, before it notices its lost session and stops, counts for
// nothing: the data coordinator records manifests, flushes and checkpoints
// from a channel's owner only. After a flush every acknowledged row is
// there once: count(*) exact, in total and by ID.
func TestClusterPausedDataNodeSyncing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c, _ := startClusterWith(t, clusterOpts{logLevel: "debug", storageNodes: 1, args: []string{
		"--dataNode.segment.insertBufSize=1",
	}}, "mixcoord", "streamingnode", "datanode-1:datanode", "datanode-2:datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	store := meta(c, t, ctx)
	const n, name = 1000, "pausedsync"
	vecs := flow(t, ctx, cli, name, n)
	dn2 := serverID(c.Roles["datanode-2"], t)

	writes := startWrites(ctx, name, cli)
	time.Sleep(2 * time.Second) // both data nodes sync pieces
	pause(c.Roles["datanode-1"], t, 10*time.Second)
	exitsAfterPause(c.Roles["datanode-1"], t, 10*time.Second)
	for pc, node := range channelOwners(t, ctx, store) {
		if node != dn2 {
			t.Fatalf("pchannel %s owned by %d after data node 1 was paused, want %d", pc, node, dn2)
		}
	}
	time.Sleep(2 * time.Second)
	writes.halt()
	if writes.failures() > 0 {
		t.Fatalf("writes failed while a data node was paused: %v", writes)
	}
	log1, _ := os.ReadFile(c.Roles["datanode-1"].LogPath())
	log2, _ := os.ReadFile(c.Roles["datanode-2"].LogPath())
	t.Logf("data node 1 synced %d pieces, had %d refused; data node 2 synced %d pieces",
		strings.Count(string(log1), "synced segment buffer"), strings.Count(string(log1), "sync manifest refused"),
		strings.Count(string(log2), "synced segment buffer"))

	flushAwait(t, ctx, cli, name)
	writes.mu.Lock()
	live := append([]int64(nil), writes.live...)
	writes.mu.Unlock()
	want := int64(n + len(live))
	if got := count(t, ctx, cli, name, "id >= 0"); got != want {
		t.Fatalf("count(*) after the pause and a flush: %d, want %d (%d initial + %d acknowledged)", got, want, n, len(live))
	}
	for i := 0; i < len(live); i += 1000 {
		batch := live[i:min(i+1000, len(live))]
		if got := count(t, ctx, cli, name, idsFilter(batch)); got != int64(len(batch)) {
			t.Fatalf("acknowledged rows %d..%d: %d found, want %d (each once)", batch[0], batch[len(batch)-1], got, len(batch))
		}
	}
	if got := count(t, ctx, cli, name, fmt.Sprintf("id >= %d", writeBase)); got != int64(len(live)) {
		t.Fatalf("writer's rows: %d, want %d", got, len(live))
	}
	checkSearch(t, ctx, cli, name, vecs, 5, n-1)
}
