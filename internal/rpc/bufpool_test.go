package rpc

import (
	"testing"

	"google.golang.org/grpc/mem"
)

// TestBoundedPoolDropsLargeBuffers: a large buffer put back is never handed
// out again (the collector reclaims it), a small one goes to the pool, and
// every buffer has the length asked for.
func TestBoundedPoolDropsLargeBuffers(t *testing.T) {
	p := boundedPool{small: mem.NewTieredBufferPool(4 << 10)}
	big := p.Get(maxPooledBuffer + 1)
	if len(*big) != maxPooledBuffer+1 {
		t.Fatalf("len %d", len(*big))
	}
	first := &(*big)[0]
	p.Put(big)
	for range 10 {
		again := p.Get(maxPooledBuffer + 1)
		if &(*again)[0] == first {
			t.Fatal("a large buffer was pooled")
		}
	}
	if got := len(*p.Get(100)); got != 100 {
		t.Fatalf("small buffer of len %d, want 100", got)
	}
	if _, ok := mem.DefaultBufferPool().(boundedPool); !ok {
		t.Fatalf("gRPC's default pool is %T, want boundedPool", mem.DefaultBufferPool())
	}
}
