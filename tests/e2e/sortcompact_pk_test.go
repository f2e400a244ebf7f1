package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/storage"
)

// unsortedSegments returns, of the collection's live segments, those
// whose primary-key insert log on disk is not in key order (or is
// missing).
func unsortedSegments(t *testing.T, ctx context.Context, cli *milvusclient.Client, objects, name string) []int64 {
	t.Helper()
	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	var pkField int64
	for _, f := range coll.Schema.Fields {
		if f.PrimaryKey {
			pkField = f.ID
		}
	}
	segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	var out []int64
	for _, s := range segs {
		logDir := filepath.Join(objects, "insert_log", strconv.FormatInt(coll.ID, 10), strconv.FormatInt(s.ParititionID, 10),
			strconv.FormatInt(s.ID, 10), strconv.FormatInt(pkField, 10))
		files, _ := os.ReadDir(logDir)
		if len(files) != 1 {
			out = append(out, s.ID)
			continue
		}
		data, err := os.ReadFile(filepath.Join(logDir, files[0].Name()))
		must(t, err)
		c, err := storage.DecodeColumn(data)
		must(t, err)
		sorted := false
		switch pk := c.(type) {
		case *column.Scalar[int64]:
			sorted = slices.IsSorted(pk.Data)
		case *column.Scalar[string]:
			sorted = slices.IsSorted(pk.Data)
		}
		if !sorted {
			out = append(out, s.ID)
		}
	}
	return out
}

// allSorted waits until every live segment is written in key order and
// the files and row count settled (the unsorted originals and their index
// files collected, one index build per live segment).
func allSorted(t *testing.T, ctx context.Context, cli *milvusclient.Client, objects, name string, want int) {
	t.Helper()
	eventually(t, 90*time.Second, "every segment sorted by key", func() (bool, string) {
		u := unsortedSegments(t, ctx, cli, objects, name)
		return len(u) == 0, fmt.Sprintf("unsorted segments %v", u)
	})
	settled(t, ctx, cli, objects, name, want)
}

// checkPKLookups queries `id in [...]` for random present and absent
// keys and compares with the model.
func checkPKLookups(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, r *rand.Rand, model map[int64]int64, maxID int64, when string) {
	t.Helper()
	for range 5 {
		keys := make([]int64, 0, 64)
		for range 64 {
			keys = append(keys, r.Int64N(maxID+50)-25) // some below 0 and above every key
		}
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id in {keys}").WithTemplateParam("keys", keys).
			WithOutputFields("id", "v").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		got := map[int64]int64{}
		for i := range rs.ResultCount {
			id, _ := rs.GetColumn("id").GetAsInt64(i)
			v, _ := rs.GetColumn("v").GetAsInt64(i)
			if _, dup := got[id]; dup {
				t.Fatalf("%s: id %d returned twice", when, id)
			}
			got[id] = v
		}
		want := map[int64]int64{}
		for _, k := range keys {
			if v, ok := model[k]; ok {
				want[k] = v
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: pk in %v: %d rows, want %d", when, keys, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: id %d: v %d, want %d", when, k, got[k], v)
			}
		}
	}
}

// TestSortCompactionByPK writes segments in random key order: each ends
// up stored sorted by primary key (sorted as it is flushed, or rewritten by
// a compaction, whose originals' files and index files are collected),
// and every read, key lookup, count and row_count
// agrees with a model through deletes, upserts, more flushes and a
// restart.
func TestSortCompactionByPK(t *testing.T) {
	dir := t.TempDir()
	srv := startServerWith(t, dir, fastCompaction)
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "sortpk"
	const n = 3000
	createCompactionCollection(t, ctx, cli, name, nil)
	r := rand.New(rand.NewPCG(12, 1))
	model := map[int64]int64{}
	perm := r.Perm(n)
	for b := range 3 {
		var ids, vs []int64
		for _, p := range perm[b*n/3 : (b+1)*n/3] {
			id := int64(p)
			ids, vs = append(ids, id), append(vs, id*7)
			model[id] = id * 7
		}
		writeRows(t, ctx, cli, name, r, ids, vs, false)
		flush(t, ctx, cli, name)
	}
	checkModel(t, ctx, cli, name, model, "after flush")
	allSorted(t, ctx, cli, srv.objectsDir(), name, len(model))
	checkModel(t, ctx, cli, name, model, "after sort")
	checkPKLookups(t, ctx, cli, name, r, model, n, "after sort")

	// Deletes and upserts of sorted rows, and a new unsorted segment.
	var gone []int64
	for _, p := range r.Perm(n)[:n/4] {
		gone = append(gone, int64(p))
	}
	_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", gone))
	must(t, err)
	for _, id := range gone {
		delete(model, id)
	}
	var ups, upv []int64
	for _, p := range r.Perm(n + 500)[:600] {
		id := int64(p)
		ups, upv = append(ups, id), append(upv, -id)
		model[id] = -id
	}
	writeRows(t, ctx, cli, name, r, ups, upv, true)
	checkModel(t, ctx, cli, name, model, "after delete and upsert")
	checkPKLookups(t, ctx, cli, name, r, model, n+500, "after delete and upsert")
	flush(t, ctx, cli, name)
	allSorted(t, ctx, cli, srv.objectsDir(), name, len(model))
	checkModel(t, ctx, cli, name, model, "after the second sort")
	checkPKLookups(t, ctx, cli, name, r, model, n+500, "after the second sort")

	srv.stop()
	srv = startServerWith(t, dir, fastCompaction)
	cli = srv.client(t)
	checkModel(t, ctx, cli, name, model, "after restart")
	checkPKLookups(t, ctx, cli, name, r, model, n+500, "after restart")
	allSorted(t, ctx, cli, srv.objectsDir(), name, len(model))
}

