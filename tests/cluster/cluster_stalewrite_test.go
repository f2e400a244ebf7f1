//go:build linux

package cluster

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/failpoint"
)

// waitLog waits until re matches r's log and returns its submatches.
func waitLog(t *testing.T, r *role, re *regexp.Regexp, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, _ := os.ReadFile(r.LogPath())
		if m := re.FindStringSubmatch(string(b)); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q in its log after %v:\n%s", r.Name, re, within, tail(r.LogPath()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterStaleSyncManifestRefused (issue 8) catches a stale data
// node's write in the act: data nodes sync every insert as a piece under a
// load of writes, and the data coordinator holds the first sync manifest
// record it receives for 20 s before serving it (the failpoint
// rpc.serve/.../SaveSyncManifest: a report delayed in flight). The test
// stops the data node that sent it (SIGSTOP) for twice the session TTL:
// its pchannels move to the other data node, which replays them; the
// stopped node resumes and exits (its session is gone). Only then does the
// coordinator serve the held record: it refuses it (channel misrouted,
// logged as "report refused"), so the stale node's piece never counts.
// After a flush every acknowledged row is there exactly once.
func TestClusterStaleSyncManifestRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	const held = "rpc.serve/milvago.internal.DataCoord/SaveSyncManifest"
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1, args: []string{"--dataNode.segment.insertBufSize=1"},
		env: map[string][]string{"mixcoord": {failpoint.EnvVar + "=" + held + "=1*sleep(20s)"}}},
		"mixcoord", "streamingnode", "datanode-1:datanode", "datanode-2:datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	store := meta(c, t, ctx)
	const name = "stalesync"
	createShards(t, ctx, cli, name, 2)
	nodes := map[int64]string{serverID(c.Roles["datanode-1"], t): "datanode-1", serverID(c.Roles["datanode-2"], t): "datanode-2"}

	writes := startWrites(ctx, name, cli)
	coord := c.Roles["mixcoord"]
	m := waitLog(t, coord, regexp.MustCompile(`msg="failpoint hit".* failpoint=`+regexp.QuoteMeta(held)+` caller=(\d+)`), time.Minute)
	stale, _ := strconv.ParseInt(m[1], 10, 64)
	staleName, ok := nodes[stale]
	if !ok {
		t.Fatalf("held sync manifest record from %d, not a data node (%v)", stale, nodes)
	}
	var fresh int64
	for id := range nodes {
		if id != stale {
			fresh = id
		}
	}
	t.Logf("the data coordinator holds a sync manifest record of %s (%d); it is stopped", staleName, stale)
	pause(c.Roles[staleName], t, 10*time.Second)
	exitsAfterPause(c.Roles[staleName], t, 10*time.Second)
	for pc, node := range channelOwners(t, ctx, store) {
		if node != fresh {
			t.Fatalf("pchannel %s owned by %d after %s was stopped, want %d", pc, node, staleName, fresh)
		}
	}
	// The held record is served after the move: refused.
	waitLog(t, coord, regexp.MustCompile(`msg="failpoint done".* failpoint=`+regexp.QuoteMeta(held)), 30*time.Second)
	refused := regexp.MustCompile(fmt.Sprintf(`msg="report refused: the caller does not own the channel".* caller=%d owner=%d`, stale, fresh))
	waitLog(t, coord, refused, 10*time.Second)
	b, _ := os.ReadFile(coord.LogPath())
	if s := string(b); strings.Index(s, `msg="failpoint done"`) > refused.FindStringIndex(s)[0] {
		t.Fatalf("the refusal was logged before the held record was served:\n%s", tail(coord.LogPath()))
	}

	time.Sleep(2 * time.Second)
	writes.halt()
	if writes.failures() > 0 {
		t.Fatalf("writes failed while a data node was stopped: %v", writes)
	}
	flushAwait(t, ctx, cli, name)
	writes.mu.Lock()
	live := append([]int64(nil), writes.live...)
	writes.mu.Unlock()
	if len(live) == 0 {
		t.Fatal("no acknowledged writes")
	}
	if got := count(t, ctx, cli, name, "id >= 0"); got != int64(len(live)) {
		t.Fatalf("count(*) after the refused record and a flush: %d, want %d acknowledged", got, len(live))
	}
	for i := 0; i < len(live); i += 1000 {
		batch := live[i:min(i+1000, len(live))]
		if got := count(t, ctx, cli, name, idsFilter(batch)); got != int64(len(batch)) {
			t.Fatalf("acknowledged rows %d..%d: %d found, want %d (each once)", batch[0], batch[len(batch)-1], got, len(batch))
		}
	}
}
