package storage

import (
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
)

func TestVectorArrayRoundTrip(t *testing.T) {
	in := &column.Scalar[*schemapb.VectorField]{Type: schemapb.DataType_ArrayOfVector, ElementType: schemapb.DataType_FloatVector}
	for i := range 5 {
		data := make([]float32, 4*(i+1))
		for j := range data {
			data[j] = float32(i*100 + j)
		}
		in.Data = append(in.Data, &schemapb.VectorField{Dim: 4, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: data}}})
	}
	b, err := EncodeColumn(in)
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeColumn(b)
	if err != nil {
		t.Fatal(err)
	}
	out, ok := c.(*column.Scalar[*schemapb.VectorField])
	if !ok || out.Type != schemapb.DataType_ArrayOfVector || out.ElementType != schemapb.DataType_FloatVector || len(out.Data) != 5 {
		t.Fatalf("decoded %T %+v", c, c)
	}
	for i := range in.Data {
		if !proto.Equal(in.Data[i], out.Data[i]) {
			t.Fatalf("row %d: %v, want %v", i, out.Data[i], in.Data[i])
		}
	}
	// A corrupted element type is reported, not decoded.
	bad := &column.Scalar[*schemapb.VectorField]{Type: schemapb.DataType_ArrayOfVector, ElementType: schemapb.DataType_Int64}
	if _, err := EncodeColumn(bad); err == nil {
		t.Fatal("an Int64 element type was encoded")
	}
}
