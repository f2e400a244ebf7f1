package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestMetadataSurvivesRestart checks that a clean restart keeps every
// piece of metadata a user created: databases, collections with their
// schema and properties, partitions, aliases, indexes (and their built
// state), and partial loads.
func TestMetadataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	const dim = 4

	must(t, cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("kept")))
	cliK := dbClient(t, srv, "kept")
	schema := entity.NewSchema().WithName("meta").WithDescription("kept across restarts").WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true).WithIsAutoID(true)).
		WithField(entity.NewField().WithName("s").WithDataType(entity.FieldTypeVarChar).WithMaxLength(40)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cliK.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("meta", schema).WithShardNum(2).
		WithConsistencyLevel(entity.ClStrong).WithProperty("collection.ttl.seconds", 86400)))
	must(t, cliK.CreatePartition(ctx, milvusclient.NewCreatePartitionOption("meta", "p1")))
	must(t, cliK.CreateAlias(ctx, milvusclient.NewCreateAliasOption("meta", "meta_alias")))
	r := rand.New(rand.NewPCG(1, 9))
	for _, p := range []string{"", "p1"} {
		rows := make([]any, 50)
		for i := range rows {
			rows[i] = map[string]any{"s": fmt.Sprintf("%s-%d", p, i), "vec": randomVectors(r, 1, dim)[0], "extra": i}
		}
		opt := milvusclient.NewRowBasedInsertOption("meta", rows...)
		if p != "" {
			opt.WithPartition(p)
		}
		_, err := cliK.Insert(ctx, opt)
		must(t, err)
	}
	flush(t, ctx, cliK, "meta")
	it, err := cliK.CreateIndex(ctx, milvusclient.NewCreateIndexOption("meta", "vec", index.NewHNSWIndex(entity.IP, 8, 32)).WithIndexName("vec_idx"))
	must(t, err)
	must(t, it.Await(ctx))
	lt, err := cliK.LoadPartitions(ctx, milvusclient.NewLoadPartitionsOption("meta", "p1"))
	must(t, err)
	must(t, lt.Await(ctx))
	before, err := cliK.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("meta"))
	must(t, err)

	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	cliK = dbClient(t, srv, "kept")

	dbs, err := cli.ListDatabase(ctx, milvusclient.NewListDatabaseOption())
	if err != nil || !slices.Contains(dbs, "kept") {
		t.Fatalf("databases after restart: %v, %v", dbs, err)
	}
	after, err := cliK.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("meta"))
	must(t, err)
	checkSchema(t, after, schema, 2)
	if after.ID != before.ID || after.UpdateTimestamp != before.UpdateTimestamp || after.ConsistencyLevel != entity.ClStrong ||
		after.Properties["collection.ttl.seconds"] != "86400" {
		t.Fatalf("collection after restart: id %d/%d update_ts %d/%d level %v props %v", after.ID, before.ID,
			after.UpdateTimestamp, before.UpdateTimestamp, after.ConsistencyLevel, after.Properties)
	}
	parts, err := cliK.ListPartitions(ctx, milvusclient.NewListPartitionOption("meta"))
	if err != nil || !slices.Equal(parts, []string{"_default", "p1"}) {
		t.Fatalf("partitions after restart: %v, %v", parts, err)
	}
	a, err := cliK.DescribeAlias(ctx, milvusclient.NewDescribeAliasOption("meta_alias"))
	if err != nil || a.CollectionName != "meta" {
		t.Fatalf("alias after restart: %+v, %v", a, err)
	}
	idx, err := cliK.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption("meta", "vec_idx"))
	must(t, err)
	if p := idx.Params(); p["index_type"] != "HNSW" || p["metric_type"] != "IP" || idx.IndexedRows != 100 || idx.State != 3 {
		t.Fatalf("index after restart: %v, indexed %d, state %v", p, idx.IndexedRows, idx.State)
	}
	eventually(t, 60*time.Second, "p1 loaded after restart", func() (bool, string) {
		st, err := cliK.GetLoadState(ctx, milvusclient.NewGetLoadStateOption("meta", "p1"))
		return err == nil && st.State == entity.LoadStateLoaded, fmt.Sprint(st, err)
	})
	st, err := cliK.GetLoadState(ctx, milvusclient.NewGetLoadStateOption("meta", "_default"))
	if err != nil || st.State != entity.LoadStateNotLoad {
		t.Fatalf("_default load state after restart: %v, %v", st, err)
	}
	qr, err := cliK.Query(ctx, milvusclient.NewQueryOption("meta_alias").WithFilter("extra >= 45").WithOutputFields("s", "extra"))
	must(t, err)
	if qr.ResultCount != 5 {
		t.Fatalf("query through alias after restart: %d rows, want 5 (p1 only)", qr.ResultCount)
	}
	// New auto IDs do not collide with old ones.
	// (WithPartition returns the column-based option it embeds: set it
	// without chaining, or the rows are lost.)
	opt := milvusclient.NewRowBasedInsertOption("meta", map[string]any{"s": "new", "vec": []float32{1, 1, 1, 1}})
	opt.WithPartition("p1")
	res, err := cliK.Insert(ctx, opt)
	must(t, err)
	newID, _ := res.IDs.GetAsInt64(0)
	qr, err = cliK.Query(ctx, milvusclient.NewQueryOption("meta").WithFilter(fmt.Sprintf("id == %d", newID)).WithOutputFields("s"))
	must(t, err)
	if qr.ResultCount != 1 {
		t.Fatalf("auto ID %d after restart matches %d rows", newID, qr.ResultCount)
	}
}
