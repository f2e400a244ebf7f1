package indexcoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// Analyze tasks (Milvus's analyze meta and analyze task): k-means over a
// FloatVector field of a partition's segments, run on an index node, whose
// centroids file a vector clustering compaction reads. The data
// coordinator creates a task for each such compaction plan, waits for it
// to finish and drops it with the plan; a task's record is in the meta
// store under prefixAnalyze until then, so that a task survives a restart
// of the index coordinator (it is queued again) and its state can be read
// at any time. A task whose index node dies is dispatched again to a live
// one, as builds are.

// analyzer runs analyze tasks: an index node, or the pool of them.
type analyzer interface {
	Analyze(ctx context.Context, t contract.AnalyzeTask) (contract.AnalyzeResult, error)
}

// AnalysesDeps are the analyze tasks' collaborators.
type AnalysesDeps struct {
	KV     kv.Store
	Worker analyzer
	// Slots is how many tasks may run at once (one per live index node
	// in a cluster); nil: one at a time.
	Slots  func() int
	Logger *slog.Logger
}

// Analyses schedules analyze tasks on index nodes.
type Analyses struct {
	d      AnalysesDeps
	logger *slog.Logger
	queue  chan int64

	// saveMu orders the writes of task records (a task finishing against
	// its drop): a dropped task is never written back.
	saveMu sync.Mutex
	mu     sync.Mutex // guards tasks, cancel
	tasks  map[int64]*model.AnalyzeTask
	cancel map[int64]context.CancelFunc // the tasks running now
}

const prefixAnalyze = "index/analyze/"

func analyzeKey(id int64) string { return prefixAnalyze + strconv.FormatInt(id, 10) }

// analyzeRetryMax bounds the wait before an analyze task whose index node was
// unreachable, or whose run failed transiently, is dispatched again.
const analyzeRetryMax = 5 * time.Second

// AnalyzeMaxFailures is how many transient failures of its runs an analyze
// task survives: the next one fails it for good. (Milvus resets a task
// whose worker reports JobStateRetry to Init without a bound; a bound
// lets the waiting clustering plan end with the reason.)
const AnalyzeMaxFailures = 5

// permanentAnalyzeFailure reports whether a failed run cannot succeed if
// run again, Milvus's index node's getStateFromError: a missing input
// (ErrIoKeyNotFound: NoSuchKey) or an unsupported or invalid one
// (ErrParameterInvalid, ErrOperationNotSupported: its SegcoreUnsupported)
// fails the task; anything else (an object store error, a context cut on
// the node, an internal error) is JobStateRetry.
func permanentAnalyzeFailure(err error) bool {
	return errors.Is(err, errs.ErrIoKeyNotFound) || errors.Is(err, errs.ErrParameterInvalid) ||
		errors.Is(err, errs.ErrOperationNotSupported) || errors.Is(err, errs.ErrIndexNotSupported)
}

// NewAnalyses loads the analyze tasks and queues those not finished.
func NewAnalyses(ctx context.Context, d AnalysesDeps) (*Analyses, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Analyses{d: d, logger: d.Logger.With("component", "indexcoord", "work", "analyze"), queue: make(chan int64, 1<<12),
		tasks: map[int64]*model.AnalyzeTask{}, cancel: map[int64]context.CancelFunc{}}
	entries, err := d.KV.List(ctx, prefixAnalyze)
	if err != nil {
		return nil, fmt.Errorf("indexcoord: load analyze tasks: %w", err)
	}
	for _, e := range entries {
		var t model.AnalyzeTask
		if err := json.Unmarshal(e.Value, &t); err != nil {
			return nil, fmt.Errorf("indexcoord: decode %s: %w", e.Key, err)
		}
		a.tasks[t.ID] = &t
		if !analysisDone(t.State) {
			a.enqueue(t.ID)
		}
	}
	return a, nil
}

// analysisDone reports whether a task in state s is over.
func analysisDone(s commonpb.IndexState) bool {
	return s == commonpb.IndexState_Finished || s == commonpb.IndexState_Failed
}

func (a *Analyses) enqueue(id int64) {
	select {
	case a.queue <- id:
	default:
		a.logger.Warn("analyze queue full; the task runs after a restart", "task", id)
	}
}

