package querynode

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/datanode"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/objstoretest"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/streaming"
)

const (
	pch    = "dml_0"
	vch    = "dml_0_9v0"
	collID = 9
	part   = 90
	dim    = 2
)

// gatedLog lets a reader see only as many messages as the test allows.
type gatedLog struct {
	logbroker.Log
	tokens chan struct{}
	opened chan struct{}
	once   sync.Once
}

func newGatedLog(l logbroker.Log) *gatedLog {
	return &gatedLog{Log: l, tokens: make(chan struct{}, 1<<12), opened: make(chan struct{})}
}

func (g *gatedLog) allow(n int) {
	for range n {
		g.tokens <- struct{}{}
	}
}

func (g *gatedLog) open() { g.once.Do(func() { close(g.opened) }) }

func (g *gatedLog) Read(ctx context.Context, channel string, after logbroker.MessageID) (logbroker.Reader, error) {
	r, err := g.Log.Read(ctx, channel, after)
	if err != nil {
		return nil, err
	}
	return &gatedReader{Reader: r, g: g}, nil
}

type gatedReader struct {
	logbroker.Reader
	g *gatedLog
}

func (r *gatedReader) Next(ctx context.Context) (logbroker.Message, error) {
	select {
	case <-r.g.tokens:
	case <-r.g.opened:
	case <-ctx.Done():
		return logbroker.Message{}, ctx.Err()
	}
	return r.Reader.Next(ctx)
}

// mapCounter counts open mappings.
type mapCounter struct {
	objstore.Store
	open atomic.Int64
}

type countedMapping struct {
	objstore.Mapping
	c    *mapCounter
	once sync.Once
}

func (m *countedMapping) Close() error {
	m.once.Do(func() { m.c.open.Add(-1) })
	return m.Mapping.Close()
}

func (c *mapCounter) Map(ctx context.Context, key string) (objstore.Mapping, error) {
	m, err := c.Store.Map(ctx, key)
	if err != nil {
		return nil, err
	}
	c.open.Add(1)
	return &countedMapping{Mapping: m, c: c}, nil
}

type env struct {
	log     *logbroker.Memory
	gated   *gatedLog
	objects *mapCounter
	root    *rootcoord.Server
	data    *datacoord.Server
	w       *streaming.Writer
	qn      *Server
	coll    *model.Collection
	ctx     context.Context
	live    map[int64][]float32
}

func newEnv(t *testing.T, opts ...func(*Deps)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store := kv.NewMemory()
	e := &env{log: logbroker.NewMemory(logbroker.MemoryConfig{}), objects: &mapCounter{Store: objstore.NewMemory()}, ctx: ctx, live: map[int64][]float32{}}
	e.gated = newGatedLog(e.log)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		e.gated.open()
		cancel()
		wg.Wait()
		e.log.Close()
		store.Close()
	})
	var err error
	if e.root, err = rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store}); err != nil {
		t.Fatal(err)
	}
	if e.data, err = datacoord.New(ctx, datacoord.Default(), datacoord.Deps{KV: store, IDs: e.root}); err != nil {
		t.Fatal(err)
	}
	e.w = streaming.New(streaming.Default(), streaming.Deps{Log: e.log, TSO: e.root, Segments: e.data})
	e.coll = &model.Collection{ID: collID, Name: "c", VChannels: []string{vch}, PChannels: []string{pch},
		Partitions: []model.Partition{{ID: part, Name: model.DefaultPartition}},
		Schema: &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
			{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
			{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}},
		}}}
	dn := datanode.New(datanode.Deps{Log: e.log, Objects: e.objects, Coord: e.data, IDs: e.root})
	if err := dn.Watch(ctx, e.coll); err != nil {
		t.Fatal(err)
	}
	deps := Deps{Log: e.gated, Objects: e.objects, Syncer: e.w}
	for _, o := range opts {
		o(&deps)
	}
	e.qn = New(deps)
	e.qn.Start(ctx)
	wg.Go(func() { dn.Run(ctx) })
	wg.Go(func() { e.qn.Run(ctx) })
	return e
}

