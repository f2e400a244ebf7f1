package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestNullableColumnShape: the SDK sends a nullable scalar column with
// values for the valid rows only, which is taken; one value per row with
// nulls in place (a form the SDK never builds, sent here with the raw
// service client) is refused with Milvus's fillWithNullValueImpl error
// (internal/proxy/validate_util.go:748-752). A partial update, built in
// the proxy from stored rows, keeps the stored nulls.
func TestNullableColumnShape(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const coll = "null_shape"
	schema := entity.NewSchema().WithName(coll).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("n").WithDataType(entity.FieldTypeInt64).WithNullable(true)).
		WithField(entity.NewField().WithName("s").WithDataType(entity.FieldTypeVarChar).WithMaxLength(8).WithNullable(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(coll, schema)))

	vecs := [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}
	cn, err := column.NewNullableColumnInt64("n", []int64{10, 30}, []bool{true, false, true})
	must(t, err)
	cs, err := column.NewNullableColumnVarChar("s", []string{"b"}, []bool{false, true, false})
	must(t, err)
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(coll).WithInt64Column("id", []int64{1, 2, 3}).
		WithFloatVectorColumn("v", 4, vecs).WithColumns(cn, cs)); err != nil {
		t.Fatalf("compact insert: %v", err)
	}

	flat := []float32{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}
	fields := func(nValues []int64) []*schemapb.FieldData {
		return []*schemapb.FieldData{
			{Type: schemapb.DataType_Int64, FieldName: "id", Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
				Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: []int64{4, 5, 6}}}}}},
			{Type: schemapb.DataType_Int64, FieldName: "n", ValidData: []bool{true, false, true}, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
				Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: nValues}}}}},
			{Type: schemapb.DataType_FloatVector, FieldName: "v", Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{
				Dim: 4, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: flat}}}}},
		}
	}
	raw := rawClient(t, srv)
	resp, err := raw.Insert(ctx, &milvuspb.InsertRequest{CollectionName: coll, NumRows: 3, FieldsData: fields([]int64{40, 0, 60})})
	must(t, err)
	if st := resp.GetStatus(); st.GetCode() != 1100 || !strings.Contains(st.GetReason(), "the length of field is wrong") ||
		!strings.Contains(st.GetReason(), "[expected=2][actual=3]") {
		t.Fatalf("full-form nullable column: code %d %q", st.GetCode(), st.GetReason())
	}
	resp, err = raw.Insert(ctx, &milvuspb.InsertRequest{CollectionName: coll, NumRows: 3, FieldsData: fields([]int64{40, 60})})
	must(t, err)
	if st := resp.GetStatus(); st.GetCode() != 0 {
		t.Fatalf("compact raw insert: code %d %q", st.GetCode(), st.GetReason())
	}

	indexAndLoad(t, ctx, cli, coll, "v", index.NewFlatIndex(entity.L2))
	// Partial update of s only: n keeps its stored values and nulls.
	cs2, err := column.NewNullableColumnVarChar("s", []string{"x", "z"}, []bool{true, false, true})
	must(t, err)
	if _, err := cli.Upsert(ctx, milvusclient.NewColumnBasedInsertOption(coll).WithInt64Column("id", []int64{1, 2, 3}).
		WithColumns(cs2).WithPartialUpdate(true)); err != nil {
		t.Fatalf("partial update: %v", err)
	}
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(coll).WithFilter("id in [1, 2, 3, 4, 5, 6]").
		WithOutputFields("id", "n", "s").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	got := map[int64][2]string{}
	for i := 0; i < rs.ResultCount; i++ {
		id, _ := rs.GetColumn("id").GetAsInt64(i)
		var cell [2]string
		for k, name := range []string{"n", "s"} {
			c := rs.GetColumn(name)
			if null, _ := c.IsNull(i); null {
				cell[k] = "null"
				continue
			}
			v, _ := c.Get(i)
			cell[k] = fmt.Sprint(v)
		}
		got[id] = cell
	}
	want := map[int64][2]string{1: {"10", "x"}, 2: {"null", "null"}, 3: {"30", "z"}, 4: {"40", "null"}, 5: {"null", "null"}, 6: {"60", "null"}}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("row %d: got %v, want %v (all %v)", id, got[id], w, got)
		}
	}
}
