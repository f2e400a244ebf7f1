package rootcoord

import (
	"context"
	"testing"

	"github.com/milvago/milvago/internal/identity"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/objstore"
)

// A wiped meta store must not make IDs or timestamps go backwards: the
// allocators resume above the object store's high-water mark.
func TestWatermarkKeepsIDsAndTimestampsAboveAWipedMetaStore(t *testing.T) {
	ctx := context.Background()
	objects := objstore.NewMemory()
	start := func(meta kv.Store) *Server {
		t.Helper()
		wm, err := identity.LoadWatermark(ctx, meta, objects, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(ctx, Default(), Deps{KV: meta, Watermark: wm})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	meta := kv.NewMemory()
	s := start(meta)
	var lastID int64
	var lastTS uint64
	for range 5 {
		id, err := s.AllocID(ctx, 50000) // past a batch: persists a new limit
		if err != nil {
			t.Fatal(err)
		}
		lastID = id + 49999
		if lastTS, err = s.AllocTimestamp(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	// A plain restart continues where the meta store left off, without a
	// jump to the mark.
	s = start(meta)
	id, err := s.AllocID(ctx, 1)
	if err != nil || id <= lastID || id > lastID+100000 {
		t.Fatalf("after a restart: ID %d, last %d, %v", id, lastID, err)
	}
	lastID = id
	// A wiped meta store resumes above the mark.
	s = start(kv.NewMemory())
	id, err = s.AllocID(ctx, 1)
	if err != nil || id <= lastID {
		t.Fatalf("after a wipe: ID %d, last %d, %v", id, lastID, err)
	}
	ts, err := s.AllocTimestamp(ctx, 1)
	if err != nil || ts <= lastTS {
		t.Fatalf("after a wipe: timestamp %d, last %d, %v", ts, lastTS, err)
	}
}
