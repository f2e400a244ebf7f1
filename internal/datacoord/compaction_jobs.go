package datacoord

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// Compaction jobs are kept in the meta store, so that GetCompactionState
// keeps answering for them after a restart or a failover of the data
// coordinator, and a plan the old coordinator was running is settled:
// committed (its output segment is in the meta), or aborted (its sources
// were never dropped; whatever it had written is unreferenced and goes to
// garbage collection).
const prefixJob = "data/compaction/"

// errAborted is the reason of a plan whose coordinator stopped first.
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
}

func jobKey(id int64) string { return prefixJob + strconv.FormatInt(id, 10) }

// saveJobLocked writes a job's record.
func (s *Server) saveJobLocked(ctx context.Context, job *contract.CompactionJob) error {
	rec := jobRecord{ID: job.ID, CollectionID: job.CollectionID, Started: job.Started}
	targets := s.jobTargets[job.ID]
	for i, p := range job.Plans {
		pr := planRecord{Sources: p.Sources, Target: p.Target, Done: p.Done, Failed: p.Failed, Reason: p.Reason}
		if i < len(targets) {
			pr.Targets = targets[i]
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
// row, the drop of its sources) was committed is done; any other is
// aborted. Call it after the segments are loaded.
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
		targets := make([][]int64, len(rec.Plans))
		settled := false
		for i, pr := range rec.Plans {
			p := contract.CompactionPlan{Sources: pr.Sources, Target: pr.Target, Done: pr.Done, Failed: pr.Failed, Reason: pr.Reason}
			targets[i] = pr.Targets
			if !p.Done {
				p.Done, settled = true, true
				if t, ok := s.committedTarget(pr); ok {
					p.Target = t
				} else {
					p.Failed, p.Reason = true, errAborted
				}
			}
			job.Plans = append(job.Plans, p)
		}
		s.jobs[job.ID] = job
		s.jobTargets[job.ID] = targets
		if settled {
			if err := s.saveJobLocked(ctx, job); err != nil {
				return err
			}
			s.logger.Info("settled compaction job of the previous data coordinator", "job", job.ID)
		}
	}
	return nil
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
	ts := s.jobTargets[job.ID]
	for len(ts) <= i {
		ts = append(ts, nil)
	}
	ts[i] = targets
	s.jobTargets[job.ID] = ts
	return s.saveJobLocked(ctx, job)
}

// forgetJobLocked deletes a finished job's record.
func (s *Server) forgetJobLocked(ctx context.Context, id int64) {
	if err := s.kv.Delete(ctx, jobKey(id)); err != nil {
		s.logger.Warn("forget compaction job", "job", id, "err", err)
		return
	}
	delete(s.jobs, id)
	delete(s.jobTargets, id)
}
