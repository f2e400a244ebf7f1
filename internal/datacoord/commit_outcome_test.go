package datacoord

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/storage"
)

// lossyStore is a meta store whose next transaction, once armed, fails:
// applied (its answer lost, as to a cancelled context at a stop) or not,
// and whose reads fail too when readsFail is set.
type lossyStore struct {
	kv.Store
	mu        sync.Mutex
	armed     bool
	apply     bool
	readsFail bool
}

func (l *lossyStore) arm(apply, readsFail bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed, l.apply, l.readsFail = true, apply, readsFail
}

func (l *lossyStore) Txn(ctx context.Context, conds []kv.Cond, ops []kv.Op) (bool, error) {
	l.mu.Lock()
	armed, apply := l.armed, l.apply
	l.armed = false
	l.mu.Unlock()
	if !armed {
		return l.Store.Txn(ctx, conds, ops)
	}
	if apply {
		if _, err := l.Store.Txn(ctx, conds, ops); err != nil {
			return false, err
		}
	}
	return false, context.Canceled
}

func (l *lossyStore) Get(ctx context.Context, key string) (kv.KeyValue, error) {
	l.mu.Lock()
	fail := l.readsFail
	l.mu.Unlock()
	if fail {
		return kv.KeyValue{}, errors.New("meta store unreachable")
	}
	return l.Store.Get(ctx, key)
}

// A compaction whose commit the meta store applied but answered with an
// error is committed (its output served, its files kept); one the store
// did not apply leaves its output to garbage collection; one whose
// outcome cannot be read back keeps its output files, which may be a live
// segment's once a restart reloads the meta, out of garbage collection's
// reach.
func TestCompactionCommitAnsweredWithAnError(t *testing.T) {
	for _, c := range []struct {
		name             string
		apply, readsFail bool
		committed, kept  bool
	}{
		{"applied", true, false, true, true},
		{"not applied", false, false, false, false},
		{"unknown", false, true, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := &lossyStore{Store: kv.NewMemory()}
			e := newLifecycleOn(t, store)
			a, b := e.flushed(t, 4, 10), e.flushed(t, 4, 20)
			store.arm(c.apply, c.readsFail)
			id, plans, err := e.s.ManualCompaction(bg, tColl, false)
			if err != nil || plans != 1 {
				t.Fatalf("manual compaction: %d plans, %v", plans, err)
			}
			job := e.wait(t, id)
			task := e.comp.tasks[len(e.comp.tasks)-1]
			out := model.Segment{ID: task.TargetID}
			target, ok := must2(e.s.Segment(bg, task.TargetID))
			if c.committed != (ok && target.State == model.SegmentFlushed) || c.committed == job.Plans[0].Failed {
				t.Fatalf("plan %+v, target %+v (known %v), want committed %v", job.Plans[0], target, ok, c.committed)
			}
			if ok {
				out = target
			}
			path := storage.InsertLogPath(tColl, tPart, task.TargetID, 100, 1) // fakeCompactor's output
			if !e.exists(path) {
				t.Fatalf("output %s not written", path)
			}
			store.mu.Lock()
			store.readsFail = false
			store.mu.Unlock()
			// Two passes far apart: past the drop tolerance (the trash) and
			// the missing tolerance (orphans).
			now := time.Now()
			for _, at := range []time.Duration{0, 24 * time.Hour, 48 * time.Hour} {
				mustDo(e.s.CollectGarbage(bg, now.Add(at)))
			}
			if e.exists(path) != c.kept {
				t.Fatalf("output of segment %d kept: %v, want %v", out.ID, e.exists(path), c.kept)
			}
			for _, src := range []model.Segment{a, b} {
				seg, known := must2(e.s.Segment(bg, src.ID))
				if c.committed == (known && seg.State == model.SegmentFlushed) {
					t.Fatalf("source %d: %+v (known %v) after a commit that applied: %v", src.ID, seg, known, c.committed)
				}
			}
		})
	}
}
