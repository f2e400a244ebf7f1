package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The DDL of Milvus 2.6 (schema evolution, rename, properties, truncate and
// friends), driven through the Go SDK, and through the raw gRPC service for
// the RPCs SDK v2.6.2 does not wrap.

// rawService dials s with a bare MilvusService client, for RPCs the SDK
// lacks (TruncateCollection, FlushAll, GetFlushAllState, ...).
func rawService(t *testing.T, s *server) milvuspb.MilvusServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return milvuspb.NewMilvusServiceClient(conn)
}

// statusErr turns a response status into an error the wantCode helper reads.
func statusErr(st *commonpb.Status, err error) error {
	if err != nil {
		return err
	}
	return merr.Error(st)
}

// createIndexedLoaded creates collection name (Int64 key "id", a 4-d float
// vector "vec" with an HNSW index named "vec_idx"), inserts ids [0, n) and
// loads it.
func createIndexedLoaded(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, n int) {
	t.Helper()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithConsistencyLevel(entity.ClStrong)))
	insertIDs(t, ctx, cli, name, 0, n)
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewHNSWIndex(entity.L2, 8, 32)).WithIndexName("vec_idx"))
	must(t, err)
	must(t, it.Await(ctx))
	load(t, ctx, cli, name)
}

// insertIDs inserts rows with keys [lo, hi) and random vectors.
func insertIDs(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, lo, hi int) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(lo), uint64(hi)))
	keys := make([]int64, 0, hi-lo)
	for i := lo; i < hi; i++ {
		keys = append(keys, int64(i))
	}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", keys).
		WithFloatVectorColumn("vec", 4, randomVectors(r, len(keys), 4)))
	must(t, err)
}

func countWhere(t *testing.T, ctx context.Context, cli *milvusclient.Client, name, filter string) int64 {
	t.Helper()
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(filter).WithOutputFields("count(*)").
		WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("count %s where %s: %v", name, filter, err)
	}
	n, err := rs.GetColumn("count(*)").GetAsInt64(0)
	must(t, err)
	return n
}

