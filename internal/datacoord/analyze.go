package datacoord

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/storage"
)

// A vector clustering plan's centroids come from an analyze task of the
// index coordinator (Milvus's analyze task, which its clustering
// compaction task waits for in its "analyzing" state): the plan creates
// the task (its ID is the plan's), waits for an index node to finish it,
// hands the centroids file to the data node's compaction, and drops the
// task and its file once the plan is over. Tasks and files no running
// plan owns (their plan's coordinator stopped first) are removed by
// garbage collection (collectAnalyses).

// analyzeTasks is the index coordinator's analyze tasks (indexcoord.Analyses,
// or its client).
type analyzeTasks interface {
	CreateAnalysis(ctx context.Context, t model.AnalyzeTask) error
	Analysis(ctx context.Context, id int64) (model.AnalyzeTask, bool, error)
	ListAnalyses(ctx context.Context) ([]model.AnalyzeTask, error)
	DropAnalyses(ctx context.Context, ids []int64) error
}

// AttachAnalyses gives the data coordinator the analyze tasks its vector
// clustering compactions run. Call it before Run.
func (s *Server) AttachAnalyses(a analyzeTasks) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.analyses = a
}

// analyzePoll bounds the wait between two looks at a running analyze task.
const analyzePoll = time.Second

// analyze runs the analyze task of vector clustering plan planID and
// returns it finished (its centroids and offset mapping files); the caller
// drops it (dropAnalysis). A task that fails for good fails the plan with
// its reason and the number of attempts; one the index coordinator
// retries (state Retry) is waited for.
func (s *Server) analyze(ctx context.Context, planID int64, p plan) (model.AnalyzeTask, error) {
	s.mu.Lock()
	a := s.analyses
	if a != nil {
		if s.analyzing == nil {
			s.analyzing = map[int64]bool{}
		}
		// Before the task exists, so that garbage collection never takes
		// it for abandoned.
		s.analyzing[planID] = true
	}
	s.mu.Unlock()
	if a == nil {
		return model.AnalyzeTask{}, fmt.Errorf("datacoord: clustering compaction plan %d: no index coordinator to analyze the key: %w", planID, errs.ErrServiceUnavailable)
	}
	t := model.AnalyzeTask{ID: planID, CollectionID: p.coll.ID, PartitionID: p.sources[0].PartitionID, FieldID: p.clusterBy,
		NumClusters: p.clusters, TrainRatio: s.ccfg.Clustering.MaxTrainSizeRatio}
	if f := p.coll.FieldByID(p.clusterBy); f != nil {
		t.Dim = int64(fieldDim(f))
	}
	for _, seg := range p.sources {
		t.SegmentIDs = append(t.SegmentIDs, seg.ID)
		t.Binlogs = append(t.Binlogs, seg.Binlogs[p.clusterBy])
	}
	if err := a.CreateAnalysis(ctx, t); err != nil {
		return model.AnalyzeTask{}, fmt.Errorf("datacoord: clustering compaction plan %d: create analyze task: %w", planID, err)
	}
	start := time.Now()
	var lastFailures int64
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, analyzePoll) {
		cur, ok, err := a.Analysis(ctx, planID)
		switch {
		case err != nil && !errs.IsRetriable(err) && !errors.Is(err, errs.ErrServiceUnavailable):
			return model.AnalyzeTask{}, fmt.Errorf("datacoord: clustering compaction plan %d: analyze task: %w", planID, err)
		case err != nil:
			s.logger.Warn("analyze task: state not readable, retrying", "plan", planID, "err", err)
		case !ok:
			return model.AnalyzeTask{}, fmt.Errorf("datacoord: clustering compaction plan %d: its analyze task was dropped", planID)
		case cur.State == commonpb.IndexState_Failed:
			return model.AnalyzeTask{}, fmt.Errorf("datacoord: clustering compaction plan %d: analyze task failed after %d attempt(s): %s",
				planID, cur.Attempts, cur.FailReason)
		case cur.State == commonpb.IndexState_Finished:
			if len(cur.MappingFiles) != len(cur.SegmentIDs) {
				return model.AnalyzeTask{}, fmt.Errorf("datacoord: clustering compaction plan %d: analyze task finished with %d offset mapping files for %d segments",
					planID, len(cur.MappingFiles), len(cur.SegmentIDs))
			}
			s.logger.Info("analyze task finished", "plan", planID, "rows", cur.NumRows, "centroids", cur.NumCentroids,
				"attempts", cur.Attempts, "failures", cur.Failures, "waited", time.Since(start))
			return cur, nil
		case cur.State == commonpb.IndexState_Retry && cur.Failures != lastFailures:
			lastFailures = cur.Failures
			s.logger.Warn("analyze task failed on its index node and is retried", "plan", planID, "failures", cur.Failures,
				"reason", cur.FailReason)
		}
		select {
		case <-ctx.Done():
			return model.AnalyzeTask{}, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// dropAnalysis drops a plan's analyze task and deletes its files once
// the plan is over. On failure garbage collection does it later.
func (s *Server) dropAnalysis(ctx context.Context, planID int64) {
	s.mu.Lock()
	a := s.analyses
	delete(s.analyzing, planID)
	s.mu.Unlock()
	if a == nil || ctx.Err() != nil {
		return
	}
	if err := s.dropAnalyses(ctx, a, []int64{planID}); err != nil {
		s.logger.Warn("drop analyze task; garbage collection retries", "plan", planID, "err", err)
	}
}

func (s *Server) dropAnalyses(ctx context.Context, a analyzeTasks, ids []int64) error {
	if err := a.DropAnalyses(ctx, ids); err != nil {
		return fmt.Errorf("datacoord: drop analyze tasks %v: %w", ids, err)
	}
	if s.objects == nil {
		return nil
	}
	for _, id := range ids {
		if err := s.objects.DeletePrefix(ctx, storage.AnalyzeFilePath(id, "")); err != nil {
			return fmt.Errorf("datacoord: delete the files of analyze task %d: %w", id, err)
		}
	}
	return nil
}

// collectAnalyses drops the analyze tasks no running plan owns (left by
// a plan whose coordinator stopped first: a resumed plan runs with a new
// ID and task) with their files, and deletes analysis files of no task
// (written by a task after it was dropped). Nothing reads them: a plan
// reads only the file of its own task, which it owns until it is over.
func (s *Server) collectAnalyses(ctx context.Context) error {
	s.mu.Lock()
	a := s.analyses
	s.mu.Unlock()
	if a == nil || s.objects == nil {
		return nil
	}
	tasks, err := a.ListAnalyses(ctx)
	if err != nil {
		return fmt.Errorf("datacoord: gc: list analyze tasks: %w", err)
	}
	files, err := s.objects.List(ctx, storage.AnalyzeFilePrefix+"/")
	if err != nil {
		return fmt.Errorf("datacoord: gc: list %s: %w", storage.AnalyzeFilePrefix, err)
	}
	// Read after the listings: a task listed was marked before it was
	// created.
	s.mu.Lock()
	var abandoned []int64
	kept := map[int64]bool{}
	for _, t := range tasks {
		if s.analyzing[t.ID] {
			kept[t.ID] = true
		} else {
			abandoned = append(abandoned, t.ID)
		}
	}
	for id := range s.analyzing {
		kept[id] = true
	}
	s.mu.Unlock()
	if len(abandoned) > 0 {
		if err := s.dropAnalyses(ctx, a, abandoned); err != nil {
			return fmt.Errorf("datacoord: gc: %w", err)
		}
		s.logger.Info("garbage collected abandoned analyze tasks", "tasks", abandoned)
	}
	for _, o := range files {
		rest := strings.TrimPrefix(o.Key, storage.AnalyzeFilePrefix+"/")
		id, err := strconv.ParseInt(strings.SplitN(rest, "/", 2)[0], 10, 64)
		if err != nil || kept[id] {
			continue
		}
		if err := s.objects.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("datacoord: gc: delete analysis file %s: %w", o.Key, err)
		}
	}
	return nil
}