// CreateAnalysis records an analyze task and queues it. Creating a task
// that exists is a no-op (the creator, after a restart, asks again).
func (a *Analyses) CreateAnalysis(ctx context.Context, t model.AnalyzeTask) error {
	if t.ID <= 0 || t.Dim <= 0 || t.NumClusters <= 0 || len(t.Binlogs) != len(t.SegmentIDs) {
		return fmt.Errorf("indexcoord: analyze task %d: id, dimension %d, %d centroids, %d binlogs for %d segments: %w",
			t.ID, t.Dim, t.NumClusters, len(t.Binlogs), len(t.SegmentIDs), errs.ErrParameterInvalid)
	}
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	a.mu.Lock()
	_, exists := a.tasks[t.ID]
	a.mu.Unlock()
	if exists {
		return nil
	}
	t.State, t.FailReason, t.Attempts, t.Failures, t.CentroidsFile, t.MappingFiles, t.NumCentroids, t.NumRows =
		commonpb.IndexState_Unissued, "", 0, 0, "", nil, 0, 0
	t.SegmentIDs, t.Binlogs = slices.Clone(t.SegmentIDs), slices.Clone(t.Binlogs)
	if err := a.putLocked(ctx, &t); err != nil {
		return err
	}
	a.mu.Lock()
	a.tasks[t.ID] = &t
	a.mu.Unlock()
	a.logger.Info("analyze task created", "task", t.ID, "collection", t.CollectionID, "partition", t.PartitionID,
		"field", t.FieldID, "segments", len(t.SegmentIDs), "centroids", t.NumClusters)
	a.enqueue(t.ID)
	return nil
}

// putLocked writes t's record; saveMu is held.
func (a *Analyses) putLocked(ctx context.Context, t *model.AnalyzeTask) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("indexcoord: encode analyze task %d: %w", t.ID, err)
	}
	if _, err := a.d.KV.Put(ctx, analyzeKey(t.ID), b); err != nil {
		return fmt.Errorf("indexcoord: save analyze task %d: %w", t.ID, err)
	}
	return nil
}

// update applies change to task id's record and saves it, unless the
// task was dropped meanwhile (false).
func (a *Analyses) update(ctx context.Context, id int64, change func(t *model.AnalyzeTask)) (model.AnalyzeTask, bool, error) {
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	a.mu.Lock()
	cur, ok := a.tasks[id]
	var next model.AnalyzeTask
	if ok {
		next = *cur
	}
	a.mu.Unlock()
	if !ok {
		return model.AnalyzeTask{}, false, nil
	}
	change(&next)
	if err := a.putLocked(ctx, &next); err != nil {
		return model.AnalyzeTask{}, false, err
	}
	a.mu.Lock()
	a.tasks[id] = &next
	a.mu.Unlock()
	return next, true, nil
}

// Analysis returns an analyze task and its state (false when unknown).
func (a *Analyses) Analysis(ctx context.Context, id int64) (model.AnalyzeTask, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tasks[id]
	if !ok {
		return model.AnalyzeTask{}, false, nil
	}
	return *t, true, nil
}

