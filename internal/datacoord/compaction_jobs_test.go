package datacoord

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// blockingCompactor holds every writing task until release is closed.
type blockingCompactor struct {
	*fakeCompactor
	started chan struct{}
	release chan struct{}
}

func (b blockingCompactor) Compact(ctx context.Context, t contract.CompactionTask) (contract.CompactionResult, error) {
	if !t.CountOnly {
		b.started <- struct{}{}
		<-b.release
	}
	return b.fakeCompactor.Compact(ctx, t)
}

// TestCompactionJobsSurviveRestart stops a data coordinator in the middle
// of a compaction: the next one still answers for the job, the plan still
// executing with its sources live and marked compacting, and once it runs
// it runs the plan again (new target IDs) to completion; a job that
// completed reads the same after a restart, and a plan that had committed
// when the coordinator stopped, before its record said so, is found done.
func TestCompactionJobsSurviveRestart(t *testing.T) {
	store := kv.NewMemory()
	cfg := smallConfig()
	cfg.Compaction.Sort = false
	e := newLifecycle(t)
	e.s = newCoord(t, store, cfg)
	e.s.objects = e.objs
	blocking := blockingCompactor{fakeCompactor: e.comp, started: make(chan struct{}, 1), release: make(chan struct{})}
	e.s.Attach(blocking, fakeColls{}, e.idx)
	a, b := e.flushed(t, 4, 10), e.flushed(t, 4, 20)
	e.deltaLog(t)
	e.comp.deleted[a.ID] = 3
	id, plans, err := e.s.ManualCompaction(bg, tColl, false)
	if err != nil || plans != 1 {
		t.Fatalf("manual compaction: %d %d %v", id, plans, err)
	}
	select {
	case <-blocking.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the plan did not start")
	}
	raw := must(store.Get(bg, jobKey(id)))
	var first jobRecord
	mustDo(json.Unmarshal(raw.Value, &first))
	if len(first.Plans[0].Targets) != 1 {
		t.Fatalf("targets not recorded before writing: %+v", first.Plans[0])
	}
	// The coordinator "crashes" here: a new one starts on the same meta.
	next := newCoord(t, store, cfg)
	job, ok, err := next.CompactionJob(bg, id)
	if err != nil || !ok || job.Completed() {
		t.Fatalf("job after restart: %+v %v %v", job, ok, err)
	}
	for _, seg := range []model.Segment{a, b} {
		got, _ := must2(next.Segment(bg, seg.ID))
		if got.State != model.SegmentFlushed || !next.compacting[seg.ID] {
			t.Fatalf("source %d of the resumed plan: %v", seg.ID, got.State)
		}
	}
	// The old coordinator crashed: its plan never returns while the test
	// runs (released at the end only to let its goroutine finish). Released
	// here, it committed its own target over the resumed plan's record.
	t.Cleanup(func() { close(blocking.release) })

	next.objects = e.objs
	fresh := &fakeCompactor{objs: e.objs, deleted: map[int64]int64{a.ID: 3}}
	next.Attach(fresh, fakeColls{}, e.idx)
	// Its sources are not planned twice.
	if id2, n, err := next.ManualCompaction(bg, tColl, false); err != nil || n != 0 || id2 != -1 {
		t.Fatalf("compaction of sources of a plan to resume: %d %d %v", id2, n, err)
	}
	// Once it runs, the new coordinator runs the plan again and completes it.
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	go func() { _ = next.Run(ctx) }()
	e.s = next
	done := e.wait(t, id)
	target := done.Plans[0].Target
	if done.Plans[0].Failed || target == 0 || target == first.Plans[0].Targets[0] {
		t.Fatalf("resumed plan: %+v (first run's target %d)", done.Plans[0], first.Plans[0].Targets[0])
	}
	for _, seg := range []model.Segment{a, b} {
		if got, _ := must2(next.Segment(bg, seg.ID)); got.State != model.SegmentDropped || next.compacting[seg.ID] {
			t.Fatalf("source %d after the resumed plan: %v", seg.ID, got.State)
		}
	}
	if tseg, _ := must2(next.Segment(bg, target)); tseg.NumRows != 5 || tseg.State != model.SegmentFlushed {
		t.Fatalf("resumed plan's segment: %+v", tseg)
	}
	id2 := id

	third := newCoord(t, store, cfg)
	if job, ok, _ := third.CompactionJob(bg, id2); !ok || !job.Completed() || job.Plans[0].Failed || job.Plans[0].Target != target {
		t.Fatalf("completed job after a restart: %+v %v (the resumed plan's target %d)", job, ok, target)
	}
	// Committed, but stopped before the record said so.
	raw = must(store.Get(bg, jobKey(id2)))
	var rec jobRecord
	mustDo(json.Unmarshal(raw.Value, &rec))
	rec.Plans[0].Done, rec.Plans[0].Target = false, 0
	b2 := must(json.Marshal(rec))
	must(store.Put(bg, jobKey(id2), b2))
	fourth := newCoord(t, store, cfg)
	if job, ok, _ := fourth.CompactionJob(bg, id2); !ok || !job.Completed() || job.Plans[0].Failed || job.Plans[0].Target != target {
		t.Fatalf("committed plan settled after a restart: %+v %v", job, ok)
	}
}

// TestCompactionJobAbortedWhenSourcesGone aborts, at restart, a plan whose
// sources are no longer all flushed (their collection was dropped
// meanwhile): it cannot run again.
func TestCompactionJobAbortedWhenSourcesGone(t *testing.T) {
	store := kv.NewMemory()
	cfg := smallConfig()
	cfg.Compaction.Sort = false
	e := newLifecycle(t)
	e.s = newCoord(t, store, cfg)
	e.s.objects = e.objs
	blocking := blockingCompactor{fakeCompactor: e.comp, started: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(blocking.release)
	e.s.Attach(blocking, fakeColls{}, e.idx)
	a, _ := e.flushed(t, 4, 10), e.flushed(t, 4, 20)
	e.deltaLog(t)
	e.comp.deleted[a.ID] = 3
	id, _, err := e.s.ManualCompaction(bg, tColl, false)
	if err != nil {
		t.Fatal(err)
	}
	<-blocking.started
	// Drop a source behind the plan's back, as a dropped collection does.
	seg, _ := must2(e.s.Segment(bg, a.ID))
	seg.State = model.SegmentDropped
	b := must(marshal(&seg))
	must(store.Put(bg, segKey(a.ID), b))
	next := newCoord(t, store, cfg)
	job, ok, _ := next.CompactionJob(bg, id)
	if !ok || !job.Completed() || !job.Plans[0].Failed || job.Plans[0].Reason != errAborted {
		t.Fatalf("job after restart: %+v", job)
	}
}
