package e2e

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestPartitions creates, lists and drops partitions, writes into them and
// reads from some of them, and loads and releases them one by one.
func TestPartitions(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "parts", 4

	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("part").WithDataType(entity.FieldTypeVarChar).WithMaxLength(20)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))

	list := func() []string {
		t.Helper()
		ps, err := cli.ListPartitions(ctx, milvusclient.NewListPartitionOption(name))
		must(t, err)
		return ps
	}
	if ps := list(); !slices.Equal(ps, []string{"_default"}) {
		t.Fatalf("new collection partitions %v, want [_default]", ps)
	}
	for _, p := range []string{"p2024", "p2025"} {
		must(t, cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, p)))
	}
	if err := cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, "p2024")); err == nil {
		// Milvus answers an existing partition with success too; either is
		// fine as long as no second partition appears.
		t.Log("creating an existing partition succeeded")
	}
	if ps := list(); !slices.Equal(ps, []string{"_default", "p2024", "p2025"}) {
		t.Fatalf("partitions %v", ps)
	}
	for p, want := range map[string]bool{"_default": true, "p2024": true, "p2026": false} {
		has, err := cli.HasPartition(ctx, milvusclient.NewHasPartitionOption(name, p))
		if err != nil || has != want {
			t.Fatalf("HasPartition(%s) = %v, %v; want %v", p, has, err, want)
		}
	}
	if err := cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, "bad name!")); err == nil {
		t.Fatal("created a partition with an invalid name")
	}

	// 100 rows per partition; the partition is in a field too.
	r := rand.New(rand.NewPCG(11, 12))
	vecs := map[int64][]float32{}
	partOf := map[int64]string{}
	for pi, p := range []string{"_default", "p2024", "p2025"} {
		n := 100
		idsIn := make([]int64, n)
		tags := make([]string, n)
		vs := randomVectors(r, n, dim)
		for i := range n {
			idsIn[i] = int64(pi*1000 + i)
			tags[i] = p
			vecs[idsIn[i]] = vs[i]
			partOf[idsIn[i]] = p
		}
		opt := milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", idsIn).
			WithVarcharColumn("part", tags).WithFloatVectorColumn("vec", dim, vs)
		if p != "_default" {
			opt = opt.WithPartition(p)
		}
		_, err := cli.Insert(ctx, opt)
		must(t, err)
	}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{9999}).
		WithVarcharColumn("part", []string{"x"}).WithFloatVectorColumn("vec", dim, randomVectors(r, 1, dim)).WithPartition("p1999"))
	wantCode(t, err, 200, "partition not found")

	flush(t, ctx, cli, name)
	for p, want := range map[string]int{"_default": 100, "p2024": 100, "p2025": 100} {
		st, err := cli.GetPartitionStats(ctx, milvusclient.NewGetPartitionStatsOption(name, p))
		if err != nil || st["row_count"] != strconv.Itoa(want) {
			t.Fatalf("partition %s stats %v, %v", p, st, err)
		}
	}
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewHNSWIndex(entity.L2, 8, 32)))
	must(t, err)
	must(t, it.Await(ctx))

	// Load two partitions only.
	lt, err := cli.LoadPartitions(ctx, milvusclient.NewLoadPartitionsOption(name, "p2024", "p2025"))
	must(t, err)
	must(t, lt.Await(ctx))
	st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name, "p2024"))
	if err != nil || st.State != entity.LoadStateLoaded {
		t.Fatalf("load state of p2024: %v, %v", st, err)
	}
	st, err = cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name, "_default"))
	if err != nil || st.State != entity.LoadStateNotLoad {
		t.Fatalf("load state of _default: %v, %v; want not loaded", st, err)
	}
	countIn := func(parts ...string) int64 {
		t.Helper()
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").
			WithPartitions(parts...).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		n, _ := qr.GetColumn("count(*)").GetAsInt64(0)
		return n
	}
	// Without partition names a read covers what is loaded.
	if n := countIn(); n != 200 {
		t.Fatalf("count over loaded partitions = %d, want 200", n)
	}
	if n := countIn("p2024"); n != 100 {
		t.Fatalf("count in p2024 = %d, want 100", n)
	}
	_, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithPartitions("_default"))
	if err == nil {
		t.Fatal("query of an unloaded partition succeeded")
	}
	// Search restricted to a partition finds only its rows, even for a
	// query vector from another partition.
	q := vecs[1005] // in p2024
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.FloatVector(q)}).
		WithPartitions("p2025").WithOutputFields("part").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if rs[0].ResultCount != 10 {
		t.Fatalf("partition search: %d hits", rs[0].ResultCount)
	}
	for i, id := range ids(t, rs[0]) {
		if p, _ := rs[0].GetColumn("part").GetAsString(i); partOf[id] != "p2025" || p != "p2025" {
			t.Fatalf("search in p2025 returned id %d of %s (field %q)", id, partOf[id], p)
		}
	}
	rs, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 1, []entity.Vector{entity.FloatVector(q)}).
		WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if got := ids(t, rs[0]); len(got) != 1 || got[0] != 1005 {
		t.Fatalf("search over loaded partitions found %v, want 1005", got)
	}
	// Query restricted to partitions.
	qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("part").
		WithPartitions("p2025").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	for i := range qr.ResultCount {
		if p, _ := qr.GetColumn("part").GetAsString(i); p != "p2025" {
			t.Fatalf("query in p2025 returned a row of %s", p)
		}
	}
	// Writes to a loaded partition are seen at once (Strong); writes to an
	// unloaded one are not searchable until it is loaded.
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{2500, 501}).
		WithVarcharColumn("part", []string{"p2025", "_default"}).WithFloatVectorColumn("vec", dim, randomVectors(r, 2, dim)).WithPartition("p2025"))
	must(t, err)
	if n := countIn("p2025"); n != 102 {
		t.Fatalf("count in p2025 after insert = %d, want 102", n)
	}
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{500}).
		WithVarcharColumn("part", []string{"_default"}).WithFloatVectorColumn("vec", dim, randomVectors(r, 1, dim)))
	must(t, err)
	if n := countIn(); n != 202 {
		t.Fatalf("count over loaded partitions after an insert into _default = %d, want 202", n)
	}
	// Delete within a partition.
	del, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr("id >= 2000 and id < 2010").WithPartition("p2025"))
	must(t, err)
	if del.DeleteCount != 10 {
		t.Fatalf("delete in p2025 removed %d, want 10", del.DeleteCount)
	}
	if n := countIn("p2025"); n != 92 {
		t.Fatalf("count in p2025 after delete = %d, want 92", n)
	}

	// A loaded partition cannot be dropped; release it first.
	if err := cli.DropPartition(ctx, milvusclient.NewDropPartitionOption(name, "p2024")); err == nil {
		t.Fatal("dropped a loaded partition")
	}
	must(t, cli.ReleasePartitions(ctx, milvusclient.NewReleasePartitionsOptions(name, "p2024")))
	st, err = cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name, "p2024"))
	if err != nil || st.State != entity.LoadStateNotLoad {
		t.Fatalf("load state of released p2024: %v, %v", st, err)
	}
	if n := countIn(); n != 92 {
		t.Fatalf("count after releasing p2024 = %d, want 92", n)
	}
	must(t, cli.DropPartition(ctx, milvusclient.NewDropPartitionOption(name, "p2024")))
	if ps := list(); !slices.Equal(ps, []string{"_default", "p2025"}) {
		t.Fatalf("partitions after drop %v", ps)
	}
	if err := cli.DropPartition(ctx, milvusclient.NewDropPartitionOption(name, "_default")); err == nil {
		t.Fatal("dropped _default")
	}

	// Loading the whole collection brings _default in (with the row
	// inserted while it was not loaded).
	must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
	load(t, ctx, cli, name)
	if n := countIn(); n != 92+101 {
		t.Fatalf("count after loading the collection = %d, want %d", n, 92+101)
	}
	if n := countIn("_default"); n != 101 {
		t.Fatalf("count in _default = %d, want 101", n)
	}
	qr, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id in [500, 501]").WithOutputFields("part").
		WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if got := sortedCopy(int64Col(t, qr, "id")); !slices.Equal(got, []int64{500, 501}) {
		t.Fatalf("rows 500, 501: %v", got)
	}
}
