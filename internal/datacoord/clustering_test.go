package datacoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/indexcoord"
	"github.com/milvago/milvago/internal/indexnode"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

// clusterCompactor answers clustering tasks as a data node would: the
// live rows cut into segments of PreferRows (files written).
type clusterCompactor struct{ *fakeCompactor }

func (c clusterCompactor) Compact(ctx context.Context, t contract.CompactionTask) (contract.CompactionResult, error) {
	if t.ClusteringField == 0 {
		return c.fakeCompactor.Compact(ctx, t)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tasks = append(c.tasks, t)
	res := contract.CompactionResult{PlanID: t.PlanID, Deleted: map[int64]int64{}, Segment: contract.FlushResult{SegmentID: t.TargetID}}
	var rows int64
	for _, seg := range t.Segments {
		res.Deleted[seg.ID] = c.deleted[seg.ID]
		rows += seg.NumRows - c.deleted[seg.ID]
	}
	for i := 0; rows > 0; i++ {
		n := min(rows, t.PreferRows)
		rows -= n
		path := storage.InsertLogPath(tColl, tPart, t.TargetIDs[i], 100, 1)
		if err := c.objs.Put(ctx, path, []byte("x")); err != nil {
			return res, err
		}
		res.Clustered = append(res.Clustered, contract.FlushResult{SegmentID: t.TargetIDs[i], NumRows: n,
			Binlogs: map[int64]string{100: path}, SizeBytes: n})
	}
	return res, nil
}

type clusterColls struct{ key bool }

func (f clusterColls) DescribeCollection(_ context.Context, _, _ string, id int64) (*model.Collection, error) {
	return &model.Collection{ID: id, Schema: &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "k", DataType: schemapb.DataType_Int64, IsClusteringKey: f.key},
	}}}, nil
}

// TestClusteringCompaction: a manual clustering compaction rewrites every
// flushed segment of the shard into segments of the preferred size, which
// replace the sources in one commit, name each other as siblings, and
// are recorded as the shard's partition statistics (kept across a
// restart). A collection without a clustering key has nothing to do.
func TestClusteringCompaction(t *testing.T) {
	store := kv.NewMemory()
	cfg := smallConfig()
	cfg.MaxSegmentRows = 5 // preferred: 0.8 x 5 = 4 rows
	e := newLifecycle(t)
	e.s = newCoord(t, store, cfg)
	e.s.objects = e.objs
	e.s.AddListener(e.rec)
	comp := clusterCompactor{e.comp}
	e.s.Attach(comp, clusterColls{key: false}, e.idx)
	a, b, c := e.flushed(t, 5, 10), e.flushed(t, 5, 20), e.flushed(t, 3, 30)
	if id, plans, err := e.s.ManualCompaction(bg, tColl, true); id != -1 || plans != 0 || err != nil {
		t.Fatalf("no clustering key: %d %d %v", id, plans, err)
	}

	e.s.Attach(comp, clusterColls{key: true}, e.idx)
	e.comp.deleted[b.ID] = 1
	id, plans, err := e.s.ManualCompaction(bg, tColl, true)
	if err != nil || plans != 1 {
		t.Fatalf("manual clustering: %d %d %v", id, plans, err)
	}
	job := e.wait(t, id)
	if p := job.Plans[0]; p.Failed || p.Target == 0 || !slices.Equal(p.Sources, []int64{a.ID, b.ID, c.ID}) {
		t.Fatalf("plan %+v", p)
	}
	task := comp.tasks[len(comp.tasks)-1]
	if task.ClusteringField != 101 || task.PreferRows != 4 {
		t.Fatalf("task %+v", task)
	}
	segs := must(e.s.Segments(bg, tColl, ""))
	var out []model.Segment
	for _, seg := range segs {
		switch seg.ID {
		case a.ID, b.ID, c.ID:
			if seg.State != model.SegmentDropped {
				t.Fatalf("source %d is %v", seg.ID, seg.State)
			}
		default:
			out = append(out, seg)
		}
	}
	// 12 live rows in segments of 4.
	if len(out) != 3 {
		t.Fatalf("outputs %+v", out)
	}
	var ids []int64
	for _, seg := range out {
		ids = append(ids, seg.ID)
	}
	for _, seg := range out {
		if seg.State != model.SegmentFlushed || !seg.Clustered || seg.NumRows != 4 || len(seg.Siblings) != 2 ||
			slices.Contains(seg.Siblings, seg.ID) || !slices.Equal(seg.CompactedFrom, []int64{a.ID, b.ID, c.ID}) {
			t.Fatalf("output %+v", seg)
		}
	}
	if n := must(e.s.RowCount(bg, tColl, 0)); n != 12 {
		t.Fatalf("row count %d", n)
	}
	heard := 0
	for _, seg := range e.rec.segs {
		if seg.Clustered {
			heard++
		}
	}
	if heard != 3 {
		t.Fatalf("listeners heard %d clustered segments", heard)
	}
	ps := e.s.PartitionStatistics(tColl)
	if len(ps) != 1 || ps[0].FieldID != 101 || ps[0].PartitionID != tPart || ps[0].VChannel != tVC || !slices.Equal(ps[0].SegmentIDs, ids) {
		t.Fatalf("partition stats %+v (outputs %v)", ps, ids)
	}
	again := newCoord(t, store, cfg)
	if got := again.PartitionStatistics(tColl); len(got) != 1 || !slices.Equal(got[0].SegmentIDs, ids) || got[0].Version != ps[0].Version {
		t.Fatalf("partition stats after restart %+v", got)
	}
}

