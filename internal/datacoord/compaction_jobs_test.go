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
// of a compaction: the next one still answers for the job, with the plan
// cleanly aborted (its sources still live and compactable again); a job
// that completed reads the same after a restart, and a plan that had
// committed when the coordinator stopped, before its record said so, is
// found done.
func TestCompactionJobsSurviveRestart(t *testing.T) {
	store := kv.NewMemory()
	cfg := smallConfig()
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
	// The coordinator "crashes" here: a new one starts on the same meta.
	next := newCoord(t, store, cfg)
	job, ok, err := next.CompactionJob(bg, id)
	if err != nil || !ok || !job.Completed() {
		t.Fatalf("job after restart: %+v %v %v", job, ok, err)
	}
	if p := job.Plans[0]; !p.Failed || p.Reason != errAborted || p.Target != 0 || len(p.Sources) != 2 {
		t.Fatalf("plan after restart: %+v", p)
	}
	for _, seg := range []model.Segment{a, b} {
		got, _ := must2(next.Segment(bg, seg.ID))
		if got.State != model.SegmentFlushed {
			t.Fatalf("source %d after the aborted plan: %v", seg.ID, got.State)
		}
	}
	close(blocking.release) // the old coordinator's plan is gone with it; let its goroutine end

	// The new coordinator compacts them again and completes.
	next.objects = e.objs
	fresh := &fakeCompactor{objs: e.objs, deleted: map[int64]int64{a.ID: 3}}
	next.Attach(fresh, fakeColls{}, e.idx)
	id2, plans, err := next.ManualCompaction(bg, tColl, false)
	if err != nil || plans != 1 {
		t.Fatalf("compaction after restart: %d %d %v", id2, plans, err)
	}
	e.s = next
	done := e.wait(t, id2)
	target := done.Plans[0].Target
	if done.Plans[0].Failed || target == 0 {
		t.Fatalf("plan after restart: %+v", done.Plans[0])
	}

	third := newCoord(t, store, cfg)
	if job, ok, _ := third.CompactionJob(bg, id2); !ok || !job.Completed() || job.Plans[0].Failed || job.Plans[0].Target != target {
		t.Fatalf("completed job after a restart: %+v %v", job, ok)
	}
	// Committed, but stopped before the record said so.
	raw := must(store.Get(bg, jobKey(id2)))
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