// TestAddCollectionField adds nullable and defaulted fields to a loaded
// collection with sealed and growing rows, writes the new fields, and
// reads them back through query, filters and search, before and after a
// restart.
func TestAddCollectionField(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "addf"
	createIndexedLoaded(t, ctx, cli, name, 100)
	flush(t, ctx, cli, name)
	insertIDs(t, ctx, cli, name, 100, 150) // growing
	before, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)

	// Refusals, with Milvus's codes and texts.
	wantCode(t, cli.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption(name,
		entity.NewField().WithName("x").WithDataType(entity.FieldTypeInt64))), 1100, "added field must be nullable, please check it, field name = x")
	wantCode(t, cli.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption(name,
		entity.NewField().WithName("vec").WithDataType(entity.FieldTypeInt64).WithNullable(true))), 1100, "duplicate field name: vec")
	wantCode(t, cli.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption(name,
		entity.NewField().WithName("k2").WithDataType(entity.FieldTypeInt64).WithNullable(true).WithIsPrimaryKey(true))), 1100, "not support to add pk field")
	wantCode(t, cli.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption(name,
		entity.NewField().WithName("pk2").WithDataType(entity.FieldTypeInt64).WithNullable(true).WithIsPartitionKey(true))), 1100, "not support to add partition key field")
	wantCode(t, cli.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption(name,
		entity.NewField().WithName("v2").WithDataType(entity.FieldTypeFloatVector).WithDim(4).WithNullable(true).WithDefaultValueFloat(1))), 1100,
		"failed to check field schema: type not support default_value, type:FloatVector, name:v2")
	wantCode(t, cli.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption("no_such",
		entity.NewField().WithName("x").WithDataType(entity.FieldTypeInt64).WithNullable(true))), 100, "collection not found")

	must(t, cli.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption(name,
		entity.NewField().WithName("score").WithDataType(entity.FieldTypeInt64).WithNullable(true))))
	must(t, cli.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption(name,
		entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(20).WithNullable(true).WithDefaultValueString("none"))))

	after, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	if len(after.Schema.Fields) != 4 || after.Schema.Fields[2].Name != "score" || after.Schema.Fields[2].ID != 102 ||
		after.Schema.Fields[3].Name != "tag" || after.Schema.Fields[3].ID != 103 || !after.Schema.Fields[2].Nullable {
		t.Fatalf("fields after adding: %+v", after.Schema.Fields)
	}
	// The only property is the "timezone" every 2.6 collection gets.
	if after.UpdateTimestamp <= before.UpdateTimestamp || len(after.Properties) != 1 || after.Properties["timezone"] != "UTC" {
		t.Fatalf("update_timestamp %d -> %d, properties %v", before.UpdateTimestamp, after.UpdateTimestamp, after.Properties)
	}
	state, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
	if err != nil || state.State != entity.LoadStateLoaded {
		t.Fatalf("load state after adding fields: %v, %v", state, err)
	}

	// Old rows, sealed and growing, read the new fields as null / default.
	check := func(stage string, written int64) {
		t.Helper()
		if n := countWhere(t, ctx, cli, name, "score is null"); n != 150 {
			t.Fatalf("%s: %d rows with score null, want 150", stage, n)
		}
		if n := countWhere(t, ctx, cli, name, `tag == "none"`); n != 150 {
			t.Fatalf("%s: %d rows with tag none, want 150", stage, n)
		}
		if n := countWhere(t, ctx, cli, name, "score >= 150"); n != written {
			t.Fatalf("%s: %d rows with score >= 150, want %d", stage, n, written)
		}
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id in [5, 120, 155]").
			WithOutputFields("score", "tag").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		got := map[int64]string{}
		keys := int64Col(t, rs, "id")
		for i, k := range keys {
			sc, tg := "null", "?"
			if null, _ := rs.GetColumn("score").IsNull(i); !null {
				v, _ := rs.GetColumn("score").GetAsInt64(i)
				sc = strconv.FormatInt(v, 10)
			}
			tg, _ = rs.GetColumn("tag").GetAsString(i)
			got[k] = sc + "/" + tg
		}
		want := map[int64]string{5: "null/none", 120: "null/none"}
		if written > 0 {
			want[155] = "155/t155"
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: rows %v, want %v", stage, got, want)
		}
		res, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 200, []entity.Vector{entity.FloatVector{0.5, 0.5, 0.5, 0.5}}).
			WithANNSField("vec").WithOutputFields("score", "tag").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if res[0].ResultCount != 150+int(written) {
			t.Fatalf("%s: search found %d rows, want %d", stage, res[0].ResultCount, 150+written)
		}
		for i := range res[0].ResultCount {
			id, _ := res[0].IDs.GetAsInt64(i)
			null, _ := res[0].GetColumn("score").IsNull(i)
			tg, _ := res[0].GetColumn("tag").GetAsString(i)
			if (id < 150) != null || (id < 150 && tg != "none") {
				t.Fatalf("%s: search hit %d: score null %v tag %q", stage, id, null, tg)
			}
		}
	}
	check("after adding", 0)

	// New rows carry the fields (the SDK refreshes its cached schema on
	// the schema-mismatch answer to its first insert).
	keys := []int64{}
	scores := []int64{}
	tags := []string{}
	for i := int64(150); i < 160; i++ {
		keys, scores, tags = append(keys, i), append(scores, i), append(tags, "t"+strconv.FormatInt(i, 10))
	}
	r := rand.New(rand.NewPCG(7, 7))
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", keys).
		WithFloatVectorColumn("vec", 4, randomVectors(r, len(keys), 4)).
		WithColumns(column.NewColumnInt64("score", scores), column.NewColumnVarChar("tag", tags)))
	must(t, err)
	check("after writing", 10)

	// A restart while the growing segment, holding rows from before and
	// after the change, is only in the log: the data node and the query
	// node replay it under the new schema.
	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	eventually(t, 60*time.Second, "loaded after the first restart", func() (bool, string) {
		st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
		return err == nil && st.State == entity.LoadStateLoaded, fmt.Sprint(st, err)
	})
	check("after a restart with the change unflushed", 10)

	// Flushing that segment writes one value per row.
	flush(t, ctx, cli, name)
	eventually(t, 30*time.Second, "flushed rows served sealed", func() (bool, string) {
		n := countWhere(t, ctx, cli, name, "score >= 150")
		return n == 10, fmt.Sprint(n)
	})
	check("after flushing", 10)

	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	eventually(t, 60*time.Second, "loaded after restart", func() (bool, string) {
		st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
		return err == nil && st.State == entity.LoadStateLoaded, fmt.Sprint(st, err)
	})
	check("after restart", 10)
	again, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	if again.UpdateTimestamp != after.UpdateTimestamp || len(again.Schema.Fields) != 4 {
		t.Fatalf("after restart: update_ts %d (want %d), %d fields", again.UpdateTimestamp, after.UpdateTimestamp, len(again.Schema.Fields))
	}
}

// renameOption is a RenameCollectionOption with the target database, which
// SDK v2.6.2's own option cannot set.
type renameOption struct{ db, oldName, newDB, newName string }

func (o renameOption) Request() *milvuspb.RenameCollectionRequest {
	return &milvuspb.RenameCollectionRequest{DbName: o.db, OldName: o.oldName, NewDBName: o.newDB, NewName: o.newName}
}

