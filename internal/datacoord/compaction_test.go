package datacoord

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

const (
	tColl = 1
	tPart = 2
	tVC   = "dml_0_1v0"
)

// fakeCompactor answers counts from deleted and writes one file per
// target, as a data node would.
type fakeCompactor struct {
	objs    objstore.Store
	mu      sync.Mutex
	deleted map[int64]int64 // rows each segment's delete logs delete
	tasks   []contract.CompactionTask
}

func (f *fakeCompactor) Compact(ctx context.Context, t contract.CompactionTask) (contract.CompactionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tasks = append(f.tasks, t)
	res := contract.CompactionResult{PlanID: t.PlanID, Deleted: map[int64]int64{}}
	var rows int64
	for _, seg := range t.Segments {
		res.Deleted[seg.ID] = f.deleted[seg.ID]
		rows += seg.NumRows - f.deleted[seg.ID]
	}
	res.Segment.SegmentID = t.TargetID
	if t.CountOnly || rows == 0 {
		return res, nil
	}
	path := storage.InsertLogPath(tColl, tPart, t.TargetID, 100, 1)
	if err := f.objs.Put(ctx, path, []byte("x")); err != nil {
		return res, err
	}
	res.Segment.NumRows, res.Segment.Binlogs = rows, map[int64]string{100: path}
	return res, nil
}

type fakeColls struct{ props []*commonpb.KeyValuePair }

func (f fakeColls) DescribeCollection(_ context.Context, _, _ string, id int64) (*model.Collection, error) {
	return &model.Collection{ID: id, Properties: f.props}, nil
}

type fakeIndexes struct {
	mu     sync.Mutex
	builds []model.SegmentIndex
}

func (f *fakeIndexes) Builds(context.Context) ([]model.SegmentIndex, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.builds), nil
}

func (f *fakeIndexes) DropSegmentIndexes(_ context.Context, ids []int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.builds = slices.DeleteFunc(f.builds, func(b model.SegmentIndex) bool {
		return slices.Contains(ids, b.SegmentID) && b.State != commonpb.IndexState_InProgress
	})
	return nil
}

type recorder struct {
	mu   sync.Mutex
	segs []model.Segment
}

func (r *recorder) SegmentFlushed(_ context.Context, seg *model.Segment) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.segs = append(r.segs, *seg)
	return nil
}

type lifecycleEnv struct {
	s    *Server
	objs *objstore.Memory
	comp *fakeCompactor
	idx  *fakeIndexes
	rec  *recorder
}

func newLifecycle(t *testing.T) *lifecycleEnv {
	t.Helper()
	return newLifecycleOn(t, kv.NewMemory())
}

// newLifecycleOn is newLifecycle on the meta store store.
func newLifecycleOn(t *testing.T, store kv.Store) *lifecycleEnv {
	t.Helper()
	cfg := smallConfig()
	// Sort compaction has tests of its own (compaction_sort_test.go);
	// here it would rewrite every flushed segment behind the test's back.
	cfg.Compaction.Sort = false
	objs := objstore.NewMemory()
	s := newCoord(t, store, cfg)
	s.objects = objs
	e := &lifecycleEnv{s: s, objs: objs, comp: &fakeCompactor{objs: objs, deleted: map[int64]int64{}}, idx: &fakeIndexes{}, rec: &recorder{}}
	s.Attach(e.comp, fakeColls{}, e.idx)
	s.AddListener(e.rec)
	return e
}

// flushed creates a flushed segment of rows rows (its binlog written) and
// returns it.
func (e *lifecycleEnv) flushed(t *testing.T, rows int64, pos uint64) model.Segment {
	t.Helper()
	a := mustAssign(t, e.s, tColl, tPart, tVC, rows, rows, pos)
	must(e.s.SealChannel(bg, tColl, tVC, pos+1))
	path := storage.InsertLogPath(tColl, tPart, a.SegmentID, 100, 1)
	mustDo(e.objs.Put(bg, path, []byte("x")))
	mustDo(e.s.SegmentFlushed(bg, contract.FlushResult{SegmentID: a.SegmentID, NumRows: rows, Binlogs: map[int64]string{100: path},
		FlushTS: pos + 1, SizeBytes: rows}))
	seg, _ := must2(e.s.Segment(bg, a.SegmentID))
	return seg
}

func (e *lifecycleEnv) deltaLog(t *testing.T) model.DeltaLog {
	t.Helper()
	id := must(e.s.ids.AllocID(bg, 1))
	dl := model.DeltaLog{ID: id, CollectionID: tColl, VChannel: tVC, Path: storage.DeltaLogPath(tColl, 0, 0, id), Entries: 1}
	mustDo(e.objs.Put(bg, dl.Path, []byte("d")))
	mustDo(e.s.AddDeltaLog(bg, dl))
	return dl
}

