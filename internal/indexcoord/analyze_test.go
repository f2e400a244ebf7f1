package indexcoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/indexnode"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

const anaDim = 8

// putVectors writes a key binlog of n rows of anaDim values around centre.
func putVectors(t *testing.T, objs objstore.Store, path string, n int, centre float32) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(n), uint64(centre)))
	v := &column.FloatVector{Dim: anaDim}
	for range n * anaDim {
		v.Data = append(v.Data, centre+r.Float32())
	}
	b, err := storage.EncodeColumn(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := objs.Put(context.Background(), path, b); err != nil {
		t.Fatal(err)
	}
}

func analyzeTask(id int64, binlogs ...string) model.AnalyzeTask {
	t := model.AnalyzeTask{ID: id, CollectionID: 1, PartitionID: 2, FieldID: 101, Dim: anaDim, NumClusters: 2, TrainRatio: 0.8,
		Binlogs: binlogs}
	for i := range binlogs {
		t.SegmentIDs = append(t.SegmentIDs, int64(10+i))
	}
	return t
}

// runAnalyses runs a until the test ends.
func runAnalyses(t *testing.T, a *Analyses) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return cancel
}

// waitAnalysis waits for task id to reach a final state.
func waitAnalysis(t *testing.T, a *Analyses, id int64) model.AnalyzeTask {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		got, ok, err := a.Analysis(context.Background(), id)
		if err != nil || !ok {
			t.Fatalf("analysis %d: %v %v", id, ok, err)
		}
		if analysisDone(got.State) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("analysis %d not done", id)
	return model.AnalyzeTask{}
}