// TestRenameCollection renames a loaded collection with an alias, within a
// database and into another one, checks its data, aliases and load state
// stay, Milvus's refusals, and that the new names survive a restart.
func TestRenameCollection(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	createIndexedLoaded(t, ctx, cli, "rn_a", 60)
	flush(t, ctx, cli, "rn_a")
	insertIDs(t, ctx, cli, "rn_a", 60, 80)
	must(t, cli.CreateAlias(ctx, milvusclient.NewCreateAliasOption("rn_a", "rn_alias")))
	createIndexedLoaded(t, ctx, cli, "rn_other", 1)
	before, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("rn_a"))
	must(t, err)

	wantCode(t, cli.RenameCollection(ctx, milvusclient.NewRenameCollectionOption("rn_a", "rn_other")), 65535,
		"duplicated new collection name default:rn_other with other collection name or alias")
	wantCode(t, cli.RenameCollection(ctx, milvusclient.NewRenameCollectionOption("rn_alias", "rn_x")), 65535,
		"unsupported use an alias to rename collection, alias:rn_alias")
	wantCode(t, cli.RenameCollection(ctx, milvusclient.NewRenameCollectionOption("rn_other", "rn_alias")), 65535,
		"cannot rename collection to an existing alias: rn_alias")
	wantCode(t, cli.RenameCollection(ctx, milvusclient.NewRenameCollectionOption("rn_a", "rn_a")), 1100,
		"collection name or database name should be different")
	wantCode(t, cli.RenameCollection(ctx, milvusclient.NewRenameCollectionOption("rn_missing", "rn_x")), 100, "collection not found")
	wantCode(t, cli.RenameCollection(ctx, milvusclient.NewRenameCollectionOption("rn_a", "1bad")), 1100, "the first character of a collection name must be an underscore or letter")
	wantCode(t, cli.RenameCollection(ctx, renameOption{oldName: "rn_a", newDB: "no_db", newName: "rn_b"}), 800,
		"target database no_db not found: database not found[database=no_db]")

	must(t, cli.RenameCollection(ctx, milvusclient.NewRenameCollectionOption("rn_a", "rn_b")))
	has, err := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption("rn_a"))
	if err != nil || has {
		t.Fatalf("old name still there: %v, %v", has, err)
	}
	after, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("rn_b"))
	must(t, err)
	aliases, err := cli.ListAliases(ctx, milvusclient.NewListAliasesOption("rn_b"))
	must(t, err)
	if after.ID != before.ID || after.Schema.CollectionName != "rn_b" || !slices.Equal(aliases, []string{"rn_alias"}) {
		t.Fatalf("renamed: id %d (was %d), schema name %q, aliases %v", after.ID, before.ID, after.Schema.CollectionName, aliases)
	}
	for _, n := range []string{"rn_b", "rn_alias"} {
		if c := countWhere(t, ctx, cli, n, "id >= 0"); c != 80 {
			t.Fatalf("%s holds %d rows, want 80", n, c)
		}
	}
	insertIDs(t, ctx, cli, "rn_b", 80, 90)
	if c := countWhere(t, ctx, cli, "rn_b", "id >= 0"); c != 90 {
		t.Fatalf("rn_b holds %d rows after inserting, want 90", c)
	}

	// A restart between the two renames.
	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	eventually(t, 60*time.Second, "loaded after the first restart", func() (bool, string) {
		st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption("rn_b"))
		return err == nil && st.State == entity.LoadStateLoaded, fmt.Sprint(st, err)
	})
	if c := countWhere(t, ctx, cli, "rn_alias", "id >= 0"); c != 90 {
		t.Fatalf("rn_alias holds %d rows after a restart, want 90", c)
	}

	// Across databases: aliases must go first.
	must(t, cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("rn_db")))
	wantCode(t, cli.RenameCollection(ctx, renameOption{oldName: "rn_b", newDB: "rn_db", newName: "rn_c"}), 65535,
		"fail to rename db name, must drop all aliases of this collection before rename")
	must(t, cli.DropAlias(ctx, milvusclient.NewDropAliasOption("rn_alias")))
	must(t, cli.RenameCollection(ctx, renameOption{oldName: "rn_b", newDB: "rn_db", newName: "rn_c"}))
	wantCode(t, cli.DropDatabase(ctx, milvusclient.NewDropDatabaseOption("rn_db")), 1100, "must drop all collections before drop database")
	cliDB := dbClient(t, srv, "rn_db")
	if c := countWhere(t, ctx, cliDB, "rn_c", "id >= 0"); c != 90 {
		t.Fatalf("rn_db.rn_c holds %d rows, want 90", c)
	}
	names, err := cli.ListCollections(ctx, milvusclient.NewListCollectionOption())
	must(t, err)
	if slices.Contains(names, "rn_b") || slices.Contains(names, "rn_c") {
		t.Fatalf("default still lists the moved collection: %v", names)
	}

	srv.stop()
	srv = startServer(t, dir)
	cliDB = dbClient(t, srv, "rn_db")
	eventually(t, 60*time.Second, "loaded after restart", func() (bool, string) {
		st, err := cliDB.GetLoadState(ctx, milvusclient.NewGetLoadStateOption("rn_c"))
		return err == nil && st.State == entity.LoadStateLoaded, fmt.Sprint(st, err)
	})
	if c := countWhere(t, ctx, cliDB, "rn_c", "id >= 0"); c != 90 {
		t.Fatalf("rn_db.rn_c holds %d rows after restart, want 90", c)
	}
	d, err := cliDB.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("rn_c"))
	must(t, err)
	if d.ID != before.ID || d.Schema.CollectionName != "rn_c" {
		t.Fatalf("after restart: id %d (want %d), schema name %q", d.ID, before.ID, d.Schema.CollectionName)
	}
}

