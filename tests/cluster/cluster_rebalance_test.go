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
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/objstore"
)

// TestClusterDataNodeBalance starts one data node, then adds a second under
// a load of inserts and deletes: the data coordinator moves live pchannels
// onto it one at a time (the old owner stops, the new one replays from the
// checkpoints) until both own two; no write fails and the counts are exact
// after a flush. Then compactions and imports spread over both data nodes
// (compactions on their channel's owner, imports on the least busy), and
// an import whose data node is killed mid-job is sent to the other node
// and imports its rows exactly once.
func TestClusterDataNodeBalance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode-1:datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	store := meta(c, t, ctx)
	dn1 := serverID(c.Roles["datanode-1"], t)
	const name, base = "moving", 2000

	createShards(t, ctx, cli, name, 4)
	for pc, n := range channelOwners(t, ctx, store) {
		if n != dn1 {
			t.Fatalf("pchannel %s on %d with data node %d alone", pc, n, dn1)
		}
	}
	for i := 0; i < base; i += 500 {
		if err := insertRange(ctx, cli, name, i, 500); err != nil {
			t.Fatal(err)
		}
	}

	// A second data node joins under load.
	w := startWrites(ctx, name, cli)
	time.Sleep(2 * time.Second)
	joined := time.Now()
	c.Add(t, "datanode-2:datanode").WaitReady(t, 60*time.Second)
	dn2 := serverID(c.Roles["datanode-2"], t)
	eventually(t, 90*time.Second, "pchannels spread over both data nodes", func() error {
		per := map[int64]int{}
		for _, n := range channelOwners(t, ctx, store) {
			per[n]++
		}
		if per[dn1] != 2 || per[dn2] != 2 {
			return fmt.Errorf("owners per node %v", per)
		}
		return nil
	})
	spread := time.Since(joined)
	time.Sleep(2 * time.Second)
	w.halt()
	moves := logMatches(t, c.Roles["mixcoord"].LogPath(), `msg="pchannel moved".* stopped=(\S+) took=(\S+)`)
	t.Logf("writes while pchannels moved: %v; spread %v after the second data node started; moves (stopped, took): %v",
		w, spread.Round(time.Millisecond), moves)
	if len(moves) != 2 {
		t.Fatalf("%d pchannel moves, want 2", len(moves))
	}
	if w.failures() > 0 {
		t.Fatalf("writes failed while pchannels moved: %v", w)
	}
	flushAwait(t, ctx, cli, name)
	w.mu.Lock()
	live, deleted := len(w.live), slices.Clone(w.deleted)
	w.mu.Unlock()
	if got := count(t, ctx, cli, name, "id >= 0"); got != int64(base+live) {
		t.Fatalf("rows after the moves and a flush: %d, want %d", got, base+live)
	}
	if got := count(t, ctx, cli, name, fmt.Sprintf("id >= %d", writeBase)); got != int64(live) {
		t.Fatalf("written rows: %d, want %d", got, live)
	}
	if len(deleted) > 0 {
		if got := count(t, ctx, cli, name, idsFilter(deleted)); got != 0 {
			t.Fatalf("%d of %d acknowledged deletes undone", got, len(deleted))
		}
	}
	// Each segment was flushed once: the segments hold every written row once.
	segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, s := range segs {
		rows += s.NumRows
	}
	w.mu.Lock()
	written := int64(base + w.insOK*writeBatch)
	w.mu.Unlock()
	// Rows deleted stay in their segments until a compaction (the automatic
	// triggers may run one); a segment flushed twice would hold more.
	if rows > written || rows < int64(base+live) {
		t.Fatalf("flushed segments hold %d rows, want at most the %d written (none twice) and at least the %d live", rows, written, base+live)
	}

	// Compactions run on the owners of their channels: both nodes.
	mixLog := c.Roles["mixcoord"].LogPath()
	id, err := cli.Compact(ctx, milvusclient.NewCompactOption(name))
	if err != nil {
		t.Fatalf("compact: %v", err)
	}
	eventually(t, 2*time.Minute, "the compaction to complete", func() error {
		st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
		if err != nil {
			return err
		}
		if st != entity.CompactionStateCompleted {
			return fmt.Errorf("compaction %d %v", id, st)
		}
		return nil
	})
	for _, n := range []int64{dn1, dn2} {
		if len(logMatches(t, mixLog, fmt.Sprintf(`msg="compaction dispatched".* node=%d\b`, n))) == 0 {
			t.Fatalf("no compaction dispatched to data node %d", n)
		}
	}
	if got := count(t, ctx, cli, name, "id >= 0"); got != int64(base+live) {
		t.Fatalf("rows after the compaction: %d, want %d", got, base+live)
	}

	// Imports go to the least busy node: both.
	objs, err := objstore.NewS3(ctx, objstore.S3Config{Endpoint: c.S3.Endpoint, Region: c.S3.Region, Bucket: "milvago",
		AccessKey: c.S3.AccessKey, SecretKey: c.S3.SecretKey, RootPath: "milvago", CreateBucket: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer objs.Close()
	restBase := "http://" + c.ProxyAddr("proxy")
	const importBase, perJob = 3_000_000, 200
	var jobs []string
	for j := range 4 {
		path := fmt.Sprintf("imports/part-%d.json", j)
		putRows(t, ctx, objs, path, importBase+j*perJob, perJob)
		d := restData(t, restBase, "/jobs/import/create", map[string]any{"collectionName": name, "files": [][]string{{path}}})
		jobs = append(jobs, fmt.Sprint(d["jobId"]))
	}
	for _, job := range jobs {
		awaitImport(t, restBase, job, perJob)
	}
	for _, n := range []int64{dn1, dn2} {
		if len(logMatches(t, mixLog, fmt.Sprintf(`msg="import dispatched".* node=%d\b`, n))) == 0 {
			t.Fatalf("no import dispatched to data node %d", n)
		}
	}

	// The node running an import dies: the job runs again on the other.
	const bigBase, big = 4_000_000, 40_000
	putRows(t, ctx, objs, "imports/big.json", bigBase, big)
	d := restData(t, restBase, "/jobs/import/create", map[string]any{"collectionName": name, "files": [][]string{{"imports/big.json"}}})
	job := fmt.Sprint(d["jobId"])
	var victim string
	eventually(t, 30*time.Second, "the big import to be dispatched", func() error {
		m := logMatches(t, mixLog, fmt.Sprintf(`msg="import dispatched".* id=%s node=(\d+)`, job))
		if len(m) == 0 {
			return fmt.Errorf("import %s not dispatched yet", job)
		}
		victim = map[string]string{strconv.FormatInt(dn1, 10): "datanode-1", strconv.FormatInt(dn2, 10): "datanode-2"}[m[0]]
		return nil
	})
	killed := time.Now()
	c.Roles[victim].Kill()
	awaitImport(t, restBase, job, big)
	retried := logMatches(t, mixLog, fmt.Sprintf(`msg="import failed on a data node; sending it to another".* id=%s `, job))
	t.Logf("import %s: its data node (%s) killed; completed %v later; retries: %d", job, victim, time.Since(killed).Round(time.Millisecond), len(retried))
	if len(retried) == 0 {
		t.Logf("the import finished before its data node died (no retry to check)")
	}
	flushAwait(t, ctx, cli, name)
	if got := count(t, ctx, cli, name, fmt.Sprintf("id >= %d", bigBase)); got != big {
		t.Fatalf("rows of the import whose data node died: %d, want %d (none twice)", got, big)
	}
	if got := count(t, ctx, cli, name, "id >= 0"); got != int64(base+live+4*perJob+big) {
		t.Fatalf("rows in all: %d, want %d", got, base+live+4*perJob+big)
	}
}

// logMatches returns, for each line of path matching re, its first
// submatch (the whole match without one).
func logMatches(t *testing.T, path, re string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(string(b), -1) {
		out = append(out, strings.Join(m[min(1, len(m)-1):], " "))
	}
	return out
}

// putRows writes a JSON import file of n rows with IDs from first on.
func putRows(t *testing.T, ctx context.Context, objs *objstore.S3, path string, first, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"rows": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": %d, "tag": "imp", "v": [%s]}`, first+i, vec(i))
	}
	b.WriteString("]}")
	if err := objs.Put(ctx, path, []byte(b.String())); err != nil {
		t.Fatal(err)
	}
}

// awaitImport waits for an import job to complete with rows rows.
func awaitImport(t *testing.T, base, job string, rows int) {
	t.Helper()
	var done map[string]any
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		done = restData(t, base, "/jobs/import/get_progress", map[string]any{"jobId": job})
		if s := done["state"]; s == "Completed" || s == "Failed" {
			break
		}
	}
	if done["state"] != "Completed" || fmt.Sprint(done["importedRows"]) != strconv.Itoa(rows) {
		t.Fatalf("import %s ended %v", job, done)
	}
}