func (e *lifecycleEnv) wait(t *testing.T, id int64) contract.CompactionJob {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		job, ok, err := e.s.CompactionJob(bg, id)
		if err != nil || !ok {
			t.Fatalf("job %d: %v %v", id, ok, err)
		}
		if job.Completed() {
			return job
		}
	}
	t.Fatalf("job %d did not complete", id)
	return contract.CompactionJob{}
}

func (e *lifecycleEnv) exists(path string) bool {
	_, err := e.objs.Get(bg, path)
	return err == nil
}

// TestManualCompactionCommits merges three small segments, one with
// deletes: the new segment replaces them in one step (listeners hear of
// it with its sources), the row count is exact, and the delete log no
// live segment needs any more is dropped.
func TestManualCompactionCommits(t *testing.T) {
	e := newLifecycle(t)
	a, b, c := e.flushed(t, 4, 10), e.flushed(t, 4, 20), e.flushed(t, 4, 30)
	dl := e.deltaLog(t)
	e.comp.deleted[a.ID] = 3
	if n := must(e.s.RowCount(bg, tColl, 0)); n != 12 {
		t.Fatalf("row count before counting: %d", n)
	}
	id, plans, err := e.s.ManualCompaction(bg, tColl, false)
	if err != nil || plans != 1 {
		t.Fatalf("manual compaction: %d plans, %v", plans, err)
	}
	job := e.wait(t, id)
	p := job.Plans[0]
	if p.Failed || !slices.Equal(p.Sources, []int64{a.ID, b.ID, c.ID}) || p.Target == 0 {
		t.Fatalf("plan %+v", p)
	}
	target, ok := must2(e.s.Segment(bg, p.Target))
	if !ok || target.State != model.SegmentFlushed || target.NumRows != 9 || !slices.Equal(target.CompactedFrom, []int64{a.ID, b.ID, c.ID}) ||
		target.DeltaApplied != dl.ID || target.StartPosition != 10 {
		t.Fatalf("target %+v", target)
	}
	for _, src := range []int64{a.ID, b.ID, c.ID} {
		if seg, _ := must2(e.s.Segment(bg, src)); seg.State != model.SegmentDropped || seg.DroppedAt == 0 {
			t.Fatalf("source %+v", seg)
		}
	}
	if n := must(e.s.RowCount(bg, tColl, 0)); n != 9 {
		t.Fatalf("row count after compaction: %d", n)
	}
	// The delete task saw the delete log; the counting task ran first.
	last := e.comp.tasks[len(e.comp.tasks)-1]
	if last.CountOnly || len(last.DeltaLogs) != 1 || last.DeltaLogs[0].ID != dl.ID || last.TargetID != p.Target {
		t.Fatalf("task %+v", last)
	}
	if got := e.rec.segs[len(e.rec.segs)-1]; got.ID != p.Target {
		t.Fatalf("listener heard %+v", got)
	}
	mustDo(e.s.dropAppliedDeltas(bg))
	if dls := must(e.s.DeltaLogs(bg, tVC)); len(dls) != 0 {
		t.Fatalf("delta logs left: %+v", dls)
	}
	// A second compaction has nothing to do: -1, as Milvus.
	if id, plans, err := e.s.ManualCompaction(bg, tColl, false); id != -1 || plans != 0 || err != nil {
		t.Fatalf("second compaction: %d %d %v", id, plans, err)
	}
}

// TestDeltaLogKeptForOlderSegment keeps a delete log while a segment older
// than it (a growing one included) has not had it applied.
func TestDeltaLogKeptForOlderSegment(t *testing.T) {
	e := newLifecycle(t)
	e.flushed(t, 8, 10)
	growing := mustAssign(t, e.s, tColl, tPart, tVC, 1, 1, 40)
	dl := e.deltaLog(t)
	mustDo(e.s.dropAppliedDeltas(bg))
	if dls := must(e.s.DeltaLogs(bg, tVC)); len(dls) != 1 || dls[0].ID != dl.ID {
		t.Fatalf("delta logs: %+v (growing segment %d)", dls, growing.SegmentID)
	}
}

