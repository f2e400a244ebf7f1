package tso

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/kv"
)

// mapStore is the minimal store the allocators need.
type mapStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *mapStore) Get(_ context.Context, key string) (kv.KeyValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return kv.KeyValue{}, kv.ErrNotFound
	}
	return kv.KeyValue{Key: key, Value: v}, nil
}

func (s *mapStore) Put(_ context.Context, key string, v []byte) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), v...)
	return 1, nil
}

func TestOracleMonotonicAcrossRestartWithClockGoingBack(t *testing.T) {
	ctx := context.Background()
	s := &mapStore{m: map[string][]byte{}}
	o, err := NewOracle(ctx, s, "tso", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for range 1000 {
		ts, err := o.Now(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ts <= last {
			t.Fatalf("timestamp went backwards: %d after %d", ts, last)
		}
		last = ts
	}
	// Restart with a clock one minute in the past: must still move forward.
	o2, err := NewOracle(ctx, s, "tso", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	o2.now = func() time.Time { return time.Now().Add(-time.Minute) }
	ts, err := o2.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ts <= last {
		t.Fatalf("after restart got %d, not above %d", ts, last)
	}
}

func TestOracleConcurrentUnique(t *testing.T) {
	ctx := context.Background()
	o, _ := NewOracle(ctx, &mapStore{m: map[string][]byte{}}, "tso", time.Second)
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				ts, err := o.Allocate(ctx, 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for i := range uint64(3) {
					if seen[ts+i] {
						t.Errorf("duplicate timestamp %d", ts+i)
					}
					seen[ts+i] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestIDAllocatorResumesAboveIssued(t *testing.T) {
	ctx := context.Background()
	s := &mapStore{m: map[string][]byte{}}
	a, _ := NewIDAllocator(ctx, s, "id", 1000, 100)
	first, _ := a.Allocate(ctx, 10)
	if first != 1000 {
		t.Fatalf("first id %d, want 1000", first)
	}
	last, _ := a.Allocate(ctx, 250)
	b, _ := NewIDAllocator(ctx, s, "id", 1000, 100)
	next, _ := b.Allocate(ctx, 1)
	if next < last+250 {
		t.Fatalf("restarted allocator reused ids: %d < %d", next, last+250)
	}
}
