package rest

import (
	"encoding/json"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

func TestStructArrayCells(t *testing.T) {
	fd := &schemapb.FieldData{Type: schemapb.DataType_ArrayOfStruct, FieldName: "clips", Field: &schemapb.FieldData_StructArrays{StructArrays: &schemapb.StructArrayField{Fields: []*schemapb.FieldData{
		{Type: schemapb.DataType_Array, FieldName: "label", Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_ArrayData{ArrayData: &schemapb.ArrayArray{
			ElementType: schemapb.DataType_VarChar, Data: []*schemapb.ScalarField{
				{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: []string{"a", "b"}}}},
				{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: []string{}}}},
			}}}}}},
		{Type: schemapb.DataType_ArrayOfVector, FieldName: "emb", Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: 2,
			Data: &schemapb.VectorField_VectorArray{VectorArray: &schemapb.VectorArray{Dim: 2, ElementType: schemapb.DataType_FloatVector, Data: []*schemapb.VectorField{
				{Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: []float32{1, 2, 3, 4}}}},
				{Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{}}},
			}}}}}},
	}}}}
	rows, err := columnsToRows([]*schemapb.FieldData{fd}, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rows)
	if want := `[{"clips":[{"emb":[1,2],"label":"a"},{"emb":[3,4],"label":"b"}]},{"clips":[]}]`; string(b) != want {
		t.Fatalf("rows %s, want %s", b, want)
	}
}
