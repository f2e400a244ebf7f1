package datacoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// importExecutor runs an import job's reading and writing (a data node):
// it returns the job's segments, flushed, with their files written, and
// leaves no file behind when it fails.
type importExecutor interface {
	ExecuteImport(ctx context.Context, job contract.ImportJob) ([]model.Segment, error)
}

// importState is the coordinator's import machinery.
type importState struct {
	mu       sync.Mutex // serializes updates of job records
	executor importExecutor
	ctx      context.Context
	// running counts, per collection, the jobs between their start and
	// their commit (guarded by Server.mu). The data node names an import's
	// segments itself, so until the commit records them the orphan scan
	// cannot tell a running import's files from garbage: it spares the
	// collection's insert and stats logs meanwhile (gc.go).
	running map[int64]int
}

const prefixImport = "data/import/"

func importKey(id int64) string { return prefixImport + strconv.FormatInt(id, 10) }

// SetImportExecutor gives the coordinator the data node that runs import
// jobs, and resumes the jobs a restart interrupted. ctx bounds the jobs.
func (s *Server) SetImportExecutor(ctx context.Context, e importExecutor) error {
	s.mu.Lock()
	s.imports.executor = e
	s.imports.ctx = ctx
	s.mu.Unlock()
	entries, err := s.kv.List(ctx, prefixImport)
	if err != nil {
		return fmt.Errorf("datacoord: load import jobs: %w", err)
	}
	for _, e := range entries {
		var job contract.ImportJob
		if err := json.Unmarshal(e.Value, &job); err != nil {
			return fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		if job.State == contract.ImportPending || job.State == contract.ImportImporting {
			s.startImport(job)
		}
	}
	return nil
}

// CreateImport records a new import job (Pending) and starts it. It
// returns the job's ID.
func (s *Server) CreateImport(ctx context.Context, job contract.ImportJob) (int64, error) {
	id, err := s.ids.AllocID(ctx, 1)
	if err != nil {
		return 0, fmt.Errorf("datacoord: allocate import job id: %w", err)
	}
	job.ID = id
	job.State = contract.ImportPending
	job.CreateTime = time.Now().UnixMilli()
	if err := s.saveImport(ctx, job); err != nil {
		return 0, err
	}
	s.startImport(job)
	return id, nil
}

func (s *Server) saveImport(ctx context.Context, job contract.ImportJob) error {
	b, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("datacoord: encode import job %d: %w", job.ID, err)
	}
	if _, err := s.kv.Put(ctx, importKey(job.ID), b); err != nil {
		return fmt.Errorf("datacoord: save import job %d: %w", job.ID, err)
	}
	return nil
}

// ImportJob returns one job.
func (s *Server) ImportJob(ctx context.Context, id int64) (contract.ImportJob, bool, error) {
	e, err := s.kv.Get(ctx, importKey(id))
	if errors.Is(err, kv.ErrNotFound) {
		return contract.ImportJob{}, false, nil
	}
	if err != nil {
		return contract.ImportJob{}, false, fmt.Errorf("datacoord: import job %d: %w", id, err)
	}
	var job contract.ImportJob
	if err := json.Unmarshal(e.Value, &job); err != nil {
		return contract.ImportJob{}, false, fmt.Errorf("datacoord: decode import job %d: %w", id, err)
	}
	return job, true, nil
}

