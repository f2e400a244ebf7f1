package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
)

// allTypesSchema has every scalar type and two float vector fields.
func allTypesSchema(name string) *entity.Schema {
	return entity.NewSchema().WithName(name).WithDescription("every scalar type").WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("pk").WithDataType(entity.FieldTypeVarChar).WithMaxLength(32).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("b").WithDataType(entity.FieldTypeBool)).
		WithField(entity.NewField().WithName("i8").WithDataType(entity.FieldTypeInt8)).
		WithField(entity.NewField().WithName("i16").WithDataType(entity.FieldTypeInt16)).
		WithField(entity.NewField().WithName("i32").WithDataType(entity.FieldTypeInt32)).
		WithField(entity.NewField().WithName("i64").WithDataType(entity.FieldTypeInt64).WithDescription("a 64-bit int")).
		WithField(entity.NewField().WithName("f").WithDataType(entity.FieldTypeFloat)).
		WithField(entity.NewField().WithName("d").WithDataType(entity.FieldTypeDouble)).
		WithField(entity.NewField().WithName("s").WithDataType(entity.FieldTypeVarChar).WithMaxLength(100)).
		WithField(entity.NewField().WithName("j").WithDataType(entity.FieldTypeJSON)).
		WithField(entity.NewField().WithName("v1").WithDataType(entity.FieldTypeFloatVector).WithDim(4)).
		WithField(entity.NewField().WithName("v2").WithDataType(entity.FieldTypeFloatVector).WithDim(6))
}

