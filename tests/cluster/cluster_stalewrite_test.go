//go:build linux

package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

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

// TestClusterStaleQueryNodeSearchRefused (issue 8) catches a stale query
// node's answer in the act: a search reaches query node 1, which admits it
// (its session fresh) and is held there 5 s before running it (the
// failpoint rpc.serve/.../Search); the test stops the node (SIGSTOP) for
// twice the session TTL, so its shard's delegator moves to query node 2.
// When it resumes, the held search runs on what the node had before the
// pause, and the node refuses to answer it ("answer refused": its session
// ended while it served the call) instead of returning stale data; it
// exits. The client's search is answered by the shard's new leader: every
// row once. Rows deleted afterwards are gone from the next search.
func TestClusterStaleQueryNodeSearchRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	const held = "rpc.serve/milvago.internal.QueryNode/Search"
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1,
		env: map[string][]string{"querynode-1": {failpoint.EnvVar + "=" + held + "=1*sleep(5s)"}}},
		"mixcoord", "streamingnode", "datanode", "querynode-1:querynode", "querynode-2:querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	const name, n = "stalesearch", 200
	createShards(t, ctx, cli, name, 2)
	if err := insertRange(ctx, cli, name, 0, n); err != nil {
		t.Fatalf("insert: %v", err)
	}
	search := func() ([]int64, error) {
		q := entity.FloatVector(vectors(rand.New(rand.NewPCG(1, 1)), 1)[0])
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, n, []entity.Vector{q}).WithANNSField("v").
			WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			return nil, err
		}
		var ids []int64
		for i := range rs[0].ResultCount {
			id, _ := rs[0].IDs.GetAsInt64(i)
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids, nil
	}
	ids := func(from, to int64) []int64 {
		var out []int64
		for i := from; i < to; i++ {
			out = append(out, i)
		}
		return out
	}
	type answer struct {
		ids []int64
		err error
	}
	done := make(chan answer, 1)
	go func() { got, err := search(); done <- answer{got, err} }()

	q1 := c.Roles["querynode-1"]
	waitLog(t, q1, regexp.MustCompile(`msg="failpoint hit".* failpoint=`+regexp.QuoteMeta(held)), time.Minute)
	pause(q1, t, 10*time.Second)
	exitsAfterPause(q1, t, 15*time.Second)
	waitLog(t, q1, regexp.MustCompile(`msg="answer refused: the session ended while the call was served"`), time.Second)

	a := <-done
	if a.err != nil {
		t.Fatalf("the search held by the stopped query node: %v", a.err)
	}
	if !slices.Equal(a.ids, ids(0, n)) {
		t.Fatalf("the search held by the stopped query node: %d hits %v, want every row once", len(a.ids), a.ids)
	}
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", ids(0, n/2))); err != nil {
		t.Fatalf("delete: %v", err)
	}
	got, err := search()
	if err != nil {
		t.Fatalf("search after the delete: %v", err)
	}
	if !slices.Equal(got, ids(n/2, n)) {
		t.Fatalf("search after deleting rows 0..%d: %d hits %v, want rows %d..%d", n/2-1, len(got), got, n/2, n-1)
	}
}