// TestDatabaseProperties sets, shows, deletes and persists database
// properties (AlterDatabase, DropDatabaseProperties, DescribeDatabase).
func TestDatabaseProperties(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	raw := rawService(t, srv)
	must(t, cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("props_db")))
	must(t, cli.AlterDatabaseProperties(ctx, milvusclient.NewAlterDatabasePropertiesOption("props_db").
		WithProperty("database.max.collections", 10).WithProperty("database.force.deny.writing", false)))
	db, err := cli.DescribeDatabase(ctx, milvusclient.NewDescribeDatabaseOption("props_db"))
	must(t, err)
	if db.Properties["database.max.collections"] != "10" || db.Properties["database.force.deny.writing"] != "false" {
		t.Fatalf("properties: %v", db.Properties)
	}
	// Setting what is already set changes nothing and succeeds.
	must(t, cli.AlterDatabaseProperties(ctx, milvusclient.NewAlterDatabasePropertiesOption("props_db").WithProperty("database.max.collections", 10)))
	must(t, cli.DropDatabaseProperties(ctx, milvusclient.NewDropDatabasePropertiesOption("props_db", "database.force.deny.writing", "never.set")))
	db, err = cli.DescribeDatabase(ctx, milvusclient.NewDescribeDatabaseOption("props_db"))
	must(t, err)
	if len(db.Properties) != 1 || db.Properties["database.max.collections"] != "10" {
		t.Fatalf("properties after dropping one: %v", db.Properties)
	}

	wantCode(t, statusErr(raw.AlterDatabase(ctx, &milvuspb.AlterDatabaseRequest{DbName: "props_db"})), 1100,
		"alter database with empty properties and delete keys, expected to set either properties or delete keys")
	wantCode(t, statusErr(raw.AlterDatabase(ctx, &milvuspb.AlterDatabaseRequest{DbName: "props_db",
		Properties: []*commonpb.KeyValuePair{{Key: "a", Value: "1"}}, DeleteKeys: []string{"b"}})), 1100,
		"alter database cannot modify properties and delete keys at the same time")
	wantCode(t, statusErr(raw.AlterDatabase(ctx, &milvuspb.AlterDatabaseRequest{DbName: "props_db",
		Properties: []*commonpb.KeyValuePair{{Key: "timezone", Value: "Mars/Olympus"}}})), 1100,
		"unknown or invalid IANA Time Zone ID: Mars/Olympus")
	wantCode(t, cli.AlterDatabaseProperties(ctx, milvusclient.NewAlterDatabasePropertiesOption("no_db").WithProperty("a", 1)), 800,
		"failed to get database by name: database not found[database=no_db]")

	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	db, err = cli.DescribeDatabase(ctx, milvusclient.NewDescribeDatabaseOption("props_db"))
	must(t, err)
	if len(db.Properties) != 1 || db.Properties["database.max.collections"] != "10" {
		t.Fatalf("properties after restart: %v", db.Properties)
	}
}

// TestAlterIndexProperties sets and drops index properties (mmap.enabled),
// shown by DescribeIndex, with Milvus's refusals.
func TestAlterIndexProperties(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	createIndexedLoaded(t, ctx, cli, "aidx", 10)

	wantCode(t, cli.AlterIndexProperties(ctx, milvusclient.NewAlterIndexPropertiesOption("aidx", "vec_idx").WithProperty("mmap.enabled", true)),
		104, "can't alter index on loaded collection, please release the collection first: collection already loaded[collection=aidx]")
	must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption("aidx")))
	wantCode(t, cli.AlterIndexProperties(ctx, milvusclient.NewAlterIndexPropertiesOption("aidx", "vec_idx").WithProperty("M", 16)),
		1100, "M is not a configable index property")
	wantCode(t, cli.AlterIndexProperties(ctx, milvusclient.NewAlterIndexPropertiesOption("aidx", "vec_idx").WithProperty("mmap.enabled", "maybe")),
		1100, "invalid mmap.enabled value: maybe, expected: true, false")
	wantCode(t, cli.AlterIndexProperties(ctx, milvusclient.NewAlterIndexPropertiesOption("aidx", "nope").WithProperty("mmap.enabled", true)),
		700, "index not found[indexName=nope]")
	wantCode(t, cli.DropIndexProperties(ctx, milvusclient.NewDropIndexPropertiesOption("aidx", "vec_idx", "efConstruction")),
		1100, "efConstruction is not a configable index property")

	must(t, cli.AlterIndexProperties(ctx, milvusclient.NewAlterIndexPropertiesOption("aidx", "vec_idx").WithProperty("mmap.enabled", true)))
	d, err := cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption("aidx", "vec_idx"))
	must(t, err)
	if p := d.Params(); p["mmap.enabled"] != "true" || p["index_type"] != "HNSW" || p["M"] != "8" {
		t.Fatalf("index params after alter: %v", p)
	}
	// The index still serves once loaded again.
	load(t, ctx, cli, "aidx")
	if n := countWhere(t, ctx, cli, "aidx", "id >= 0"); n != 10 {
		t.Fatalf("%d rows, want 10", n)
	}
	must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption("aidx")))
	must(t, cli.DropIndexProperties(ctx, milvusclient.NewDropIndexPropertiesOption("aidx", "vec_idx", "mmap.enabled")))
	d, err = cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption("aidx", "vec_idx"))
	must(t, err)
	if _, ok := d.Params()["mmap.enabled"]; ok {
		t.Fatalf("mmap.enabled still set: %v", d.Params())
	}
}