// TestCollectionsAllTypes creates collections with every scalar type and
// two vector fields with 1 and 3 shards, checks that Describe round-trips
// the schema, inserts and reads back every type, and exercises List, Has,
// statistics and Drop.
func TestCollectionsAllTypes(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)

	dbs, err := cli.ListDatabase(ctx, milvusclient.NewListDatabaseOption())
	if err != nil || !slices.Contains(dbs, "default") {
		t.Fatalf("ListDatabase = %v, %v; want default", dbs, err)
	}
	for _, shards := range []int32{1, 3} {
		name := fmt.Sprintf("all_types_%d", shards)
		t.Run(name, func(t *testing.T) {
			before := time.Now()
			must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, allTypesSchema(name)).
				WithShardNum(shards).WithConsistencyLevel(entity.ClSession)))
			coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
			must(t, err)
			checkSchema(t, coll, allTypesSchema(name), shards)
			if coll.ConsistencyLevel != entity.ClSession {
				t.Errorf("consistency level %v, want Session", coll.ConsistencyLevel)
			}
			// update_timestamp is a hybrid timestamp near now.
			if phys := time.UnixMilli(int64(coll.UpdateTimestamp >> 18)); phys.Before(before.Add(-time.Minute)) || phys.After(time.Now().Add(time.Minute)) {
				t.Errorf("update_timestamp %d (%v) is not near now", coll.UpdateTimestamp, phys)
			}

			const n = 200
			r := rand.New(rand.NewPCG(uint64(shards), 9))
			pks := make([]string, n)
			bs := make([]bool, n)
			i8 := make([]int8, n)
			i16 := make([]int16, n)
			i32 := make([]int32, n)
			i64 := make([]int64, n)
			fs := make([]float32, n)
			ds := make([]float64, n)
			ss := make([]string, n)
			js := make([][]byte, n)
			for i := range n {
				pks[i] = fmt.Sprintf("key-%04d", i)
				bs[i] = i%3 == 0
				i8[i] = int8(i - 100)
				i16[i] = int16(i * 100)
				i32[i] = int32(i * 100000)
				i64[i] = int64(i) << 40
				fs[i] = float32(i) / 4
				ds[i] = float64(i) / 3
				ss[i] = fmt.Sprintf("str %d é", i)
				js[i] = []byte(fmt.Sprintf(`{"n": %d, "tags": ["t%d"], "nested": {"odd": %v}}`, i, i%5, i%2 == 1))
			}
			v1, v2 := randomVectors(r, n, 4), randomVectors(r, n, 6)
			res, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
				WithVarcharColumn("pk", pks).WithBoolColumn("b", bs).WithInt8Column("i8", i8).
				WithInt16Column("i16", i16).WithInt32Column("i32", i32).WithInt64Column("i64", i64).
				WithColumns(column.NewColumnFloat("f", fs), column.NewColumnDouble("d", ds), column.NewColumnJSONBytes("j", js)).
				WithVarcharColumn("s", ss).WithFloatVectorColumn("v1", 4, v1).WithFloatVectorColumn("v2", 6, v2))
			if err != nil {
				t.Fatalf("insert all types: %v", err)
			}
			if got := res.IDs.(*column.ColumnVarChar).Data(); !slices.Equal(got, pks) {
				t.Fatalf("insert returned keys %v..., want %v...", got[:2], pks[:2])
			}
			// Statistics count rows once they are flushed (as Milvus).
			flush(t, ctx, cli, name)
			stats, err := cli.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption(name))
			if err != nil || stats["row_count"] != strconv.Itoa(n) {
				t.Fatalf("statistics = %v, %v; want row_count %d", stats, err, n)
			}
			it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "v1", index.NewFlatIndex(entity.L2)))
			must(t, err)
			must(t, it.Await(ctx))
			indexAndLoad(t, ctx, cli, name, "v2", index.NewHNSWIndex(entity.IP, 8, 40))

			// Every type reads back as written.
			qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`pk in ["key-0007", "key-0150"]`).
				WithOutputFields("*").WithConsistencyLevel(entity.ClStrong))
			must(t, err)
			if qr.ResultCount != 2 {
				t.Fatalf("query two keys: %d rows", qr.ResultCount)
			}
			for row, i := range []int{7, 150} {
				get := func(field string) any {
					c := qr.GetColumn(field)
					if c == nil {
						t.Fatalf("query output lacks %q: %v", field, columnNames(qr))
					}
					v, err := c.Get(row)
					if err != nil {
						t.Fatalf("column %s row %d: %v", field, row, err)
					}
					return v
				}
				want := map[string]any{"pk": pks[i], "b": bs[i], "i8": i8[i], "i16": i16[i], "i32": i32[i], "i64": i64[i],
					"f": fs[i], "d": ds[i], "s": ss[i]}
				for f, w := range want {
					if g := get(f); g != w {
						t.Errorf("row %d field %s = %v (%T), want %v (%T)", i, f, g, g, w, w)
					}
				}
				var gotJ, wantJ any
				json.Unmarshal(get("j").([]byte), &gotJ)
				json.Unmarshal(js[i], &wantJ)
				if fmt.Sprint(gotJ) != fmt.Sprint(wantJ) {
					t.Errorf("row %d json %s, want %s", i, get("j"), js[i])
				}
				if g := get("v1").(entity.FloatVector); !slices.Equal([]float32(g), v1[i]) {
					t.Errorf("row %d v1 %v, want %v", i, g, v1[i])
				}
				if g := get("v2").(entity.FloatVector); !slices.Equal([]float32(g), v2[i]) {
					t.Errorf("row %d v2 %v, want %v", i, g, v2[i])
				}
			}
			// Filters on each type.
			for _, tc := range []struct {
				filter string
				want   int
			}{
				{"b == true", 67},
				{"i8 < -90", 10},
				{"i16 >= 19000", 10},
				{"i32 in [0, 100000, 300000]", 3},
				{"i64 > 0 and i64 <=", -1},
				{"i64 == 1099511627776", 1},
				{"f > 49.5", 1},
				{"d < 1", 3},
				{`s like "str 19%"`, 11},
				{`j["n"] >= 195`, 5},
				{`j["nested"]["odd"] == true`, 100},
				{`pk > "key-0189"`, 10},
			} {
				qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(tc.filter).
					WithOutputFields("pk").WithConsistencyLevel(entity.ClStrong))
				if tc.want < 0 {
					if err == nil {
						t.Errorf("filter %q: no error", tc.filter)
					} else if merr.Code(err) != 1100 {
						t.Errorf("filter %q: code %d (%v), want 1100", tc.filter, merr.Code(err), err)
					}
					continue
				}
				if err != nil || qr.ResultCount != tc.want {
					t.Errorf("filter %q: %d rows, %v; want %d", tc.filter, qr.ResultCount, err, tc.want)
				}
			}
			// Search on each vector field.
			for _, f := range []struct {
				name string
				vecs [][]float32
			}{{"v1", v1}, {"v2", v2}} {
				rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.FloatVector(f.vecs[42])}).
					WithANNSField(f.name).WithConsistencyLevel(entity.ClStrong))
				if err != nil {
					t.Fatalf("search %s: %v", f.name, err)
				}
				if rs[0].ResultCount != 3 {
					t.Fatalf("search %s: %d hits", f.name, rs[0].ResultCount)
				}
				if f.name == "v1" {
					if k, _ := rs[0].IDs.GetAsString(0); k != pks[42] {
						t.Fatalf("search v1 (L2) found %q first, want %q", k, pks[42])
					}
				}
			}
			// Searching a multi-vector collection without naming the field
			// is an error, as in Milvus.
			_, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.FloatVector(v1[0])}))
			if err == nil {
				t.Errorf("search without anns_field on two vector fields: no error")
			}
		})
	}

	names, err := cli.ListCollections(ctx, milvusclient.NewListCollectionOption())
	must(t, err)
	slices.Sort(names)
	if !slices.Equal(names, []string{"all_types_1", "all_types_3"}) {
		t.Fatalf("ListCollections = %v", names)
	}
	must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption("all_types_1")))
	if has, err := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption("all_types_1")); err != nil || has {
		t.Fatalf("HasCollection after drop = %v, %v", has, err)
	}
	names, err = cli.ListCollections(ctx, milvusclient.NewListCollectionOption())
	if err != nil || !slices.Equal(names, []string{"all_types_3"}) {
		t.Fatalf("ListCollections after drop = %v, %v", names, err)
	}
	// Dropping a missing collection succeeds (Milvus drops idempotently).
	if err := cli.DropCollection(ctx, milvusclient.NewDropCollectionOption("all_types_1")); err != nil {
		t.Fatalf("drop again: %v", err)
	}
	// The same name can be created again, empty.
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("all_types_1", allTypesSchema("all_types_1"))))
	stats, err := cli.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption("all_types_1"))
	if err != nil || stats["row_count"] != "0" {
		t.Fatalf("statistics of re-created collection = %v, %v", stats, err)
	}
}

