package metacache

import (
	"context"
	"sync"
	"time"
)

// Allocator allocates count consecutive timestamps and returns the first.
type Allocator interface {
	AllocTimestamp(ctx context.Context, count uint32) (uint64, error)
}

// batchTimeout bounds one batched allocation (the callers' own contexts
// bound their waits).
const batchTimeout = 10 * time.Second

// TSO coalesces concurrent single-timestamp requests: while one
// allocation is in flight, new requests queue, and the next allocation
// asks for all of them at once. Each caller's timestamp is allocated after
// its request arrived, so it is as fresh as one allocated alone (Strong
// reads stay strong).
type TSO struct {
	alloc Allocator

	mu      sync.Mutex
	waiting []chan tsResult
	running bool
}

type tsResult struct {
	ts  uint64
	err error
}

// NewTSO batches a's allocations.
func NewTSO(a Allocator) *TSO { return &TSO{alloc: a} }

// AllocTimestamp returns count consecutive timestamps' first; requests for
// one timestamp are batched.
func (t *TSO) AllocTimestamp(ctx context.Context, count uint32) (uint64, error) {
	if count != 1 {
		return t.alloc.AllocTimestamp(ctx, count)
	}
	ch := make(chan tsResult, 1)
	t.mu.Lock()
	t.waiting = append(t.waiting, ch)
	if !t.running {
		t.running = true
		go t.run()
	}
	t.mu.Unlock()
	select {
	case r := <-ch:
		return r.ts, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (t *TSO) run() {
	for {
		t.mu.Lock()
		batch := t.waiting
		t.waiting = nil
		if len(batch) == 0 {
			t.running = false
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		first, err := t.alloc.AllocTimestamp(ctx, uint32(len(batch)))
		cancel()
		for i, ch := range batch {
			ch <- tsResult{first + uint64(i), err}
		}
	}
}