// ListAnalyses returns every analyze task, by ID.
func (a *Analyses) ListAnalyses(ctx context.Context) ([]model.AnalyzeTask, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]model.AnalyzeTask, 0, len(a.tasks))
	for _, t := range a.tasks {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// DropAnalyses forgets analyze tasks (finished with, or abandoned by,
// their compaction) and stops those running; the caller deletes their
// files (storage.AnalyzeFilePath). Unknown IDs are ignored.
func (a *Analyses) DropAnalyses(ctx context.Context, ids []int64) error {
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	var ops []kv.Op
	a.mu.Lock()
	for _, id := range ids {
		if _, ok := a.tasks[id]; ok {
			ops = append(ops, kv.Op{Key: analyzeKey(id), Delete: true})
		}
	}
	a.mu.Unlock()
	if len(ops) == 0 {
		return nil
	}
	if _, err := a.d.KV.Txn(ctx, nil, ops); err != nil {
		return fmt.Errorf("indexcoord: drop analyze tasks: %w", err)
	}
	a.mu.Lock()
	for _, id := range ids {
		delete(a.tasks, id)
		if cancel, ok := a.cancel[id]; ok {
			cancel()
		}
	}
	a.mu.Unlock()
	a.logger.Info("analyze tasks dropped", "tasks", ids)
	return nil
}

// Run executes queued analyze tasks until ctx ends, as many at once as
// Deps.Slots says (one without it).
func (a *Analyses) Run(ctx context.Context) error {
	dispatch(ctx, a.queue, a.d.Slots, a.run)
	return nil
}

// run executes one task: recorded InProgress (one more attempt), sent to
// an index node, and recorded Finished with its centroids and offset
// mapping files, or Failed. An unreachable index node (none live, or the
// one running it died) is not a failure: the task is sent again, to a
// live node, after a wait. A run that fails transiently (an object store
// error, a context cut on the node: Milvus's JobStateRetry) is recorded
// Retry with its reason, one more failure, and sent again after a wait
// (0.2 s doubling to 5 s), up to AnalyzeMaxFailures; a permanent failure
// (permanentAnalyzeFailure), or one failure too many, is Failed.
func (a *Analyses) run(ctx context.Context, id int64) {
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	t, ok := a.tasks[id]
	if !ok || analysisDone(t.State) {
		a.mu.Unlock()
		return // dropped, or finished before a restart re-queued it
	}
	a.cancel[id] = cancel
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.cancel, id)
		a.mu.Unlock()
	}()
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, analyzeRetryMax) {
		cur, ok, err := a.update(tctx, id, func(t *model.AnalyzeTask) {
			t.State = commonpb.IndexState_InProgress
			t.Attempts++
		})
		if err != nil || !ok {
			if err != nil && tctx.Err() == nil {
				// The task stays queued in the meta store; it runs again
				// after a restart.
				a.logger.Error("analyze task: record start", "task", id, "err", err)
			}
			return
		}
		res, err := a.d.Worker.Analyze(tctx, contract.AnalyzeTask{TaskID: cur.ID, FieldID: cur.FieldID, Dim: int(cur.Dim),
			SegmentIDs: cur.SegmentIDs, BinlogPaths: cur.Binlogs, NumClusters: int(cur.NumClusters), TrainRatio: cur.TrainRatio,
			Seed: uint64(cur.ID)})
		if tctx.Err() != nil {
			return // stopping, or dropped
		}
		if err == nil && len(res.MappingFiles) != len(cur.SegmentIDs) {
			err = fmt.Errorf("index node returned %d offset mapping files for %d segments", len(res.MappingFiles), len(cur.SegmentIDs))
		}
		retry := false
		switch {
		case err == nil:
		case errors.Is(err, errs.ErrServiceUnavailable):
			a.logger.Warn("analyze task: no index node reachable, retrying", "task", id, "attempt", cur.Attempts, "in", wait, "err", err)
			select {
			case <-tctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		case !permanentAnalyzeFailure(err) && cur.Failures+1 < AnalyzeMaxFailures:
			retry = true
		}
		fin, _, serr := a.update(ctx, id, func(t *model.AnalyzeTask) {
			switch {
			case retry:
				t.State, t.FailReason = commonpb.IndexState_Retry, err.Error()
				t.Failures++
			case err != nil:
				t.State = commonpb.IndexState_Failed
				t.Failures++
				if permanentAnalyzeFailure(err) {
					t.FailReason = err.Error()
				} else {
					t.FailReason = fmt.Sprintf("%d transient failures, the last: %v", t.Failures, err)
				}
			default:
				t.State, t.CentroidsFile, t.MappingFiles, t.NumCentroids, t.NumRows = commonpb.IndexState_Finished, res.CentroidsFile,
					res.MappingFiles, res.NumCentroids, res.NumRows
			}
		})
		switch {
		case serr != nil:
			a.logger.Error("analyze task: record result", "task", id, "err", serr)
		case retry:
			a.logger.Warn("analyze task failed on its index node, retrying", "task", id, "attempt", fin.Attempts,
				"failures", fin.Failures, "in", wait, "err", err)
			select {
			case <-tctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		case err != nil:
			a.logger.Error("analyze task failed", "task", id, "attempts", fin.Attempts, "failures", fin.Failures, "err", err)
		default:
			a.logger.Info("analyze task finished", "task", id, "rows", res.NumRows, "centroids", res.NumCentroids,
				"attempts", fin.Attempts, "failures", fin.Failures, "took", res.Took)
		}
		return
	}
}