// checkSchema compares a described collection with the schema it was
// created from.
func checkSchema(t *testing.T, coll *entity.Collection, want *entity.Schema, shards int32) {
	t.Helper()
	got := coll.Schema
	if coll.Name != want.CollectionName || got.CollectionName != want.CollectionName {
		t.Errorf("name %q / %q, want %q", coll.Name, got.CollectionName, want.CollectionName)
	}
	if coll.ShardNum != shards || len(coll.VirtualChannels) != int(shards) {
		t.Errorf("shards %d, %d vchannels; want %d", coll.ShardNum, len(coll.VirtualChannels), shards)
	}
	if got.Description != want.Description || got.EnableDynamicField != want.EnableDynamicField {
		t.Errorf("schema description %q dynamic %v; want %q %v", got.Description, got.EnableDynamicField,
			want.Description, want.EnableDynamicField)
	}
	// Milvus's DescribeCollection does not list the dynamic field
	// (service_provider.go); EnableDynamicField says it exists.
	var user []*entity.Field
	for _, f := range got.Fields {
		if f.IsDynamic || f.Name == "$meta" {
			t.Errorf("DescribeCollection lists the dynamic field %q", f.Name)
			continue
		}
		user = append(user, f)
	}
	if len(user) != len(want.Fields) {
		t.Fatalf("%d fields, want %d", len(user), len(want.Fields))
	}
	ids := map[int64]bool{}
	for i, w := range want.Fields {
		g := user[i]
		if g.Name != w.Name || g.DataType != w.DataType || g.PrimaryKey != w.PrimaryKey || g.AutoID != w.AutoID || g.Description != w.Description {
			t.Errorf("field %d: %+v, want %+v", i, g, w)
		}
		for _, k := range []string{entity.TypeParamDim, entity.TypeParamMaxLength} {
			if g.TypeParams[k] != w.TypeParams[k] {
				t.Errorf("field %s: %s = %q, want %q", w.Name, k, g.TypeParams[k], w.TypeParams[k])
			}
		}
		if g.ID < 100 || ids[g.ID] {
			t.Errorf("field %s: ID %d (user field IDs start at 100 and are unique)", g.Name, g.ID)
		}
		ids[g.ID] = true
	}
}

