//go:build linux

package cluster

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"

	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/failpoint"
)

// TestClusterCutOffFailureReport (issue 8: a node cut off that comes back
// must not serve stale data or write twice) follows a data node's reports
// that a channel's flushes fail and flush again (DataFaults.ChannelFailed,
// ChannelRecovered) across the node being cut off:
//   - data node 1 owns two of a four-shard collection's pchannels, data
//     node 2 the other two; data node 1's first ten delete log writes fail
//     (datanode.flush.deltaLog=10*error(disk full)), so after a Flush both
//     its pipelines fail three times in a row and report their channel.
//     The data coordinator holds the first report it gets (the failpoint
//     rpc.serve/.../ChannelFailed: a report delayed in flight, sent while
//     its sender owned the channel), which stops that pipeline, and
//     records the second: the client's Flush+Await answers the cause
//     (code 5, "keeps retrying: disk full"), as GetFlushState does in
//     Milvus. The other pipeline gets past the failures, flushes, and
//     reports its channel recovered: that report is held too
//     (rpc.serve/.../ChannelRecovered);
//   - data node 1 is cut off: its network namespace's link goes down (or,
//     where the machine has no network namespaces, it is stopped with
//     SIGSTOP) for more than twice the session TTL, under a load of
//     inserts and deletes. Its pchannels move to data node 2, which
//     replays them from their checkpoints, writes the delete logs the
//     stopped pipeline could not and moves the checkpoints past the
//     failure: a Flush completes;
//   - data node 1 comes back, finds its session gone and stops, sending
//     nothing; its held reports of failure and recovery reach the
//     coordinator only now, and are refused (channel misrouted, 507:
//     logged and counted in milvago_datacoord_stale_reports_refused_total
//     by report), so the channels' state as clients see it stays the new
//     owner's: the next Flush completes at once, and the coordinator
//     recorded one failure only;
//   - every acknowledged insert is there once (count(*) exact, in total
//     and by ID; a query of the initial rows returns each primary key
//     once), every acknowledged delete holds, and the flushed segments
//     hold no more rows than were written (none flushed twice).
func TestClusterCutOffFailureReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	const (
		heldFailure  = "rpc.serve/milvago.internal.DataFaults/ChannelFailed"
		heldRecovery = "rpc.serve/milvago.internal.DataFaults/ChannelRecovered"
		// How long the coordinator holds the first report of each kind:
		// past the moment data node 1's pchannels have moved (the failure
		// is reported some 3 s after the flush, the recovery some 8 s,
		// and the cut follows the recovery).
		holdFailure, holdRecovery = 30 * time.Second, 25 * time.Second
		// down is how long data node 1 is cut off: more than twice the
		// session TTL (5 s).
		down = 12 * time.Second
	)
	opts := clusterOpts{logLevel: "info", storageNodes: 1, env: map[string][]string{
		"mixcoord": {failpoint.EnvVar + "=" + heldFailure + "=1*sleep(" + holdFailure.String() + ");" +
			heldRecovery + "=1*sleep(" + holdRecovery.String() + ")"},
		"datanode-1": {failpoint.EnvVar + "=datanode.flush.deltaLog=10*error(disk full)"},
	}}
	specs := []string{"mixcoord", "streamingnode", "datanode-2:datanode", "querynode", "indexnode", "proxy"}
	var (
		c             *cluster
		cut, reattach func()
	)
	if ns, why := openNetns(t); ns != nil {
		opts.ip = ns.hostIP
		c, _ = startClusterWith(t, opts, specs...)
		addInNetns(c, t, ns, "datanode-1:datanode").WaitReady(t, 90*time.Second)
		cut, reattach = func() { ns.cut(t) }, func() { ns.restore(t) }
	} else {
		t.Logf("data node 1 is stopped (SIGSTOP) instead of partitioned: %s", why)
		c, _ = startClusterWith(t, opts, append(specs, "datanode-1:datanode")...)
		p := c.Roles["datanode-1"].Cmd.Process
		cut = func() {
			if err := p.Signal(syscall.SIGSTOP); err != nil {
				t.Fatalf("SIGSTOP data node 1: %v", err)
			}
		}
		reattach = func() {
			if err := p.Signal(syscall.SIGCONT); err != nil {
				t.Fatalf("SIGCONT data node 1: %v", err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	store := meta(c, t, ctx)
	coord, node1 := c.Roles["mixcoord"], c.Roles["datanode-1"]
	dn1, dn2 := serverID(node1, t), serverID(c.Roles["datanode-2"], t)
	refusedBefore := map[datacoord.Report]float64{}
	for _, r := range []datacoord.Report{datacoord.ReportFailure, datacoord.ReportRecovery} {
		refusedBefore[r] = refusedReports(t, c, r)
	}
	const name, n = "cutoff", 400

	// Four shards, two pchannels on each data node.
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	var pchannels []string
	owners := func() map[int64]int {
		all := channelOwners(t, ctx, store)
		per := map[int64]int{}
		for _, pc := range pchannels {
			per[all[pc]]++
		}
		return per
	}
	eventually(t, 30*time.Second, "pchannels on both data nodes", func() error {
		if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(4)); err != nil {
			return err
		}
		coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
		if err != nil {
			return err
		}
		pchannels = slices.Compact(slices.Sorted(slices.Values(coll.PhysicalChannels)))
		if per := owners(); len(pchannels) == 4 && per[dn1] == 2 && per[dn2] == 2 {
			return nil
		}
		if err := cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)); err != nil {
			t.Fatal(err)
		}
		return fmt.Errorf("pchannels %v, owners per node %v", pchannels, owners())
	})
	if _, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "v", index.NewFlatIndex(entity.L2))); err != nil {
		t.Fatal(err)
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatal(err)
	}
	if err := insertRange(ctx, cli, name, 0, n); err != nil {
		t.Fatalf("insert: %v", err)
	}
	// Every tenth row deleted: deletes on each shard, so each of data node
	// 1's channels has a delete log to write at the flush.
	var gone []int64
	for id := int64(0); id < n; id += 10 {
		gone = append(gone, id)
	}
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", gone)); err != nil {
		t.Fatalf("delete: %v", err)
	}

	// The flush fails on data node 1; one of its failure reports is held,
	// the other recorded and answered to the client.
	start := time.Now()
	task, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	actx, acancel := context.WithTimeout(ctx, time.Minute)
	err = task.Await(actx)
	acancel()
	t.Logf("Flush+Await answered after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if merr.Code(err) != 5 || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "keeps retrying") {
		t.Fatalf("Flush+Await while data node 1's delete logs fail: %v (code %d), want code 5 naming the cause", err, merr.Code(err))
	}
	for _, fp := range []string{heldFailure, heldRecovery} {
		m := waitLog(t, coord, regexp.MustCompile(`msg="failpoint hit".* failpoint=`+regexp.QuoteMeta(fp)+` caller=(\d+)`), time.Minute)
		if caller, _ := strconv.ParseInt(m[1], 10, 64); caller != dn1 {
			t.Fatalf("the report held at %s is from %d, want data node 1 (%d)", fp, caller, dn1)
		}
	}
	t.Logf("the data coordinator holds a failure and a recovery report of data node 1 (%v after the flush)",
		time.Since(start).Round(time.Millisecond))

	// Data node 1 is cut off; its pchannels move to data node 2, which
	// flushes them.
	writes := startWrites(ctx, name, cli)
	time.Sleep(time.Second)
	cutAt := time.Now()
	cut()
	eventually(t, 60*time.Second, "data node 1's pchannels to move to data node 2", func() error {
		for pc, node := range channelOwners(t, ctx, store) {
			if node != dn2 {
				return fmt.Errorf("pchannel %s owned by %d", pc, node)
			}
		}
		return nil
	})
	moved := time.Since(cutAt)
	time.Sleep(max(0, down-time.Since(cutAt)))
	reattach()
	exitsAfterPause(node1, t, 30*time.Second)
	t.Logf("data node 1 cut off for %v: its pchannels moved after %v; it stopped %v after the cut",
		down, moved.Round(time.Millisecond), time.Since(cutAt).Round(time.Millisecond))
	flushAwait(t, ctx, cli, name)
	t.Logf("the flush completed on data node 2 %v after the cut", time.Since(cutAt).Round(time.Millisecond))

	// The held reports of data node 1 arrive now: refused.
	for _, h := range []struct {
		failpoint string
		report    datacoord.Report
	}{{heldRecovery, datacoord.ReportRecovery}, {heldFailure, datacoord.ReportFailure}} {
		waitLog(t, coord, regexp.MustCompile(fmt.Sprintf(`msg="failpoint call served".* failpoint=%s caller=%d err=".*channel misrouted`,
			regexp.QuoteMeta(h.failpoint), dn1)), holdFailure+15*time.Second)
		waitLog(t, coord, regexp.MustCompile(fmt.Sprintf(`msg="report refused: the caller does not own the channel".* report=%s .* caller=%d owner=%d`,
			h.report, dn1, dn2)), time.Second)
		if after := refusedReports(t, c, h.report); after != refusedBefore[h.report]+1 {
			t.Fatalf("%s{report=%q} is %v after the held report was refused, %v before; want one more",
				datacoord.RefusalsMetric, h.report, after, refusedBefore[h.report])
		}
	}
	t.Logf("both held reports refused %v after the cut", time.Since(cutAt).Round(time.Millisecond))
	// The channel's state is the new owner's: flushed, no failure.
	time.Sleep(time.Second)
	writes.halt()
	if writes.failures() > 0 {
		t.Fatalf("writes failed while data node 1 was cut off: %v", writes)
	}
	start = time.Now()
	flushAwait(t, ctx, cli, name)
	t.Logf("Flush+Await after the stale reports were refused: %v; writes: %v", time.Since(start).Round(time.Millisecond), writes)
	b, _ := os.ReadFile(coord.LogPath())
	if recorded := strings.Count(string(b), `msg="channel cannot be flushed"`); recorded != 1 {
		t.Fatalf("the data coordinator recorded %d channel failures, want the one data node 1 reported while it owned the channel", recorded)
	}

	// Every acknowledged write, once.
	writes.mu.Lock()
	live := append([]int64(nil), writes.live...)
	deleted := append(slices.Clone(gone), writes.deleted...)
	written := int64(n + (writes.insOK+writes.insFail)*writeBatch)
	writes.mu.Unlock()
	want := int64(n - len(gone) + len(live))
	if got := count(t, ctx, cli, name, "id >= 0"); got != want {
		t.Fatalf("count(*) after the cut-off and the flushes: %d, want %d (%d initial - %d deleted + %d acknowledged)",
			got, want, n, len(gone), len(live))
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
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(fmt.Sprintf("id < %d", n)).
		WithOutputFields("id").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("query the initial rows: %v", err)
	}
	ids := make([]int64, 0, rs.ResultCount)
	for i := range rs.ResultCount {
		id, err := rs.GetColumn("id").GetAsInt64(i)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var wantIDs []int64
	for id := int64(0); id < n; id++ {
		if id%10 != 0 {
			wantIDs = append(wantIDs, id)
		}
	}
	if !slices.Equal(ids, wantIDs) {
		t.Fatalf("query of the initial rows: %d primary keys, want %d, each once", len(ids), len(wantIDs))
	}
	segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, s := range segs {
		rows += s.NumRows
	}
	if rows > written || rows < want {
		t.Fatalf("flushed segments hold %d rows, want at most the %d written (none twice) and at least the %d live", rows, written, want)
	}
}
