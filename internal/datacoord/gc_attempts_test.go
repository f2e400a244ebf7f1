package datacoord

import (
	"context"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/storage"
)

// TestGCDeadAttemptInSegmentDir: files a killed data node left in the
// directory of a segment that was then flushed or compacted elsewhere
// (same segment ID, other log IDs) are orphans once the segment records
// its own files; a growing segment's directory stays spared (a flush in
// progress writes before it reports).
func TestGCDeadAttemptInSegmentDir(t *testing.T) {
	e := newLifecycle(t)
	e.s.gcfg = GCConfig{Enable: true, Interval: time.Second, DropTolerance: time.Hour, MissingTolerance: time.Minute}
	seg := e.flushed(t, 4, 10)
	stale := storage.InsertLogPath(tColl, tPart, seg.ID, 100, 77) // the dead attempt's
	mustDo(e.objs.Put(bg, stale, []byte("s")))
	g := mustAssign(t, e.s, tColl, tPart, tVC, 2, 2, 20) // growing: its flush is writing
	inFlight := storage.InsertLogPath(tColl, tPart, g.SegmentID, 100, 78)
	mustDo(e.objs.Put(bg, inFlight, []byte("f")))

	now := time.Now()
	mustDo(e.s.CollectGarbage(bg, now))
	mustDo(e.s.CollectGarbage(bg, now.Add(30*time.Second)))
	if !e.exists(stale) {
		t.Fatal("a dead attempt's file deleted before the missing tolerance")
	}
	mustDo(e.s.CollectGarbage(bg, now.Add(2*time.Minute)))
	if e.exists(stale) {
		t.Fatal("a dead attempt's file in a flushed segment's directory was never collected")
	}
	if !e.exists(seg.Binlogs[100]) {
		t.Fatal("the flushed segment's own file was deleted")
	}
	if !e.exists(inFlight) {
		t.Fatal("a growing segment's unreported file was deleted")
	}
}

// blockingExecutor writes a segment's file, then waits for release before
// it returns the segment: an import running longer than the missing
// tolerance. Its first call also leaves the file of a dead attempt.
type blockingExecutor struct {
	e       *lifecycleEnv
	started chan struct{}
	release chan struct{}
	dead    string
	live    string
}

func (b *blockingExecutor) ExecuteImport(ctx context.Context, job contract.ImportJob) ([]model.Segment, error) {
	// The attempt on the node that died wrote under segment 900001.
	mustDo(b.e.objs.Put(ctx, b.dead, []byte("d")))
	mustDo(b.e.objs.Put(ctx, b.live, []byte("l")))
	close(b.started)
	<-b.release
	return []model.Segment{{ID: 900002, CollectionID: job.CollectionID, PartitionID: tPart, VChannel: tVC, NumRows: 3,
		Binlogs: map[int64]string{100: b.live}, FlushTS: job.TS}}, nil
}

// TestGCImportRunningAndDeadAttempt: the files of an import still running
// survive garbage collection past the missing tolerance (the data node
// names its segments, the coordinator learns them at the commit); once the
// job is committed its segment's files stay and the files of the attempt
// that did not count go after the tolerance.
func TestGCImportRunningAndDeadAttempt(t *testing.T) {
	e := newLifecycle(t)
	e.s.gcfg = GCConfig{Enable: true, Interval: time.Second, DropTolerance: time.Hour, MissingTolerance: time.Minute}
	b := &blockingExecutor{e: e, started: make(chan struct{}), release: make(chan struct{}),
		dead: storage.InsertLogPath(tColl, tPart, 900001, 100, 1), live: storage.InsertLogPath(tColl, tPart, 900002, 100, 2)}
	mustDo(e.s.SetImportExecutor(bg, b))
	other := storage.InsertLogPath(tColl+1, tPart, 900003, 100, 3) // another collection's garbage
	mustDo(e.objs.Put(bg, other, []byte("o")))
	id := must(e.s.CreateImport(bg, contract.ImportJob{CollectionID: tColl, Files: [][]string{{"a.json"}}, TS: 5}))
	<-b.started
	now := time.Now()
	for i := range 4 {
		mustDo(e.s.CollectGarbage(bg, now.Add(time.Duration(i)*time.Minute)))
	}
	if !e.exists(b.live) || !e.exists(b.dead) {
		t.Fatal("a running import's files were deleted")
	}
	if e.exists(other) {
		t.Fatal("another collection's orphan was spared by the import")
	}
	close(b.release)
	if job := waitJob(t, e.s, id); job.State != contract.ImportCompleted {
		t.Fatalf("job %+v", job)
	}
	mustDo(e.s.CollectGarbage(bg, now.Add(5*time.Minute)))
	if !e.exists(b.dead) {
		t.Fatal("the dead attempt's file deleted before the missing tolerance")
	}
	mustDo(e.s.CollectGarbage(bg, now.Add(7*time.Minute)))
	if e.exists(b.dead) {
		t.Fatal("the dead attempt's file was not collected")
	}
	if !e.exists(b.live) {
		t.Fatal("the imported segment's file was deleted")
	}
}
