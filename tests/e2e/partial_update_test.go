package e2e

import (
	"encoding/json"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// Milvus 2.6's partial update: an upsert with partial_update=true (or a
// non-REPLACE field op) keeps the stored values of the fields it leaves
// out, merges dynamic keys, and appends to / removes from Array fields.
func TestPartialUpdate(t *testing.T) {
	srv := startServer(t, t.TempDir())
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "partial"
	schema := entity.NewSchema().WithName(name).WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(2)).
		WithField(entity.NewField().WithName("score").WithDataType(entity.FieldTypeDouble)).
		WithField(entity.NewField().WithName("note").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16).WithNullable(true)).
		WithField(entity.NewField().WithName("tags").WithDataType(entity.FieldTypeArray).
			WithElementType(entity.FieldTypeInt64).WithMaxCapacity(4))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
		WithInt64Column("id", []int64{1, 2}).
		WithFloatVectorColumn("vec", 2, [][]float32{{1, 0}, {0, 1}}).
		WithColumns(column.NewColumnDouble("score", []float64{1.5, 2.5}),
			column.NewColumnInt64Array("tags", [][]int64{{1, 2}, {7}}),
			column.NewColumnInt64("a", []int64{10, 20})))
	must(t, err)
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.L2)))
	must(t, err)
	must(t, it.Await(ctx))
	load(t, ctx, cli, name)

	row := func(id int64) map[string]any {
		t.Helper()
		rs, err := cli.Get(ctx, milvusclient.NewQueryOption(name).WithIDs(column.NewColumnInt64("id", []int64{id})).
			WithOutputFields("*").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if rs.ResultCount != 1 {
			t.Fatalf("get %d: %d rows", id, rs.ResultCount)
		}
		out := map[string]any{}
		for _, c := range rs.Fields {
			if null, _ := c.IsNull(0); null {
				out[c.Name()] = nil
				continue
			}
			v, err := c.Get(0)
			must(t, err)
			if c.Name() == "$meta" {
				must(t, json.Unmarshal(v.([]byte), &out))
				continue
			}
			out[c.Name()] = v
		}
		return out
	}

	// Only score (and a new dynamic key) given: vec, tags and "a" stay.
	res, err := cli.Upsert(ctx, milvusclient.NewColumnBasedInsertOption(name).
		WithInt64Column("id", []int64{1}).
		WithColumns(column.NewColumnDouble("score", []float64{9}), column.NewColumnBool("b", []bool{true})).
		WithPartialUpdate(true))
	must(t, err)
	if res.UpsertCount != 1 {
		t.Fatalf("upsert count %d", res.UpsertCount)
	}
	r := row(1)
	if r["score"] != 9.0 || r["a"] != float64(10) || r["b"] != true {
		t.Fatalf("row 1 after partial update: %v", r)
	}
	if tags := r["tags"].([]int64); len(tags) != 2 || tags[0] != 1 || tags[1] != 2 {
		t.Fatalf("tags changed: %v", r["tags"])
	}
	if v := r["vec"].(entity.FloatVector); v[0] != 1 || v[1] != 0 {
		t.Fatalf("vec changed: %v", v)
	}

	// ARRAY_APPEND alone promotes the upsert to a partial update. (SDK
	// v2.6.2 has no field ops: the raw service sends them.)
	raw := rawService(t, srv)
	opUpsert := func(ids []int64, field string, rows [][]int64, op schemapb.FieldPartialUpdateOp_OpType) error {
		arr := &schemapb.ArrayArray{ElementType: schemapb.DataType_Int64}
		for _, r := range rows {
			arr.Data = append(arr.Data, &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: r}}})
		}
		req := &milvuspb.UpsertRequest{CollectionName: name, NumRows: uint32(len(ids)),
			FieldsData: []*schemapb.FieldData{
				{FieldName: "id", Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
					Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: ids}}}}},
				{FieldName: field, Type: schemapb.DataType_Array, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
					Data: &schemapb.ScalarField_ArrayData{ArrayData: arr}}}},
			},
			FieldOps: []*schemapb.FieldPartialUpdateOp{{FieldName: field, Op: op}}}
		res, err := raw.Upsert(ctx, req)
		return statusErr(res.GetStatus(), err)
	}
	must(t, opUpsert([]int64{1, 2}, "tags", [][]int64{{3}, {8, 9}}, schemapb.FieldPartialUpdateOp_ARRAY_APPEND))
	if tags := row(2)["tags"].([]int64); len(tags) != 3 || tags[0] != 7 || tags[2] != 9 {
		t.Fatalf("append: %v", tags)
	}
	// ARRAY_REMOVE drops every equal element.
	must(t, opUpsert([]int64{1}, "tags", [][]int64{{1, 3}}, schemapb.FieldPartialUpdateOp_ARRAY_REMOVE))
	if tags := row(1)["tags"].([]int64); len(tags) != 1 || tags[0] != 2 {
		t.Fatalf("remove: %v", tags)
	}
	// Appending past max_capacity fails.
	err = opUpsert([]int64{2}, "tags", [][]int64{{1, 2}}, schemapb.FieldPartialUpdateOp_ARRAY_APPEND)
	wantCode(t, err, 1100, "array length 5 exceeds max_capacity 4")
	// An op on a non-Array field is refused.
	err = opUpsert([]int64{2}, "id", [][]int64{{1}}, schemapb.FieldPartialUpdateOp_ARRAY_APPEND)
	wantCode(t, err, 1100, `field "id" is the primary key and cannot carry a partial-update op`)

	// A new key is an insert: leaving out a required field fails, a
	// nullable one becomes null.
	_, err = cli.Upsert(ctx, milvusclient.NewColumnBasedInsertOption(name).
		WithInt64Column("id", []int64{3}).
		WithColumns(column.NewColumnDouble("score", []float64{3})).
		WithPartialUpdate(true))
	if err == nil {
		t.Fatal("partial insert of a new key without its vector succeeded")
	}
	_, err = cli.Upsert(ctx, milvusclient.NewColumnBasedInsertOption(name).
		WithInt64Column("id", []int64{2, 3}).
		WithFloatVectorColumn("vec", 2, [][]float32{{5, 5}, {3, 3}}).
		WithColumns(column.NewColumnDouble("score", []float64{22, 3}),
			column.NewColumnInt64Array("tags", [][]int64{{4}, {}})).
		WithPartialUpdate(true))
	must(t, err)
	r2, r3 := row(2), row(3)
	if r2["score"] != 22.0 || r2["a"] != float64(20) || r3["score"] != 3.0 || r3["note"] != nil {
		t.Fatalf("rows after mixed partial upsert: %v / %v", r2, r3)
	}
}

// A database's database.max.collections caps its collections (Milvus
// 2.6's checkMaxCollectionsPerDB); dropping a non-empty database names the
// fix; dropping a collection of a missing database succeeds.
func TestDatabaseMaxCollections(t *testing.T) {
	srv := startServer(t, t.TempDir())
	cli := srv.client(t)
	ctx := testContext(t)
	must(t, cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("capped").WithProperty("database.max.collections", 1)))
	must(t, cli.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("capped")))
	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("one", 2)))
	err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("two", 2))
	wantCode(t, err, 102, "exceeded the limit number of collections[dbName=capped][limit=1]")
	err = cli.DropDatabase(ctx, milvusclient.NewDropDatabaseOption("capped"))
	wantCode(t, err, 1100, "database:capped not empty, must drop all collections before drop database")
	must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption("one")))
	must(t, cli.DropDatabase(ctx, milvusclient.NewDropDatabaseOption("capped")))
	must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption("one")))
}