// TestAnalysesLifecycle: a task is recorded Unissued, runs on the index
// node (InProgress, one attempt) and is recorded Finished with its
// centroids file; creating it again changes nothing; a task whose input
// is missing fails with the reason; invalid tasks are refused; dropping
// forgets a task in the meta store.
func TestAnalysesLifecycle(t *testing.T) {
	ctx := context.Background()
	store, objs := kv.NewMemory(), objstore.NewMemory()
	putVectors(t, objs, "insert_log/1/2/10/101/1", 300, 0)
	putVectors(t, objs, "insert_log/1/2/11/101/1", 300, 50)
	a, err := NewAnalyses(ctx, AnalysesDeps{KV: store, Worker: indexnode.New(objs, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CreateAnalysis(ctx, model.AnalyzeTask{ID: 5, Dim: anaDim}); !errors.Is(err, errs.ErrParameterInvalid) {
		t.Fatalf("task without centroids: %v", err)
	}
	if err := a.CreateAnalysis(ctx, analyzeTask(7, "insert_log/1/2/10/101/1", "", "insert_log/1/2/11/101/1")); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := a.Analysis(ctx, 7); !ok || got.State != commonpb.IndexState_Unissued || got.Attempts != 0 {
		t.Fatalf("before run: %+v %v", got, ok)
	}
	runAnalyses(t, a)
	got := waitAnalysis(t, a, 7)
	if got.State != commonpb.IndexState_Finished || got.Attempts != 1 || got.NumCentroids != 2 || got.NumRows != 600 ||
		got.CentroidsFile != storage.AnalyzeFilePath(7, storage.CentroidsFile) {
		t.Fatalf("finished: %+v", got)
	}
	if _, err := objs.Get(ctx, got.CentroidsFile); err != nil {
		t.Fatalf("centroids file: %v", err)
	}
	// One offset mapping file per segment with a key binlog.
	if want := []string{storage.OffsetMappingPath(7, 10), "", storage.OffsetMappingPath(7, 12)}; !slices.Equal(got.MappingFiles, want) {
		t.Fatalf("mapping files %v, want %v", got.MappingFiles, want)
	}
	// The record in the meta store says the same.
	b := analyzeTask(7, "x")
	if err := a.CreateAnalysis(ctx, b); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := a.Analysis(ctx, 7); again.State != commonpb.IndexState_Finished || len(again.Binlogs) != 3 {
		t.Fatalf("created again: %+v", again)
	}
	reloaded, err := NewAnalyses(ctx, AnalysesDeps{KV: store, Worker: indexnode.New(objs, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok, _ := reloaded.Analysis(ctx, 7); !ok || r.State != commonpb.IndexState_Finished || r.CentroidsFile != got.CentroidsFile {
		t.Fatalf("reloaded: %+v", r)
	}
	// A missing binlog fails the task, with the reason.
	if err := a.CreateAnalysis(ctx, analyzeTask(8, "insert_log/1/2/12/101/1")); err != nil {
		t.Fatal(err)
	}
	// A missing binlog fails the task for good (Milvus's NoSuchKey), with
	// the reason, at once.
	if f := waitAnalysis(t, a, 8); f.State != commonpb.IndexState_Failed || f.FailReason == "" || f.Attempts != 1 || f.Failures != 1 {
		t.Fatalf("missing input: %+v", f)
	}
	if err := a.DropAnalyses(ctx, []int64{7, 8, 99}); err != nil {
		t.Fatal(err)
	}
	if list, _ := a.ListAnalyses(ctx); len(list) != 0 {
		t.Fatalf("after drop: %+v", list)
	}
	if left, _ := store.List(ctx, prefixAnalyze); len(left) != 0 {
		t.Fatalf("records after drop: %v", left)
	}
}

// gatedAnalyzer is a real index node whose analyze tasks wait for their
// context to end (a coordinator stopping, a task dropped).
type gatedAnalyzer struct {
	*indexnode.Server
	started chan int64
}

func (g gatedAnalyzer) Analyze(ctx context.Context, t contract.AnalyzeTask) (contract.AnalyzeResult, error) {
	g.started <- t.TaskID
	<-ctx.Done()
	return contract.AnalyzeResult{}, ctx.Err()
}

// TestAnalysesRestartAndDrop: a task running when the coordinator stops
// is queued again by the next one and finishes there (a second attempt);
// dropping a running task stops it and it is never written back.
func TestAnalysesRestartAndDrop(t *testing.T) {
	ctx := context.Background()
	store, objs := kv.NewMemory(), objstore.NewMemory()
	putVectors(t, objs, "insert_log/1/2/10/101/1", 100, 0)
	gated := gatedAnalyzer{indexnode.New(objs, nil), make(chan int64, 1)}
	a, err := NewAnalyses(ctx, AnalysesDeps{KV: store, Worker: gated})
	if err != nil {
		t.Fatal(err)
	}
	stop := runAnalyses(t, a)
	if err := a.CreateAnalysis(ctx, analyzeTask(7, "insert_log/1/2/10/101/1")); err != nil {
		t.Fatal(err)
	}
	<-gated.started
	if got, _, _ := a.Analysis(ctx, 7); got.State != commonpb.IndexState_InProgress || got.Attempts != 1 {
		t.Fatalf("running: %+v", got)
	}
	stop()
	next, err := NewAnalyses(ctx, AnalysesDeps{KV: store, Worker: indexnode.New(objs, nil)})
	if err != nil {
		t.Fatal(err)
	}
	runAnalyses(t, next)
	if got := waitAnalysis(t, next, 7); got.State != commonpb.IndexState_Finished || got.Attempts != 2 {
		t.Fatalf("after restart: %+v", got)
	}

	// Dropped while running: stopped, not written back.
	gated2 := gatedAnalyzer{indexnode.New(objs, nil), make(chan int64, 1)}
	b, err := NewAnalyses(ctx, AnalysesDeps{KV: kv.NewMemory(), Worker: gated2})
	if err != nil {
		t.Fatal(err)
	}
	runAnalyses(t, b)
	if err := b.CreateAnalysis(ctx, analyzeTask(9, "insert_log/1/2/10/101/1")); err != nil {
		t.Fatal(err)
	}
	<-gated2.started
	if err := b.DropAnalyses(ctx, []int64{9}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		running := len(b.cancel)
		b.mu.Unlock()
		if running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dropped task still running")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, ok, _ := b.Analysis(ctx, 9); ok {
		t.Fatal("dropped task written back")
	}
	if left, _ := b.d.KV.List(ctx, prefixAnalyze); len(left) != 0 {
		t.Fatalf("dropped task's record: %v", left)
	}
}

// twoIndexNodes is two real index nodes behind one dispatcher, as the
// cluster's index node pool: the first takes the task and dies during it,
// and its call fails as a remote call to a lost node does
// (ErrServiceUnavailable); later calls go to the second, live one.
type twoIndexNodes struct {
	first, second *indexnode.Server
	started, kill chan struct{}

	mu    sync.Mutex
	dead  bool
	calls []string
}

func (n *twoIndexNodes) Analyze(ctx context.Context, t contract.AnalyzeTask) (contract.AnalyzeResult, error) {
	n.mu.Lock()
	dead := n.dead
	if dead {
		n.calls = append(n.calls, "second")
	} else {
		n.calls = append(n.calls, "first")
	}
	n.mu.Unlock()
	if dead {
		return n.second.Analyze(ctx, t)
	}
	close(n.started)
	<-n.kill
	n.mu.Lock()
	n.dead = true
	n.mu.Unlock()
	return contract.AnalyzeResult{}, fmt.Errorf("indexnode: %w: connection reset by peer", errs.ErrServiceUnavailable)
}

// TestAnalysesNodeDies: the index node running a task dies; the task is
// not failed but dispatched again, to the live node, and finishes there
// with the same centroids an undisturbed run writes (two attempts).
func TestAnalysesNodeDies(t *testing.T) {
	ctx := context.Background()
	store, objs := kv.NewMemory(), objstore.NewMemory()
	putVectors(t, objs, "insert_log/1/2/10/101/1", 500, 0)
	putVectors(t, objs, "insert_log/1/2/11/101/1", 500, 30)
	nodes := &twoIndexNodes{first: indexnode.New(objs, nil), second: indexnode.New(objs, nil),
		started: make(chan struct{}), kill: make(chan struct{})}
	a, err := NewAnalyses(ctx, AnalysesDeps{KV: store, Worker: nodes, Slots: func() int { return 2 }})
	if err != nil {
		t.Fatal(err)
	}
	runAnalyses(t, a)
	task := analyzeTask(7, "insert_log/1/2/10/101/1", "insert_log/1/2/11/101/1")
	if err := a.CreateAnalysis(ctx, task); err != nil {
		t.Fatal(err)
	}
	<-nodes.started
	close(nodes.kill)
	got := waitAnalysis(t, a, 7)
	nodes.mu.Lock()
	calls := fmt.Sprint(nodes.calls)
	nodes.mu.Unlock()
	if got.State != commonpb.IndexState_Finished || got.Attempts != 2 || calls != "[first second]" {
		t.Fatalf("after the node died: %+v, calls %s", got, calls)
	}
	moved, err := objs.Get(ctx, got.CentroidsFile)
	if err != nil {
		t.Fatal(err)
	}
	// The same task on an undisturbed node writes the same file.
	if _, err := indexnode.New(objs, nil).Analyze(ctx, contract.AnalyzeTask{TaskID: 8, FieldID: 101, Dim: anaDim,
		SegmentIDs: task.SegmentIDs, BinlogPaths: task.Binlogs, NumClusters: 2, TrainRatio: 0.8, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	direct, _ := objs.Get(ctx, storage.AnalyzeFilePath(8, storage.CentroidsFile))
	if string(direct) != string(moved) {
		t.Fatal("the retried analysis wrote other centroids")
	}
}

// flakyStore fails the first failPuts writes (all of them when negative)
// with an object store error, as a store that is briefly unreachable.
type flakyStore struct {
	objstore.Store
	failPuts int64
	puts     atomic.Int64
}

var errStoreDown = errors.New("objstore: put: connection reset by peer")

func (f *flakyStore) Put(ctx context.Context, key string, data []byte) error {
	if n := f.puts.Add(1); f.failPuts < 0 || n <= f.failPuts {
		return errStoreDown
	}
	return f.Store.Put(ctx, key, data)
}

// TestAnalysesRetryTransient: a run that fails on its index node with an
// object store error (Milvus's JobStateRetry) is recorded Retry, its
// reason and the failure in the meta store, and run again after a wait;
// the third run finishes the task with the files an undisturbed run
// writes. A task whose runs keep failing fails for good after
// AnalyzeMaxFailures, with the count and the last reason.
func TestAnalysesRetryTransient(t *testing.T) {
	ctx := context.Background()
	store, objs := kv.NewMemory(), objstore.NewMemory()
	putVectors(t, objs, "insert_log/1/2/10/101/1", 300, 0)
	putVectors(t, objs, "insert_log/1/2/11/101/1", 300, 50)
	flaky := &flakyStore{Store: objs, failPuts: 2}
	a, err := NewAnalyses(ctx, AnalysesDeps{KV: store, Worker: indexnode.New(flaky, nil)})
	if err != nil {
		t.Fatal(err)
	}
	runAnalyses(t, a)
	task := analyzeTask(7, "insert_log/1/2/10/101/1", "insert_log/1/2/11/101/1")
	if err := a.CreateAnalysis(ctx, task); err != nil {
		t.Fatal(err)
	}
	// The Retry state is in the meta store while the task waits.
	var retried model.AnalyzeTask
	deadline := time.Now().Add(10 * time.Second)
	for retried.State != commonpb.IndexState_Retry && time.Now().Before(deadline) {
		if e, err := store.Get(ctx, analyzeKey(7)); err == nil {
			_ = json.Unmarshal(e.Value, &retried)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if retried.State != commonpb.IndexState_Retry || retried.Failures < 1 || !strings.Contains(retried.FailReason, errStoreDown.Error()) {
		t.Fatalf("while retrying: %+v", retried)
	}
	got := waitAnalysis(t, a, 7)
	if got.State != commonpb.IndexState_Finished || got.Attempts != 3 || got.Failures != 2 || len(got.MappingFiles) != 2 ||
		!strings.Contains(got.FailReason, errStoreDown.Error()) {
		t.Fatalf("after two transient failures: %+v", got)
	}
	retriedFile, _ := objs.Get(ctx, got.CentroidsFile)
	if _, err := indexnode.New(objs, nil).Analyze(ctx, contract.AnalyzeTask{TaskID: 8, FieldID: 101, Dim: anaDim,
		SegmentIDs: task.SegmentIDs, BinlogPaths: task.Binlogs, NumClusters: 2, TrainRatio: 0.8, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if direct, _ := objs.Get(ctx, storage.AnalyzeFilePath(8, storage.CentroidsFile)); string(direct) != string(retriedFile) {
		t.Fatal("the retried analysis wrote other centroids")
	}

	// Always failing: Failed after AnalyzeMaxFailures runs.
	down := &flakyStore{Store: objs, failPuts: -1}
	b, err := NewAnalyses(ctx, AnalysesDeps{KV: kv.NewMemory(), Worker: indexnode.New(down, nil)})
	if err != nil {
		t.Fatal(err)
	}
	runAnalyses(t, b)
	if err := b.CreateAnalysis(ctx, analyzeTask(9, "insert_log/1/2/10/101/1")); err != nil {
		t.Fatal(err)
	}
	f := waitAnalysis(t, b, 9)
	if f.State != commonpb.IndexState_Failed || f.Attempts != AnalyzeMaxFailures || f.Failures != AnalyzeMaxFailures ||
		!strings.Contains(f.FailReason, fmt.Sprintf("%d transient failures", AnalyzeMaxFailures)) ||
		!strings.Contains(f.FailReason, errStoreDown.Error()) {
		t.Fatalf("always failing: %+v", f)
	}
	if n := down.puts.Load(); n != AnalyzeMaxFailures {
		t.Fatalf("%d runs wrote, want %d", n, AnalyzeMaxFailures)
	}
}

// TestAnalysesPermanentFailure: bad input (a binlog of another dimension:
// Milvus's unsupported) fails the task on its first run, not retried.
func TestAnalysesPermanentFailure(t *testing.T) {
	ctx := context.Background()
	store, objs := kv.NewMemory(), objstore.NewMemory()
	putVectors(t, objs, "insert_log/1/2/10/101/1", 300, 0)
	a, err := NewAnalyses(ctx, AnalysesDeps{KV: store, Worker: indexnode.New(objs, nil)})
	if err != nil {
		t.Fatal(err)
	}
	runAnalyses(t, a)
	task := analyzeTask(7, "insert_log/1/2/10/101/1")
	task.Dim = 4
	if err := a.CreateAnalysis(ctx, task); err != nil {
		t.Fatal(err)
	}
	f := waitAnalysis(t, a, 7)
	if f.State != commonpb.IndexState_Failed || f.Attempts != 1 || f.Failures != 1 || !strings.Contains(f.FailReason, "not FloatVector of dimension 4") {
		t.Fatalf("bad input: %+v", f)
	}
}