func (e *env) insert(t *testing.T, pks ...int64) contract.AppendResult {
	t.Helper()
	vecs := make([]float32, 0, len(pks)*dim)
	for _, pk := range pks {
		v := []float32{float32(pk), 1}
		vecs = append(vecs, v...)
		e.live[pk] = v
	}
	f := e.coll.Schema.GetFields()
	ins := &msgpb.InsertRequest{CollectionID: collID, PartitionID: part, NumRows: uint64(len(pks)), ShardName: vch,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: pks}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: dim, Data: vecs}, f[1]),
		}}
	r, err := e.w.AppendInsert(e.ctx, pch, contract.Insert{CollectionID: collID, PartitionID: part, VChannel: vch, Rows: int64(len(pks)),
		Bytes: int64(len(pks) * 16), Message: &msg.Message{Kind: msg.KindInsert, VChannel: vch, Insert: ins}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) delete(t *testing.T, pks ...int64) {
	t.Helper()
	m := &msg.Message{Kind: msg.KindDelete, VChannel: vch, Delete: &msgpb.DeleteRequest{CollectionID: collID, ShardName: vch, NumRows: int64(len(pks)),
		PrimaryKeys: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: pks}}}}}
	if _, err := e.w.AppendDelete(e.ctx, pch, m); err != nil {
		t.Fatal(err)
	}
	for _, pk := range pks {
		delete(e.live, pk)
	}
}

func (e *env) seal(t *testing.T) model.Segment {
	t.Helper()
	ids, _, err := e.w.Seal(e.ctx, pch, vch, collID)
	if err != nil || len(ids) != 1 {
		t.Fatalf("seal: %v %v", ids, err)
	}
	latest, err := e.log.Latest(e.ctx, pch)
	if err != nil {
		t.Fatal(err)
	}
	// At or past: the writer's delayed tick may land after Latest was
	// read, and the checkpoint can move to it before a poll sees latest.
	eventually(t, "flush", func() bool {
		return must(e.data.Flushed(bg, ids)) && must(e.data.GetCheckpoint(bg, vch)).Position >= uint64(latest)
	})
	seg, _ := must2(e.data.Segment(bg, ids[0]))
	return seg
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// keys queries, counts and searches the shard at guarantee and checks the
// three agree; it returns the visible keys.
func (e *env) keys(t *testing.T, guarantee uint64) []int64 {
	t.Helper()
	return e.keysVia(t, e.qn, guarantee)
}

// keysVia is keys through another query node.
func (e *env) keysVia(t *testing.T, qn *Server, guarantee uint64) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	q, err := qn.Query(ctx, &contract.QueryRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: guarantee})
	if err != nil {
		t.Fatal(err)
	}
	n, err := qn.Query(ctx, &contract.QueryRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: guarantee, CountOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := qn.Search(ctx, &contract.SearchRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: guarantee,
		Search: segment.SearchRequest{FieldID: 101, Queries: index.Dataset{Dim: dim, Float: []float32{0, 0}}, Metric: index.L2, Params: index.SearchParams{K: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	searched := slices.Sorted(slices.Values(s.IntPKs))
	if !slices.Equal(searched, q.IntPKs) || n.Count != int64(len(q.IntPKs)) {
		t.Fatalf("query %v, search %v, count %d disagree", q.IntPKs, searched, n.Count)
	}
	return q.IntPKs
}

func (e *env) now(t *testing.T) uint64 {
	t.Helper()
	ts, err := e.root.AllocTimestamp(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func (e *env) delegator(t *testing.T) *delegator {
	t.Helper()
	d, err := e.qn.shard(collID, vch)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func keyRange(from, to int64) []int64 {
	var out []int64
	for pk := from; pk < to; pk++ {
		out = append(out, pk)
	}
	return out
}

// TestHandoffAheadOfTheLog hands a flushed segment to a shard that has
// not read any of its rows from the log yet: reads at an older service
// time must not see the sealed copy's newer rows, the shard must skip the
// segment's inserts when it reaches them, and deletes read later must
// apply to the sealed copy.
func TestHandoffAheadOfTheLog(t *testing.T) {
	e := newEnv(t)
	first := e.insert(t, keyRange(0, 10)...)
	e.insert(t, keyRange(10, 30)...)
	e.delete(t, 5)
	seg := e.seal(t)
	e.insert(t, keyRange(30, 40)...)
	e.delete(t, 31, 7)

	// Loaded as if nothing had been flushed yet; the shard reads nothing.
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch}
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	if p, ok := must2(e.qn.Progress(bg, collID)); !ok || p != 0 {
		t.Fatalf("progress %d before the shard read anything", p)
	}
	if err := e.qn.SyncSegment(e.ctx, collID, contract.SegmentPlan{Segment: seg}); err != nil {
		t.Fatal(err)
	}
	dl := e.delegator(t)
	e.gated.allow(1) // the first insert only
	eventually(t, "the first message", func() bool { return dl.tsafe.Load() == first.TS })
	if got := e.keys(t, first.TS); !slices.Equal(got, keyRange(0, 10)) {
		t.Fatalf("at the first insert's time the shard shows %v, want 0..9", got)
	}
	e.gated.open()
	eventually(t, "progress 100", func() bool { p, _ := must2(e.qn.Progress(bg, collID)); return p == 100 })
	want := slices.Sorted(maps.Keys(e.live))
	if got := e.keys(t, e.now(t)); !slices.Equal(got, want) {
		t.Fatalf("shard shows %v, want %v", got, want)
	}
	dl.mu.RLock()
	_, grew := dl.growing[seg.ID]
	dl.mu.RUnlock()
	if grew {
		t.Fatalf("the shard rebuilt the handed-off segment %d from the log", seg.ID)
	}
}

// TestReleaseAndReplaceUnmap checks that replacing a sealed segment (a
// reload with its index) and releasing the collection close its mappings.
func TestReleaseAndReplaceUnmap(t *testing.T) {
	e := newEnv(t)
	e.insert(t, keyRange(0, 20)...)
	e.delete(t, 3)
	seg := e.seal(t)
	e.gated.open()
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch)),
		Sealed: []contract.SegmentPlan{{Segment: seg}}, DeltaLogs: must(e.data.DeltaLogs(bg, vch))}
	if plan.Checkpoint.Position == 0 || len(plan.DeltaLogs) != 1 {
		t.Fatalf("plan %+v", plan)
	}
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "progress 100", func() bool { p, _ := must2(e.qn.Progress(bg, collID)); return p == 100 })
	want := slices.Sorted(maps.Keys(e.live))
	if got := e.keys(t, e.now(t)); !slices.Equal(got, want) {
		t.Fatalf("shard shows %v, want %v", got, want)
	}
	open := e.objects.open.Load()
	if open == 0 {
		t.Fatal("no mapping open for a loaded sealed segment")
	}
	if err := e.qn.SyncSegment(e.ctx, collID, contract.SegmentPlan{Segment: seg}); err != nil {
		t.Fatal(err)
	}
	if got := e.objects.open.Load(); got != open {
		t.Fatalf("%d mappings open after reloading the segment, %d before", got, open)
	}
	if got := e.keys(t, e.now(t)); !slices.Equal(got, want) {
		t.Fatalf("after reload the shard shows %v, want %v", got, want)
	}
	mustDo(e.qn.ReleaseCollection(bg, collID))
	if got := e.objects.open.Load(); got != 0 {
		t.Fatalf("%d mappings open after release", got)
	}
	if _, err := e.qn.Query(e.ctx, &contract.QueryRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: 1}); !errors.Is(err, errs.ErrCollectionNotLoaded) {
		t.Fatalf("query after release: %v", err)
	}
}

