//go:build linux

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/objstore"
)

// putBigRows writes a JSON import file of n rows with IDs from first on,
// vectors bigVector(id, vdim) and tags "t{id%7}".
func putBigRows(t *testing.T, ctx context.Context, objs objstore.Store, path string, first, n, vdim int) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"rows": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		id := first + i
		fmt.Fprintf(&b, `{"id": %d, "tag": "t%d", "v": [`, id, id%7)
		for j, x := range bigVector(id, vdim) {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
		}
		b.WriteString("]}")
	}
	b.WriteString("]}")
	if err := objs.Put(ctx, path, []byte(b.String())); err != nil {
		t.Fatal(err)
	}
}

// TestClusterImportNodeKilledGC kills (SIGKILL) the data node running an
// import while it writes the imported segments, with garbage collection
// every second and a missing tolerance of 2 s. The import runs again on
// the other data node and completes with every row once; the killed
// attempt's segments are never registered, and their partial files are
// deleted by garbage collection after the tolerance; nothing live is
// deleted: not the files of the import while it runs on the second node
// (longer than the tolerance: the data node names its segments, the
// coordinator learns them only at the commit), not the segments flushed
// from inserts meanwhile. Afterwards every data file in the bucket is
// one a record refers to.
func TestClusterImportNodeKilledGC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	t.Setenv("DATA_COORD_COMPACTION_ENABLE_AUTO_COMPACTION", "false") // the imported segments stay as written
	const missing = 2
	shortGC(t, missing, 2)
	c, _ := startClusterWith(t, clusterOpts{logLevel: "debug", storageNodes: 1},
		"mixcoord", "streamingnode", "datanode-1:datanode", "datanode-2:datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	store := meta(c, t, ctx)
	objs := bucket(c, t, ctx)
	mixLog := c.Roles["mixcoord"].LogPath()

	const name, vdim, base = "importgc", 32, 2000
	coll := bigCollection(t, ctx, cli, name, vdim, 4)
	if err := insertBig(ctx, cli, name, 0, base, vdim); err != nil {
		t.Fatal(err)
	}
	flushAwait(t, ctx, cli, name)

	const first, n = 1_000_000, 60_000
	putBigRows(t, ctx, objs, "imports/big.json", first, n, vdim)
	restBase := "http://" + c.ProxyAddr("proxy")
	d := restData(t, restBase, "/jobs/import/create", map[string]any{"collectionName": name, "files": [][]string{{"imports/big.json"}}})
	job := fmt.Sprint(d["jobId"])

	// Kill the data node as soon as a segment the coordinator does not
	// know (the import's, named by the data node) has a file.
	newSegments := func() map[int64]bool {
		known := segmentRecords(t, ctx, store)
		out := map[int64]bool{}
		for _, f := range collectionFiles(t, ctx, objs, coll) {
			if _, ok := known[segmentOf(f)]; !ok {
				out[segmentOf(f)] = true
			}
		}
		return out
	}
	var dead map[int64]bool
	for deadline := time.Now().Add(2 * time.Minute); len(dead) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the import wrote no file in 2 minutes")
		}
		dead = newSegments()
	}
	m := logMatches(t, mixLog, fmt.Sprintf(`msg="import dispatched".* id=%s node=(\d+)`, job))
	if len(m) == 0 {
		t.Fatalf("import %s not dispatched in the coordinator's log", job)
	}
	victim := nodeOf(c, t, m[len(m)-1], "datanode-1", "datanode-2")
	c.Roles[victim].Kill()
	killed := time.Now()
	for id := range newSegments() {
		dead[id] = true // what it wrote until it died (the other node reads its file first)
	}
	var partial []string
	for _, f := range collectionFiles(t, ctx, objs, coll) {
		if dead[segmentOf(f)] {
			partial = append(partial, f)
		}
	}
	t.Logf("killed %s while it wrote import %s: %d segments, %d files in the bucket", victim, job, len(dead), len(partial))

	// Inserts go on while the import runs again (flushed by the live node).
	if err := insertBig(ctx, cli, name, base, 1000, vdim); err != nil {
		t.Fatal(err)
	}
	awaitImport(t, restBase, job, n)
	took := time.Since(killed)
	retries := logMatches(t, mixLog, fmt.Sprintf(`msg="import failed on a data node; sending it to another".* id=%s `, job))
	t.Logf("import %s completed %v after the kill; retries %d", job, took.Round(time.Millisecond), len(retries))
	if len(retries) == 0 {
		t.Fatal("the import was not sent to another data node (it finished before the kill?)")
	}
	e, err := store.Get(ctx, "data/import/"+job)
	if err != nil {
		t.Fatal(err)
	}
	var rec contract.ImportJob
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		t.Fatal(err)
	}
	segs := segmentRecords(t, ctx, store)
	var imported int64
	for _, id := range rec.Segments {
		if dead[id] {
			t.Fatalf("segment %d of the killed attempt was registered", id)
		}
		imported += segs[id].NumRows
	}
	for id := range dead {
		if _, ok := segs[id]; ok {
			t.Fatalf("segment %d of the killed attempt has a record", id)
		}
	}
	if imported != n {
		t.Fatalf("the job's segments %v hold %d rows, want %d", rec.Segments, imported, n)
	}

	// The killed attempt's files go after the tolerance; nothing live.
	eventually(t, 60*time.Second, "the killed attempt's files to be collected", func() error {
		have := map[string]bool{}
		for _, f := range collectionFiles(t, ctx, objs, coll) {
			have[f] = true
		}
		left := 0
		for _, f := range partial {
			if have[f] {
				left++
			}
		}
		if left > 0 {
			return fmt.Errorf("%d of its %d files left", left, len(partial))
		}
		return nil
	})
	gcAfter := time.Since(killed)
	flushAwait(t, ctx, cli, name)
	var last auditResult
	eventually(t, 60*time.Second, "only referenced files in the bucket", func() error {
		last = audit(t, ctx, objs, store)
		if len(last.missing) > 0 {
			t.Fatalf("files of live records deleted: %v", last.missing)
		}
		if len(last.orphans) > 0 {
			return fmt.Errorf("%d orphan files: %v", len(last.orphans), last.orphans)
		}
		return nil
	})
	t.Logf("killed attempt's %d files collected %v after the kill; bucket: %d data files, all referenced, none missing",
		len(partial), gcAfter.Round(time.Millisecond), last.files)

	want := int64(base + 1000 + n)
	if got := count(t, ctx, cli, name, ""); got != want {
		t.Fatalf("count(*) %d, want %d", got, want)
	}
	if got := count(t, ctx, cli, name, fmt.Sprintf("id >= %d", first)); got != n {
		t.Fatalf("imported rows %d, want %d (none twice)", got, n)
	}
	sample := []int64{0, 1999, 2000, 2999, first, first + 1, first + 31_337, first + n - 1, first + n, 3000}
	checkRowsByPK(t, ctx, cli, name, sample, func(id int64) bool { return id < 3000 || id >= first && id < first+n })
	for _, id := range []int{first + 17, 2500} {
		if err := searchFinds(ctx, cli, name, bigVector(id, vdim), int64(id)); err != nil {
			t.Fatalf("search for row %d: %v", id, err)
		}
	}
}