// TestClusteringDue is Milvus's automatic policy: new data above the
// threshold, never within MinInterval, always after MaxInterval.
func TestClusteringDue(t *testing.T) {
	e := newLifecycle(t)
	e.s.ccfg.Clustering.NewDataSize = 8
	a, b := e.flushed(t, 5, 10), e.flushed(t, 5, 20)
	segs := []*model.Segment{&a, &b}
	now := time.Now()
	if !e.s.clusteringDue(tColl, tPart, tVC, segs, now) {
		t.Fatal("10 new bytes over a threshold of 8: not due")
	}
	e.s.ccfg.Clustering.NewDataSize = 10
	if e.s.clusteringDue(tColl, tPart, tVC, segs, now) {
		t.Fatal("10 new bytes, threshold 10: due")
	}
	key := partStatsKey(tColl, tPart, tVC)[len(prefixPartStats):]
	e.s.partStats[key] = PartitionStats{CommitTime: now.Add(-2 * time.Hour).UnixMilli(), SegmentIDs: []int64{a.ID}}
	e.s.ccfg.Clustering.NewDataSize = 4
	if !e.s.clusteringDue(tColl, tPart, tVC, segs, now) {
		t.Fatal("5 unclustered bytes over 4, two hours after the last: not due")
	}
	e.s.partStats[key] = PartitionStats{CommitTime: now.Add(-time.Minute).UnixMilli(), SegmentIDs: []int64{a.ID}}
	if e.s.clusteringDue(tColl, tPart, tVC, segs, now) {
		t.Fatal("due a minute after the last")
	}
	e.s.ccfg.Clustering.NewDataSize = 100
	e.s.partStats[key] = PartitionStats{CommitTime: now.Add(-100 * time.Hour).UnixMilli(), SegmentIDs: []int64{a.ID, b.ID}}
	if !e.s.clusteringDue(tColl, tPart, tVC, segs, now) {
		t.Fatal("not due past MaxInterval")
	}
}

// TestPartitionStatsDropped: dropping the collection forgets its
// partition statistics.
func TestPartitionStatsDropped(t *testing.T) {
	store := kv.NewMemory()
	s := newCoord(t, store, smallConfig())
	ps := PartitionStats{CollectionID: tColl, PartitionID: tPart, VChannel: tVC, SegmentIDs: []int64{1}}
	key := partStatsKey(tColl, tPart, tVC)
	b := must(json.Marshal(ps))
	must(store.Put(bg, key, b))
	s = newCoord(t, store, smallConfig())
	if len(s.PartitionStatistics(tColl)) != 1 {
		t.Fatal("partition stats not loaded")
	}
	mustDo(s.DropCollection(bg, &model.Collection{ID: tColl, VChannels: []string{tVC}}))
	if len(s.PartitionStatistics(tColl)) != 0 {
		t.Fatal("partition stats kept after the drop")
	}
	if _, err := store.Get(bg, key); err == nil {
		t.Fatal("partition stats record kept after the drop")
	}
}

