package rest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// TestRowsNullableVectors checks REST v2 rows with null and missing
// vectors: a nullable vector field becomes Milvus's compact form (valid
// rows' vectors plus valid_data); a non-nullable one refuses them.
func TestRowsNullableVectors(t *testing.T) {
	dim := []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}
	schema := &schemapb.CollectionSchema{Name: "t", Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: dim, Nullable: true},
		{FieldID: 102, Name: "sp", DataType: schemapb.DataType_SparseFloatVector, Nullable: true},
	}}
	var rows []json.RawMessage
	for _, r := range []string{`{"id": 1, "v": [1, 2], "sp": {"3": 0.5}}`, `{"id": 2, "v": null}`, `{"id": 3, "v": [3, 4], "sp": null}`} {
		rows = append(rows, json.RawMessage(r))
	}
	fds, err := rowsToColumns(schema, rows, false)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*schemapb.FieldData{}
	for _, fd := range fds {
		byName[fd.GetFieldName()] = fd
	}
	v := byName["v"]
	if !reflect.DeepEqual(v.GetValidData(), []bool{true, false, true}) || !reflect.DeepEqual(v.GetVectors().GetFloatVector().GetData(), []float32{1, 2, 3, 4}) {
		t.Errorf("v: valid %v, payload %v", v.GetValidData(), v.GetVectors().GetFloatVector().GetData())
	}
	sp := byName["sp"]
	if !reflect.DeepEqual(sp.GetValidData(), []bool{true, false, false}) || len(sp.GetVectors().GetSparseFloatVector().GetContents()) != 1 {
		t.Errorf("sp: valid %v, %d rows", sp.GetValidData(), len(sp.GetVectors().GetSparseFloatVector().GetContents()))
	}

	schema.Fields[1].Nullable = false
	if _, err := rowsToColumns(schema, rows, false); err == nil {
		t.Error("a null vector was accepted for a field that is not nullable")
	}
}