// ListImports lists the jobs of a collection (0: every collection), oldest first.
func (s *Server) ListImports(ctx context.Context, collectionID int64) ([]contract.ImportJob, error) {
	entries, err := s.kv.List(ctx, prefixImport)
	if err != nil {
		return nil, fmt.Errorf("datacoord: list import jobs: %w", err)
	}
	var out []contract.ImportJob
	for _, e := range entries {
		var job contract.ImportJob
		if err := json.Unmarshal(e.Value, &job); err != nil {
			return nil, fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		if collectionID == 0 || job.CollectionID == collectionID {
			out = append(out, job)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// UpdateImportProgress records a running job's progress (the executor
// reports it as it reads files).
func (s *Server) UpdateImportProgress(ctx context.Context, id, progress, importedRows int64) error {
	s.imports.mu.Lock()
	defer s.imports.mu.Unlock()
	job, ok, err := s.ImportJob(ctx, id)
	if err != nil || !ok || job.State != contract.ImportImporting {
		return err
	}
	job.Progress = min(max(progress, job.Progress), 99)
	job.ImportedRows = importedRows
	return s.saveImport(ctx, job)
}

func (s *Server) startImport(job contract.ImportJob) {
	s.mu.Lock()
	e, ctx := s.imports.executor, s.imports.ctx
	s.mu.Unlock()
	if e == nil {
		return // resumed by SetImportExecutor
	}
	go s.runImport(ctx, e, job)
}

// runImport executes a job and records its outcome: the segments are
// registered flushed in one transaction with the job's completion, so a
// failed job leaves no segment behind.
func (s *Server) runImport(ctx context.Context, e importExecutor, job contract.ImportJob) {
	s.imports.mu.Lock()
	job.State = contract.ImportImporting
	if !job.Committed {
		job.Progress = 0
	}
	err := s.saveImport(ctx, job)
	s.imports.mu.Unlock()
	if err != nil {
		s.logger.Error("start import job", "job", job.ID, "err", err)
		return
	}
	start := time.Now()
	var segs []model.Segment
	if job.Committed {
		segs, err = s.committedSegments(ctx, job)
	} else {
		done := s.importRunning(job.CollectionID)
		segs, err = e.ExecuteImport(ctx, job)
		if err == nil {
			err = s.commitImport(ctx, job, segs)
		}
		if errors.Is(err, errCommitUnknown) {
			// The rows may be in: the files stay spared from the orphan
			// scan, and the job is settled at the next start.
			s.logger.Error("import commit outcome unknown: its files are kept until a restart", "job", job.ID, "err", err)
			return
		}
		done()
	}
	if err == nil {
		err = s.finishImport(ctx, job.ID, segs)
	}
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: resumed at the next start
		}
		s.imports.mu.Lock()
		defer s.imports.mu.Unlock()
		if cur, ok, gerr := s.ImportJob(ctx, job.ID); gerr == nil && ok {
			job = cur
		}
		if job.Committed {
			// The rows are in: the job completes at the next start.
			s.logger.Error("finish committed import", "job", job.ID, "err", err)
			return
		}
		job.State, job.Reason, job.CompleteTime = contract.ImportFailed, err.Error(), time.Now().UnixMilli()
		if serr := s.saveImport(ctx, job); serr != nil {
			s.logger.Error("save failed import job", "job", job.ID, "err", serr)
		}
		s.logger.Warn("import failed", "job", job.ID, "collection", job.CollectionID, "err", err)
		return
	}
	s.logger.Info("import completed", "job", job.ID, "collection", job.CollectionID, "segments", len(segs), "took", time.Since(start))
}

// importRunning spares the files of collection's running import from the
// orphan scan until the returned func is called (after the commit, when
// the job's segments refer to their files, or after a failure). The files
// of an attempt that did not count (its data node died and another ran
// the job again) are orphans from then on, deleted after the missing
// tolerance.
func (s *Server) importRunning(collection int64) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.imports.running == nil {
		s.imports.running = map[int64]int{}
	}
	s.imports.running[collection]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.imports.running[collection]--; s.imports.running[collection] <= 0 {
			delete(s.imports.running, collection)
		}
	}
}

// commitImport registers a job's segments (state Flushed) and marks the
// job committed in one meta-store transaction: after it the rows exist,
// before it nothing does.
func (s *Server) commitImport(ctx context.Context, job contract.ImportJob, segs []model.Segment) error {
	s.imports.mu.Lock()
	defer s.imports.mu.Unlock()
	if cur, ok, err := s.ImportJob(ctx, job.ID); err == nil && ok {
		job = cur
	}
	var rows int64
	ops := make([]kv.Op, 0, len(segs)+1)
	job.Segments = nil
	for i := range segs {
		segs[i].State = model.SegmentFlushed
		b, err := json.Marshal(segs[i])
		if err != nil {
			return fmt.Errorf("datacoord: encode segment %d: %w", segs[i].ID, err)
		}
		ops = append(ops, kv.Op{Key: segKey(segs[i].ID), Value: b})
		rows += segs[i].NumRows
		job.Segments = append(job.Segments, segs[i].ID)
	}
	job.Committed, job.Progress, job.ImportedRows, job.TotalRows = true, 99, rows, rows
	b, err := json.Marshal(job)
	if err != nil {
		return err
	}
	ops = append(ops, kv.Op{Key: importKey(job.ID), Value: b})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.commitOps(ctx, ops); err != nil {
		return fmt.Errorf("datacoord: register imported segments: %w", err)
	}
	for i := range segs {
		seg := segs[i]
		s.putSegmentLocked(&seg)
	}
	return nil
}

// committedSegments are the registered segments of a committed job.
func (s *Server) committedSegments(ctx context.Context, job contract.ImportJob) ([]model.Segment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []model.Segment
	for _, id := range job.Segments {
		if seg, ok := s.segments[id]; ok && seg.State == model.SegmentFlushed {
			out = append(out, *seg)
		}
	}
	return out, nil
}

// finishImport hands a committed job's segments to the listeners (the
// query coordinator loads them where the collection is loaded, index
// builds start), then marks the job Completed: a Completed import is
// visible to reads of a loaded collection.
func (s *Server) finishImport(ctx context.Context, id int64, segs []model.Segment) error {
	for i := range segs {
		s.notifyFlushed(ctx, "imported", &segs[i])
	}
	s.imports.mu.Lock()
	defer s.imports.mu.Unlock()
	job, ok, err := s.ImportJob(ctx, id)
	if err != nil || !ok {
		return err
	}
	job.State, job.Progress, job.CompleteTime = contract.ImportCompleted, 100, time.Now().UnixMilli()
	return s.saveImport(ctx, job)
}