// TestDatabases creates, uses and drops a database and checks that
// collections in different databases are isolated.
func TestDatabases(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const dim = 4

	must(t, cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("analytics")))
	dbs, err := cli.ListDatabase(ctx, milvusclient.NewListDatabaseOption())
	if err != nil || !slices.Contains(dbs, "default") || !slices.Contains(dbs, "analytics") {
		t.Fatalf("ListDatabase = %v, %v", dbs, err)
	}
	err = cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("analytics"))
	if err == nil {
		t.Fatal("creating an existing database succeeded")
	}
	if _, err := cli.DescribeDatabase(ctx, milvusclient.NewDescribeDatabaseOption("nope")); merr.Code(err) != 800 {
		t.Fatalf("describe a missing database: %v (code %d), want 800", err, merr.Code(err))
	}

	// One client per database (ClientConfig.DBName); the same collection
	// name in both holds different data.
	cliA := dbClient(t, srv, "analytics")
	schema := func(name string) *entity.Schema {
		return entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	}
	r := rand.New(rand.NewPCG(5, 5))
	fill := func(c *milvusclient.Client, name string, n int) {
		t.Helper()
		must(t, c.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema(name))))
		idsIn := make([]int64, n)
		for i := range idsIn {
			idsIn[i] = int64(i)
		}
		_, err := c.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", idsIn).
			WithFloatVectorColumn("vec", dim, randomVectors(r, n, dim)))
		must(t, err)
		indexAndLoad(t, ctx, c, name, "vec", index.NewFlatIndex(entity.L2))
	}
	count := func(c *milvusclient.Client, name string) int64 {
		t.Helper()
		qr, err := c.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		n, _ := qr.GetColumn("count(*)").GetAsInt64(0)
		return n
	}
	fill(cli, "docs", 10)
	fill(cliA, "docs", 25)
	fill(cliA, "only_in_analytics", 5)
	if n := count(cli, "docs"); n != 10 {
		t.Fatalf("default.docs has %d rows, want 10", n)
	}
	if n := count(cliA, "docs"); n != 25 {
		t.Fatalf("analytics.docs has %d rows, want 25", n)
	}
	if has, _ := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption("only_in_analytics")); has {
		t.Fatal("default sees a collection of analytics")
	}
	_, err = cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("only_in_analytics"))
	wantCode(t, err, 100, "can't find collection[database=default][collection=only_in_analytics]")
	names, err := cliA.ListCollections(ctx, milvusclient.NewListCollectionOption())
	if slices.Sort(names); err != nil || !slices.Equal(names, []string{"docs", "only_in_analytics"}) {
		t.Fatalf("analytics collections = %v, %v", names, err)
	}
	names, err = cli.ListCollections(ctx, milvusclient.NewListCollectionOption())
	if err != nil || !slices.Equal(names, []string{"docs"}) {
		t.Fatalf("default collections = %v, %v", names, err)
	}

	// UseDatabase switches an existing client.
	cliU := srv.client(t)
	must(t, cliU.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("analytics")))
	if n := count(cliU, "only_in_analytics"); n != 5 {
		t.Fatalf("after UseDatabase: %d rows, want 5", n)
	}
	coll, err := cliU.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("only_in_analytics"))
	if err != nil || coll.Name != "only_in_analytics" {
		t.Fatalf("describe after UseDatabase: %v, %v", coll, err)
	}
	// A client of a missing database fails on use.
	if err := cliU.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("nope")); err == nil {
		if _, err := cliU.ListCollections(ctx, milvusclient.NewListCollectionOption()); merr.Code(err) != 800 {
			t.Fatalf("list collections in a missing database: %v (code %d), want 800", err, merr.Code(err))
		}
	}

	// A database with collections cannot be dropped; once empty it can.
	if err := cli.DropDatabase(ctx, milvusclient.NewDropDatabaseOption("analytics")); err == nil {
		t.Fatal("dropped a database that still has collections")
	}
	for _, n := range []string{"docs", "only_in_analytics"} {
		must(t, cliA.DropCollection(ctx, milvusclient.NewDropCollectionOption(n)))
	}
	must(t, cli.DropDatabase(ctx, milvusclient.NewDropDatabaseOption("analytics")))
	dbs, err = cli.ListDatabase(ctx, milvusclient.NewListDatabaseOption())
	if err != nil || slices.Contains(dbs, "analytics") {
		t.Fatalf("ListDatabase after drop = %v, %v", dbs, err)
	}
	if n := count(cli, "docs"); n != 10 {
		t.Fatalf("default.docs after dropping analytics: %d rows", n)
	}
	if err := cli.DropDatabase(ctx, milvusclient.NewDropDatabaseOption("default")); err == nil {
		t.Fatal("dropped the default database")
	}
}

