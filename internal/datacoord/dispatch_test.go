package datacoord

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// fakeWorkers are data nodes that run compactions and imports; a node in
// dies fails its calls as a dead node's do.
type fakeWorkers struct {
	mu    sync.Mutex
	live  []int64
	dies  map[int64]bool
	calls []int64 // nodes called, in order
	block chan struct{}
}

type fakeWorker struct {
	f  *fakeWorkers
	id int64
}

func (f *fakeWorkers) LiveDataNodes() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.live)
}

func (f *fakeWorkers) DataWorker(_ context.Context, id int64) (DataWorker, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.live, id) {
		return nil, errs.NodeNotFound(id)
	}
	return fakeWorker{f, id}, nil
}

func (w fakeWorker) call() error {
	w.f.mu.Lock()
	w.f.calls = append(w.f.calls, w.id)
	dies, block := w.f.dies[w.id], w.f.block
	w.f.mu.Unlock()
	if block != nil {
		<-block
	}
	if dies {
		return fmt.Errorf("datanode: %w: connection refused", errs.ErrServiceUnavailable)
	}
	return nil
}

func (w fakeWorker) Compact(_ context.Context, t contract.CompactionTask) (contract.CompactionResult, error) {
	if err := w.call(); err != nil {
		return contract.CompactionResult{}, err
	}
	return contract.CompactionResult{Segment: contract.FlushResult{SegmentID: t.TargetID}}, nil
}

func (w fakeWorker) ExecuteImport(_ context.Context, job contract.ImportJob) ([]model.Segment, error) {
	if err := w.call(); err != nil {
		return nil, err
	}
	return []model.Segment{{ID: job.ID * 10}}, nil
}

func TestDispatchCompactionToChannelOwner(t *testing.T) {
	ctx := context.Background()
	nodes := &fakeDataNodes{watched: map[int64][]string{}, down: map[int64]bool{}}
	c1 := coll(1, "p0", "p1")
	ch, err := NewChannels(ctx, ChannelsDeps{KV: kv.NewMemory(), Nodes: nodes, Collections: fakeCatalog{1: c1}.list})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.SetNodes(ctx, []int64{10, 11}); err != nil {
		t.Fatal(err)
	}
	w := &fakeWorkers{live: []int64{10, 11}, dies: map[int64]bool{}}
	d := NewDispatcher(w, ch, nil)
	for i, vc := range c1.VChannels {
		owner := ch.Owner(c1.PChannels[i])
		res, err := d.Compact(ctx, contract.CompactionTask{TargetID: int64(100 + i), Segments: []model.Segment{{VChannel: vc}}})
		if err != nil || res.Segment.SegmentID != int64(100+i) {
			t.Fatalf("compaction on %s: %v %v", vc, res, err)
		}
		if last := w.calls[len(w.calls)-1]; last != owner {
			t.Fatalf("compaction of %s ran on %d, want its owner %d", vc, last, owner)
		}
	}
	// The owner dies mid-task: the task runs again on the other node.
	owner := ch.Owner(c1.PChannels[0])
	w.dies[owner] = true
	w.calls = nil
	res, err := d.Compact(ctx, contract.CompactionTask{TargetID: 7, Segments: []model.Segment{{VChannel: c1.VChannels[0]}}})
	if err != nil || res.Segment.SegmentID != 7 {
		t.Fatalf("retried compaction: %v %v", res, err)
	}
	if len(w.calls) != 2 || w.calls[0] != owner || w.calls[1] == owner {
		t.Fatalf("calls %v, want the owner %d then the other node", w.calls, owner)
	}
}

func TestDispatchImportsSpread(t *testing.T) {
	ctx := context.Background()
	w := &fakeWorkers{live: []int64{1, 2}, dies: map[int64]bool{}, block: make(chan struct{})}
	d := NewDispatcher(w, nil, nil)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if _, err := d.ExecuteImport(ctx, contract.ImportJob{ID: int64(i + 1)}); err != nil {
				t.Error(err)
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		n := len(w.calls)
		w.mu.Unlock()
		if n == 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(w.block)
	wg.Wait()
	per := map[int64]int{}
	for _, n := range w.calls {
		per[n]++
	}
	if per[1] != 2 || per[2] != 2 {
		t.Fatalf("imports per node %v, want two each", per)
	}
	// No live node at all: the job fails as unavailable after the wait.
	w.live = nil
	d.WaitForNode = 100 * time.Millisecond
	if _, err := d.ExecuteImport(ctx, contract.ImportJob{ID: 9}); !errors.Is(err, errs.ErrServiceUnavailable) {
		t.Fatalf("no node: %v", err)
	}
}