// TestClusteredSegmentsRewrittenAlone: the mix compaction rewrites a
// clustered segment with deleted rows on its own (it stays clustered) and
// never merges small clustered segments.
func TestClusteredSegmentsRewrittenAlone(t *testing.T) {
	store := kv.NewMemory()
	cfg := smallConfig()
	cfg.MaxSegmentRows = 5
	e := newLifecycle(t)
	e.s = newCoord(t, store, cfg)
	e.s.objects = e.objs
	comp := clusterCompactor{e.comp}
	e.s.Attach(comp, clusterColls{key: true}, e.idx)
	e.flushed(t, 5, 10)
	e.flushed(t, 5, 20)
	id, _, err := e.s.ManualCompaction(bg, tColl, true)
	mustDo(err)
	e.wait(t, id)
	var clustered []model.Segment
	for _, seg := range must(e.s.Segments(bg, tColl, "")) {
		if seg.State == model.SegmentFlushed && seg.Clustered {
			clustered = append(clustered, seg) // 4, 4 and 2 rows: all small
		}
	}
	if len(clustered) != 3 {
		t.Fatalf("clustered %+v", clustered)
	}
	e.deltaLog(t)
	e.comp.deleted[clustered[0].ID] = 1
	id, plans, err := e.s.ManualCompaction(bg, tColl, false)
	if err != nil || plans != 1 {
		t.Fatalf("mix compaction: %d %d %v", id, plans, err)
	}
	job := e.wait(t, id)
	if p := job.Plans[0]; p.Failed || !slices.Equal(p.Sources, []int64{clustered[0].ID}) {
		t.Fatalf("plan %+v", p)
	}
	got, _ := must2(e.s.Segment(bg, job.Plans[0].Target))
	if !got.Clustered || got.NumRows != clustered[0].NumRows-1 {
		t.Fatalf("rewritten clustered segment %+v", got)
	}
}

type vectorKeyColls struct{}

func (vectorKeyColls) DescribeCollection(_ context.Context, _, _ string, id int64) (*model.Collection, error) {
	return &model.Collection{ID: id, Schema: &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, IsClusteringKey: true,
			TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "4"}}},
	}}}, nil
}

// flushedVectors creates a flushed segment of rows rows whose key (field
// 101, dim 4) binlog holds real vectors around centre.
func (e *lifecycleEnv) flushedVectors(t *testing.T, rows int64, pos uint64, centre float32) model.Segment {
	t.Helper()
	a := mustAssign(t, e.s, tColl, tPart, tVC, rows, rows, pos)
	must(e.s.SealChannel(bg, tColl, tVC, pos+1))
	pkPath := storage.InsertLogPath(tColl, tPart, a.SegmentID, 100, 1)
	mustDo(e.objs.Put(bg, pkPath, []byte("x")))
	vec := &column.FloatVector{Dim: 4}
	for i := range rows {
		vec.Data = append(vec.Data, centre+float32(i), centre, centre, centre)
	}
	b := must(storage.EncodeColumn(vec))
	vecPath := storage.InsertLogPath(tColl, tPart, a.SegmentID, 101, 2)
	mustDo(e.objs.Put(bg, vecPath, b))
	mustDo(e.s.SegmentFlushed(bg, contract.FlushResult{SegmentID: a.SegmentID, NumRows: rows,
		Binlogs: map[int64]string{100: pkPath, 101: vecPath}, FlushTS: pos + 1, SizeBytes: rows}))
	seg, _ := must2(e.s.Segment(bg, a.SegmentID))
	return seg
}

// analyzeRecorder is a clustering data node that also reads the plan's
// analysis result as the data node does: the centroids file must exist
// and decode when the compaction runs.
type analyzeRecorder struct {
	clusterCompactor
	files *[]int // centroids per compaction, read from the file
}

