package rpc

import (
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
)

// maxPooledBuffer is the largest buffer gRPC's buffer pool keeps for reuse
// in Milvago's processes.
//
// grpc-go pools every buffer it reads a message into, and its proto codec
// copies a received message into one contiguous buffer from the same pool
// before it unmarshals it (Milvago's codec, codec.go, no longer does for
// messages of 1 MiB or more in several frames): for an insert that was a buffer as large as the
// request (tens of MiB), returned to a sync.Pool when the handler starts,
// where it stays until two garbage collections have passed. During an
// ingest those idle buffers counted as live heap (18.5 MB at the end of
// the 200k x 128 ingest of docs/benchmarks.md, "insertbuf"), and the
// garbage collector's pacer added its headroom on top. Buffers up to
// 1 MiB (HTTP/2 frames, small requests and answers) are pooled as before;
// larger ones are allocated for the message and left to the collector.
const maxPooledBuffer = 1 << 20

// boundedPool is a gRPC buffer pool that pools only buffers of at most
// maxPooledBuffer bytes.
type boundedPool struct{ small mem.BufferPool }

var _ mem.BufferPool = boundedPool{}

// Get implements mem.BufferPool.
func (p boundedPool) Get(n int) *[]byte {
	if n > maxPooledBuffer {
		b := make([]byte, n)
		return &b
	}
	return p.small.Get(n)
}

// Put implements mem.BufferPool.
func (p boundedPool) Put(b *[]byte) {
	if cap(*b) > maxPooledBuffer {
		return
	}
	p.small.Put(b)
}

// The proto codec's pool can only be set process-wide, at initialisation.
func init() {
	experimental.SetDefaultBufferPool(boundedPool{small: mem.DefaultBufferPool()})
}
