package datacoord

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// Compaction jobs are kept in the meta store, so that GetCompactionState
// keeps answering for them after a restart or a failover of the data
// coordinator, and a plan the old coordinator was running is settled:
// committed (its output segment is in the meta), or run again (resumed)
// once the new coordinator runs, when its sources are all still flushed.
// Whatever the first run had written is unreferenced and goes to garbage
// collection; the second run writes new segment IDs.
const prefixJob = "data/compaction/"

// errAborted is the reason of a plan whose coordinator stopped first and
// that could not be run again.
const errAborted = "compaction aborted: the data coordinator restarted before the plan committed"

type jobRecord struct {
	ID           int64        `json:"id"`
	CollectionID int64        `json:"collectionID"`
	Started      time.Time    `json:"started"`
	Plans        []planRecord `json:"plans"`
}

type planRecord struct {
	Sources []int64 `json:"sources"`
	Target  int64   `json:"target,omitempty"`
	Done    bool    `json:"done,omitempty"`
	Failed  bool    `json:"failed,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	// Targets are the segment IDs the plan writes, recorded before it
	// starts writing them.
	Targets []int64 `json:"targets,omitempty"`
	// ClusterBy and PreferRows are a clustering plan's key field and
	// output size, to run it again after a restart.
	ClusterBy  int64 `json:"clusterBy,omitempty"`
	PreferRows int64 `json:"preferRows,omitempty"`
	// NumClusters is a vector clustering plan's number of centroids.
	NumClusters int64 `json:"numClusters,omitempty"`
}

// planMeta is what a job's record keeps of a plan beyond
// contract.CompactionPlan.
type planMeta struct {
	targets                         []int64
	clusterBy, preferRows, clusters int64
	// resume: the plan was running when the previous coordinator stopped
	// and is to be run again (resumeJobs).
	resume bool
}

func jobKey(id int64) string { return prefixJob + strconv.FormatInt(id, 10) }

// saveJobLocked writes a job's record.
func (s *Server) saveJobLocked(ctx context.Context, job *contract.CompactionJob) error {
	rec := jobRecord{ID: job.ID, CollectionID: job.CollectionID, Started: job.Started}
	metas := s.jobPlans[job.ID]
	for i, p := range job.Plans {
		pr := planRecord{Sources: p.Sources, Target: p.Target, Done: p.Done, Failed: p.Failed, Reason: p.Reason}
		if i < len(metas) {
			pr.Targets, pr.ClusterBy, pr.PreferRows = metas[i].targets, metas[i].clusterBy, metas[i].preferRows
			pr.NumClusters = metas[i].clusters
		}
		rec.Plans = append(rec.Plans, pr)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("datacoord: encode compaction job %d: %w", job.ID, err)
	}
	if _, err := s.kv.Put(ctx, jobKey(job.ID), b); err != nil {
		return fmt.Errorf("datacoord: save compaction job %d: %w", job.ID, err)
	}
	return nil
}

// loadJobs reads the compaction jobs at start-up and settles the plans
// that were running: a plan whose output segment (or, when it kept no
// row, the drop of its sources) was committed is done; one whose sources
// are all still flushed is kept running, its sources marked compacting,
// and resumeJobs runs it again; any other is aborted. Call it after the
// segments are loaded.
func (s *Server) loadJobs(ctx context.Context) error {
	entries, err := s.kv.List(ctx, prefixJob)
	if err != nil {
		return fmt.Errorf("datacoord: load compaction jobs: %w", err)
	}
	for _, e := range entries {
		var rec jobRecord
		if err := json.Unmarshal(e.Value, &rec); err != nil {
			return fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		job := &contract.CompactionJob{ID: rec.ID, CollectionID: rec.CollectionID, Started: rec.Started}
		metas := make([]planMeta, len(rec.Plans))
		settled := false
		for i, pr := range rec.Plans {
			p := contract.CompactionPlan{Sources: pr.Sources, Target: pr.Target, Done: pr.Done, Failed: pr.Failed, Reason: pr.Reason}
			metas[i] = planMeta{targets: pr.Targets, clusterBy: pr.ClusterBy, preferRows: pr.PreferRows, clusters: pr.NumClusters}
			if !p.Done {
				if t, ok := s.committedTarget(pr); ok {
					p.Done, p.Target, settled = true, t, true
				} else if s.ccfg.Enable && s.resumable(pr.Sources) {
					metas[i].resume = true
					for _, id := range pr.Sources {
						s.compacting[id] = true
					}
				} else {
					p.Done, p.Failed, p.Reason, settled = true, true, errAborted, true
				}
			}
			job.Plans = append(job.Plans, p)
		}
		s.jobs[job.ID] = job
		s.jobPlans[job.ID] = metas
		if settled {
			if err := s.saveJobLocked(ctx, job); err != nil {
				return err
			}
			s.logger.Info("settled compaction job of the previous data coordinator", "job", job.ID)
		}
	}
	return nil
}

// resumable reports whether a plan's sources are all flushed and not in
// another plan.
func (s *Server) resumable(sources []int64) bool {
	if len(sources) == 0 {
		return false
	}
	for _, id := range sources {
		seg, ok := s.segments[id]
		if !ok || seg.State != model.SegmentFlushed || s.compacting[id] {
			return false
		}
	}
	return true
}

// resumeJobs runs again the plans the previous data coordinator was
// running (loadJobs kept them), each with the sources it had, the delete
// logs and expiry of now, and new segment IDs: the commit is one
// transaction that checks its sources are still flushed, so running a plan
// again is safe whatever the first run had done short of committing. A
// plan that cannot be planned again (its collection is gone) fails, its
// sources released. Run calls it once compaction is attached.
func (s *Server) resumeJobs(ctx context.Context) {
	s.mu.Lock()
	type pending struct {
		job *contract.CompactionJob
		idx []int
	}
	var todo []pending
	for id, metas := range s.jobPlans {
		var idx []int
		for i := range metas {
			if metas[i].resume {
				metas[i].resume = false
				idx = append(idx, i)
			}
		}
		if len(idx) > 0 {
			todo = append(todo, pending{s.jobs[id], idx})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(todo, func(a, b pending) int { return int(a.job.ID - b.job.ID) })
	for _, t := range todo {
		plans, err := s.replan(ctx, t.job, t.idx)
		if err != nil {
			s.failPlans(ctx, t.job, t.idx, err)
			continue
		}
		s.logger.Info("resuming compaction job of the previous data coordinator", "job", t.job.ID, "plans", len(plans))
		s.runPlans(t.job, t.idx, plans)
	}
}

// replan rebuilds the plans idx of a job from its record and the current
// meta.
func (s *Server) replan(ctx context.Context, job *contract.CompactionJob, idx []int) ([]plan, error) {
	coll, err := s.compactedCollection(ctx, job.CollectionID)
	if err != nil {
		return nil, err
	}
	expire := s.expireTS(coll, time.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	metas := s.jobPlans[job.ID]
	out := make([]plan, 0, len(idx))
	for _, i := range idx {
		p := plan{coll: coll, expire: expire, clusterBy: metas[i].clusterBy, preferRows: metas[i].preferRows, clusters: metas[i].clusters}
		for _, id := range job.Plans[i].Sources {
			seg, ok := s.segments[id]
			if !ok || seg.State != model.SegmentFlushed {
				return nil, fmt.Errorf("datacoord: segment %d of compaction job %d is no longer flushed", id, job.ID)
			}
			p.sources = append(p.sources, *seg)
		}
		out = append(out, p)
	}
	s.markPlannedLocked(out)
	return out, nil
}

// failPlans records plans idx of a job as failed with err and releases
// their sources.
func (s *Server) failPlans(ctx context.Context, job *contract.CompactionJob, idx []int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range idx {
		p := &job.Plans[i]
		p.Done, p.Failed, p.Reason = true, true, err.Error()
		for _, id := range p.Sources {
			delete(s.compacting, id)
		}
	}
	if err := s.saveJobLocked(ctx, job); err != nil {
		s.logger.Warn("record compaction plan", "job", job.ID, "err", err)
	}
	s.logger.Warn("compaction job of the previous data coordinator not resumed", "job", job.ID, "err", err)
}

// committedTarget reports whether a plan that was running committed: one
// of its targets is in the meta (the first flushed one is returned), or
// it had its targets and all its sources were dropped by a compaction
// that kept no row.
func (s *Server) committedTarget(pr planRecord) (int64, bool) {
	if len(pr.Targets) == 0 {
		return 0, false
	}
	for _, t := range pr.Targets {
		if seg, ok := s.segments[t]; ok {
			if seg.State == model.SegmentDropped {
				continue // committed, then compacted again
			}
			return t, true
		}
	}
	for _, id := range pr.Sources {
		if seg, ok := s.segments[id]; ok && seg.State != model.SegmentDropped {
			return 0, false
		}
	}
	return 0, true
}

// notePlanTargets records, before a plan writes anything, the segment
// IDs it writes.
func (s *Server) notePlanTargets(ctx context.Context, job *contract.CompactionJob, i int, targets []int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.jobPlans[job.ID]
	for len(ms) <= i {
		ms = append(ms, planMeta{})
	}
	ms[i].targets = targets
	s.jobPlans[job.ID] = ms
	return s.saveJobLocked(ctx, job)
}

// forgetJobLocked deletes a finished job's record.
func (s *Server) forgetJobLocked(ctx context.Context, id int64) {
	if err := s.kv.Delete(ctx, jobKey(id)); err != nil {
		s.logger.Warn("forget compaction job", "job", id, "err", err)
		return
	}
	delete(s.jobs, id)
	delete(s.jobPlans, id)
}
