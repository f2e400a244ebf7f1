//go:build linux

package cluster

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestClusterDDL26 drives the DDL Milvus 2.6 added through two proxies of
// a cluster: each call crosses the proxy's clients to the root and index
// coordinators, and its effect (a new field, a rename, an index property,
// an emptied collection, a database property) is seen through the other
// proxy, served by the query node of another process.
func TestClusterDDL26(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy-1:proxy", "proxy-2:proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cli1 := connect(t, ctx, c.ProxyAddr("proxy-1"))
	cli2 := connect(t, ctx, c.ProxyAddr("proxy-2"))
	conn, err := grpc.NewClient(c.ProxyAddr("proxy-2"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw2 := milvuspb.NewMilvusServiceClient(conn)

	const n = 600
	vecs := flow(t, ctx, cli1, "evolve", n)
	// Growing rows besides the sealed ones.
	more := vectors(rand.New(rand.NewPCG(3, 5)), 10)
	if _, err := cli1.Insert(ctx, milvusclient.NewColumnBasedInsertOption("evolve").
		WithInt64Column("id", []int64{5000, 5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008, 5009}).
		WithVarcharColumn("tag", []string{"g", "g", "g", "g", "g", "g", "g", "g", "g", "g"}).
		WithFloatVectorColumn("v", dim, more)); err != nil {
		t.Fatalf("insert growing rows: %v", err)
	}

	// AddCollectionField on the loaded collection through proxy-1: the
	// query node serves the field when the call returns, so proxy-2 reads
	// it at once, sealed and growing rows alike as null.
	if err := cli1.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption("evolve",
		entity.NewField().WithName("score").WithDataType(entity.FieldTypeInt64).WithNullable(true))); err != nil {
		t.Fatalf("add field: %v", err)
	}
	if got := count(t, ctx, cli2, "evolve", "score is null"); got != n+10 {
		t.Fatalf("rows with score null through proxy-2: %d, want %d", got, n+10)
	}
	rs, err := cli2.Query(ctx, milvusclient.NewQueryOption("evolve").WithFilter("id in [7, 5003]").
		WithOutputFields("score").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("query the new field through proxy-2: %v", err)
	}
	if rs.ResultCount != 2 {
		t.Fatalf("query the new field: %d rows, want 2", rs.ResultCount)
	}
	for i := range 2 {
		if null, err := rs.GetColumn("score").IsNull(i); err != nil || !null {
			t.Fatalf("row %d: score null %v, %v", i, null, err)
		}
	}
	// Rows carrying the field, written through proxy-2, are read through
	// proxy-1 growing, then flushed by the data node (which learns the
	// field from the root coordinator) and read sealed.
	scored := vectors(rand.New(rand.NewPCG(17, 19)), 5)
	if _, err := cli2.Insert(ctx, milvusclient.NewColumnBasedInsertOption("evolve").
		WithInt64Column("id", []int64{6000, 6001, 6002, 6003, 6004}).
		WithVarcharColumn("tag", []string{"s", "s", "s", "s", "s"}).
		WithFloatVectorColumn("v", dim, scored).
		WithInt64Column("score", []int64{7, 7, 7, 8, 9})); err != nil {
		t.Fatalf("insert rows with the new field: %v", err)
	}
	if got := count(t, ctx, cli1, "evolve", "score == 7"); got != 3 {
		t.Fatalf("growing rows with score 7 through proxy-1: %d, want 3", got)
	}
	ft, err := cli2.Flush(ctx, milvusclient.NewFlushOption("evolve"))
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := ft.Await(ctx); err != nil {
		t.Fatalf("flush await: %v", err)
	}
	if got := count(t, ctx, cli1, "evolve", "score >= 7"); got != 5 {
		t.Fatalf("flushed rows with score through proxy-1: %d, want 5", got)
	}

	// AlterCollectionField through proxy-2, seen through proxy-1; the
	// collection stays served.
	if err := cli2.AlterCollectionFieldProperty(ctx, milvusclient.NewAlterCollectionFieldPropertiesOption("evolve", "tag").
		WithProperty("max_length", 32)); err != nil {
		t.Fatalf("alter field: %v", err)
	}
	d, err := cli1.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("evolve"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range d.Schema.Fields {
		if f.Name == "tag" && f.TypeParams["max_length"] != "32" {
			t.Fatalf("tag after alter through the other proxy: %+v", f)
		}
	}
	if _, err := cli1.Insert(ctx, milvusclient.NewColumnBasedInsertOption("evolve").WithInt64Column("id", []int64{7000}).
		WithVarcharColumn("tag", []string{"twenty-characters-xx"}).WithFloatVectorColumn("v", dim, more[:1]).
		WithInt64Column("score", []int64{1})); err != nil {
		t.Fatalf("insert a tag longer than the old max_length: %v", err)
	}
	if got := count(t, ctx, cli2, "evolve", `tag == "twenty-characters-xx"`); got != 1 {
		t.Fatalf("long tag through proxy-2: %d, want 1", got)
	}

	// RenameCollection through proxy-2: proxy-1 reads the new name, the
	// old one is gone, and the errors keep their Milvus code and text.
	if err := cli2.RenameCollection(ctx, milvusclient.NewRenameCollectionOption("evolve", "evolved")); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if has, err := cli1.HasCollection(ctx, milvusclient.NewHasCollectionOption("evolve")); err != nil || has {
		t.Fatalf("old name after rename: has %v, %v", has, err)
	}
	checkSearch(t, ctx, cli1, "evolved", vecs, 4, 321)
	err = cli1.RenameCollection(ctx, milvusclient.NewRenameCollectionOption("evolve", "other"))
	if err == nil || !strings.Contains(err.Error(), "collection not found") {
		t.Fatalf("rename a missing collection: %v", err)
	}

	// AlterIndex through proxy-1 on the released collection, seen through
	// proxy-2; refused while loaded.
	err = cli1.AlterIndexProperties(ctx, milvusclient.NewAlterIndexPropertiesOption("evolved", "v").WithProperty("mmap.enabled", true))
	if err == nil || !strings.Contains(err.Error(), "can't alter index on loaded collection") {
		t.Fatalf("alter index of a loaded collection: %v", err)
	}
	if err := cli2.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption("evolved")); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := cli1.AlterIndexProperties(ctx, milvusclient.NewAlterIndexPropertiesOption("evolved", "v").WithProperty("mmap.enabled", true)); err != nil {
		t.Fatalf("alter index: %v", err)
	}
	idx, err := cli2.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption("evolved", "v"))
	if err != nil {
		t.Fatalf("describe index: %v", err)
	}
	if p := idx.Params(); p["mmap.enabled"] != "true" || p["index_type"] != "HNSW" {
		t.Fatalf("index params after alter through the other proxy: %v", p)
	}
	err = cli2.AlterIndexProperties(ctx, milvusclient.NewAlterIndexPropertiesOption("evolved", "nope").WithProperty("mmap.enabled", true))
	if err == nil || !strings.Contains(err.Error(), "index not found") {
		t.Fatalf("alter a missing index: %v", err)
	}
	lt, err := cli1.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("evolved"))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("load await: %v", err)
	}
	checkSearch(t, ctx, cli2, "evolved", vecs, 9)

	// TruncateCollection through proxy-2 (the SDK does not wrap it): the
	// data coordinator and the query node drop every segment, the
	// collection stays loaded and takes new rows.
	resp, err := raw2.TruncateCollection(ctx, &milvuspb.TruncateCollectionRequest{CollectionName: "evolved"})
	if err != nil || resp.GetStatus().GetCode() != 0 {
		t.Fatalf("truncate: %v, %v", resp.GetStatus(), err)
	}
	if got := count(t, ctx, cli1, "evolved", "id >= 0"); got != 0 {
		t.Fatalf("rows after truncate through proxy-1: %d, want 0", got)
	}
	stats, err := cli1.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption("evolved"))
	if err != nil || stats["row_count"] != "0" {
		t.Fatalf("row_count after truncate: %v, %v", stats, err)
	}
	if _, err := cli1.Insert(ctx, milvusclient.NewColumnBasedInsertOption("evolved").WithInt64Column("id", []int64{1, 2, 3}).
		WithVarcharColumn("tag", []string{"a", "b", "c"}).WithFloatVectorColumn("v", dim, more[:3]).
		WithInt64Column("score", []int64{1, 2, 3})); err != nil {
		t.Fatalf("insert after truncate: %v", err)
	}
	if got := count(t, ctx, cli2, "evolved", "id >= 0"); got != 3 {
		t.Fatalf("rows after truncate and insert through proxy-2: %d, want 3", got)
	}
	resp, err = raw2.TruncateCollection(ctx, &milvuspb.TruncateCollectionRequest{CollectionName: "nope"})
	if err != nil || resp.GetStatus().GetCode() != 100 || !strings.Contains(resp.GetStatus().GetReason(), "collection not found") {
		t.Fatalf("truncate a missing collection: %v, %v", resp.GetStatus(), err)
	}

	// AlterDatabase through proxy-1, seen through proxy-2.
	if err := cli1.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("props")); err != nil {
		t.Fatal(err)
	}
	if err := cli1.AlterDatabaseProperties(ctx, milvusclient.NewAlterDatabasePropertiesOption("props").
		WithProperty("database.max.collections", 10)); err != nil {
		t.Fatalf("alter database: %v", err)
	}
	db, err := cli2.DescribeDatabase(ctx, milvusclient.NewDescribeDatabaseOption("props"))
	if err != nil || db.Properties["database.max.collections"] != "10" {
		t.Fatalf("database through proxy-2: %+v, %v", db, err)
	}
	if err := cli2.DropDatabaseProperties(ctx, milvusclient.NewDropDatabasePropertiesOption("props", "database.max.collections")); err != nil {
		t.Fatalf("drop database property: %v", err)
	}
	if db, err := cli1.DescribeDatabase(ctx, milvusclient.NewDescribeDatabaseOption("props")); err != nil || len(db.Properties) != 0 {
		t.Fatalf("database after dropping the property: %+v, %v", db, err)
	}
	err = cli2.AlterDatabaseProperties(ctx, milvusclient.NewAlterDatabasePropertiesOption("nope").WithProperty("database.max.collections", 1))
	if err == nil || !strings.Contains(err.Error(), "database not found") {
		t.Fatalf("alter a missing database: %v", err)
	}
}
