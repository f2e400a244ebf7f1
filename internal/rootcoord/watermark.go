package rootcoord

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/milvago/milvago/internal/kv"
)

// Watermark keeps a copy of the allocators' persisted limits outside the
// meta store (internal/identity keeps it in the object store).
type Watermark interface {
	// Floor is the value a counter must resume at or above: nonzero when
	// the meta store is behind the copy (wiped or restored from a backup).
	Floor(counter string) uint64
	// Raise is called before a counter's new limit v is persisted; it
	// returns once the copy is at least v.
	Raise(ctx context.Context, counter string, v uint64) error
}

// The counters, as internal/identity names them.
const (
	counterID  = "id"
	counterTSO = "tso"
)

// markedStore is the store of one allocator (internal/tso) with its
// counter mirrored by a Watermark: reads never return less than the floor,
// and a write raises the mark first. Both allocators store their limit as
// 8 big-endian bytes.
type markedStore struct {
	kv      kv.Store
	wm      Watermark
	key     string
	counter string
}

func marked(s kv.Store, wm Watermark, key, counter string) interface {
	Get(ctx context.Context, key string) (kv.KeyValue, error)
	Put(ctx context.Context, key string, value []byte) (int64, error)
} {
	if wm == nil {
		return s
	}
	return &markedStore{kv: s, wm: wm, key: key, counter: counter}
}

func (m *markedStore) Get(ctx context.Context, key string) (kv.KeyValue, error) {
	kvp, err := m.kv.Get(ctx, key)
	floor := m.wm.Floor(m.counter)
	if key != m.key || floor == 0 {
		return kvp, err
	}
	switch {
	case errors.Is(err, kv.ErrNotFound):
	case err != nil:
		return kvp, err
	case len(kvp.Value) == 8 && binary.BigEndian.Uint64(kvp.Value) >= floor:
		return kvp, nil
	}
	kvp.Key, kvp.Value = key, binary.BigEndian.AppendUint64(nil, floor)
	return kvp, nil
}

func (m *markedStore) Put(ctx context.Context, key string, value []byte) (int64, error) {
	if key == m.key && len(value) == 8 {
		if err := m.wm.Raise(ctx, m.counter, binary.BigEndian.Uint64(value)); err != nil {
			return 0, fmt.Errorf("rootcoord: %w", err)
		}
	}
	return m.kv.Put(ctx, key, value)
}
