package proxy

import (
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// TestInsertColumnsNullableVector covers Milvus 2.6's nullable vectors on
// insert: compact payloads (valid rows only), a missing column, an
// all-null column without payload, and the errors.
func TestInsertColumnsNullableVector(t *testing.T) {
	s := insertSchema(t, func(s *schemapb.CollectionSchema) { s.Fields[2].Nullable = true })
	vecField := s.Fields[2]
	compact := func(valid []bool, data ...float32) *schemapb.FieldData {
		fd := floats("vec", 4, data...)
		fd.ValidData = valid
		return fd
	}
	base := func(extra ...*schemapb.FieldData) []*schemapb.FieldData {
		return append([]*schemapb.FieldData{longs("id", 1, 2, 3), strs("title", "a", "b", "c")}, extra...)
	}
	cases := []struct {
		name  string
		data  []*schemapb.FieldData
		valid []bool // nil: every row valid
		vecs  []float32
		code  int32
		err   string
	}{
		{name: "compact", data: base(compact([]bool{false, true, false}, 1, 2, 3, 4)),
			valid: []bool{false, true, false}, vecs: []float32{0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0}},
		{name: "all valid, no mask", data: base(floats("vec", 4, vec2(3)...)), vecs: vec2(3)},
		{name: "missing column", data: base(),
			valid: []bool{false, false, false}, vecs: make([]float32, 12)},
		{name: "all null, no payload", data: base(&schemapb.FieldData{FieldName: "vec", Type: schemapb.DataType_FloatVector, ValidData: []bool{false, false, false}}),
			valid: []bool{false, false, false}, vecs: make([]float32, 12)},
		{name: "too many vectors", data: base(compact([]bool{false, true, false}, vec2(2)...)),
			code: 1100, err: "the num_rows (2) of field (vec) is not equal to passed num_rows (3)"},
		{name: "mask too short", data: base(compact([]bool{true}, 1, 2, 3, 4)),
			code: 1100, err: "the length of valid_data of field(vec) is wrong: invalid parameter[expected=3][actual=1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cols, err := insertColumns(s, tc.data, 3, false)
			if tc.code != 0 {
				checkErr(t, err, tc.code, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v := cols[vecField.GetFieldID()].(*column.FloatVector)
			if !reflect.DeepEqual(v.Valid, tc.valid) || !reflect.DeepEqual(v.Data, tc.vecs) {
				t.Errorf("got valid %v data %v; want %v %v", v.Valid, v.Data, tc.valid, tc.vecs)
			}
		})
	}

	// A vector field that is not nullable takes no mask and no missing column.
	plain := insertSchema(t, nil)
	_, err := insertColumns(plain, base(compact([]bool{false, true, false}, 1, 2, 3, 4)), 3, false)
	checkErr(t, err, 1100, "the length of valid_data of field(vec) is wrong: invalid parameter[expected=0][actual=3]")
	_, err = insertColumns(plain, base(), 3, false)
	checkErr(t, err, 1100, "fieldSchema(vec) has no corresponding fieldData pass in")
}

// TestNullableVectorResults checks that query and search results carry a
// nullable vector field as Milvus sends it: valid_data for every row and
// the vectors of the valid rows only.
func TestNullableVectorResults(t *testing.T) {
	s := insertSchema(t, func(s *schemapb.CollectionSchema) { s.Fields[2].Nullable = true })
	f := s.Fields[2]
	for name, c := range map[string]*column.FloatVector{
		"with nulls": {Dim: 4, Data: []float32{0, 0, 0, 0, 1, 2, 3, 4}, Valid: []bool{false, true}},
		"no nulls":   {Dim: 4, Data: []float32{1, 2, 3, 4}},
	} {
		fds := fieldsDataFor(s, []int64{f.GetFieldID()}, map[int64]column.Column{f.GetFieldID(): c}, nil)
		if len(fds) != 1 {
			t.Fatalf("%s: %d fields", name, len(fds))
		}
		wantValid := c.Valid
		if wantValid == nil {
			wantValid = []bool{true}
		}
		if got := fds[0].GetValidData(); !reflect.DeepEqual(got, wantValid) {
			t.Errorf("%s: valid_data %v, want %v", name, got, wantValid)
		}
		if got := fds[0].GetVectors().GetFloatVector().GetData(); !reflect.DeepEqual(got, []float32{1, 2, 3, 4}) {
			t.Errorf("%s: payload %v, want the valid rows only", name, got)
		}
	}
}
