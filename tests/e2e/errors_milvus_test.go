package e2e

import (
	"fmt"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
)

// TestMilvusErrorTable drives every user error below through the official
// SDK (or its raw service client for requests the SDK would not build) and
// checks Milvus's code and a substring of Milvus's text. Each case names
// the Milvus 2.6 source it was checked against (paths in milvus-io/milvus,
// branch 2.6).
func TestMilvusErrorTable(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "errtable", 8

	schema := entity.NewSchema().WithName(name).WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(8)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim)).
		WithField(entity.NewField().WithName("sp").WithDataType(entity.FieldTypeSparseVector))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
	const n = 20
	ids, tags, vecs := make([]int64, n), make([]string, n), make([][]float32, n)
	sparse := make([]entity.SparseEmbedding, n)
	for i := range n {
		ids[i], tags[i] = int64(i), fmt.Sprint(i)
		vecs[i] = make([]float32, dim)
		vecs[i][i%dim] = float32(i + 1)
		se, err := entity.NewSliceSparseEmbedding([]uint32{uint32(i)}, []float32{1})
		must(t, err)
		sparse[i] = se
	}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
		WithVarcharColumn("tag", tags).WithFloatVectorColumn("vec", dim, vecs).
		WithColumns(column.NewColumnSparseVectors("sp", sparse)))
	must(t, err)
	// An index without a name is named after its field; creating the same
	// one again without a name reuses that name (datacoord CreateIndex).
	for range 2 {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.L2)))
		must(t, err)
		must(t, it.Await(ctx))
	}
	indexAndLoad(t, ctx, cli, name, "sp", index.NewSparseInvertedIndex(entity.IP, 0.1))
	q := []entity.Vector{entity.FloatVector(vecs[3])}

	svc := cli.GetService()
	coll, err := svc.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: name})
	must(t, merr.CheckRPCCall(coll, err))
	vecIndex := func(params map[string]string) milvusclient.CreateIndexOption {
		return milvusclient.NewCreateIndexOption(name, "vec", index.NewGenericIndex("", params))
	}
	createIndex := func(opt milvusclient.CreateIndexOption) error { _, err := cli.CreateIndex(ctx, opt); return err }
	unsorted, err := entity.NewSliceSparseEmbedding([]uint32{1, 1}, []float32{0.5, 0.5})
	must(t, err)

	cases := []struct {
		what string
		call func() error
		code int32
		text string // a substring of Milvus's message
	}{
		// internal/proxy/service_provider.go (CachedProxyServiceProvider.DescribeCollection)
		{"describe a missing collection", func() error {
			_, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("nope"))
			return err
		}, 100, "can't find collection[database=default][collection=nope]"},
		// the SDK describes the collection first (client/milvusclient/write.go, read.go)
		{"insert into a missing collection", func() error {
			_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("nope").WithInt64Column("id", []int64{1}))
			return err
		}, 100, "can't find collection"},
		{"search a missing collection", func() error {
			_, err := cli.Search(ctx, milvusclient.NewSearchOption("nope", 3, q))
			return err
		}, 100, "can't find collection"},
		// internal/rootcoord/meta_table.go (WrapErrCollectionNotFoundWithDB)
		{"load a missing collection", func() error {
			_, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("nope"))
			return err
		}, 100, "collection not found[database=default][collection=nope]"},
		{"release a missing collection", func() error {
			return cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption("nope"))
		}, 100, "collection not found[database=default][collection=nope]"},
		{"raw insert into a missing collection", func() error {
			r, err := svc.Insert(ctx, &milvuspb.InsertRequest{CollectionName: "nope", NumRows: 1})
			return merr.CheckRPCCall(r, err)
		}, 100, "collection not found[database=default][collection=nope]"},
		// internal/proxy/task.go (createCollectionTask.PreExecute; proxy.maxVectorFieldNum = 10)
		{"eleven vector fields", func() error {
			s := entity.NewSchema().WithName("many").
				WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true))
			for i := range 11 {
				s.WithField(entity.NewField().WithName(fmt.Sprintf("v%d", i)).WithDataType(entity.FieldTypeFloatVector).WithDim(4))
			}
			return cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("many", s))
		}, 65535, "maximum vector field's number should be limited to 10"},
		// internal/proxy/util.go (validateMaxLengthPerRow)
		{"VarChar without max_length", func() error {
			s := entity.NewSchema().WithName("nolen").
				WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
				WithField(entity.NewField().WithName("s").WithDataType(entity.FieldTypeVarChar)).
				WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
			return cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("nolen", s))
		}, 65535, "type param(max_length) should be specified for the field(s) of collection nolen"},
		// internal/util/indexparamcheck/vector_index_checker.go (CheckValidDataType), wrapped by task_index.go
		{"FLAT on a scalar field", func() error {
			return createIndex(milvusclient.NewCreateIndexOption(name, "tag", index.NewFlatIndex(entity.L2)))
		}, 1100, "index FLAT only supports vector data type"},
		// internal/proxy/task_index.go (parseIndexParams)
		{"float index with JACCARD", func() error {
			return createIndex(vecIndex(map[string]string{"index_type": "HNSW", "metric_type": "JACCARD", "M": "8", "efConstruction": "64"}))
		}, 1100, "float vector index does not support metric type: JACCARD"},
		{"sparse index with L2", func() error {
			return createIndex(milvusclient.NewCreateIndexOption(name, "sp", index.NewSparseInvertedIndex(entity.L2, 0.1)))
		}, 1100, "only IP&BM25 is the supported metric type for sparse index"},
		{"vector index without a metric", func() error {
			return createIndex(vecIndex(map[string]string{"index_type": "HNSW", "M": "8", "efConstruction": "64"}))
		}, 1100, "metric type not set for vector index"},
		{"unknown index type", func() error {
			return createIndex(vecIndex(map[string]string{"index_type": "NO_SUCH", "metric_type": "L2"}))
		}, 1100, "invalid parameter[expected=valid index][actual=invalid index type: NO_SUCH]"},
		// knowhere's config check, surfaced by task_index.go checkTrain
		{"nlist out of range", func() error {
			return createIndex(milvusclient.NewCreateIndexOption(name, "vec", index.NewIvfFlatIndex(entity.L2, 0)))
		}, 1100, "Out of range in json: param 'nlist'"},
		// internal/datacoord/index_meta.go (canCreateIndex)
		{"a different index under the same name", func() error {
			return createIndex(milvusclient.NewCreateIndexOption(name, "vec", index.NewHNSWIndex(entity.L2, 8, 64)).WithIndexName("vec"))
		}, 65535, "CreateIndex failed: at most one distinct index is allowed per field"},
		{"a second index on a field", func() error {
			return createIndex(milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.L2)).WithIndexName("other"))
		}, 65535, "CreateIndex failed: creating multiple indexes on same field is not supported"},
		// internal/proxy/util.go (checkPrimaryFieldData / upsertTask.PreExecute)
		{"insert zero rows", func() error {
			r, err := svc.Insert(ctx, &milvuspb.InsertRequest{CollectionName: name, NumRows: 0,
				FieldsData: []*schemapb.FieldData{column.NewColumnInt64("id", []int64{}).FieldData()}})
			return merr.CheckRPCCall(r, err)
		}, 1100, "num_rows should be greater than 0"},
		// internal/proxy/task_insert.go (schema timestamp check)
		{"insert against an older schema", func() error {
			r, err := svc.Insert(ctx, &milvuspb.InsertRequest{CollectionName: name, NumRows: 1, SchemaTimestamp: coll.GetUpdateTimestamp() - 1,
				FieldsData: []*schemapb.FieldData{column.NewColumnInt64("id", []int64{99}).FieldData()}})
			return merr.CheckRPCCall(r, err)
		}, 109, "collection schema mismatch[collection=errtable]"},
		// internal/proxy/util.go (validatePartitionTag, strict=false), task_query.go
		{"query an empty partition name", func() error {
			_, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id > 0").WithPartitions(""))
			return err
		}, 65535, "Partition name should not be empty"},
		// internal/proxy/search_util.go (getPartitionIDs)
		{"search a missing partition", func() error {
			_, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, q).WithANNSField("vec").WithPartitions("aaa"))
			return err
		}, 65535, "partition name aaa not found"},
		// internal/proxy/task_query.go (PreExecute)
		{"query without filter or limit", func() error {
			_, err := cli.Query(ctx, milvusclient.NewQueryOption(name))
			return err
		}, 1100, "empty expression should be used with limit"},
		// internal/core/src/common/Utils.h (CopyAndWrapSparseRow, segcore code 2001)
		{"unsorted sparse query", func() error {
			_, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{unsorted}).WithANNSField("sp"))
			return err
		}, 2001, "Invalid sparse row: id should be strict ascending"},
		// internal/parser/planparserv2/fill_expression_value.go
		{"like with a number template", func() error {
			_, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("tag like {p}").WithTemplateParam("p", 10))
			return err
		}, 1100, "the value of like expression template variable {p} is not string"},
		// internal/proxy/task_delete.go (deleteRunner.Init)
		{"delete everything", func() error {
			_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr(""))
			return err
		}, 1100, "delete plan can't be empty or always true"},
		{"delete with a bad filter", func() error {
			_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr("id >"))
			return err
		}, 1100, "failed to create delete plan: cannot parse expression: id >"},
		// internal/proxy/task.go (alterCollectionTask.PreExecute)
		{"drop mmap of a loaded collection", func() error {
			return cli.DropCollectionProperties(ctx, milvusclient.NewDropCollectionPropertiesOption(name, "mmap.enabled"))
		}, 104, "can not delete mmap properties if collection loaded"},
		{"allow_insert_auto_id without auto_id", func() error {
			return cli.AlterCollectionProperties(ctx, milvusclient.NewAlterCollectionPropertiesOption(name).WithProperty("allow_insert_auto_id", true))
		}, 1100, "the value for allow_insert_auto_id must be false when autoID is false"},
		// internal/proxy/impl.go (Proxy.Connect)
		{"use a missing database", func() error {
			return cli.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("nope"))
		}, 800, "database not found[database=nope]"},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) { wantCode(t, c.call(), c.code, c.text) })
	}
	must(t, cli.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("default")))

	t.Run("accepted as Milvus accepts them", func(t *testing.T) {
		// ddl_callbacks_create_partition.go: an existing partition is not an error.
		must(t, cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, "_default")))
		// Milvus 2.6 fills a like pattern from a template.
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("tag like {p}").WithTemplateParam("p", "1%").
			WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if got := sortedCopy(int64Col(t, rs, "id")); !slices.Equal(got, []int64{1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}) {
			t.Errorf("tag like {p}: %v", got)
		}
	})

	t.Run("describe", func(t *testing.T) {
		c, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
		must(t, err)
		for _, f := range c.Schema.Fields {
			if f.Name == "$meta" || f.IsDynamic {
				t.Errorf("DescribeCollection lists the dynamic field %q", f.Name)
			}
		}
		if !c.Schema.EnableDynamicField {
			t.Error("dynamic field no longer enabled")
		}
		if c.Properties["timezone"] != "UTC" {
			t.Errorf("properties %v: want the default timezone UTC", c.Properties)
		}
	})

	t.Run("search output fields", func(t *testing.T) {
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, q).WithANNSField("vec").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if rs[0].ResultCount != 3 || len(rs[0].Fields) != 0 {
			t.Errorf("search without output fields: %d hits, fields %v (Milvus returns none)", rs[0].ResultCount, columnNames(rs[0]))
		}
		// A dynamic key no row has is still a (null) column.
		rs, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 3, q).WithANNSField("vec").WithOutputFields("tag", "nokey").
			WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if names := columnNames(rs[0]); !slices.Contains(names, "nokey") || !slices.Contains(names, "tag") || slices.Contains(names, "id") {
			t.Errorf("search output fields: %v", names)
		}
		// No hit: the requested columns are still there.
		rs, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 3, q).WithANNSField("vec").WithFilter("id < 0").WithOutputFields("nokey").
			WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if rs[0].ResultCount != 0 {
			t.Errorf("filtered search: %d hits", rs[0].ResultCount)
		}
		// The primary key among the fields when asked for.
		rs, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 3, q).WithANNSField("vec").WithOutputFields("id").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if names := columnNames(rs[0]); !slices.Equal(names, []string{"id"}) {
			t.Errorf("search output id: %v", names)
		}
		// An empty sparse query vector matches nothing.
		empty, err := entity.NewSliceSparseEmbedding(nil, nil)
		must(t, err)
		rs, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{empty}).WithANNSField("sp").
			WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if rs[0].ResultCount != 0 {
			t.Errorf("empty sparse query: %d hits", rs[0].ResultCount)
		}
	})
}