// TestAlterCollectionField changes a field's max_length (enforced by the
// next insert), description and mmap.enabled, with Milvus's refusals.
func TestAlterCollectionField(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	schema := entity.NewSchema().WithName("altf").
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("s").WithDataType(entity.FieldTypeVarChar).WithMaxLength(4)).
		WithField(entity.NewField().WithName("arr").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeInt64).WithMaxCapacity(4)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("altf", schema)))
	insert := func(s string) error {
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("altf").WithInt64Column("id", []int64{1}).
			WithVarcharColumn("s", []string{s}).WithColumns(column.NewColumnInt64Array("arr", [][]int64{{1}})).
			WithFloatVectorColumn("vec", 4, [][]float32{{1, 2, 3, 4}}))
		return err
	}
	if err := insert("toolong"); err == nil {
		t.Fatal("insert over max_length 4 accepted")
	}
	must(t, cli.AlterCollectionFieldProperty(ctx, milvusclient.NewAlterCollectionFieldPropertiesOption("altf", "s").
		WithProperty("max_length", 16).WithProperty("field.description", "a longer string")))
	must(t, insert("toolong"))
	d, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("altf"))
	must(t, err)
	f := d.Schema.Fields[1]
	if f.TypeParams["max_length"] != "16" || f.Description != "a longer string" {
		t.Fatalf("field after alter: %+v", f)
	}
	must(t, cli.AlterCollectionFieldProperty(ctx, milvusclient.NewAlterCollectionFieldPropertiesOption("altf", "arr").WithProperty("max_capacity", 8)))
	must(t, cli.AlterCollectionFieldProperty(ctx, milvusclient.NewAlterCollectionFieldPropertiesOption("altf", "vec").WithProperty("mmap.enabled", true)))

	wantCode(t, cli.AlterCollectionFieldProperty(ctx, milvusclient.NewAlterCollectionFieldPropertiesOption("altf", "id").WithProperty("max_length", 16)),
		1100, "can not modify the maxlength for non-string types")
	wantCode(t, cli.AlterCollectionFieldProperty(ctx, milvusclient.NewAlterCollectionFieldPropertiesOption("altf", "s").WithProperty("max_length", 70000)),
		1100, "70000 exceeds the maximum allowed value 65535")
	wantCode(t, cli.AlterCollectionFieldProperty(ctx, milvusclient.NewAlterCollectionFieldPropertiesOption("altf", "arr").WithProperty("max_capacity", 5000)),
		1100, "the maximum capacity specified for a Array should be in (0, 4096]")
	wantCode(t, cli.AlterCollectionFieldProperty(ctx, milvusclient.NewAlterCollectionFieldPropertiesOption("altf", "vec").WithProperty("dim", 8)),
		1100, "dim does not allow update in collection field param")
	wantCode(t, cli.AlterCollectionFieldProperty(ctx, milvusclient.NewAlterCollectionFieldPropertiesOption("altf", "nope").WithProperty("mmap.enabled", true)),
		1100, "field nope does not exist in collection")

	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption("altf", "vec", index.NewFlatIndex(entity.L2)))
	must(t, err)
	must(t, it.Await(ctx))
	load(t, ctx, cli, "altf")
	wantCode(t, cli.AlterCollectionFieldProperty(ctx, milvusclient.NewAlterCollectionFieldPropertiesOption("altf", "vec").WithProperty("mmap.enabled", false)),
		104, "can not alter collection field properties if collection loaded: collection already loaded[collection=altf]")
	// max_length may change on a loaded collection.
	must(t, cli.AlterCollectionFieldProperty(ctx, milvusclient.NewAlterCollectionFieldPropertiesOption("altf", "s").WithProperty("max_length", 32)))
	if n := countWhere(t, ctx, cli, "altf", `s == "toolong"`); n != 1 {
		t.Fatalf("%d rows with s toolong, want 1", n)
	}

	// AlterCollection (properties) keeps Milvus's checks.
	wantCode(t, cli.AlterCollectionProperties(ctx, milvusclient.NewAlterCollectionPropertiesOption("altf").WithProperty("mmap.enabled", true)),
		104, "can not alter mmap properties if collection loaded")
	wantCode(t, cli.AlterCollectionProperties(ctx, milvusclient.NewAlterCollectionPropertiesOption("altf").WithProperty("allow_insert_auto_id", true)),
		1100, "the value for allow_insert_auto_id must be false when autoID is false")
	must(t, cli.AlterCollectionProperties(ctx, milvusclient.NewAlterCollectionPropertiesOption("altf").WithProperty("collection.ttl.seconds", 60)))
	must(t, cli.DropCollectionProperties(ctx, milvusclient.NewDropCollectionPropertiesOption("altf", "collection.ttl.seconds")))
}

