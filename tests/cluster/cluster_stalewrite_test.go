//go:build linux

package cluster

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/datacoord"
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

// staleReport is a data node report TestClusterStaleReportRefused holds
// at the data coordinator (rpc.serve/milvago.internal.DataCoord/<method>).
type staleReport struct {
	report datacoord.Report
	method string
	// hold is how long the coordinator holds the first such report: past
	// the moment the test has stopped its sender and its channels moved.
	hold time.Duration
	args []string
	// flush has the client flush the collection a second after the writes
	// began: the reports a seal causes (binlogs, delete logs) are sent then.
	flush bool
}

// TestClusterStaleReportRefused (issue 8) catches each kind of a stale data
// node's write in the act, on a cluster of processes under a load of
// inserts and deletes: the data coordinator holds the first report of a
// kind it receives (the failpoint rpc.serve/.../<method>: a report delayed
// in flight, admitted while its sender owned the channel); the test stops
// the data node that sent it (SIGSTOP) for twice the session TTL: its
// pchannels move to the other data node, which replays them; the stopped
// node resumes and exits (its session is gone). Only then does the
// coordinator serve the held report: it refuses it (channel misrouted,
// 507, logged as "report refused" and counted in
// milvago_datacoord_stale_reports_refused_total on its /metrics), so what
// the stale node wrote never counts. After a flush every acknowledged row
// is there exactly once and every acknowledged delete holds.
//   - sync_manifest: data nodes sync every insert as a piece
//     (dataNode.segment.insertBufSize of one byte); the first piece's
//     manifest record is held.
//   - flush: the client flushes; the first flushed segment's binlogs
//     (SegmentFlushed) are held: the new owner flushes the segment again
//     from the log.
//   - delta_log: the client flushes; the first batch of deletes written
//     at the seal (AddDeltaLog) is held: the new owner writes the deletes
//     it replays.
//   - checkpoint: the client flushes; the first checkpoint
//     (UpdateCheckpoint) is held: the one that moves a channel's
//     checkpoint past the segments just flushed (a channel with buffered
//     rows saves none before). The new owner replays from the checkpoint
//     before it: the flushed segments are skipped, the deletes applied
//     again.
func TestClusterStaleReportRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	for _, tc := range []staleReport{
		{report: datacoord.ReportSyncManifest, method: "SaveSyncManifest", hold: 20 * time.Second, args: []string{"--dataNode.segment.insertBufSize=1"}},
		{report: datacoord.ReportFlush, method: "SegmentFlushed", hold: 20 * time.Second, flush: true},
		{report: datacoord.ReportDeltaLog, method: "AddDeltaLog", hold: 20 * time.Second, flush: true},
		{report: datacoord.ReportCheckpoint, method: "UpdateCheckpoint", hold: 20 * time.Second, flush: true},
	} {
		t.Run(string(tc.report), func(t *testing.T) { testStaleReportRefused(t, tc) })
	}
}