// TestSortCompactionVarCharPK sorts segments of VarChar keys written in
// random order; reads, key lookups and counts match the model through
// deletes and upserts of sorted rows.
func TestSortCompactionVarCharPK(t *testing.T) {
	dir := t.TempDir()
	srv := startServerWith(t, dir, fastCompaction)
	cli := srv.client(t)
	ctx := testContext(t)
	const name, n = "sortpkstr", 2000
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeInt64)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(compactDim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithConsistencyLevel(entity.ClStrong)))
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.L2)))
	must(t, err)
	must(t, it.Await(ctx))
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	must(t, err)
	must(t, lt.Await(ctx))
	r := rand.New(rand.NewPCG(5, 9))
	key := func(i int) string { return fmt.Sprintf("k%d", i) } // "k10" < "k9": string order differs from numeric
	model := map[string]int64{}
	write := func(ids []string, vs []int64, upsert bool) {
		opt := milvusclient.NewColumnBasedInsertOption(name).WithVarcharColumn("id", ids).WithInt64Column("v", vs).
			WithFloatVectorColumn("vec", compactDim, randomVectors(r, len(ids), compactDim))
		var err error
		if upsert {
			_, err = cli.Upsert(ctx, opt)
		} else {
			_, err = cli.Insert(ctx, opt)
		}
		must(t, err)
	}
	check := func(when string) {
		t.Helper()
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`id != ""`).WithOutputFields("id", "v").
			WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		got := map[string]int64{}
		for i := range rs.ResultCount {
			id, _ := rs.GetColumn("id").GetAsString(i)
			v, _ := rs.GetColumn("v").GetAsInt64(i)
			got[id] = v
		}
		if len(got) != len(model) || rs.ResultCount != len(model) {
			t.Fatalf("%s: %d rows (%d distinct), model %d", when, rs.ResultCount, len(got), len(model))
		}
		for k, v := range model {
			if g, ok := got[k]; !ok || g != v {
				t.Fatalf("%s: id %s: %d (present %v), want %d", when, k, g, ok, v)
			}
		}
		if c := countAll(t, ctx, cli, name); c != int64(len(model)) {
			t.Fatalf("%s: count(*) %d, want %d", when, c, len(model))
		}
		keys := make([]string, 0, 50)
		for range 50 {
			keys = append(keys, key(r.IntN(n+100)))
		}
		rs, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id in {keys}").WithTemplateParam("keys", keys).
			WithOutputFields("id", "v").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		want := 0
		seen := map[string]bool{}
		for _, k := range keys {
			if _, ok := model[k]; ok && !seen[k] {
				want++
			}
			seen[k] = true
		}
		if rs.ResultCount != want {
			t.Fatalf("%s: id in %v: %d rows, want %d", when, keys, rs.ResultCount, want)
		}
	}
	perm := r.Perm(n)
	for b := range 2 {
		var ids []string
		var vs []int64
		for _, p := range perm[b*n/2 : (b+1)*n/2] {
			ids, vs = append(ids, key(p)), append(vs, int64(p))
			model[key(p)] = int64(p)
		}
		write(ids, vs, false)
		flush(t, ctx, cli, name)
	}
	allSorted(t, ctx, cli, srv.objectsDir(), name, len(model))
	check("after sort")
	var gone []string
	for _, p := range r.Perm(n)[:n/5] {
		gone = append(gone, key(p))
		delete(model, key(p))
	}
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithStringIDs("id", gone))
	must(t, err)
	var ups []string
	var upv []int64
	for _, p := range r.Perm(n)[:300] {
		ups, upv = append(ups, key(p)), append(upv, int64(-p))
		model[key(p)] = int64(-p)
	}
	write(ups, upv, true)
	check("after delete and upsert")
	flush(t, ctx, cli, name)
	allSorted(t, ctx, cli, srv.objectsDir(), name, len(model))
	check("after the second sort")
}