// blockingMaps makes Map wait until released, after saying it started.
type blockingMaps struct {
	*mapCounter
	started chan struct{}
	release chan struct{}
	armed   atomic.Bool
}

func (b *blockingMaps) Map(ctx context.Context, key string) (objstore.Mapping, error) {
	if b.armed.CompareAndSwap(true, false) {
		b.started <- struct{}{}
		<-b.release
	}
	return b.mapCounter.Map(ctx, key)
}

// TestReleaseDuringLoad releases a collection while its shard is still
// mapping a sealed segment: once the load finishes, nothing may stay
// mapped.
func TestReleaseDuringLoad(t *testing.T) {
	e := newEnv(t)
	e.insert(t, keyRange(0, 20)...)
	seg := e.seal(t)
	e.gated.open()
	// f loads the segment through the initial plan or through a handoff,
	// and releases the collection while the segment is being mapped.
	f := func(viaHandoff bool) {
		t.Helper()
		bm := &blockingMaps{mapCounter: e.objects, started: make(chan struct{}), release: make(chan struct{})}
		bm.armed.Store(true)
		qn := New(Deps{Log: e.log, Objects: bm, Syncer: e.w})
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		qn.Start(ctx)
		done := make(chan struct{})
		go func() { qn.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch))}
		if !viaHandoff {
			plan.Sealed = []contract.SegmentPlan{{Segment: seg}}
		}
		if err := qn.LoadCollection(ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
			t.Fatal(err)
		}
		handoff := make(chan error, 1)
		if viaHandoff {
			d, err := qn.shard(collID, vch)
			if err != nil {
				t.Fatal(err)
			}
			go func() { handoff <- d.loadSealed(ctx, contract.SegmentPlan{Segment: seg}) }()
		}
		<-bm.started
		mustDo(qn.ReleaseCollection(bg, collID))
		close(bm.release)
		if viaHandoff {
			<-handoff
		}
		eventually(t, "every mapping closed", func() bool { return e.objects.open.Load() == 0 })
	}
	f(false)
	f(true)
}

