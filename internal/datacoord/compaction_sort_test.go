package datacoord

import (
	"slices"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
)

// sortedLifecycle is a lifecycle with sort compaction on.
func sortedLifecycle(t *testing.T, store kv.Store) *lifecycleEnv {
	t.Helper()
	cfg := smallConfig()
	cfg.Compaction.Sort, cfg.Compaction.SortPerTrigger = true, 1
	objs := objstore.NewMemory()
	s := newCoord(t, store, cfg)
	s.objects = objs
	e := &lifecycleEnv{s: s, objs: objs, comp: &fakeCompactor{objs: objs, deleted: map[int64]int64{}}, idx: &fakeIndexes{}, rec: &recorder{}}
	s.Attach(e.comp, fakeColls{}, e.idx)
	s.AddListener(e.rec)
	return e
}

// waitDropped waits until seg is dropped and returns the flushed segment
// compacted from it.
func (e *lifecycleEnv) waitReplaced(t *testing.T, id int64) model.Segment {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		segs := must(e.s.Segments(bg, tColl, ""))
		for _, s := range segs {
			if s.State == model.SegmentFlushed && slices.Contains(s.CompactedFrom, id) {
				return s
			}
		}
	}
	t.Fatalf("segment %d was not replaced", id)
	return model.Segment{}
}

// TestSortCompactionTrigger rewrites each unsorted flushed segment alone,
// at most SortPerTrigger a pass, marks the output Sorted, leaves sorted
// segments alone, keeps the mark across a restart, and the unsorted
// originals' files go to garbage collection.
func TestSortCompactionTrigger(t *testing.T) {
	store := kv.NewMemory()
	e := sortedLifecycle(t, store)
	e.s.gcfg = GCConfig{Enable: true, Interval: time.Minute, DropTolerance: time.Minute, MissingTolerance: time.Hour}
	a, b := e.flushed(t, 8, 10), e.flushed(t, 8, 20)
	e.comp.deleted[b.ID] = 2 // counted before the sort, dropped by it

	e.s.trigger(bg) // one segment a pass: a
	sa := e.waitReplaced(t, a.ID)
	if !sa.Sorted || sa.NumRows != 8 || !slices.Equal(sa.CompactedFrom, []int64{a.ID}) {
		t.Fatalf("sorted a: %+v", sa)
	}
	if seg, _ := must2(e.s.Segment(bg, b.ID)); seg.State != model.SegmentFlushed {
		t.Fatalf("b sorted beyond the per-pass budget: %+v", seg)
	}
	e.s.trigger(bg)
	sb := e.waitReplaced(t, b.ID)
	if !sb.Sorted || sb.NumRows != 6 || sb.DeletedRows != 0 {
		t.Fatalf("sorted b: %+v", sb)
	}
	if n := must(e.s.RowCount(bg, tColl, 0)); n != 14 {
		t.Fatalf("row count %d, want 14", n)
	}

	// Nothing left to sort: a pass starts no compaction.
	e.comp.mu.Lock()
	before := len(e.comp.tasks)
	e.comp.mu.Unlock()
	e.s.trigger(bg)
	time.Sleep(50 * time.Millisecond)
	e.comp.mu.Lock()
	for _, task := range e.comp.tasks[before:] {
		if !task.CountOnly {
			t.Fatalf("sorted segments compacted again: %+v", task.Segments)
		}
	}
	e.comp.mu.Unlock()

	// The unsorted originals' files are collected as any compacted
	// segment's.
	mustDo(e.s.UpdateCheckpoint(bg, tVC, contract.Checkpoint{Position: 100, TS: 100}))
	mustDo(e.s.CollectGarbage(bg, time.Now().Add(2*time.Minute)))
	if e.exists(a.Binlogs[100]) || e.exists(b.Binlogs[100]) {
		t.Fatal("files of the unsorted originals left")
	}
	if !e.exists(sa.Binlogs[100]) || !e.exists(sb.Binlogs[100]) {
		t.Fatal("files of the sorted segments deleted")
	}

	// A restarted coordinator knows they are sorted.
	s2 := newCoord(t, store, smallConfig())
	for _, id := range []int64{sa.ID, sb.ID} {
		if seg, ok := must2(s2.Segment(bg, id)); !ok || !seg.Sorted || seg.State != model.SegmentFlushed {
			t.Fatalf("segment %d after restart: %+v", id, seg)
		}
	}
}

// TestSortCompactionOff sorts nothing with dataCoord.sortCompaction.enable
// off, while other compactions still write sorted segments.
func TestSortCompactionOff(t *testing.T) {
	e := newLifecycle(t) // Sort off
	a := e.flushed(t, 8, 10)
	e.s.trigger(bg)
	time.Sleep(50 * time.Millisecond)
	if seg, _ := must2(e.s.Segment(bg, a.ID)); seg.State != model.SegmentFlushed || seg.Sorted {
		t.Fatalf("segment sorted with sort compaction off: %+v", seg)
	}
	e.deltaLog(t)
	e.comp.deleted[a.ID] = 4
	e.s.trigger(bg)
	if out := e.waitReplaced(t, a.ID); !out.Sorted {
		t.Fatalf("mix compaction output not marked sorted: %+v", out)
	}
}
