package objstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Memory is a Store in memory, for tests. It validates keys like Local
// (ValidateKey), and like S3 it lets "a" and "a/b" coexist.
type Memory struct {
	mu      sync.RWMutex      // guards objects and closed
	objects map[string][]byte // never modified after Put: Map shares them
	closed  bool
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{objects: map[string][]byte{}}
}

func (m *Memory) check(ctx context.Context) error {
	if m.closed {
		return ErrClosed
	}
	return ctx.Err()
}

// Put implements Store.
func (m *Memory) Put(ctx context.Context, key string, data []byte) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("objstore: put: %w", err)
	}
	data = slices.Clone(data)
	if data == nil {
		data = []byte{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return fmt.Errorf("objstore: put %q: %w", key, err)
	}
	m.objects[key] = data
	return nil
}

func (m *Memory) get(ctx context.Context, op, key string) ([]byte, error) {
	if err := ValidateKey(key); err != nil {
		return nil, fmt.Errorf("objstore: %s: %w", op, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return nil, fmt.Errorf("objstore: %s %q: %w", op, key, err)
	}
	data, ok := m.objects[key]
	if !ok {
		return nil, fmt.Errorf("objstore: %s %q: %w", op, key, ErrNotFound)
	}
	return data, nil
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := m.get(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	return slices.Clone(data), nil
}

// GetRange implements Store.
func (m *Memory) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	data, err := m.get(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	if err := checkRange(off, length, int64(len(data))); err != nil {
		return nil, fmt.Errorf("objstore: get %q: %w", key, err)
	}
	return slices.Clone(data[off : off+length]), nil
}

// Map implements Store; the mapping shares the stored bytes.
func (m *Memory) Map(ctx context.Context, key string) (Mapping, error) {
	data, err := m.get(ctx, "map", key)
	if err != nil {
		return nil, err
	}
	return &memMapping{b: data}, nil
}

type memMapping struct{ b []byte }

func (m *memMapping) Bytes() []byte { return m.b }
func (m *memMapping) Close() error  { return nil }

// Stat implements Store.
func (m *Memory) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	data, err := m.get(ctx, "stat", key)
	if err != nil {
		return ObjectInfo{}, err
	}
	return ObjectInfo{Key: key, Size: int64(len(data))}, nil
}

// List implements Store.
func (m *Memory) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return nil, fmt.Errorf("objstore: list %q: %w", prefix, err)
	}
	var out []ObjectInfo
	for k, v := range m.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, ObjectInfo{Key: k, Size: int64(len(v))})
		}
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("objstore: delete: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return fmt.Errorf("objstore: delete %q: %w", key, err)
	}
	delete(m.objects, key)
	return nil
}

// DeletePrefix implements Store.
func (m *Memory) DeletePrefix(ctx context.Context, prefix string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return fmt.Errorf("objstore: delete prefix %q: %w", prefix, err)
	}
	for k := range m.objects {
		if strings.HasPrefix(k, prefix) {
			delete(m.objects, k)
		}
	}
	return nil
}

// Close implements Store.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
