package storage

import (
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// TestNullableVectorBinlog round-trips vector columns with null rows: the
// validity section survives and the null rows' zero slots come back.
func TestNullableVectorBinlog(t *testing.T) {
	valid := []bool{true, false, true}
	cases := []column.Column{
		&column.FloatVector{Dim: 2, Data: []float32{1, 2, 0, 0, 5, 6}, Valid: valid},
		&column.ByteVector{Type: schemapb.DataType_BinaryVector, Dim: 8, Data: []byte{1, 0, 3}, Valid: valid},
		&column.ByteVector{Type: schemapb.DataType_Float16Vector, Dim: 1, Data: []byte{1, 2, 0, 0, 5, 6}, Valid: valid},
		&column.ByteVector{Type: schemapb.DataType_BFloat16Vector, Dim: 1, Data: []byte{1, 2, 0, 0, 5, 6}, Valid: valid},
		&column.ByteVector{Type: schemapb.DataType_Int8Vector, Dim: 2, Data: []byte{1, 2, 0, 0, 5, 6}, Valid: valid},
		&column.SparseVector{Dim: 3, Rows: [][]byte{{2, 0, 0, 0, 0, 0, 128, 63}, nil, {1, 0, 0, 0, 0, 0, 0, 64}}, Valid: valid},
		&column.FloatVector{Dim: 2, Data: make([]float32, 4), Valid: []bool{false, false}},
	}
	for _, c := range cases {
		t.Run(c.DataType().String(), func(t *testing.T) {
			b, err := EncodeColumn(c)
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeColumn(b)
			if err != nil {
				t.Fatal(err)
			}
			if back.Len() != c.Len() {
				t.Fatalf("len %d, want %d", back.Len(), c.Len())
			}
			for i := range c.Len() {
				if back.IsNull(i) != c.IsNull(i) {
					t.Errorf("row %d: null %v, want %v", i, back.IsNull(i), c.IsNull(i))
				}
			}
			if sv, ok := c.(*column.SparseVector); ok {
				bs := back.(*column.SparseVector)
				if !reflect.DeepEqual(bs.Rows[0], sv.Rows[0]) || len(bs.Rows[1]) != 0 {
					t.Errorf("rows %v", bs.Rows)
				}
				return
			}
			if !reflect.DeepEqual(back, c) {
				t.Errorf("got %#v, want %#v", back, c)
			}
		})
	}
	bad := &column.FloatVector{Dim: 2, Data: []float32{1, 2}, Valid: []bool{true, false}}
	if _, err := EncodeColumn(bad); err == nil {
		t.Error("a mask longer than the rows was encoded")
	}
}
