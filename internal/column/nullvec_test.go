package column

import (
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// TestNullableVectorWire checks that nullable vectors arrive in Milvus's
// compact form (valid rows only), are held one zero-filled slot per row,
// and leave in compact form again.
func TestNullableVectorWire(t *testing.T) {
	valid := []bool{true, false, true, false}
	cases := []struct {
		name    string
		field   *schemapb.FieldSchema
		compact *schemapb.VectorField
		row2    any // the stored value of row 2
	}{
		{"float", &schemapb.FieldSchema{DataType: schemapb.DataType_FloatVector},
			&schemapb.VectorField{Dim: 2, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: []float32{1, 2, 3, 4}}}},
			[]float32{3, 4}},
		{"binary", &schemapb.FieldSchema{DataType: schemapb.DataType_BinaryVector},
			&schemapb.VectorField{Dim: 8, Data: &schemapb.VectorField_BinaryVector{BinaryVector: []byte{7, 9}}},
			[]byte{9}},
		{"float16", &schemapb.FieldSchema{DataType: schemapb.DataType_Float16Vector},
			&schemapb.VectorField{Dim: 1, Data: &schemapb.VectorField_Float16Vector{Float16Vector: []byte{1, 2, 3, 4}}},
			[]byte{3, 4}},
		{"bfloat16", &schemapb.FieldSchema{DataType: schemapb.DataType_BFloat16Vector},
			&schemapb.VectorField{Dim: 1, Data: &schemapb.VectorField_Bfloat16Vector{Bfloat16Vector: []byte{1, 2, 3, 4}}},
			[]byte{3, 4}},
		{"int8", &schemapb.FieldSchema{DataType: schemapb.DataType_Int8Vector},
			&schemapb.VectorField{Dim: 2, Data: &schemapb.VectorField_Int8Vector{Int8Vector: []byte{1, 2, 3, 4}}},
			[]byte{3, 4}},
		{"sparse", &schemapb.FieldSchema{DataType: schemapb.DataType_SparseFloatVector},
			&schemapb.VectorField{Dim: 5, Data: &schemapb.VectorField_SparseFloatVector{SparseFloatVector: &schemapb.SparseFloatArray{Dim: 5,
				Contents: [][]byte{{1, 0, 0, 0, 0, 0, 128, 63}, {4, 0, 0, 0, 0, 0, 0, 64}}}}},
			[]byte{4, 0, 0, 0, 0, 0, 0, 64}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fd := &schemapb.FieldData{Type: tc.field.GetDataType(), ValidData: valid, Field: &schemapb.FieldData_Vectors{Vectors: tc.compact}}
			c, err := FromFieldData(fd)
			if err != nil {
				t.Fatal(err)
			}
			if c.Len() != 4 || ValidCount(c) != 2 {
				t.Fatalf("len %d, valid %d; want 4, 2", c.Len(), ValidCount(c))
			}
			for i, v := range valid {
				if c.IsNull(i) == v {
					t.Errorf("row %d: IsNull %v", i, c.IsNull(i))
				}
			}
			var row2 any
			switch v := c.(type) {
			case *FloatVector:
				row2 = v.Row(2)
			case *ByteVector:
				row2 = v.Row(2)
			case *SparseVector:
				row2 = v.Rows[2]
			}
			if !reflect.DeepEqual(row2, tc.row2) {
				t.Errorf("row 2 = %v, want %v", row2, tc.row2)
			}
			// Take, Slice and Append keep the mask.
			taken := c.Take([]int{3, 2})
			if !taken.IsNull(0) || taken.IsNull(1) {
				t.Errorf("Take lost the mask")
			}
			sl := c.Slice(1, 3)
			if !sl.IsNull(0) || sl.IsNull(1) {
				t.Errorf("Slice lost the mask")
			}
			all := c.Empty()
			all.Append(c.Slice(0, 1)) // valid only: mask may stay nil
			all.Append(c)
			if all.Len() != 5 || ValidCount(all) != 3 || !all.IsNull(2) {
				t.Errorf("Append: len %d, valid %d", all.Len(), ValidCount(all))
			}
			back := ToFieldData(c, tc.field)
			if !reflect.DeepEqual(back.GetValidData(), valid) {
				t.Errorf("ValidData = %v", back.GetValidData())
			}
			if got, want := back.GetVectors().GetData(), tc.compact.GetData(); !reflect.DeepEqual(got, want) {
				t.Errorf("payload = %v, want compact %v", got, want)
			}
		})
	}
}

func TestNullableVectorAllNull(t *testing.T) {
	fd := &schemapb.FieldData{Type: schemapb.DataType_FloatVector, ValidData: []bool{false, false},
		Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: 4, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{}}}}}
	c, err := FromFieldData(fd)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 2 || !c.IsNull(0) || !c.IsNull(1) {
		t.Fatalf("got %#v", c)
	}
	if got := ToFieldData(c, &schemapb.FieldSchema{DataType: schemapb.DataType_FloatVector}).GetVectors().GetFloatVector().GetData(); len(got) != 0 {
		t.Errorf("compact payload of all-null column has %d values", len(got))
	}
}