func dbClient(t *testing.T, srv *server, db string) *milvusclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: srv.addr, DBName: db})
	if err != nil {
		t.Fatalf("connect to %s: %v", db, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestAliases creates, describes, uses, repoints and drops aliases.
func TestAliases(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const dim = 4
	r := rand.New(rand.NewPCG(8, 8))
	vecs := map[string][][]float32{}
	for _, name := range []string{"books_v1", "books_v2"} {
		schema := entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
		must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
		n := 20
		if name == "books_v2" {
			n = 30
		}
		idsIn := make([]int64, n)
		for i := range idsIn {
			idsIn[i] = int64(i)
		}
		vecs[name] = randomVectors(r, n, dim)
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", idsIn).
			WithFloatVectorColumn("vec", dim, vecs[name]))
		must(t, err)
		indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))
	}
	count := func(name string) int64 {
		t.Helper()
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		n, _ := qr.GetColumn("count(*)").GetAsInt64(0)
		return n
	}

	must(t, cli.CreateAlias(ctx, milvusclient.NewCreateAliasOption("books_v1", "books")))
	a, err := cli.DescribeAlias(ctx, milvusclient.NewDescribeAliasOption("books"))
	if err != nil || a.CollectionName != "books_v1" || a.Alias != "books" {
		t.Fatalf("DescribeAlias = %+v, %v", a, err)
	}
	aliases, err := cli.ListAliases(ctx, milvusclient.NewListAliasesOption("books_v1"))
	if err != nil || !slices.Equal(aliases, []string{"books"}) {
		t.Fatalf("ListAliases = %v, %v", aliases, err)
	}
	if n := count("books"); n != 20 {
		t.Fatalf("count through alias = %d, want 20", n)
	}
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption("books", 1, []entity.Vector{entity.FloatVector(vecs["books_v1"][3])}).
		WithConsistencyLevel(entity.ClStrong))
	if err != nil || ids(t, rs[0])[0] != 3 {
		t.Fatalf("search through alias: %v", err)
	}
	if has, err := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption("books")); err != nil || !has {
		t.Fatalf("HasCollection(alias) = %v, %v", has, err)
	}
	// An alias cannot be taken twice, nor share a collection's name.
	if err := cli.CreateAlias(ctx, milvusclient.NewCreateAliasOption("books_v2", "books")); err == nil {
		t.Fatal("created an alias that already exists for another collection")
	}
	if err := cli.CreateAlias(ctx, milvusclient.NewCreateAliasOption("books_v1", "books_v2")); err == nil {
		t.Fatal("created an alias named like a collection")
	}
	// Repoint it.
	must(t, cli.AlterAlias(ctx, milvusclient.NewAlterAliasOption("books", "books_v2")))
	if n := count("books"); n != 30 {
		t.Fatalf("count through repointed alias = %d, want 30", n)
	}
	// A collection with an alias cannot be dropped (Milvus: drop the alias first).
	if err := cli.DropCollection(ctx, milvusclient.NewDropCollectionOption("books_v2")); err == nil {
		t.Fatal("dropped a collection that still has an alias")
	}
	must(t, cli.DropAlias(ctx, milvusclient.NewDropAliasOption("books")))
	_, err = cli.DescribeAlias(ctx, milvusclient.NewDescribeAliasOption("books"))
	if err == nil {
		t.Fatal("DescribeAlias of a dropped alias succeeded")
	}
	// The SDK has "books" cached, so the query reaches the server's lookup.
	_, err = cli.Query(ctx, milvusclient.NewQueryOption("books").WithOutputFields("count(*)"))
	wantCode(t, err, 100, "collection not found[database=default][collection=books]")
	must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption("books_v2")))
}
