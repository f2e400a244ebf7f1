package metacache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// fakeRoot is an in-memory root coordinator with call counters.
type fakeRoot struct {
	mu      sync.Mutex
	colls   map[string]*model.Collection // db/name or alias
	byID    map[int64]*model.Collection
	dbs     map[string]contract.Database
	calls   atomic.Int64
	barrier func() // run inside DescribeCollection, if set
}

func newFakeRoot() *fakeRoot {
	return &fakeRoot{colls: map[string]*model.Collection{}, byID: map[int64]*model.Collection{}, dbs: map[string]contract.Database{}}
}

func (f *fakeRoot) put(c *model.Collection, names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byID[c.ID] = c
	for _, n := range names {
		f.colls[c.DBName+"/"+n] = c
	}
}

func (f *fakeRoot) drop(db, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.colls, db+"/"+name)
}

func (f *fakeRoot) DescribeCollection(_ context.Context, db, name string, id int64) (*model.Collection, error) {
	f.calls.Add(1)
	if f.barrier != nil {
		f.barrier()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != 0 {
		if c, ok := f.byID[id]; ok {
			return c, nil
		}
		return nil, errs.CollectionNotFound(id)
	}
	if c, ok := f.colls[db+"/"+name]; ok {
		return c, nil
	}
	return nil, errs.CollectionNotFoundWithDB(db, name)
}

func (f *fakeRoot) DescribeDatabase(_ context.Context, name string) (contract.Database, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.dbs[name]; ok {
		return d, nil
	}
	return contract.Database{}, errs.DatabaseNotFound(name)
}

type fakeQuery struct {
	st    atomic.Value // contract.LoadState
	calls atomic.Int64
}

func (f *fakeQuery) State(context.Context, int64) (contract.LoadState, error) {
	f.calls.Add(1)
	return f.st.Load().(contract.LoadState), nil
}

type fakeIndex struct{ calls atomic.Int64 }

func (f *fakeIndex) Indexes(_ context.Context, id int64) ([]model.IndexDef, error) {
	f.calls.Add(1)
	return []model.IndexDef{{ID: 7, CollectionID: id}}, nil
}

func newTestCache() (*Cache, *fakeRoot, *fakeQuery, *fakeIndex) {
	r, q, x := newFakeRoot(), &fakeQuery{}, &fakeIndex{}
	q.st.Store(contract.LoadState{Loaded: true, Progress: 100})
	return New(Sources{Root: r, Query: q, Index: x}, nil), r, q, x
}

func TestDescribeCachedUntilInvalidated(t *testing.T) {
	ctx := context.Background()
	c, root, _, _ := newTestCache()
	v1 := &model.Collection{ID: 1, DBName: "default", Name: "a", Aliases: []string{"al"}}
	root.put(v1, "a", "al")
	for range 3 {
		got, err := c.DescribeCollection(ctx, "", "a", 0)
		if err != nil || got != v1 {
			t.Fatalf("describe: %v, %v", got, err)
		}
	}
	if _, err := c.DescribeCollection(ctx, "default", "al", 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.DescribeCollection(ctx, "default", "", 1); got != v1 {
		t.Fatalf("by ID: %v", got)
	}
	if n := root.calls.Load(); n != 2 {
		t.Fatalf("%d root calls, want 2 (name, alias; the ID is cached)", n)
	}
	// Drop and recreate the name: invalidating the name drops the alias
	// and the ID entries of the old collection too.
	root.drop("default", "a")
	root.drop("default", "al")
	v2 := &model.Collection{ID: 2, DBName: "default", Name: "a"}
	root.put(v2, "a")
	c.Invalidate(Invalidation{DB: "default", Collection: "a", Op: "DropCollection"})
	if got, _ := c.DescribeCollection(ctx, "default", "a", 0); got != v2 {
		t.Fatalf("after invalidation: %v, want the new collection", got)
	}
	if _, err := c.DescribeCollection(ctx, "default", "al", 0); !errors.Is(err, errs.ErrCollectionNotFound) {
		t.Fatalf("dropped alias: %v", err)
	}
	// Errors are not cached.
	before := root.calls.Load()
	c.DescribeCollection(ctx, "default", "al", 0)
	if root.calls.Load() != before+1 {
		t.Fatal("a not-found answer was cached")
	}
}

func TestInvalidateByIDAndDatabase(t *testing.T) {
	ctx := context.Background()
	c, root, q, x := newTestCache()
	root.put(&model.Collection{ID: 1, DBName: "db1", Name: "a"}, "a")
	root.put(&model.Collection{ID: 2, DBName: "db2", Name: "b"}, "b")
	root.dbs["db1"] = contract.Database{ID: 9, Name: "db1"}
	c.DescribeCollection(ctx, "db1", "a", 0)
	c.DescribeCollection(ctx, "db2", "b", 0)
	c.DescribeDatabase(ctx, "db1")
	c.State(ctx, 1)
	c.Indexes(ctx, 1)
	c.State(ctx, 1)
	c.Indexes(ctx, 1)
	if q.calls.Load() != 1 || x.calls.Load() != 1 {
		t.Fatalf("state %d, indexes %d calls; want 1 each", q.calls.Load(), x.calls.Load())
	}
	// A release names the collection by ID: its load state and indexes go.
	c.Invalidate(Invalidation{CollectionID: 1, Op: "ReleaseCollection"})
	c.State(ctx, 1)
	c.Indexes(ctx, 1)
	if q.calls.Load() != 2 || x.calls.Load() != 2 {
		t.Fatalf("after invalidation by ID: state %d, indexes %d calls; want 2 each", q.calls.Load(), x.calls.Load())
	}
	// A database change drops that database's entries only.
	n := root.calls.Load()
	c.Invalidate(Invalidation{DB: "db1", Database: true, Op: "AlterDatabase"})
	c.DescribeCollection(ctx, "db2", "b", 0)
	if root.calls.Load() != n {
		t.Fatal("db2's entry was dropped by db1's invalidation")
	}
	c.DescribeCollection(ctx, "db1", "a", 0)
	c.DescribeDatabase(ctx, "db1")
	if root.calls.Load() != n+2 {
		t.Fatalf("db1 entries not refetched: %d calls, want %d", root.calls.Load(), n+2)
	}
}

func TestLoadingStateNotCached(t *testing.T) {
	ctx := context.Background()
	c, _, q, _ := newTestCache()
	q.st.Store(contract.LoadState{Loaded: false, Progress: 40})
	c.State(ctx, 1)
	q.st.Store(contract.LoadState{Loaded: true, Progress: 100})
	if st, _ := c.State(ctx, 1); !st.Loaded {
		t.Fatal("a loading state was cached")
	}
	c.State(ctx, 1)
	if q.calls.Load() != 2 {
		t.Fatalf("%d state calls, want 2 (the complete load cached)", q.calls.Load())
	}
}

// A fetch that overlaps an invalidation must not store its (possibly
// stale) answer.
func TestFetchOverlappingInvalidationNotStored(t *testing.T) {
	ctx := context.Background()
	c, root, _, _ := newTestCache()
	old := &model.Collection{ID: 1, DBName: "default", Name: "a"}
	root.put(old, "a")
	root.barrier = func() {
		root.barrier = nil
		c.Invalidate(Invalidation{DB: "default", Collection: "a", Op: "AlterCollection"})
	}
	if got, _ := c.DescribeCollection(ctx, "default", "a", 0); got != old {
		t.Fatal(got)
	}
	n := root.calls.Load()
	c.DescribeCollection(ctx, "default", "a", 0)
	if root.calls.Load() != n+1 {
		t.Fatal("an answer fetched across an invalidation was cached")
	}
}

type countingTSO struct {
	mu      sync.Mutex
	next    uint64
	calls   int
	counts  []uint32
	gate    chan struct{}
	entered chan uint32
}

func (a *countingTSO) AllocTimestamp(_ context.Context, count uint32) (uint64, error) {
	if a.entered != nil {
		a.entered <- count
	}
	if a.gate != nil {
		<-a.gate
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	a.counts = append(a.counts, count)
	first := a.next
	a.next += uint64(count)
	return first, nil
}

func TestTSOBatchesConcurrentRequests(t *testing.T) {
	a := &countingTSO{next: 100, gate: make(chan struct{}), entered: make(chan uint32)}
	tso := NewTSO(a)
	const n = 50
	var wg sync.WaitGroup
	got := make([]uint64, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts, err := tso.AllocTimestamp(context.Background(), 1)
			if err != nil {
				t.Error(err)
			}
			got[i] = ts
		}()
	}
	// The first allocation is held at the gate; the other requests queue.
	first := <-a.entered
	for {
		tso.mu.Lock()
		queued := len(tso.waiting)
		tso.mu.Unlock()
		if int(first)+queued == n {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(a.gate)
	go func() {
		for range a.entered { // the later allocations
		}
	}()
	wg.Wait()
	seen := map[uint64]bool{}
	for _, ts := range got {
		if ts < 100 || ts >= 100+n || seen[ts] {
			t.Fatalf("timestamps %v: not distinct in [100, %d)", got, 100+n)
		}
		seen[ts] = true
	}
	if want := []uint32{first, uint32(n) - first}; a.calls > 2 || (first < n && (a.calls != 2 || a.counts[1] != want[1])) {
		t.Fatalf("allocations %v for %d concurrent requests, want %v", a.counts, n, want)
	}
	// A request for several timestamps goes straight through.
	if _, err := tso.AllocTimestamp(context.Background(), 5); err != nil || a.counts[len(a.counts)-1] != 5 {
		t.Fatalf("count 5: %v %v", a.counts, err)
	}
}

func TestReset(t *testing.T) {
	ctx := context.Background()
	c, root, _, _ := newTestCache()
	root.put(&model.Collection{ID: 1, DBName: "default", Name: "a"}, "a")
	c.DescribeCollection(ctx, "default", "a", 0)
	c.Reset()
	c.DescribeCollection(ctx, "default", "a", 0)
	if root.calls.Load() != 2 {
		t.Fatalf("%d calls, want 2", root.calls.Load())
	}
}
