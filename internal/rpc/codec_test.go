package rpc

import (
	"runtime"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// frames cuts b into gRPC-sized (16 KiB) buffers, as a received message
// reaches the codec.
func frames(b []byte) mem.BufferSlice {
	var out mem.BufferSlice
	for len(b) > 0 {
		n := min(len(b), 16<<10)
		out = append(out, mem.SliceBuffer(b[:n]))
		b = b[n:]
	}
	return out
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// insertFrames is a 20,000 x 128 insert (10 MB, one batch of the memory
// tests) encoded and cut in 16 KiB frames.
func insertFrames(tb testing.TB, rows, dim int) (*milvuspb.InsertRequest, mem.BufferSlice) {
	floats := make([]float32, rows*dim)
	for i := range floats {
		floats[i] = float32(i) / 7
	}
	m := &milvuspb.InsertRequest{CollectionName: "c", NumRows: uint32(rows), FieldsData: []*schemapb.FieldData{{
		Type: schemapb.DataType_FloatVector, FieldName: "v", Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{
			Dim: int64(dim), Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: floats}}}}}}}
	b, err := proto.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return m, frames(b)
}

// BenchmarkCodecUnmarshal: decoding a 10 MB insert from its frames, with
// Milvago's codec and with gRPC's (which joins the frames first).
func BenchmarkCodecUnmarshal(b *testing.B) {
	_, data := insertFrames(b, 20000, 128)
	ours := encoding.GetCodecV2("proto").(codec)
	for _, c := range []struct {
		name  string
		codec encoding.CodecV2
	}{{"frames", ours}, {"joined", ours.std}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(data.Len()))
			b.ReportAllocs()
			for b.Loop() {
				var m milvuspb.InsertRequest
				if err := c.codec.Unmarshal(data, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCodecDecodesFramesWithoutJoining: the codec gRPC uses for "proto" is
// Milvago's; it decodes a large insert split in frames to the message that
// was sent, allocating about the decoded message (not a joined copy of
// the frames as well, as gRPC's own codec does), and small messages as
// gRPC's codec does.
func TestCodecDecodesFramesWithoutJoining(t *testing.T) {
	c := encoding.GetCodecV2("proto")
	if _, ok := c.(codec); !ok {
		t.Fatalf("gRPC's proto codec is %T, want Milvago's codec", c)
	}
	want, data := insertFrames(t, 4000, 256)

	var got milvuspb.InsertRequest
	ours := allocated(func() {
		if err := c.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
	})
	if !proto.Equal(&got, want) {
		t.Fatal("decoded insert differs from the one sent")
	}
	var std milvuspb.InsertRequest
	theirs := allocated(func() {
		if err := c.(codec).std.Unmarshal(data, &std); err != nil {
			t.Fatal(err)
		}
	})
	size := uint64(data.Len())
	t.Logf("%d-byte insert in %d frames: decoding allocated %d bytes, gRPC's codec %d", size, len(data), ours, theirs)
	if ours > size+size/4 {
		t.Fatalf("decoding a %d-byte insert allocated %d bytes: more than the decoded message", size, ours)
	}
	if theirs < 2*size-size/8 {
		t.Fatalf("gRPC's codec allocated %d bytes for a %d-byte insert: it no longer joins the frames, this codec may be unneeded", theirs, size)
	}

	small := &milvuspb.InsertRequest{CollectionName: "small", NumRows: 1}
	enc, err := c.Marshal(small)
	if err != nil {
		t.Fatal(err)
	}
	var gotSmall milvuspb.InsertRequest
	if err := c.Unmarshal(enc, &gotSmall); err != nil || !proto.Equal(&gotSmall, small) {
		t.Fatalf("small message: %v, equal %v", err, proto.Equal(&gotSmall, small))
	}
	if err := c.Unmarshal(data, struct{}{}); err == nil {
		t.Fatal("decoding into a non-proto value succeeded")
	}
}