// TestAutoIDWrites checks Milvus 2.6's auto_id semantics: an upsert
// deletes the rows of the keys it carries and inserts under new auto IDs
// (internal/proxy/util.go checkUpsertPrimaryFieldData), and
// allow_insert_auto_id lets an insert keep its own keys (checkPrimaryFieldData).
func TestAutoIDWrites(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "autoid", 4
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true).WithIsAutoID(true)).
		WithField(entity.NewField().WithName("n").WithDataType(entity.FieldTypeInt64)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
	vecs := [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}
	res, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("n", []int64{1, 2, 3}).
		WithFloatVectorColumn("vec", dim, vecs))
	must(t, err)
	first, _ := res.IDs.GetAsInt64(0)
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))

	up, err := cli.Upsert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{first}).
		WithInt64Column("n", []int64{10}).WithFloatVectorColumn("vec", dim, vecs[:1]))
	must(t, err)
	newID, _ := up.IDs.GetAsInt64(0)
	if newID == first || up.UpsertCount != 1 {
		t.Fatalf("upsert of %d returned id %d, count %d: want a new auto ID", first, newID, up.UpsertCount)
	}
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("n >= 0").WithOutputFields("n").
		WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if got := sortedCopy(int64Col(t, rs, "n")); !slices.Equal(got, []int64{2, 3, 10}) {
		t.Fatalf("rows after the upsert: n = %v, want [2 3 10]", got)
	}
	got := sortedCopy(int64Col(t, rs, "id"))
	if slices.Contains(got, first) || !slices.Contains(got, newID) {
		t.Fatalf("ids after the upsert: %v (old %d, new %d)", got, first, newID)
	}

	// Without allow_insert_auto_id an insert may not carry keys.
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{777}).
		WithInt64Column("n", []int64{7}).WithFloatVectorColumn("vec", dim, vecs[:1]))
	if err == nil {
		t.Fatal("insert with keys into an auto_id collection was accepted")
	}
	must(t, cli.AlterCollectionProperties(ctx, milvusclient.NewAlterCollectionPropertiesOption(name).WithProperty("allow_insert_auto_id", true)))
	ins, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{777}).
		WithInt64Column("n", []int64{7}).WithFloatVectorColumn("vec", dim, vecs[:1]))
	must(t, err)
	if id, _ := ins.IDs.GetAsInt64(0); id != 777 {
		t.Fatalf("allow_insert_auto_id: inserted id %d, want 777", id)
	}
	rs, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id == 777").WithOutputFields("n").
		WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if got := int64Col(t, rs, "n"); !slices.Equal(got, []int64{7}) {
		t.Fatalf("row 777: n = %v", got)
	}
}

// TestAutoIDVarChar checks that a VarChar primary key with auto_id gets
// the allocated IDs as decimal strings (autoGenPrimaryFieldData).
func TestAutoIDVarChar(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "autoid_str", 4
	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).WithVarcharPK(true, 32)))
	res, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
		WithFloatVectorColumn("vector", dim, [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}}))
	must(t, err)
	if res.IDs.Len() != 2 || res.IDs.Type() != entity.FieldTypeVarChar {
		t.Fatalf("inserted ids: %d of type %v, want 2 VarChar", res.IDs.Len(), res.IDs.Type())
	}
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if n, _ := rs.GetColumn("count(*)").GetAsInt64(0); n != 2 {
		t.Fatalf("count(*) = %d, want 2", n)
	}
}
