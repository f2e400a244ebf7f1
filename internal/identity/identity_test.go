package identity

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/objstore"
)

type stores struct {
	meta    *kv.Memory
	objects *objstore.Memory
	log     *logbroker.Memory
}

func newStores() *stores {
	return &stores{meta: kv.NewMemory(), objects: objstore.NewMemory(), log: logbroker.NewMemory(logbroker.MemoryConfig{})}
}

func (s *stores) all() Stores {
	return Stores{Meta: s.meta, MetaName: "META", Objects: s.objects, ObjectsName: "OBJECTS", Log: s.log, LogName: "LOG",
		Hint: func(store string) string { return "recover " + store }}
}

func TestFirstStartStampsAndRestartAgrees(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	id, err := Check(ctx, s.all(), nil)
	if err != nil || len(id.ClusterID) != 36 {
		t.Fatalf("first start: %+v, %v", id, err)
	}
	again, err := Check(ctx, s.all(), nil)
	if err != nil || again.ClusterID != id.ClusterID {
		t.Fatalf("restart: %+v, %v; want %s", again, err, id.ClusterID)
	}
	rec, ok, objects, lg, _, err := Read(ctx, s.all())
	if err != nil || !ok || !rec.Stamped[StoreObjects] || !rec.Stamped[StoreLog] ||
		objects.Identity.ClusterID != id.ClusterID || lg.Identity.ClusterID != id.ClusterID {
		t.Fatalf("stores after first start: %+v %v %+v %+v %v", rec, ok, objects, lg, err)
	}
}

func refusal(t *testing.T, err error, store string, kind error, words ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Store != store || !errors.Is(err, kind) {
		t.Fatalf("err %v, want a refusal of %s (%v)", err, store, kind)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q does not contain %q", err.Error(), w)
		}
	}
}

func TestWipedMetaStoreIsRefused(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	id, err := Check(ctx, s.all(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.meta = kv.NewMemory()
	_, err = Check(ctx, s.all(), nil)
	refusal(t, err, StoreMeta, ErrMissing, "META has no cluster identity", "OBJECTS belongs to cluster "+id.ClusterID, "recover meta")
	// Without the object store (a role that does not open it), the log
	// tells.
	st := s.all()
	st.Objects = nil
	_, err = Check(ctx, st, nil)
	refusal(t, err, StoreMeta, ErrMissing, "LOG belongs to cluster "+id.ClusterID)
	if _, ok, _, _, _, _ := Read(ctx, s.all()); ok {
		t.Fatal("a refused check stamped the meta store")
	}
}

func TestLostLogAndObjectsAreRefused(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	if _, err := Check(ctx, s.all(), nil); err != nil {
		t.Fatal(err)
	}
	oldLog := s.log
	s.log = logbroker.NewMemory(logbroker.MemoryConfig{})
	_, err := Check(ctx, s.all(), nil)
	refusal(t, err, StoreLog, ErrMissing, "LOG has no cluster identity", "not yet flushed", "recover log")
	s.log = oldLog
	s.objects = objstore.NewMemory()
	_, err = Check(ctx, s.all(), nil)
	refusal(t, err, StoreObjects, ErrMissing, "OBJECTS has no cluster identity", "recover objects")
}

func TestStoreOfAnotherClusterIsRefused(t *testing.T) {
	ctx := context.Background()
	a, b := newStores(), newStores()
	if _, err := Check(ctx, a.all(), nil); err != nil {
		t.Fatal(err)
	}
	other, err := Check(ctx, b.all(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mixed := a.all()
	mixed.Log = b.log
	_, err = Check(ctx, mixed, nil)
	refusal(t, err, StoreLog, ErrMismatch, "LOG belongs to cluster "+other.ClusterID)
}

// Roles of a cluster start at once on fresh stores, each opening some of
// them: they agree on one identity and every store is stamped once.
func TestConcurrentRolesAgree(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	var wg sync.WaitGroup
	ids := make([]string, 12)
	errs := make([]error, 12)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s.all()
			switch i % 3 {
			case 1:
				st.Log = nil
			case 2:
				st.Objects = nil
			}
			id, err := Check(ctx, st, nil)
			ids[i], errs[i] = id.ClusterID, err
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("role %d: %s, %v; role 0: %s", i, ids[i], errs[i], ids[0])
		}
	}
	if _, err := Check(ctx, s.all(), nil); err != nil {
		t.Fatal(err)
	}
}

// A store added later (a role opening the log for the first time) is
// stamped, not refused.
func TestUnstampedStoreIsStampedLater(t *testing.T) {
	ctx := context.Background()
	s := newStores()
	st := s.all()
	st.Log = nil
	id, err := Check(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Check(ctx, s.all(), nil)
	if err != nil || got.ClusterID != id.ClusterID {
		t.Fatalf("log stamped later: %+v, %v", got, err)
	}
}

func TestWatermarkSurvivesAWipedMetaStore(t *testing.T) {
	ctx := context.Background()
	meta, objects := kv.NewMemory(), objstore.NewMemory()
	w, err := LoadWatermark(ctx, meta, objects, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.Floor(CounterID) != 0 {
		t.Fatal("fresh stores have a floor")
	}
	if err := w.Raise(ctx, CounterID, 1000); err != nil {
		t.Fatal(err)
	}
	if err := w.Raise(ctx, CounterID, 2000); err != nil { // below the mark: no write
		t.Fatal(err)
	}
	if m := w.Marks()[CounterID]; m != 1000+steps[CounterID] {
		t.Fatalf("mark %d", m)
	}
	// A restart on the same stores: the meta store is current.
	w, err = LoadWatermark(ctx, meta, objects, nil)
	if err != nil || w.Floor(CounterID) != 0 {
		t.Fatalf("restart: floor %d, %v", w.Floor(CounterID), err)
	}
	// A wiped (or restored) meta store resumes above the mark.
	w, err = LoadWatermark(ctx, kv.NewMemory(), objects, nil)
	if err != nil || w.Floor(CounterID) != 1000+steps[CounterID] || w.Floor(CounterTSO) != 0 {
		t.Fatalf("wiped meta store: floor %d, %v", w.Floor(CounterID), err)
	}
}

func TestRestampLog(t *testing.T) {
	ctx := context.Background()
	a, b := newStores(), newStores()
	if _, err := Check(ctx, a.all(), nil); err != nil {
		t.Fatal(err)
	}
	other, err := Check(ctx, b.all(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mine, _, _, _, _, err := Read(ctx, a.all())
	if err != nil {
		t.Fatal(err)
	}
	if err := RestampLog(ctx, b.log, mine.Identity); err != nil {
		t.Fatal(err)
	}
	st, err := readLog(ctx, b.log)
	if err != nil || st.Identity.ClusterID != mine.ClusterID || st.Identity.ClusterID == other.ClusterID {
		t.Fatalf("restamped log: %+v, %v; want %s", st, err, mine.ClusterID)
	}
}
