package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/session"
)

// loadLogged is LoadWatermark with its log kept.
func loadLogged(t *testing.T, meta WatermarkMeta, objects ObjectStore) (*Watermark, string) {
	t.Helper()
	var buf bytes.Buffer
	w, err := LoadWatermark(context.Background(), meta, objects, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return w, buf.String()
}

func objectMarks(t *testing.T, objects ObjectStore) marks {
	t.Helper()
	b, err := objects.Get(context.Background(), WatermarkObjectKey)
	if err != nil {
		t.Fatal(err)
	}
	m := marks{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestProcessesRaiseTheirOwnCounters is a cluster's start as it was when
// every role loaded the marks at once and raised its own counter from
// that view (the root coordinator IDs and timestamps, each role the
// server ID its session takes): the marks written must keep every
// process's raise, and the next start, with the same meta store, must not
// find it behind. Each process writing the marks it had read (the object
// store's, then the meta store's copy) dropped the others' raises: the
// root coordinator and a query node then logged "the meta store is behind
// the object store's high-water mark" after an ordinary restart, and the
// object store's marks lost counters (a later wipe would reuse IDs).
func TestProcessesRaiseTheirOwnCounters(t *testing.T) {
	ctx := context.Background()
	meta, objects := kv.NewMemory(), objstore.NewMemory()
	root, _ := loadLogged(t, meta, objects)
	node, _ := loadLogged(t, meta, objects)
	if err := root.Raise(ctx, CounterID, 5000); err != nil {
		t.Fatal(err)
	}
	if err := root.Raise(ctx, CounterTSO, 7000); err != nil {
		t.Fatal(err)
	}
	if _, err := session.AllocIDMarked(ctx, meta, node); err != nil { // the node's view: no marks
		t.Fatal(err)
	}
	if err := root.Raise(ctx, CounterTSO, 7000+2*steps[CounterTSO]); err != nil { // the root's view: no session mark
		t.Fatal(err)
	}
	want := marks{CounterID: 5000 + steps[CounterID], CounterTSO: 7000 + 3*steps[CounterTSO], CounterSession: 2 + steps[CounterSession]}
	if got := objectMarks(t, objects); !got.covers(want) {
		t.Fatalf("object store's marks %v, want at least %v", got, want)
	}
	// An ordinary restart: nothing behind, nothing logged.
	w, logged := loadLogged(t, meta, objects)
	for _, c := range []string{CounterID, CounterTSO, CounterSession} {
		if f := w.Floor(c); f != 0 {
			t.Fatalf("restart: %s floor %d, want 0 (the meta store is current)", c, f)
		}
	}
	if strings.Contains(logged, "behind") {
		t.Fatalf("restart with a current meta store logged:\n%s", logged)
	}
	// A wiped meta store resumes every counter above its mark.
	w, logged = loadLogged(t, kv.NewMemory(), objects)
	for c, m := range want {
		if f := w.Floor(c); f < m {
			t.Fatalf("wiped meta store: %s floor %d, want at least %d", c, f, m)
		}
	}
	if strings.Count(logged, "the meta store is behind the object store's high-water mark") != 3 {
		t.Fatalf("wiped meta store: want a warning for each counter, logged:\n%s", logged)
	}
}

// TestConcurrentRaises: processes raising their counters at the same time
// keep every raise, in both stores.
func TestConcurrentRaises(t *testing.T) {
	ctx := context.Background()
	meta, objects := kv.NewMemory(), objstore.NewMemory()
	const procs, raises = 6, 20
	counters := []string{CounterID, CounterTSO, CounterSession}
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for p := range procs {
		w, _ := loadLogged(t, meta, objects)
		wg.Go(func() {
			c := counters[p%len(counters)]
			for i := range raises {
				if err := w.Raise(ctx, c, uint64(1+p+i*procs)*steps[c]); err != nil {
					errs <- fmt.Errorf("process %d: %w", p, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := objectMarks(t, objects)
	for p := range procs {
		c := counters[p%len(counters)]
		if top := uint64(1+p+(raises-1)*procs) * steps[c]; got[c] <= top {
			t.Fatalf("object store's %s mark %d, want above %d (process %d's last raise)", c, got[c], top, p)
		}
	}
	w, logged := loadLogged(t, meta, objects)
	for _, c := range counters {
		if f := w.Floor(c); f != 0 {
			t.Fatalf("after concurrent raises: %s floor %d, want 0; log:\n%s", c, f, logged)
		}
	}
}

// TestLoadRepairsMarksBehindTheCopy: a raise that stopped after the meta
// store's copy was raised and before the object store's marks were (a
// crash, the object store down) is no meta store behind; the next start
// raises the marks to the copy.
func TestLoadRepairsMarksBehindTheCopy(t *testing.T) {
	ctx := context.Background()
	meta, objects := kv.NewMemory(), objstore.NewMemory()
	w, _ := loadLogged(t, meta, objects)
	if err := w.Raise(ctx, CounterID, 100); err != nil {
		t.Fatal(err)
	}
	copyMarks := marks{CounterID: 100 + steps[CounterID] + 1, CounterTSO: 9000}
	b, _ := json.Marshal(copyMarks)
	if _, err := meta.Put(ctx, WatermarkMetaKey, b); err != nil {
		t.Fatal(err)
	}
	w, logged := loadLogged(t, meta, objects)
	if strings.Contains(logged, "behind") || w.Floor(CounterID) != 0 || w.Floor(CounterTSO) != 0 {
		t.Fatalf("marks behind the copy taken for a meta store behind: floors %d %d; log:\n%s", w.Floor(CounterID), w.Floor(CounterTSO), logged)
	}
	if got := objectMarks(t, objects); !got.covers(copyMarks) {
		t.Fatalf("object store's marks %v after the start, want at least the copy %v", got, copyMarks)
	}
}

// refusingMeta is a meta store that refuses writes of the high-water
// mark's copy, as a coordinator's fenced meta store does once its
// leadership is gone (a shutdown) or etcd failing the write.
type refusingMeta struct{ *kv.Memory }

var errRefused = errors.New("kv: write refused: election key is no longer at its revision")

func (m refusingMeta) Put(ctx context.Context, key string, value []byte) (int64, error) {
	if key == WatermarkMetaKey {
		return 0, errRefused
	}
	return m.Memory.Put(ctx, key, value)
}

func (m refusingMeta) Txn(ctx context.Context, conds []kv.Cond, ops []kv.Op) (bool, error) {
	for _, op := range ops {
		if op.Key == WatermarkMetaKey {
			return false, errRefused
		}
	}
	return m.Memory.Txn(ctx, conds, ops)
}

// TestRaiseRefusedByTheMetaStore: a raise whose copy the meta store
// refuses fails and leaves no object store mark above the copy, so the
// next start on that meta store does not take it for one restored from a
// backup. (The marks written first and the copy refused after made every
// role warn at the next start.)
func TestRaiseRefusedByTheMetaStore(t *testing.T) {
	ctx := context.Background()
	meta, objects := kv.NewMemory(), objstore.NewMemory()
	w, _ := loadLogged(t, meta, objects)
	if err := w.Raise(ctx, CounterTSO, 1000); err != nil {
		t.Fatal(err)
	}
	w, _ = loadLogged(t, refusingMeta{meta}, objects)
	if err := w.Raise(ctx, CounterTSO, 1000+2*steps[CounterTSO]); !errors.Is(err, errRefused) {
		t.Fatalf("raise with the copy refused: %v", err)
	}
	w, logged := loadLogged(t, meta, objects)
	if f := w.Floor(CounterTSO); f != 0 || strings.Contains(logged, "behind") {
		t.Fatalf("start after a refused raise: tso floor %d; log:\n%s", f, logged)
	}
}