func (c analyzeRecorder) Compact(ctx context.Context, t contract.CompactionTask) (contract.CompactionResult, error) {
	if t.NumClusters > 0 {
		data, err := c.objs.Get(ctx, t.AnalyzeFile)
		if err != nil {
			return contract.CompactionResult{}, err
		}
		dim, cent, err := storage.DecodeCentroids(data)
		if err != nil {
			return contract.CompactionResult{}, err
		}
		// Each source's offset mapping file maps its every row (none for
		// a segment without key binlog).
		for _, seg := range t.Segments {
			path, ok := t.AnalyzeMappings[seg.ID]
			if !ok || (path == "") != (seg.Binlogs[101] == "") {
				return contract.CompactionResult{}, fmt.Errorf("segment %d: mapping %q in %v", seg.ID, path, t.AnalyzeMappings)
			}
			if path == "" {
				continue
			}
			data, err := c.objs.Get(ctx, path)
			if err != nil {
				return contract.CompactionResult{}, err
			}
			k, ids, err := storage.DecodeOffsetMapping(data)
			if err != nil || k != len(cent)/dim || int64(len(ids)) != seg.NumRows {
				return contract.CompactionResult{}, fmt.Errorf("segment %d: mapping of %d rows to %d centroids: %v", seg.ID, len(ids), k, err)
			}
		}
		c.mu.Lock()
		*c.files = append(*c.files, len(cent)/dim)
		c.mu.Unlock()
	}
	return c.clusterCompactor.Compact(ctx, t)
}

// TestVectorClusteringPlan: a FloatVector clustering key is clustered
// only with common.enableVectorClusteringKey; its plan runs an analyze
// task of Milvus's number of centroids (the vectors' bytes over
// maxSegmentSizeRatio of a segment, at most maxCentroidsNum) on an index
// node (indexcoord.Analyses, indexnode.Server), hands the data node its
// centroids file, and drops the task and the file once it is over; under
// minCentroidsNum the plan fails, as Milvus's compaction task does, with
// no analysis.
func TestVectorClusteringPlan(t *testing.T) {
	store := kv.NewMemory()
	cfg := smallConfig() // segments of 1000 bytes at most
	e := newLifecycle(t)
	e.s = newCoord(t, store, cfg)
	e.s.objects = e.objs
	var files []int
	comp := analyzeRecorder{clusterCompactor{e.comp}, &files}
	e.s.Attach(comp, vectorKeyColls{}, e.idx)
	ana := must(indexcoord.NewAnalyses(bg, indexcoord.AnalysesDeps{KV: store, Worker: indexnode.New(e.objs, nil)}))
	e.s.AttachAnalyses(ana)
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() { defer close(done); mustDo(ana.Run(ctx)) }()
	t.Cleanup(func() { cancel(); <-done })
	e.flushedVectors(t, 5, 10, 0)
	e.flushedVectors(t, 5, 20, 100)
	e.flushedVectors(t, 5, 30, 200)
	if id, plans, err := e.s.ManualCompaction(bg, tColl, true); id != -1 || plans != 0 || err != nil {
		t.Fatalf("vector key not enabled: %d %d %v", id, plans, err)
	}
	e.s.ccfg.Clustering.Key.EnableVectorKey = true
	// 15 rows x 16 bytes = 240 bytes over 1000: 1 centroid, under 16.
	id, _, err := e.s.ManualCompaction(bg, tColl, true)
	if err != nil {
		t.Fatal(err)
	}
	job := e.wait(t, id)
	if p := job.Plans[0]; !p.Failed || !strings.Contains(p.Reason, "vector field clustering compaction is not supported") {
		t.Fatalf("too little data: plan %+v", p)
	}
	if got := must(ana.ListAnalyses(bg)); len(got) != 0 {
		t.Fatalf("analyses of a plan under minCentroidsNum: %+v", got)
	}
	// 240 bytes over 0.05 x 1000: 5 centroids; capped at 4.
	e.s.ccfg.Clustering.MinCentroids, e.s.ccfg.Clustering.MaxSegmentSizeRatio = 2, 0.05
	for i, c := range []struct{ max, want int64 }{{10240, 5}, {4, 4}} {
		e.s.ccfg.Clustering.MaxCentroids = c.max
		id, _, err := e.s.ManualCompaction(bg, tColl, true)
		if err != nil {
			t.Fatal(err)
		}
		if p := e.wait(t, id).Plans[0]; p.Failed {
			t.Fatalf("plan %+v", p)
		}
		task := comp.tasks[len(comp.tasks)-1]
		if task.ClusteringField != 101 || task.NumClusters != c.want || task.MinClusterRatio != 0.01 ||
			task.AnalyzeFile != storage.AnalyzeFilePath(task.PlanID, storage.CentroidsFile) ||
			int64(len(task.TargetIDs)) < task.NumClusters || task.PreferRows < 1 {
			t.Fatalf("max %d: task %+v", c.max, task)
		}
		// The second plan clusters the first's outputs, which
		// clusterCompactor writes without vectors: no centroid.
		if want := []int{5, 0}[i]; len(files) != i+1 || files[i] != want {
			t.Fatalf("max %d: centroids read by the compactions %v", c.max, files)
		}
		// The plan is over: its analysis and its file are gone.
		if got := must(ana.ListAnalyses(bg)); len(got) != 0 {
			t.Fatalf("analyses after the plan: %+v", got)
		}
		if left := must(e.objs.List(bg, storage.AnalyzeFilePath(task.PlanID, ""))); len(left) != 0 {
			t.Fatalf("analysis files kept after the plan: %v", left)
		}
	}
}

