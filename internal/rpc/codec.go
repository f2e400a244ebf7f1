package rpc

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/milvago/milvago/internal/protochunk"
)

// minChunkedDecode is the least size of a received message that is
// decoded from its frames (protochunk) rather than from one joined copy.
const minChunkedDecode = 1 << 20

// codec is gRPC's proto codec, except that it decodes a large message
// that arrived in several buffers without joining them first (see
// package protochunk): an insert's request then exists twice while it is
// decoded (its frames and the decoded message), not three times.
// Measured in docs/benchmarks.md, "mem12c".
type codec struct{ std encoding.CodecV2 }

// Marshal implements encoding.CodecV2.
func (c codec) Marshal(v any) (mem.BufferSlice, error) { return c.std.Marshal(v) }

// Unmarshal implements encoding.CodecV2.
func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	if len(data) < 2 || data.Len() < minChunkedDecode {
		return c.std.Unmarshal(data, v)
	}
	var m proto.Message
	switch v := v.(type) {
	case protoadapt.MessageV2:
		m = v
	case protoadapt.MessageV1:
		m = protoadapt.MessageV2Of(v)
	default:
		return fmt.Errorf("failed to unmarshal, message is %T, want proto.Message", v)
	}
	pieces := make([][]byte, len(data))
	for i, b := range data {
		pieces[i] = b.ReadOnlyData()
	}
	return protochunk.Unmarshal(pieces, m)
}

// Name implements encoding.CodecV2.
func (c codec) Name() string { return grpcproto.Name }

// Registered over gRPC's own proto codec (which registered itself when
// its package, imported above, was initialised): gRPC looks codecs up by
// name, process-wide.
func init() {
	encoding.RegisterCodecV2(codec{std: encoding.GetCodecV2(grpcproto.Name)})
}