// TestTruncateCollection empties a loaded, indexed collection with sealed
// and growing rows, keeping its schema, index, alias and load state; new
// rows are served; the emptiness survives a restart.
func TestTruncateCollection(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	raw := rawService(t, srv)
	ctx := testContext(t)
	createIndexedLoaded(t, ctx, cli, "trunc", 100)
	flush(t, ctx, cli, "trunc")
	insertIDs(t, ctx, cli, "trunc", 100, 130)
	_, err := cli.Delete(ctx, milvusclient.NewDeleteOption("trunc").WithInt64IDs("id", []int64{1, 2}))
	must(t, err)
	must(t, cli.CreateAlias(ctx, milvusclient.NewCreateAliasOption("trunc", "trunc_alias")))
	before, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("trunc"))
	must(t, err)

	resp, err := raw.TruncateCollection(ctx, &milvuspb.TruncateCollectionRequest{CollectionName: "no_such"})
	wantCode(t, statusErr(resp.GetStatus(), err), 100, "collection not found")
	resp, err = raw.TruncateCollection(ctx, &milvuspb.TruncateCollectionRequest{CollectionName: "trunc"})
	must(t, statusErr(resp.GetStatus(), err))

	if n := countWhere(t, ctx, cli, "trunc", "id >= 0"); n != 0 {
		t.Fatalf("%d rows after truncate, want 0", n)
	}
	stats, err := cli.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption("trunc"))
	must(t, err)
	if stats["row_count"] != "0" {
		t.Fatalf("row_count after truncate: %v", stats)
	}
	after, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("trunc"))
	must(t, err)
	if after.ID != before.ID || len(after.Schema.Fields) != 2 {
		t.Fatalf("collection after truncate: id %d (was %d), fields %d", after.ID, before.ID, len(after.Schema.Fields))
	}
	st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption("trunc"))
	if err != nil || st.State != entity.LoadStateLoaded {
		t.Fatalf("load state after truncate: %v, %v", st, err)
	}
	if _, err := cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption("trunc", "vec_idx")); err != nil {
		t.Fatalf("index after truncate: %v", err)
	}

	// The collection takes new rows (including keys it held before).
	insertIDs(t, ctx, cli, "trunc", 0, 20)
	if n := countWhere(t, ctx, cli, "trunc_alias", "id >= 0"); n != 20 {
		t.Fatalf("%d rows after inserting 20, want 20", n)
	}
	flush(t, ctx, cli, "trunc")
	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	eventually(t, 60*time.Second, "loaded after restart", func() (bool, string) {
		st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption("trunc"))
		return err == nil && st.State == entity.LoadStateLoaded, fmt.Sprint(st, err)
	})
	if n := countWhere(t, ctx, cli, "trunc", "id >= 0"); n != 20 {
		t.Fatalf("%d rows after restart, want 20", n)
	}
}