// TestCollectAnalyses: garbage collection drops the analyze tasks no
// running plan owns, with their files, and analysis files of no task; a
// running plan's task and file stay.
func TestCollectAnalyses(t *testing.T) {
	e := newLifecycle(t)
	store := kv.NewMemory()
	ana := must(indexcoord.NewAnalyses(bg, indexcoord.AnalysesDeps{KV: store, Worker: indexnode.New(e.objs, nil)}))
	e.s.AttachAnalyses(ana)
	task := func(id int64) model.AnalyzeTask {
		return model.AnalyzeTask{ID: id, CollectionID: tColl, PartitionID: tPart, FieldID: 101, Dim: 4, NumClusters: 2,
			SegmentIDs: []int64{1}, Binlogs: []string{""}}
	}
	// Plan 7 is running (its task marked before created); task 8's plan
	// is gone; file 9 belongs to no task.
	e.s.mu.Lock()
	e.s.analyzing = map[int64]bool{7: true}
	e.s.mu.Unlock()
	mustDo(ana.CreateAnalysis(bg, task(7)))
	mustDo(ana.CreateAnalysis(bg, task(8)))
	for _, id := range []int64{7, 8, 9} {
		mustDo(e.objs.Put(bg, storage.AnalyzeFilePath(id, storage.CentroidsFile), storage.EncodeCentroids(4, nil)))
		mustDo(e.objs.Put(bg, storage.OffsetMappingPath(id, 1), storage.EncodeOffsetMapping(0, nil)))
	}
	mustDo(e.s.CollectGarbage(bg, time.Now()))
	got := must(ana.ListAnalyses(bg))
	if len(got) != 1 || got[0].ID != 7 {
		t.Fatalf("analyses after gc: %+v", got)
	}
	if len(must(e.objs.List(bg, storage.AnalyzeFilePath(7, "")))) != 2 {
		t.Fatal("running plan's files removed")
	}
	for _, id := range []int64{8, 9} {
		if left := must(e.objs.List(bg, storage.AnalyzeFilePath(id, ""))); len(left) != 0 {
			t.Fatalf("files of analysis %d kept: %v", id, left)
		}
	}
	// The task's record is gone from the meta store too.
	if _, err := store.Get(bg, "index/analyze/8"); err == nil {
		t.Fatal("record of analysis 8 kept")
	}
}

