package e2e

import (
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// TestTypedColumnCheckOrder: on a column-based insert with several wrong
// columns the error Milvus's insertTask.PreExecute finds first wins:
// presence (checkPrimaryFieldData) before any value; then
// validateUtil.Validate converts each column in the request's order,
// Timestamptz strings and Geometry WKT (every value sent, a full-form
// column's null slots too), before the nullable lengths (fillWithValue)
// and the row counts (checkAligned) (validate_util.go:108-200, 923-940,
// 1234-1262). Sent with the raw service client, as the SDK builds only
// well-formed columns.
func TestTypedColumnCheckOrder(t *testing.T) {
	srv := startServer(t, "")

	ctx := testContext(t)
	const coll = "typed_order"
	// The Go SDK v2.6.2 cannot declare Timestamptz or Geometry fields: REST does.
	restOK(t, "http://"+srv.addr, "/collections/create", map[string]any{"collectionName": coll, "schema": map[string]any{
		"fields": []any{
			map[string]any{"fieldName": "id", "dataType": "Int64", "isPrimary": true},
			map[string]any{"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": map[string]any{"dim": 2}},
			map[string]any{"fieldName": "ts", "dataType": "Timestamptz", "nullable": true},
			map[string]any{"fieldName": "g", "dataType": "Geometry", "nullable": true},
			map[string]any{"fieldName": "n", "dataType": "Int32", "nullable": true},
		}}})

	both := []bool{true, false}
	ids := func(d ...int64) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: "id", Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{
			Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: d}}}}}
	}
	vec := &schemapb.FieldData{FieldName: "v", Type: schemapb.DataType_FloatVector, Field: &schemapb.FieldData_Vectors{
		Vectors: &schemapb.VectorField{Dim: 2, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: []float32{0, 1, 1, 0}}}}}}
	ts := func(s ...string) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: "ts", Type: schemapb.DataType_Timestamptz, ValidData: both, Field: &schemapb.FieldData_Scalars{
			Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: s}}}}}
	}
	geo := func(s ...string) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: "g", Type: schemapb.DataType_Geometry, ValidData: both, Field: &schemapb.FieldData_Scalars{
			Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_GeometryWktData{GeometryWktData: &schemapb.GeometryWktArray{Data: s}}}}}
	}
	ints := func(d ...int32) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: "n", Type: schemapb.DataType_Int32, ValidData: both, Field: &schemapb.FieldData_Scalars{
			Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: d}}}}}
	}
	const zoneMsg = "invalid timezone name; must be a valid IANA Time Zone ID (e.g., 'Asia/Shanghai' or 'UTC'): invalid parameter"
	cases := []struct {
		name   string
		fields []*schemapb.FieldData
		code   int32
		want   string
	}{
		{"compact columns are taken", []*schemapb.FieldData{ids(1, 2), vec, ts("2025-01-01T00:00:00Z"), geo("POINT (1 2)"), ints(7)}, 0, ""},
		{"a full-form time column's empty null slot is parsed", []*schemapb.FieldData{ids(3, 4), vec, ts("2025-01-01T00:00:00Z", ""), geo("POINT (1 2)"), ints(7)},
			1100, "got invalid timestamptz string '': " + zoneMsg},
		{"a full-form geometry column's empty null slot is parsed", []*schemapb.FieldData{ids(3, 4), vec, ts("2025-01-01T00:00:00Z"), geo("POINT (1 2)", ""), ints(7)},
			1001, "IO failed: syntax error: unexpected $end at line 1, pos 0\nLINE 1: \n        ^"},
		{"a bad time before a wrong nullable length", []*schemapb.FieldData{ids(3, 4), vec, ts("x"), geo("POINT (1 2)"), ints(7, 8)},
			1100, "got invalid timestamptz string 'x': " + zoneMsg},
		{"a bad WKT before a misaligned column", []*schemapb.FieldData{ids(3, 4, 5), vec, ts("2025-01-01T00:00:00Z"), geo("POINT (1"), ints(7)},
			1001, "IO failed: "},
		{"a missing vector before a bad WKT", []*schemapb.FieldData{ids(3, 4), ts("2025-01-01T00:00:00Z"), geo("POINT (1"), ints(7)},
			1100, "fieldSchema(v) has no corresponding fieldData pass in: invalid parameter"},
	}
	raw := rawClient(t, srv)
	for _, tc := range cases {
		resp, err := raw.Insert(ctx, &milvuspb.InsertRequest{CollectionName: coll, NumRows: 2, FieldsData: tc.fields})
		must(t, err)
		st := resp.GetStatus()
		if tc.want == "" {
			if st.GetCode() != 0 {
				t.Fatalf("%s: code %d %q", tc.name, st.GetCode(), st.GetReason())
			}
			continue
		}
		if st.GetCode() != tc.code || !hasPrefixOrEqual(st.GetReason(), tc.want) {
			t.Fatalf("%s: code %d %q, want %d %q", tc.name, st.GetCode(), st.GetReason(), tc.code, tc.want)
		}
	}
}

// hasPrefixOrEqual reports whether s is want, or starts with a want that
// ends in ": " (a text whose tail is the WKT parser's).
func hasPrefixOrEqual(s, want string) bool {
	if len(want) >= 2 && want[len(want)-2:] == ": " {
		return len(s) >= len(want) && s[:len(want)] == want
	}
	return s == want
}
