package datacoord

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

type fakeExecutor struct {
	err error
}

func (f fakeExecutor) ExecuteImport(ctx context.Context, job contract.ImportJob) ([]model.Segment, error) {
	if f.err != nil {
		return nil, f.err
	}
	return []model.Segment{{ID: job.ID + 1, CollectionID: job.CollectionID, PartitionID: 2, VChannel: "vc0", NumRows: 10,
		Binlogs: map[int64]string{100: "a"}, FlushTS: job.TS}}, nil
}

type flushRecorder struct {
	mu   sync.Mutex
	segs []int64
}

func (r *flushRecorder) SegmentFlushed(ctx context.Context, seg *model.Segment) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.segs = append(r.segs, seg.ID)
	return nil
}

func waitJob(t *testing.T, s *Server, id int64) contract.ImportJob {
	t.Helper()
	for range 500 {
		job, ok, err := s.ImportJob(context.Background(), id)
		if err != nil || !ok {
			t.Fatalf("job %d: %v %v", id, ok, err)
		}
		if job.State == contract.ImportCompleted || job.State == contract.ImportFailed {
			return job
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("job %d did not end", id)
	return contract.ImportJob{}
}

// A job created before an executor is set stays Pending, survives a
// restart, and runs once one is set; its segments are registered and
// handed to the listeners before it is Completed.
func TestImportJobLifecycle(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newCoord(t, store, Default())
	id, err := s.CreateImport(ctx, contract.ImportJob{CollectionID: 1, Files: [][]string{{"a.json"}}, TS: 9})
	if err != nil {
		t.Fatal(err)
	}
	if job, _, _ := s.ImportJob(ctx, id); job.State != contract.ImportPending {
		t.Fatalf("state %s, want Pending", job.State)
	}
	s2, err := New(ctx, Default(), Deps{KV: store, IDs: s.ids})
	if err != nil {
		t.Fatal(err)
	}
	rec := &flushRecorder{}
	s2.AddListener(rec)
	if err := s2.SetImportExecutor(ctx, fakeExecutor{}); err != nil {
		t.Fatal(err)
	}
	job := waitJob(t, s2, id)
	if job.State != contract.ImportCompleted || job.Progress != 100 || job.ImportedRows != 10 || len(job.Segments) != 1 {
		t.Fatalf("job %+v", job)
	}
	seg, ok, _ := s2.Segment(ctx, id+1)
	if !ok || seg.State != model.SegmentFlushed {
		t.Fatalf("segment %+v %v", seg, ok)
	}
	if n, _ := s2.RowCount(ctx, 1, 0); n != 10 {
		t.Fatalf("row count %d", n)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.segs) != 1 || rec.segs[0] != id+1 {
		t.Fatalf("listeners heard %v", rec.segs)
	}
	if jobs, _ := s2.ListImports(ctx, 1); len(jobs) != 1 {
		t.Fatalf("ListImports = %v", jobs)
	}
	if jobs, _ := s2.ListImports(ctx, 2); len(jobs) != 0 {
		t.Fatalf("ListImports(other) = %v", jobs)
	}
}

func TestImportJobFailureRegistersNothing(t *testing.T) {
	ctx := context.Background()
	s := newCoord(t, kv.NewMemory(), Default())
	if err := s.SetImportExecutor(ctx, fakeExecutor{err: errors.New("boom")}); err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateImport(ctx, contract.ImportJob{CollectionID: 1, Files: [][]string{{"a.json"}}})
	if err != nil {
		t.Fatal(err)
	}
	job := waitJob(t, s, id)
	if job.State != contract.ImportFailed || job.Reason != "boom" {
		t.Fatalf("job %+v", job)
	}
	if segs, _ := s.Segments(ctx, 1, ""); len(segs) != 0 {
		t.Fatalf("segments %v after a failed import", segs)
	}
}