// healingStore fails Map calls through objstoretest.Faulty until healed.
type healingStore struct {
	objstore.Store
	faulty *objstoretest.Faulty
	healed atomic.Bool
}

func (h *healingStore) Map(ctx context.Context, key string) (objstore.Mapping, error) {
	if !h.healed.Load() {
		return h.faulty.Map(ctx, key)
	}
	return h.Store.Map(ctx, key)
}

// TestLoadRetriesAfterAFailingObjectStore fails the object store while a
// shard loads its sealed segments: reads report the shard unavailable
// meanwhile, and once the store heals the shard loads and serves.
func TestLoadRetriesAfterAFailingObjectStore(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the one-second retry")
	}
	e := newEnv(t)
	e.insert(t, keyRange(0, 20)...)
	e.delete(t, 4)
	seg := e.seal(t)
	e.insert(t, keyRange(20, 25)...)
	e.gated.open()
	hs := &healingStore{Store: e.objects, faulty: &objstoretest.Faulty{Store: e.objects, FailAfter: 1}}
	qn := New(Deps{Log: e.log, Objects: hs, Syncer: e.w})
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	qn.Start(ctx)
	go func() { qn.Run(ctx); close(done) }()
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch)),
		Sealed: []contract.SegmentPlan{{Segment: seg}}, DeltaLogs: must(e.data.DeltaLogs(bg, vch))}
	if err := qn.LoadCollection(ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a failed load attempt", func() bool { return hs.faulty.Calls() > 1 })
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	if _, err := qn.Query(rctx, &contract.QueryRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: e.now(t), CountOnly: true}); err == nil {
		t.Fatal("a shard that cannot load answered")
	}
	if p, _ := must2(qn.Progress(bg, collID)); p == 100 {
		t.Fatal("progress 100 while the load fails")
	}
	hs.healed.Store(true)
	eventually(t, "progress 100", func() bool { p, _ := must2(qn.Progress(bg, collID)); return p == 100 })
	want := slices.Sorted(maps.Keys(e.live))
	if got := e.keysVia(t, qn, e.now(t)); !slices.Equal(got, want) {
		t.Fatalf("after the store healed the shard shows %v, want %v", got, want)
	}
}

// TestCompactedTwiceHandoffOutOfOrder hands off a compaction's output Y
// (made from X) before X (made from A) finishes loading: when X's load
// completes it is refused, and A must leave the shard too, or A's rows are
// read beside Y's copies of them.
func TestCompactedTwiceHandoffOutOfOrder(t *testing.T) {
	e := newEnv(t)
	e.insert(t, keyRange(0, 20)...)
	a := e.seal(t)
	e.gated.open()
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch)),
		Sealed: []contract.SegmentPlan{{Segment: a}}, DeltaLogs: must(e.data.DeltaLogs(bg, vch))}
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "progress 100", func() bool { p, _ := must2(e.qn.Progress(bg, collID)); return p == 100 })
	// X and Y hold A's rows (same files): X compacted from A, Y from X.
	x, y := a, a
	x.ID, x.CompactedFrom = a.ID+1000, []int64{a.ID}
	y.ID, y.CompactedFrom = a.ID+2000, []int64{x.ID}
	for _, s := range []model.Segment{y, x} {
		if err := e.qn.SyncSegment(e.ctx, collID, contract.SegmentPlan{Segment: s}); err != nil {
			t.Fatal(err)
		}
	}
	dl := e.delegator(t)
	dl.mu.RLock()
	ids := slices.Sorted(maps.Keys(dl.sealed))
	dl.mu.RUnlock()
	if !slices.Equal(ids, []int64{y.ID}) {
		t.Fatalf("shard serves sealed segments %v, want only %d", ids, y.ID)
	}
	if got := e.keys(t, e.now(t)); !slices.Equal(got, keyRange(0, 20)) {
		t.Fatalf("shard shows %v, want 0..19 once", got)
	}
}