// TestCompactionAllDeleted drops every source and tells listeners with a
// Dropped segment naming them.
func TestCompactionAllDeleted(t *testing.T) {
	e := newLifecycle(t)
	a := e.flushed(t, 8, 10)
	e.deltaLog(t)
	e.comp.deleted[a.ID] = 8
	id, _, err := e.s.ManualCompaction(bg, tColl, false)
	if err != nil {
		t.Fatal(err)
	}
	job := e.wait(t, id)
	if job.Plans[0].Target != 0 || job.Plans[0].Failed {
		t.Fatalf("plan %+v", job.Plans[0])
	}
	got := e.rec.segs[len(e.rec.segs)-1]
	if got.State != model.SegmentDropped || !slices.Equal(got.CompactedFrom, []int64{a.ID}) {
		t.Fatalf("listener heard %+v", got)
	}
	if n := must(e.s.RowCount(bg, tColl, 0)); n != 0 {
		t.Fatalf("row count %d", n)
	}
}

// TestAutoTriggerDeletedRatio compacts a segment once the share of its
// rows deleted reaches the threshold, not before.
func TestAutoTriggerDeletedRatio(t *testing.T) {
	e := newLifecycle(t)
	a := e.flushed(t, 10, 10)
	e.deltaLog(t)
	e.comp.deleted[a.ID] = 1 // 10% < 20%
	e.s.trigger(bg)
	if seg, _ := must2(e.s.Segment(bg, a.ID)); seg.State != model.SegmentFlushed || seg.DeletedRows != 1 {
		t.Fatalf("segment after trigger: %+v", seg)
	}
	if n := must(e.s.RowCount(bg, tColl, 0)); n != 9 {
		t.Fatalf("row count with counted deletes: %d", n)
	}
	e.comp.deleted[a.ID] = 3
	e.deltaLog(t) // a new log: counted again
	e.s.trigger(bg)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if seg, _ := must2(e.s.Segment(bg, a.ID)); seg.State == model.SegmentDropped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("segment with 30% deleted was not compacted")
		}
	}
}

// TestGarbageCollection deletes a compacted segment's files only after the
// drop tolerance, once the checkpoint passed its Seal and no index build
// runs on it; index files of gone segments go, a live one's stay; orphan
// files go after the missing tolerance.
func TestGarbageCollection(t *testing.T) {
	e := newLifecycle(t)
	e.s.gcfg = GCConfig{Enable: true, Interval: time.Minute, DropTolerance: time.Minute, MissingTolerance: time.Hour}
	// a and b merge (c would make the result larger than a segment).
	a, b, c := e.flushed(t, 4, 10), e.flushed(t, 4, 20), e.flushed(t, 4, 30)
	id, _, err := e.s.ManualCompaction(bg, tColl, false)
	if err != nil {
		t.Fatal(err)
	}
	job := e.wait(t, id)
	if len(job.Plans) != 1 || !slices.Equal(job.Plans[0].Sources, []int64{a.ID, b.ID}) {
		t.Fatalf("plans %+v", job.Plans)
	}
	target := job.Plans[0].Target
	idxFile := func(build int64) string { return storage.IndexFilePath(build, "index") }
	e.idx.builds = []model.SegmentIndex{
		{BuildID: 501, SegmentID: a.ID, State: commonpb.IndexState_Finished, File: idxFile(501)},
		{BuildID: 502, SegmentID: b.ID, State: commonpb.IndexState_InProgress},
		{BuildID: 503, SegmentID: target, State: commonpb.IndexState_Finished, File: idxFile(503)},
	}
	for _, b := range []int64{501, 502, 503} {
		mustDo(e.objs.Put(bg, idxFile(b), []byte("i")))
	}
	orphan := storage.InsertLogPath(tColl, tPart, 999999, 100, 1)
	mustDo(e.objs.Put(bg, orphan, []byte("o")))
	now := time.Now()
	mustDo(e.s.CollectGarbage(bg, now))
	for _, seg := range []model.Segment{a, b} {
		if !e.exists(seg.Binlogs[100]) {
			t.Fatalf("segment %d's files deleted within the drop tolerance", seg.ID)
		}
	}
	// Past the tolerance, but the checkpoint is behind the Seals.
	mustDo(e.s.CollectGarbage(bg, now.Add(2*time.Minute)))
	if !e.exists(a.Binlogs[100]) {
		t.Fatal("files deleted while the data node could replay the segment's inserts")
	}
	mustDo(e.s.UpdateCheckpoint(bg, tVC, contract.Checkpoint{Position: 100, TS: 100}))
	mustDo(e.s.CollectGarbage(bg, now.Add(2*time.Minute)))
	if e.exists(a.Binlogs[100]) || e.exists(idxFile(501)) {
		t.Fatal("files of collected segments left")
	}
	if !e.exists(b.Binlogs[100]) {
		t.Fatal("files of a segment an index build reads were deleted")
	}
	tseg, _ := must2(e.s.Segment(bg, target))
	if !e.exists(tseg.Binlogs[100]) || !e.exists(idxFile(503)) {
		t.Fatal("a live segment's files were deleted")
	}
	if _, ok := must2(e.s.Segment(bg, a.ID)); ok {
		t.Fatal("collected segment's record kept")
	}
	if !e.exists(orphan) {
		t.Fatal("orphan deleted before the missing tolerance")
	}
	// The build ends: b goes too.
	for i := range e.idx.builds {
		if e.idx.builds[i].BuildID == 502 {
			e.idx.builds[i].State = commonpb.IndexState_Finished
		}
	}
	mustDo(e.s.CollectGarbage(bg, now.Add(3*time.Minute)))
	if e.exists(b.Binlogs[100]) {
		t.Fatal("segment b's files left after its build ended")
	}
	mustDo(e.s.CollectGarbage(bg, now.Add(3*time.Minute+time.Hour)))
	if e.exists(orphan) {
		t.Fatal("orphan left after the missing tolerance")
	}
	if !e.exists(tseg.Binlogs[100]) {
		t.Fatal("live segment's files deleted by the orphan scan")
	}
	list := must(e.objs.List(bg, ""))
	var keys []string
	for _, o := range list {
		keys = append(keys, o.Key)
	}
	want := []string{tseg.Binlogs[100], c.Binlogs[100], idxFile(503)}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("files left %v, want %v", keys, want)
	}
	// Merging again: the ancestors garbage collection forgot are carried
	// on (a query node may still serve one whose compacted copy it was
	// never handed).
	e.deltaLog(t)
	e.comp.deleted[target] = 4
	id, _, err = e.s.ManualCompaction(bg, tColl, false)
	if err != nil {
		t.Fatal(err)
	}
	next := e.wait(t, id).Plans[0].Target
	nseg, _ := must2(e.s.Segment(bg, next))
	wantFrom := []int64{a.ID, b.ID, c.ID, target}
	slices.Sort(wantFrom)
	if !slices.Equal(nseg.CompactedFrom, wantFrom) {
		t.Fatalf("ancestors %v, want %v", nseg.CompactedFrom, wantFrom)
	}
}

