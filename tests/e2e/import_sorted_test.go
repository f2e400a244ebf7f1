package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
)

// TestImportIndexedOnce imports rows in random key order into an indexed
// collection: the import writes each segment sorted by primary key, so sort
// compaction (running every 300 ms here) never rewrites it and each
// segment's index is built exactly once. Garbage collection is off, so a
// second build would leave its index file behind.
func TestImportIndexedOnce(t *testing.T) {
	dir := t.TempDir()
	srv := startServerWith(t, dir, func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.GC.Enable = false
	})
	cli := srv.client(t)
	ctx := testContext(t)
	const name, n = "bulk_sorted", 3000
	createImportCollection(t, ctx, cli, name)
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewHNSWIndex(entity.L2, 8, 32)))
	must(t, err)
	must(t, it.Await(ctx))

	rows := importRows(0, n)
	r := rand.New(rand.NewPCG(5, 6))
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	objs := make([]string, len(rows))
	for i, row := range rows {
		objs[i] = row.jsonObject()
	}
	writeObject(t, srv, "s/rows.json", []byte("["+strings.Join(objs, ",")+"]"))
	d := restOK(t, "http://"+srv.addr, "/jobs/import/create", map[string]any{"collectionName": name, "files": [][]string{{"s/rows.json"}}}).(map[string]any)
	if done := waitImport(t, srv, d["jobId"].(string)); done["state"] != "Completed" {
		t.Fatalf("job ended %v", done)
	}

	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	imported := func() []int64 {
		segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
		must(t, err)
		var ids []int64
		for _, s := range segs {
			ids = append(ids, s.ID)
		}
		slices.Sort(ids)
		return ids
	}
	segs := imported()
	if len(segs) == 0 {
		t.Fatal("the import registered no segment")
	}
	eventually(t, 90*time.Second, "imported rows indexed", func() (bool, string) {
		descs, err := cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(name, "vec"))
		must(t, err)
		_, builds := segmentDirs(t, srv.objectsDir(), coll.ID)
		return descs.IndexedRows == n && builds >= len(segs), fmt.Sprintf("indexed %d of %d rows, %d index builds for segments %v",
			descs.IndexedRows, n, builds, segs)
	})
	// Ten sort-compaction passes: none may touch the imported segments.
	time.Sleep(3 * time.Second)
	if now := imported(); !slices.Equal(now, segs) {
		t.Fatalf("segments %v after the import became %v: compaction rewrote them", segs, now)
	}
	if onDisk, builds := segmentDirs(t, srv.objectsDir(), coll.ID); builds != len(segs) || !slices.Equal(onDisk, segs) {
		t.Fatalf("%d index builds and segment files %v for segments %v: want one build per segment", builds, onDisk, segs)
	}
	if u := unsortedSegments(t, ctx, cli, srv.objectsDir(), name); len(u) != 0 {
		t.Fatalf("segments %v are not sorted by primary key", u)
	}

	// The sorted rows read back as imported.
	load(t, ctx, cli, name)
	keys := []int64{0, 1, 2, 1234, n - 1}
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id in {keys}").WithTemplateParam("keys", keys).
		WithOutputFields("id", "vec", "name", "score").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if rs.ResultCount != len(keys) {
		t.Fatalf("query of %v: %d rows", keys, rs.ResultCount)
	}
	for i := range rs.ResultCount {
		id, _ := rs.GetColumn("id").GetAsInt64(i)
		v, err := rs.GetColumn("vec").Get(i)
		must(t, err)
		if vec := v.(entity.FloatVector); vec[0] != float32(id) {
			t.Fatalf("id %d: vec %v", id, vec)
		}
		score, _ := rs.GetColumn("score").GetAsInt64(i)
		want := int64(7)
		if id%2 == 0 {
			want = id
		}
		if score != want {
			t.Fatalf("id %d: score %d, want %d", id, score, want)
		}
		nm, _ := rs.GetColumn("name").GetAsString(i)
		if id%3 != 0 && nm != fmt.Sprintf("n%d", id) {
			t.Fatalf("id %d: name %q", id, nm)
		}
	}
	if got := rowCount(t, ctx, cli, name); got != n {
		t.Fatalf("row_count %d, want %d", got, n)
	}
}
