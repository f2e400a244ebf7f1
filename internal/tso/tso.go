// Package tso allocates hybrid timestamps and global IDs.
//
// A hybrid timestamp is physical_ms<<18 | logical, as in Milvus. The
// allocator persists an upper bound ("window") in the meta store before it
// hands out any timestamp below it, so after a restart or failover it
// resumes above everything it may have issued: timestamps never go
// backwards. IDs use the same scheme over a plain counter.
package tso

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/milvago/milvago/internal/kv"
)

// LogicalBits is the number of low bits holding the logical counter.
const LogicalBits = 18

const maxLogical = 1 << LogicalBits

// Compose builds a hybrid timestamp.
func Compose(physical time.Time, logical uint64) uint64 {
	return uint64(physical.UnixMilli())<<LogicalBits | logical
}

// Physical returns the wall-clock part of a hybrid timestamp.
func Physical(ts uint64) time.Time { return time.UnixMilli(int64(ts >> LogicalBits)) }

// store is what the allocators need from the meta store.
type store interface {
	Get(ctx context.Context, key string) (kv.KeyValue, error)
	Put(ctx context.Context, key string, value []byte) (int64, error)
}

// Oracle hands out strictly increasing hybrid timestamps.
type Oracle struct {
	kv     store
	key    string
	window time.Duration
	now    func() time.Time

	mu       sync.Mutex // guards the fields below
	physical int64      // ms
	logical  uint64
	limit    int64 // ms; persisted upper bound: physical must stay below it
}

// NewOracle loads the persisted window under key and returns an oracle
// that resumes above it. window is how far ahead it persists (e.g. 3 s).
func NewOracle(ctx context.Context, s store, key string, window time.Duration) (*Oracle, error) {
	o := &Oracle{kv: s, key: key, window: window, now: time.Now}
	kvp, err := s.Get(ctx, key)
	switch {
	case errors.Is(err, kv.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("tso: load window: %w", err)
	default:
		if len(kvp.Value) != 8 {
			return nil, fmt.Errorf("tso: corrupt window value of %d bytes", len(kvp.Value))
		}
		o.physical = int64(binary.BigEndian.Uint64(kvp.Value))
		o.limit = o.physical
	}
	return o, nil
}

// Allocate returns the first of count consecutive timestamps.
func (o *Oracle) Allocate(ctx context.Context, count uint32) (uint64, error) {
	if count == 0 || count >= maxLogical {
		return 0, fmt.Errorf("tso: cannot allocate %d timestamps at once", count)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now().UnixMilli()
	if now > o.physical {
		o.physical, o.logical = now, 0
	}
	if o.logical+uint64(count) >= maxLogical {
		o.physical++
		o.logical = 0
	}
	if o.physical >= o.limit {
		limit := o.physical + o.window.Milliseconds()
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(limit))
		// Reads need timestamps too: the window's 8 bytes pass a meta
		// store that refuses writes on a full disk.
		if _, err := o.kv.Put(kv.WithReserve(ctx), o.key, buf[:]); err != nil {
			return 0, fmt.Errorf("tso: persist window: %w", err)
		}
		o.limit = limit
	}
	ts := uint64(o.physical)<<LogicalBits | o.logical
	o.logical += uint64(count)
	return ts, nil
}

// Now returns one fresh timestamp.
func (o *Oracle) Now(ctx context.Context) (uint64, error) { return o.Allocate(ctx, 1) }

// IDAllocator hands out unique, increasing int64 IDs in batches persisted
// ahead, so IDs are never reused after a restart.
type IDAllocator struct {
	kv    store
	key   string
	batch int64

	mu    sync.Mutex // guards next and limit
	next  int64
	limit int64
}

// NewIDAllocator resumes the counter stored under key. IDs start at start
// on a fresh store.
func NewIDAllocator(ctx context.Context, s store, key string, start, batch int64) (*IDAllocator, error) {
	a := &IDAllocator{kv: s, key: key, batch: batch, next: start, limit: start}
	kvp, err := s.Get(ctx, key)
	switch {
	case errors.Is(err, kv.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("id allocator: load: %w", err)
	default:
		if len(kvp.Value) != 8 {
			return nil, fmt.Errorf("id allocator: corrupt value of %d bytes", len(kvp.Value))
		}
		a.next = int64(binary.BigEndian.Uint64(kvp.Value))
		a.limit = a.next
	}
	return a, nil
}

// Allocate returns the first of count consecutive IDs.
func (a *IDAllocator) Allocate(ctx context.Context, count int64) (int64, error) {
	if count <= 0 {
		return 0, fmt.Errorf("id allocator: cannot allocate %d IDs", count)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next+count > a.limit {
		limit := a.next + count + a.batch
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(limit))
		if _, err := a.kv.Put(ctx, a.key, buf[:]); err != nil {
			return 0, fmt.Errorf("id allocator: persist: %w", err)
		}
		a.limit = limit
	}
	id := a.next
	a.next += count
	return id, nil
}