// TestAncestryBound keeps the newest maxAncestors ancestors, sorted and
// unique.
func TestAncestryBound(t *testing.T) {
	var ids []int64
	for i := range int64(maxAncestors + 40) {
		ids = append(ids, i, i) // duplicates from sources sharing ancestors
	}
	got := ancestry(ids)
	if len(got) != maxAncestors || got[0] != 40 || got[len(got)-1] != maxAncestors+39 || !slices.IsSorted(got) {
		t.Fatalf("ancestry: %d ids from %d to %d", len(got), got[0], got[len(got)-1])
	}
}

// TestCompactionDisabled answers Milvus's "compaction disabled".
func TestCompactionDisabled(t *testing.T) {
	e := newLifecycle(t)
	e.s.ccfg.Enable = false
	if _, _, err := e.s.ManualCompaction(bg, tColl, false); err == nil || err.Error() != "compaction disabled: service unavailable" {
		t.Fatalf("error %v", err)
	}
}

// TestExpireTS follows collection.ttl.seconds.
func TestExpireTS(t *testing.T) {
	e := newLifecycle(t)
	now := time.UnixMilli(1_700_000_000_000)
	c := &model.Collection{Properties: []*commonpb.KeyValuePair{{Key: "collection.ttl.seconds", Value: "60"}}}
	if got := e.s.expireTS(c, now); got>>18 != uint64(now.Add(-time.Minute).UnixMilli()) {
		t.Fatalf("expire ts %d", got)
	}
	c.Properties[0].Value = "0"
	if got := e.s.expireTS(c, now); got != 0 {
		t.Fatalf("expire ts without ttl %d", got)
	}
}

// TestDeltaLogDroppedBehindCleanSegment drops a delete log once the only
// segment older than it was counted and has no row it deletes.
func TestDeltaLogDroppedBehindCleanSegment(t *testing.T) {
	e := newLifecycle(t)
	a := e.flushed(t, 8, 10)
	e.deltaLog(t)
	mustDo(e.s.dropAppliedDeltas(bg))
	if dls := must(e.s.DeltaLogs(bg, tVC)); len(dls) != 1 {
		t.Fatalf("delta log dropped before counting: %+v", dls)
	}
	e.s.trigger(bg) // counts: no row of a is deleted
	if seg, _ := must2(e.s.Segment(bg, a.ID)); seg.State != model.SegmentFlushed || seg.DeletedUpTo == 0 {
		t.Fatalf("segment %+v", seg)
	}
	if dls := must(e.s.DeltaLogs(bg, tVC)); len(dls) != 0 {
		t.Fatalf("delta logs left: %+v", dls)
	}
}