// TestBatchDescribeAndIndexStatistics covers BatchDescribeCollection
// (per-collection statuses) and GetIndexStatistics.
func TestBatchDescribeAndIndexStatistics(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawService(t, srv)
	ctx := testContext(t)
	createIndexedLoaded(t, ctx, cli, "bd_a", 5)
	createIndexedLoaded(t, ctx, cli, "bd_b", 5)
	flush(t, ctx, cli, "bd_a")

	resp, err := raw.BatchDescribeCollection(ctx, &milvuspb.BatchDescribeCollectionRequest{CollectionName: []string{"bd_a", "bd_missing", "bd_b"}})
	must(t, statusErr(resp.GetStatus(), err))
	if len(resp.GetResponses()) != 3 {
		t.Fatalf("%d responses, want 3", len(resp.GetResponses()))
	}
	a, missing, b := resp.GetResponses()[0], resp.GetResponses()[1], resp.GetResponses()[2]
	if a.GetStatus().GetCode() != 0 || a.GetCollectionName() != "bd_a" || len(a.GetSchema().GetFields()) != 2 ||
		b.GetStatus().GetCode() != 0 || b.GetCollectionName() != "bd_b" {
		t.Fatalf("described: %v / %v", a, b)
	}
	wantCode(t, merr.Error(missing.GetStatus()), 100, "can't find collection[database=default][collection=bd_missing]")
	if missing.GetCollectionName() != "bd_missing" {
		t.Fatalf("missing collection's answer: %v", missing)
	}
	resp, err = raw.BatchDescribeCollection(ctx, &milvuspb.BatchDescribeCollectionRequest{})
	wantCode(t, statusErr(resp.GetStatus(), err), 1100, "collection names cannot be empty")

	st, err := raw.GetIndexStatistics(ctx, &milvuspb.GetIndexStatisticsRequest{CollectionName: "bd_a"})
	must(t, statusErr(st.GetStatus(), err))
	if len(st.GetIndexDescriptions()) != 1 {
		t.Fatalf("index statistics: %v", st)
	}
	d := st.GetIndexDescriptions()[0]
	if d.GetIndexName() != "vec_idx" || d.GetFieldName() != "vec" || d.GetParams()[0].GetKey() != "M" {
		t.Fatalf("index statistics: %v", d)
	}
	eventually(t, 30*time.Second, "index built", func() (bool, string) {
		st, err := raw.GetIndexStatistics(ctx, &milvuspb.GetIndexStatisticsRequest{CollectionName: "bd_a", IndexName: "vec_idx"})
		must(t, statusErr(st.GetStatus(), err))
		d := st.GetIndexDescriptions()[0]
		return d.GetState() == commonpb.IndexState_Finished && d.GetIndexedRows() == 5 && d.GetTotalRows() == 5, d.String()
	})
	st, err = raw.GetIndexStatistics(ctx, &milvuspb.GetIndexStatisticsRequest{CollectionName: "bd_a", IndexName: "nope"})
	wantCode(t, statusErr(st.GetStatus(), err), 700, "index not found[indexName=nope]")
	st, err = raw.GetIndexStatistics(ctx, &milvuspb.GetIndexStatisticsRequest{CollectionName: "bd_missing"})
	wantCode(t, statusErr(st.GetStatus(), err), 100, "collection not found")
}

// TestFlushAllState flushes every collection with FlushAll and polls
// GetFlushAllState until the data is in the object store; a refresh load
// of a loaded collection succeeds, of a released one fails as in Milvus.
func TestFlushAllState(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawService(t, srv)
	ctx := testContext(t)
	createIndexedLoaded(t, ctx, cli, "fa_a", 50)
	must(t, cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("fa_db")))
	createIndexedLoaded(t, ctx, dbClient(t, srv, "fa_db"), "fa_b", 50)
	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("fa_a_gone", 4)))

	st, err := raw.GetFlushAllState(ctx, &milvuspb.GetFlushAllStateRequest{})
	wantCode(t, statusErr(st.GetStatus(), err), 1100, "FlushAllTss or FlushAllTs is required")
	st, err = raw.GetFlushAllState(ctx, &milvuspb.GetFlushAllStateRequest{FlushAllTss: map[string]uint64{"nope": 1}})
	wantCode(t, statusErr(st.GetStatus(), err), 1100, "FlushAllTs not found for pchannel")

	fa, err := raw.FlushAll(ctx, &milvuspb.FlushAllRequest{})
	must(t, statusErr(fa.GetStatus(), err))
	if fa.GetFlushAllTs() == 0 {
		t.Fatal("FlushAll returned no timestamp")
	}
	// As Milvus 2.6: one FlushAll message per physical channel of the
	// cluster, and the cluster's ID and physical channels.
	flushAllTss := flushAllMessages(t, ctx, raw, fa, map[string][]string{"default": {"fa_a"}, "fa_db": {"fa_b"}})
	// The state is answered from the channels' checkpoints: a collection
	// created after the FlushAll (its idle channels have no checkpoint)
	// and one dropped after it are not waited for.
	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("fa_late", 4)))
	must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption("fa_a_gone")))
	// Polled as milvus-backup and CDC poll it, with each physical channel's
	// message's time tick, then as older clients do, with flush_all_ts.
	for _, req := range []*milvuspb.GetFlushAllStateRequest{{FlushAllTss: flushAllTss}, {FlushAllTs: fa.GetFlushAllTs()}} {
		eventually(t, 60*time.Second, "flush all done", func() (bool, string) {
			st, err := raw.GetFlushAllState(ctx, req)
			if err := statusErr(st.GetStatus(), err); err != nil {
				t.Fatal(err)
			}
			return st.GetFlushed(), "not flushed"
		})
	}
	for _, db := range []string{"default", "fa_db"} {
		c := dbClient(t, srv, db)
		name := map[string]string{"default": "fa_a", "fa_db": "fa_b"}[db]
		segs, err := c.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption(name))
		must(t, err)
		if segs["row_count"] != "50" {
			t.Fatalf("%s.%s row_count %v", db, name, segs)
		}
	}

	lt, err := cli.RefreshLoad(ctx, milvusclient.NewRefreshLoadOption("fa_a"))
	must(t, err)
	must(t, lt.Await(ctx))
	must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption("fa_a")))
	_, err = cli.RefreshLoad(ctx, milvusclient.NewRefreshLoadOption("fa_a"))
	wantCode(t, err, 101, "collection not loaded")
}

