package protochunk

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// insertRequest is an insert with every kind of large field the codec
// meets: float vectors (packed floats in a nested message), binary
// vectors (bytes in a oneof), sparse rows (repeated bytes), a varchar
// column (large repeated strings, merged) and small scalars around them.
func insertRequest(rng *rand.Rand, rows, dim int) *milvuspb.InsertRequest {
	floats := make([]float32, rows*dim)
	for i := range floats {
		floats[i] = rng.Float32()*2 - 1
	}
	bin := make([]byte, rows*dim/8)
	for i := range bin {
		bin[i] = byte(rng.Uint32())
	}
	keys := make([]int64, rows)
	names := make([]string, rows)
	sparse := make([][]byte, rows)
	for i := range keys {
		keys[i] = rng.Int64()
		names[i] = strings.Repeat("x", rng.IntN(40))
		sparse[i] = make([]byte, 8*rng.IntN(4))
	}
	return &milvuspb.InsertRequest{
		Base:           &commonpb.MsgBase{MsgType: commonpb.MsgType_Insert, MsgID: 7},
		DbName:         "default",
		CollectionName: "c",
		NumRows:        uint32(rows),
		HashKeys:       []uint32{1, 2, 3},
		FieldsData: []*schemapb.FieldData{
			{Type: schemapb.DataType_Int64, FieldName: "pk", FieldId: 100, Field: &schemapb.FieldData_Scalars{
				Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: keys}}}}},
			{Type: schemapb.DataType_FloatVector, FieldName: "v", FieldId: 101, Field: &schemapb.FieldData_Vectors{
				Vectors: &schemapb.VectorField{Dim: int64(dim), Data: &schemapb.VectorField_FloatVector{
					FloatVector: &schemapb.FloatArray{Data: floats}}}}},
			{Type: schemapb.DataType_BinaryVector, FieldName: "b", FieldId: 102, Field: &schemapb.FieldData_Vectors{
				Vectors: &schemapb.VectorField{Dim: int64(dim), Data: &schemapb.VectorField_BinaryVector{BinaryVector: bin}}}},
			{Type: schemapb.DataType_SparseFloatVector, FieldName: "s", FieldId: 103, Field: &schemapb.FieldData_Vectors{
				Vectors: &schemapb.VectorField{Data: &schemapb.VectorField_SparseFloatVector{
					SparseFloatVector: &schemapb.SparseFloatArray{Contents: sparse, Dim: 100}}}}},
			{Type: schemapb.DataType_VarChar, FieldName: "n", FieldId: 104, Field: &schemapb.FieldData_Scalars{
				Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: names}}}}},
		},
	}
}

// split cuts b into pieces of the given sizes (the last size repeats).
func split(b []byte, sizes ...int) [][]byte {
	var out [][]byte
	for i := 0; len(b) > 0; i++ {
		n := min(len(b), sizes[min(i, len(sizes)-1)])
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

func randomSplit(rng *rand.Rand, b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := min(len(b), 1+rng.IntN(40000))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

func TestUnmarshalMatchesProto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name      string
		rows, dim int
	}{{"small", 10, 8}, {"large", 1000, 128}, {"wide", 100, 768}} {
		want := insertRequest(rng, tc.rows, tc.dim)
		b, err := proto.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		for _, pieces := range [][][]byte{{b}, split(b, 16384), split(b, 7), split(b, 3, 5, 7, 16384), randomSplit(rng, b)} {
			got := &milvuspb.InsertRequest{Base: &commonpb.MsgBase{MsgID: 99}} // stale content is reset
			if err := Unmarshal(pieces, got); err != nil {
				t.Fatalf("%s, %d pieces: %v", tc.name, len(pieces), err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("%s, %d pieces: decoded message differs from the encoded one", tc.name, len(pieces))
			}
		}
	}
}

// A field repeated on the wire merges as proto's decoder merges it: two
// runs of one packed float field concatenate, a later oneof member
// replaces an earlier one, unknown fields are kept.
func TestUnmarshalMergesRepeatedFields(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	first := &schemapb.VectorField{Dim: 4, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: make([]float32, 40000)}}}
	second := &schemapb.VectorField{Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: make([]float32, 30000)}}}
	for i := range first.GetFloatVector().Data {
		first.GetFloatVector().Data[i] = rng.Float32()
	}
	bin := &schemapb.VectorField{Data: &schemapb.VectorField_BinaryVector{BinaryVector: make([]byte, 100000)}}
	var b []byte
	for _, m := range []proto.Message{first, second, bin, first} {
		enc, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, enc...)
	}
	b = protowire.AppendTag(b, 999, protowire.BytesType)
	b = protowire.AppendBytes(b, make([]byte, 70000))
	want := &schemapb.VectorField{}
	if err := proto.Unmarshal(b, want); err != nil {
		t.Fatal(err)
	}
	if len(want.GetFloatVector().GetData()) != 40000 {
		t.Fatalf("proto's own decoder: %d floats, want the last run's 40000", len(want.GetFloatVector().GetData()))
	}
	got := &schemapb.VectorField{}
	if err := Unmarshal(split(b, 16384), got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatal("decoded message differs from proto's decoding of the same bytes")
	}
	if len(got.ProtoReflect().GetUnknown()) == 0 {
		t.Fatal("the unknown field was dropped")
	}
}

// Broken input fails as it fails proto's decoder; input proto accepts
// decodes to the same message.
func TestUnmarshalBrokenInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	b, err := proto.Marshal(insertRequest(rng, 150, 128)) // a 76.8 kB float field: decoded in place
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 10, 1000, len(b) / 2, len(b) - 1} {
		if err := Unmarshal(split(b[:n], 16384), &milvuspb.InsertRequest{}); err == nil {
			t.Fatalf("%d of %d bytes decoded without an error", n, len(b))
		}
	}
	for i := range 300 {
		c := append([]byte(nil), b...)
		for range 1 + rng.IntN(3) {
			c[rng.IntN(len(c))] = byte(rng.Uint32())
		}
		want := &milvuspb.InsertRequest{}
		wantErr := proto.Unmarshal(c, want)
		got := &milvuspb.InsertRequest{}
		gotErr := Unmarshal(randomSplit(rng, c), got)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("mutation %d: proto's decoder: %v; Unmarshal: %v", i, wantErr, gotErr)
		}
		if wantErr == nil && !proto.Equal(got, want) {
			t.Fatalf("mutation %d: decoded messages differ", i)
		}
	}
}

// FuzzUnmarshal: for any input cut in pieces, Unmarshal fails where
// proto.Unmarshal fails and otherwise decodes the same message.
func FuzzUnmarshal(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	b, err := proto.Marshal(insertRequest(rng, 150, 128))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, uint16(16384))
	f.Add(b[:len(b)/2], uint16(7))
	f.Add([]byte{0x0b, 0x0c}, uint16(1)) // a group
	f.Fuzz(func(t *testing.T, b []byte, piece uint16) {
		want := &milvuspb.InsertRequest{}
		wantErr := proto.Unmarshal(b, want)
		got := &milvuspb.InsertRequest{}
		gotErr := Unmarshal(split(b, 1+int(piece)), got)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("proto's decoder: %v; Unmarshal: %v", wantErr, gotErr)
		}
		if wantErr == nil && !proto.Equal(got, want) {
			t.Fatal("decoded messages differ")
		}
	})
}