// TestVectorClusteringAnalysisFails: a plan whose analyze task fails
// (an input binlog is gone) fails with the task's reason, compacts
// nothing, and drops the task.
func TestVectorClusteringAnalysisFails(t *testing.T) {
	store := kv.NewMemory()
	e := newLifecycle(t)
	e.s = newCoord(t, store, smallConfig())
	e.s.objects = e.objs
	comp := clusterCompactor{e.comp}
	e.s.Attach(comp, vectorKeyColls{}, e.idx)
	ana := must(indexcoord.NewAnalyses(bg, indexcoord.AnalysesDeps{KV: store, Worker: indexnode.New(e.objs, nil)}))
	e.s.AttachAnalyses(ana)
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() { defer close(done); mustDo(ana.Run(ctx)) }()
	t.Cleanup(func() { cancel(); <-done })
	e.s.ccfg.Clustering.Key.EnableVectorKey = true
	e.s.ccfg.Clustering.MinCentroids, e.s.ccfg.Clustering.MaxSegmentSizeRatio = 2, 0.05
	a := e.flushedVectors(t, 5, 10, 0)
	e.flushedVectors(t, 5, 20, 100)
	mustDo(e.objs.Delete(bg, a.Binlogs[101]))
	id, _, err := e.s.ManualCompaction(bg, tColl, true)
	if err != nil {
		t.Fatal(err)
	}
	p := e.wait(t, id).Plans[0]
	// A missing input is permanent (Milvus's NoSuchKey): one attempt.
	if !p.Failed || !strings.Contains(p.Reason, "analyze task failed after 1 attempt(s)") || !strings.Contains(p.Reason, a.Binlogs[101]) {
		t.Fatalf("plan %+v", p)
	}
	if len(comp.tasks) != 0 {
		t.Fatalf("compacted without centroids: %+v", comp.tasks)
	}
	if got := must(ana.ListAnalyses(bg)); len(got) != 0 {
		t.Fatalf("analyses after the failed plan: %+v", got)
	}
	for _, seg := range must(e.s.Segments(bg, tColl, "")) {
		if seg.State != model.SegmentFlushed || seg.Clustered {
			t.Fatalf("segment after the failed plan: %+v", seg)
		}
	}
}

// flakyPuts fails the first n writes with an object store error.
type flakyPuts struct {
	objstore.Store
	mu sync.Mutex
	n  int
}

func (f *flakyPuts) Put(ctx context.Context, key string, data []byte) error {
	f.mu.Lock()
	fail := f.n > 0
	f.n--
	f.mu.Unlock()
	if fail {
		return errors.New("objstore: put: connection reset by peer")
	}
	return f.Store.Put(ctx, key, data)
}

// TestVectorClusteringAnalysisRetried: the index node's writes fail twice
// (an object store error: transient); the analyze task runs again and the
// plan compacts with its files, as if nothing had failed.
func TestVectorClusteringAnalysisRetried(t *testing.T) {
	store := kv.NewMemory()
	e := newLifecycle(t)
	e.s = newCoord(t, store, smallConfig())
	e.s.objects = e.objs
	var files []int
	comp := analyzeRecorder{clusterCompactor{e.comp}, &files}
	e.s.Attach(comp, vectorKeyColls{}, e.idx)
	ana := must(indexcoord.NewAnalyses(bg, indexcoord.AnalysesDeps{KV: store, Worker: indexnode.New(&flakyPuts{Store: e.objs, n: 2}, nil)}))
	e.s.AttachAnalyses(ana)
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() { defer close(done); mustDo(ana.Run(ctx)) }()
	t.Cleanup(func() { cancel(); <-done })
	e.s.ccfg.Clustering.Key.EnableVectorKey = true
	e.s.ccfg.Clustering.MinCentroids, e.s.ccfg.Clustering.MaxSegmentSizeRatio = 2, 0.05
	e.flushedVectors(t, 5, 10, 0)
	e.flushedVectors(t, 5, 20, 100)
	id, _, err := e.s.ManualCompaction(bg, tColl, true)
	if err != nil {
		t.Fatal(err)
	}
	if p := e.wait(t, id).Plans[0]; p.Failed {
		t.Fatalf("plan %+v", p)
	}
	if len(files) != 1 || files[0] == 0 || len(comp.tasks) != 1 || len(comp.tasks[0].AnalyzeMappings) != 2 {
		t.Fatalf("compactions %v %+v", files, comp.tasks)
	}
}
