package retention

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
)

// fakeLog records the calls the loop makes.
type fakeLog struct {
	mu     sync.Mutex
	calls  int
	latest map[string]logbroker.MessageID
	trunc  map[string]logbroker.MessageID
}

func (f *fakeLog) Latest(_ context.Context, pc string) (logbroker.MessageID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.latest[pc], nil
}

func (f *fakeLog) Truncate(_ context.Context, pc string, upTo logbroker.MessageID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.trunc[pc] = max(f.trunc[pc], min(upTo, f.latest[pc]))
	return nil
}

func (f *fakeLog) state() (int, map[string]logbroker.MessageID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]logbroker.MessageID{}
	for k, v := range f.trunc {
		out[k] = v
	}
	return f.calls, out
}

type fakeCheckpoints struct {
	mu  sync.Mutex
	cps map[string]uint64
}

func (f *fakeCheckpoints) GetCheckpoint(_ context.Context, vc string) (contract.Checkpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return contract.Checkpoint{Position: f.cps[vc]}, nil
}

func (f *fakeCheckpoints) set(vc string, pos uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cps[vc] = pos
}

// TestRun: the loop truncates once a safe point has waited out the
// window, makes no log call while nothing changes, and empties a pchannel
// whose last collection was dropped.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{latest: map[string]logbroker.MessageID{"dml_0": 50, "dml_1": 60}, trunc: map[string]logbroker.MessageID{}}
		cps := &fakeCheckpoints{cps: map[string]uint64{}}
		var mu sync.Mutex
		live := []*model.Collection{coll(1, "dml_0_1v0"), coll(2, "dml_1_2v0")}
		list := func(context.Context) ([]*model.Collection, error) {
			mu.Lock()
			defer mu.Unlock()
			return append([]*model.Collection(nil), live...), nil
		}
		r, err := New(Default(), Deps{Log: log, Checkpoints: cps, Collections: list})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- r.Run(ctx) }()

		cps.set("dml_0_1v0", 20)
		cps.set("dml_1_2v0", 30)
		time.Sleep(31 * time.Second) // first pass: both safe points queued
		synctest.Wait()
		if calls, tr := log.state(); calls != 0 || len(tr) != 0 {
			t.Fatalf("before the window: %d log calls, truncated %v", calls, tr)
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		calls, tr := log.state()
		if tr["dml_0"] != 20 || tr["dml_1"] != 30 {
			t.Fatalf("after the window truncated %v, want dml_0 at 20, dml_1 at 30", tr)
		}
		time.Sleep(time.Hour) // nothing changes: no log call
		synctest.Wait()
		if c, _ := log.state(); c != calls {
			t.Fatalf("%d log calls while nothing changed", c-calls)
		}

		// Collection 2 is dropped: dml_1 is emptied, up to its last message.
		mu.Lock()
		live = live[:1]
		mu.Unlock()
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if _, tr := log.state(); tr["dml_1"] != 60 || tr["dml_0"] != 20 {
			t.Fatalf("after the drop truncated %v, want dml_1 at 60, dml_0 at 20", tr)
		}
		calls, _ = log.state()
		time.Sleep(time.Hour)
		synctest.Wait()
		if c, _ := log.state(); c != calls {
			t.Fatalf("%d log calls while nothing changed after the drop", c-calls)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