func testStaleReportRefused(t *testing.T, tc staleReport) {
	held := "rpc.serve/milvago.internal.DataCoord/" + tc.method
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1, args: tc.args,
		env: map[string][]string{"mixcoord": {failpoint.EnvVar + "=" + held + "=1*" + fmt.Sprintf("sleep(%v)", tc.hold)}}},
		"mixcoord", "streamingnode", "datanode-1:datanode", "datanode-2:datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	store := meta(c, t, ctx)
	name := "stale_" + string(tc.report)
	before := refusedReports(t, c, tc.report)
	createShards(t, ctx, cli, name, 2)
	nodes := map[int64]string{serverID(c.Roles["datanode-1"], t): "datanode-1", serverID(c.Roles["datanode-2"], t): "datanode-2"}

	writes := startWrites(ctx, name, cli)
	flushed := make(chan error, 1)
	if tc.flush {
		time.Sleep(time.Second)
		go func() { _, err := cli.Flush(ctx, milvusclient.NewFlushOption(name)); flushed <- err }()
	} else {
		flushed <- nil
	}
	coord := c.Roles["mixcoord"]
	m := waitLog(t, coord, regexp.MustCompile(`msg="failpoint hit".* failpoint=`+regexp.QuoteMeta(held)+` caller=(\d+)`), time.Minute)
	stale, _ := strconv.ParseInt(m[1], 10, 64)
	staleName, ok := nodes[stale]
	if !ok {
		t.Fatalf("held %s report from %d, not a data node (%v)", tc.report, stale, nodes)
	}
	var fresh int64
	for id := range nodes {
		if id != stale {
			fresh = id
		}
	}
	t.Logf("the data coordinator holds a %s report of %s (%d); it is stopped", tc.report, staleName, stale)
	pause(c.Roles[staleName], t, 10*time.Second)
	exitsAfterPause(c.Roles[staleName], t, 10*time.Second)
	for pc, node := range channelOwners(t, ctx, store) {
		if node != fresh {
			t.Fatalf("pchannel %s owned by %d after %s was stopped, want %d", pc, node, staleName, fresh)
		}
	}
	// The held report is served after the move: refused.
	waitLog(t, coord, regexp.MustCompile(fmt.Sprintf(`msg="failpoint call served".* failpoint=%s caller=%d err=".*channel misrouted`,
		regexp.QuoteMeta(held), stale)), tc.hold+10*time.Second)
	waitLog(t, coord, regexp.MustCompile(fmt.Sprintf(`msg="report refused: the caller does not own the channel".* report=%s .* caller=%d owner=%d`,
		tc.report, stale, fresh)), time.Second)
	if after := refusedReports(t, c, tc.report); after <= before {
		t.Fatalf("%s{report=%q} is %v after the held report was refused, %v before", datacoord.RefusalsMetric, tc.report, after, before)
	}

	time.Sleep(2 * time.Second)
	writes.halt()
	if writes.failures() > 0 {
		t.Fatalf("writes failed while a data node was stopped: %v", writes)
	}
	if err := <-flushed; err != nil {
		t.Fatalf("flush while the report was held: %v", err)
	}
	flushAwait(t, ctx, cli, name)
	writes.mu.Lock()
	live := append([]int64(nil), writes.live...)
	deleted := append([]int64(nil), writes.deleted...)
	writes.mu.Unlock()
	if len(live) == 0 || len(deleted) == 0 {
		t.Fatalf("writes: %v; want acknowledged inserts and deletes", writes)
	}
	t.Logf("writes: %v", writes)
	if got := count(t, ctx, cli, name, "id >= 0"); got != int64(len(live)) {
		t.Fatalf("count(*) after the refused %s report and a flush: %d, want %d acknowledged", tc.report, got, len(live))
	}
	for i := 0; i < len(live); i += 1000 {
		batch := live[i:min(i+1000, len(live))]
		if got := count(t, ctx, cli, name, idsFilter(batch)); got != int64(len(batch)) {
			t.Fatalf("acknowledged rows %d..%d: %d found, want %d (each once)", batch[0], batch[len(batch)-1], got, len(batch))
		}
	}
	for i := 0; i < len(deleted); i += 1000 {
		batch := deleted[i:min(i+1000, len(deleted))]
		if got := count(t, ctx, cli, name, idsFilter(batch)); got != 0 {
			t.Fatalf("acknowledged deletes %d..%d: %d rows found, want none", batch[0], batch[len(batch)-1], got)
		}
	}
}

// refusedReports reads the mixcoord's count of refused stale reports of
// one kind from its /metrics (0 before the first).
func refusedReports(t *testing.T, c *cluster, report datacoord.Report) float64 {
	t.Helper()
	resp, err := http.Get(c.MetricsURL("mixcoord") + "/metrics")
	if err != nil {
		t.Fatalf("scrape mixcoord: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape mixcoord: %s, %v", resp.Status, err)
	}
	prefix := fmt.Sprintf("%s{report=%q} ", datacoord.RefusalsMetric, report)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("scrape mixcoord: %q: %v", line, err)
			}
			return n
		}
	}
	return 0
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
