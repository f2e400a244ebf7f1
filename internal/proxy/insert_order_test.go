package proxy

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// TestInsertCheckOrder checks which error wins when several columns of a
// column-based insert are wrong, as Milvus's insertTask.PreExecute orders
// its checks: presence (checkPrimaryFieldData), then validateUtil.Validate
// converting and checking each column in the request's order
// (Timestamptz strings and Geometry WKT among them, every value sent),
// then the nullable columns' lengths (fillWithValue), then the row counts
// (checkAligned) (validate_util.go:108-200, 923-940, 1234-1262).
func TestInsertCheckOrder(t *testing.T) {
	schema := &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector,
			TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}},
		{FieldID: 102, Name: "ts", DataType: schemapb.DataType_Timestamptz, Nullable: true},
		{FieldID: 103, Name: "g", DataType: schemapb.DataType_Geometry, Nullable: true},
		{FieldID: 104, Name: "n", DataType: schemapb.DataType_Int32, Nullable: true},
	}}
	c := &model.Collection{Schema: schema, Properties: []*commonpb.KeyValuePair{{Key: "timezone", Value: "UTC"}}}
	ids := func(n int) *schemapb.FieldData {
		d := make([]int64, n)
		for i := range d {
			d[i] = int64(i + 1)
		}
		return &schemapb.FieldData{FieldName: "id", Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{
			Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: d}}}}}
	}
	vec := func(data ...float32) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: "v", Type: schemapb.DataType_FloatVector, Field: &schemapb.FieldData_Vectors{
			Vectors: &schemapb.VectorField{Dim: 2, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: data}}}}}
	}
	ts := func(valid []bool, s ...string) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: "ts", Type: schemapb.DataType_Timestamptz, ValidData: valid, Field: &schemapb.FieldData_Scalars{
			Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: s}}}}}
	}
	geo := func(valid []bool, s ...string) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: "g", Type: schemapb.DataType_Geometry, ValidData: valid, Field: &schemapb.FieldData_Scalars{
			Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_GeometryWktData{GeometryWktData: &schemapb.GeometryWktArray{Data: s}}}}}
	}
	ints := func(valid []bool, d ...int32) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: "n", Type: schemapb.DataType_Int32, ValidData: valid, Field: &schemapb.FieldData_Scalars{
			Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: d}}}}}
	}
	both := []bool{true, false}
	nan := float32(math.NaN())
	badTime := "got invalid timestamptz string '%s': invalid timezone name; must be a valid IANA Time Zone ID (e.g., 'Asia/Shanghai' or 'UTC'): invalid parameter"
	cases := []struct {
		name   string
		fields []*schemapb.FieldData
		code   int32
		want   string
	}{
		{"accepted: compact nullable columns", []*schemapb.FieldData{ids(2), vec(0, 1, 1, 0), ts(both, "2025-01-01T00:00:00Z"),
			geo(both, "POINT (1 2)"), ints(both, 7)}, 0, ""},
		// The full form's null slot ("") is parsed before its length is checked.
		{"full-form Timestamptz with an empty null slot", []*schemapb.FieldData{ids(2), vec(0, 1, 1, 0),
			ts(both, "2025-01-01T00:00:00Z", ""), geo(both, "POINT (1 2)"), ints(both, 7)},
			1100, fmt.Sprintf(badTime, "")},
		{"full-form Geometry with an empty null slot", []*schemapb.FieldData{ids(2), vec(0, 1, 1, 0),
			ts(both, "2025-01-01T00:00:00Z"), geo(both, "POINT (1 2)", ""), ints(both, 7)},
			1001, "IO failed: syntax error: unexpected $end at line 1, pos 0\nLINE 1: \n        ^"},
		// A bad time wins over a wrong nullable length and a misaligned column.
		{"bad time before a nullable length", []*schemapb.FieldData{ids(2), vec(0, 1, 1, 0),
			ts(both, "x"), geo(both, "POINT (1 2)"), ints(both, 7, 8)}, 1100, fmt.Sprintf(badTime, "x")},
		{"bad time before a misaligned column", []*schemapb.FieldData{ids(3), vec(0, 1, 1, 0),
			ts(both, "x"), geo(both, "POINT (1 2)"), ints(both, 7)}, 1100, fmt.Sprintf(badTime, "x")},
		// Columns are checked in the request's order.
		{"NaN vector sent before a bad time", []*schemapb.FieldData{ids(2), vec(0, nan, 1, 0),
			ts(both, "x"), geo(both, "POINT (1 2)"), ints(both, 7)}, 65535, "value 'NaN' is not a number or infinity"},
		{"bad time sent before a NaN vector", []*schemapb.FieldData{ids(2), ts(both, "x"), vec(0, nan, 1, 0),
			geo(both, "POINT (1 2)"), ints(both, 7)}, 1100, fmt.Sprintf(badTime, "x")},
		// A missing column is found before any value is converted.
		{"missing vector before a bad WKT", []*schemapb.FieldData{ids(2), ts(both, "2025-01-01T00:00:00Z"),
			geo(both, "POINT (1"), ints(both, 7)}, 1100, "fieldSchema(v) has no corresponding fieldData pass in"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := insertColumnsConv(schema, tc.fields, 2, false, typedConv(c))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %d %q", tc.code, tc.want)
			}
			if code := errs.CodeOf(err); code != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %d %q, want %d %q", code, err, tc.code, tc.want)
			}
		})
	}
}