// flushAllMessages checks FlushAll's answer as Milvus 2.6 gives it: a
// FlushAll message (type 37) for every physical channel cluster_info
// lists, those of the collections named (by database) among them, each
// with its time tick in base 36 under "_tt" (as milvus-backup reads it),
// flush_all_ts the latest, and cluster_info's ID common.clusterID (0).
// It returns the time ticks by physical channel: GetFlushAllState's
// flush_all_tss.
func flushAllMessages(t *testing.T, ctx context.Context, raw milvuspb.MilvusServiceClient, fa *milvuspb.FlushAllResponse, colls map[string][]string) map[string]uint64 {
	t.Helper()
	ci := fa.GetClusterInfo()
	if ci.GetClusterId() != "0" || ci.GetCchannel() != "" || len(ci.GetPchannels()) == 0 {
		t.Fatalf("cluster_info %v", ci)
	}
	for db, names := range colls {
		for _, name := range names {
			d, err := raw.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{DbName: db, CollectionName: name})
			must(t, statusErr(d.GetStatus(), err))
			for _, p := range d.GetPhysicalChannelNames() {
				if !slices.Contains(ci.GetPchannels(), p) {
					t.Fatalf("%s.%s's physical channel %s is not in cluster_info %v", db, name, p, ci.GetPchannels())
				}
			}
		}
	}
	tss := map[string]uint64{}
	var latest uint64
	for _, p := range ci.GetPchannels() {
		m := fa.GetFlushAllMsgs()[p]
		tt, err := strconv.ParseUint(m.GetProperties()["_tt"], 36, 64)
		if err != nil || m.GetProperties()["_t"] != "37" || m.GetId().GetId() == "" {
			t.Fatalf("%s: FlushAll message %v (%v)", p, m, err)
		}
		tss[p] = tt
		latest = max(latest, tt)
	}
	if len(fa.GetFlushAllMsgs()) != len(ci.GetPchannels()) || fa.GetFlushAllTs() != latest {
		t.Fatalf("%d messages for %d physical channels, flush_all_ts %d, latest tick %d", len(fa.GetFlushAllMsgs()), len(ci.GetPchannels()), fa.GetFlushAllTs(), latest)
	}
	return tss
}

// TestAlterCollectionChecks covers AlterCollection's Milvus 2.6 checks that
// the other tests do not: both lists, TTL range, warmup at collection
// level, partition-key isolation without a partition key, and deleting
// mmap.enabled from a loaded collection.
func TestAlterCollectionChecks(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawService(t, srv)
	ctx := testContext(t)
	createIndexedLoaded(t, ctx, cli, "acc", 1)
	alter := func(props map[string]string, del ...string) error {
		req := &milvuspb.AlterCollectionRequest{CollectionName: "acc", DeleteKeys: del}
		for k, v := range props {
			req.Properties = append(req.Properties, &commonpb.KeyValuePair{Key: k, Value: v})
		}
		st, err := raw.AlterCollection(ctx, req)
		return statusErr(st, err)
	}
	wantCode(t, alter(map[string]string{"a": "1"}, "b"), 1100, "cannot provide both DeleteKeys and ExtraParams")
	wantCode(t, alter(map[string]string{"collection.ttl.seconds": "x"}), 1100, "collection TTL is not a valid positive integer")
	wantCode(t, alter(map[string]string{"collection.ttl.seconds": "-5"}), 1100, "collection TTL is out of range, expect [-1, 3155760000], got -5")
	wantCode(t, alter(map[string]string{"warmup.vectorField": "sync"}), 104, "can not alter warmup properties if collection loaded")
	wantCode(t, alter(map[string]string{"lazyload.enabled": "true"}), 104, "can not alter mmap properties if collection loaded")
	wantCode(t, alter(nil, "mmap.enabled"), 104, "can not delete mmap properties if collection loaded")
	wantCode(t, alter(map[string]string{"partitionkey.isolation": "true"}), 105,
		"partition key isolation mode is enabled but no partition key field is set")
	must(t, alter(map[string]string{"collection.ttl.seconds": "-1"}))
	must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption("acc")))
	must(t, alter(map[string]string{"mmap.enabled": "true"}))
	must(t, alter(nil, "mmap.enabled"))
}
