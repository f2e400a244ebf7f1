package column

import (
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// BenchmarkFloatVectorAppend appends 100 insert batches of 1,000 x 768
// floats, as a data node's segment buffer receives them.
func BenchmarkFloatVectorAppend(b *testing.B) {
	batch := &FloatVector{Dim: 768, Data: make([]float32, 768*1000)}
	b.SetBytes(int64(len(batch.Data)) * 4 * 100)
	for range b.N {
		buf := batch.Empty()
		for range 100 {
			buf.Append(batch)
		}
		if buf.Len() != 100000 {
			b.Fatal(buf.Len())
		}
	}
}

func TestConcat(t *testing.T) {
	ints := []Column{
		&Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, 2}},
		&Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{3}, Valid: []bool{false}},
		&Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{4, 5}},
	}
	got := Concat(ints).(*Scalar[int64])
	if !reflect.DeepEqual(got.Data, []int64{1, 2, 3, 4, 5}) || !reflect.DeepEqual(got.Valid, []bool{true, true, false, true, true}) {
		t.Fatalf("ints: %v %v", got.Data, got.Valid)
	}
	if cap(got.Data) != 5 {
		t.Errorf("cap %d, want exactly 5", cap(got.Data))
	}
	vecs := []Column{
		&FloatVector{Dim: 2, Data: []float32{1, 2}},
		&FloatVector{Dim: 2, Data: []float32{3, 4, 5, 6}},
	}
	fv := Concat(vecs).(*FloatVector)
	if !reflect.DeepEqual(fv.Data, []float32{1, 2, 3, 4, 5, 6}) || fv.Len() != 3 || cap(fv.Data) != 6 {
		t.Fatalf("vectors: %v (cap %d)", fv.Data, cap(fv.Data))
	}
	bins := []Column{
		&ByteVector{Type: schemapb.DataType_BinaryVector, Dim: 16, Data: []byte{1, 2}},
		&ByteVector{Type: schemapb.DataType_BinaryVector, Dim: 16, Data: []byte{3, 4}},
	}
	if bv := Concat(bins).(*ByteVector); !reflect.DeepEqual(bv.Data, []byte{1, 2, 3, 4}) || bv.Len() != 2 {
		t.Fatalf("binary: %v", bv.Data)
	}
	// A single chunk is returned as is; the inputs are never modified.
	if Concat(ints[:1]) != ints[0] || len(ints[0].(*Scalar[int64]).Data) != 2 {
		t.Fatal("single chunk was copied or the input changed")
	}
}
