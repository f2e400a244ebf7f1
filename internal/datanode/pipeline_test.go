package datanode

import (
	"cmp"
	"context"
	"slices"
	"strings"
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
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/objstoretest"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/storage"
	"github.com/milvago/milvago/internal/streaming"
)

const (
	pch    = "dml_0"
	vch    = "dml_0_7v0"
	collID = 7
	partA  = 70
	partB  = 71
	dim    = 4
)

func testCollection() *model.Collection {
	return &model.Collection{ID: collID, Name: "c", VChannels: []string{vch}, PChannels: []string{pch},
		Schema: &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
			{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
			{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "4"}}},
			{FieldID: 102, Name: "tag", DataType: schemapb.DataType_VarChar, TypeParams: []*commonpb.KeyValuePair{{Key: "max_length", Value: "16"}}},
		}}}
}

// env is the write path below the proxy: a channel writer over a real data
// coordinator, root coordinator and in-memory log, plus an object store.
type env struct {
	store   *kv.Memory
	log     *logbroker.Memory
	objects objstore.Store
	root    *rootcoord.Server
	data    *datacoord.Server
	w       *streaming.Writer
	coll    *model.Collection
}

func newEnv(t *testing.T, maxRows int64) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{store: kv.NewMemory(), log: logbroker.NewMemory(logbroker.MemoryConfig{}), objects: objstore.NewMemory(), coll: testCollection()}
	t.Cleanup(func() { e.log.Close(); e.store.Close() })
	var err error
	if e.root, err = rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: e.store}); err != nil {
		t.Fatal(err)
	}
	cfg := datacoord.Default()
	cfg.MaxSegmentRows = maxRows
	if e.data, err = datacoord.New(ctx, cfg, datacoord.Deps{KV: e.store, IDs: e.root}); err != nil {
		t.Fatal(err)
	}
	e.w = streaming.New(streaming.Default(), streaming.Deps{Log: e.log, TSO: e.root, Segments: e.data})
	return e
}

// startNode runs a data node over objects until the test ends or stop is
// called; stop waits for it, like a crash that loses every buffer.
func (e *env) startNode(t *testing.T, objects objstore.Store) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n := New(Deps{Log: e.log, Objects: objects, Coord: e.data, IDs: e.root})
	if err := n.Watch(ctx, e.coll); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// rows is what the test wrote to one segment, in log order.
type rows struct {
	pks  []int64
	ts   []uint64
	vecs []float32
	tags []string
}

func (e *env) insert(t *testing.T, part int64, pks ...int64) (contract.AppendResult, rows) {
	t.Helper()
	var r rows
	for _, pk := range pks {
		r.pks = append(r.pks, pk)
		r.vecs = append(r.vecs, float32(pk), 1, 2, 3)
		r.tags = append(r.tags, "t"+string(rune('a'+pk%26)))
	}
	f := e.coll.Schema.GetFields()
	ins := &msgpb.InsertRequest{CollectionID: collID, PartitionID: part, NumRows: uint64(len(pks)), ShardName: vch,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: r.pks}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: dim, Data: r.vecs}, f[1]),
			column.ToFieldData(&column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: r.tags}, f[2]),
		}}
	res, err := e.w.AppendInsert(context.Background(), pch, contract.Insert{CollectionID: collID, PartitionID: part, VChannel: vch,
		Rows: int64(len(pks)), Bytes: int64(len(pks) * 24), Message: &msg.Message{Kind: msg.KindInsert, VChannel: vch, Insert: ins}})
	if err != nil {
		t.Fatal(err)
	}
	for range pks {
		r.ts = append(r.ts, res.TS)
	}
	return res, r
}

func (e *env) delete(t *testing.T, pks ...int64) uint64 {
	t.Helper()
	m := &msg.Message{Kind: msg.KindDelete, VChannel: vch, Delete: &msgpb.DeleteRequest{CollectionID: collID, ShardName: vch, NumRows: int64(len(pks)),
		PrimaryKeys: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: pks}}}}}
	r, err := e.w.AppendDelete(context.Background(), pch, m)
	if err != nil {
		t.Fatal(err)
	}
	return r.TS
}

func (r *rows) add(o rows) {
	r.pks = append(r.pks, o.pks...)
	r.ts = append(r.ts, o.ts...)
	r.vecs = append(r.vecs, o.vecs...)
	r.tags = append(r.tags, o.tags...)
}

// byKey is r with its rows in primary-key order, rows of one key in
// arrival order: how a segment is flushed.
func (r rows) byKey() rows {
	idx := make([]int, len(r.pks))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(r.pks[a], r.pks[b]) })
	var out rows
	for _, i := range idx {
		out.pks = append(out.pks, r.pks[i])
		out.ts = append(out.ts, r.ts[i])
		out.vecs = append(out.vecs, r.vecs[i*dim:(i+1)*dim]...)
		out.tags = append(out.tags, r.tags[i])
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) waitFlushed(t *testing.T, ids ...int64) {
	t.Helper()
	eventually(t, "segments to be flushed", func() bool { return must(e.data.Flushed(bg, ids)) })
}

// checkSegment decodes a flushed segment's binlogs and compares them with
// what was written.
func (e *env) checkSegment(t *testing.T, id int64, want rows) {
	t.Helper()
	ctx := context.Background()
	seg, ok := must2(e.data.Segment(bg, id))
	if !ok || seg.State != model.SegmentFlushed || seg.NumRows != int64(len(want.pks)) || !seg.Sorted {
		t.Fatalf("segment %d: %+v, want flushed and sorted with %d rows", id, seg, len(want.pks))
	}
	want = want.byKey()
	decode := func(field int64) column.Column {
		t.Helper()
		path, ok := seg.Binlogs[field]
		if !ok {
			t.Fatalf("segment %d has no binlog for field %d", id, field)
		}
		data, err := e.objects.Get(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := storage.DecodeColumn(data)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ts, err := storage.Timestamps(decode(TimestampFieldID))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ts, want.ts) {
		t.Fatalf("segment %d timestamps %v, want %v", id, ts, want.ts)
	}
	if got := decode(100).(*column.Scalar[int64]).Data; !slices.Equal(got, want.pks) {
		t.Fatalf("segment %d keys %v, want %v", id, got, want.pks)
	}
	if got := decode(101).(*column.FloatVector).Data; !slices.Equal(got, want.vecs) {
		t.Fatalf("segment %d vectors %v, want %v", id, got, want.vecs)
	}
	if got := decode(102).(*column.Scalar[string]).Data; !slices.Equal(got, want.tags) {
		t.Fatalf("segment %d tags %v, want %v", id, got, want.tags)
	}
	data, err := e.objects.Get(ctx, seg.StatsLog)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.DecodeStats(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, pk := range want.pks {
		if !st.MayContainInt(pk) {
			t.Fatalf("segment %d stats rule out key %d", id, pk)
		}
	}
}

// deletes reads every delta log of the channel.
func (e *env) deletes(t *testing.T) storage.Deltas {
	t.Helper()
	var all storage.Deltas
	for _, dl := range must(e.data.DeltaLogs(bg, vch)) {
		data, err := e.objects.Get(context.Background(), dl.Path)
		if err != nil {
			t.Fatal(err)
		}
		d, err := storage.DecodeDeltas(data)
		if err != nil {
			t.Fatal(err)
		}
		if int64(d.Len()) != dl.Entries || slices.Max(d.Timestamps) != dl.MaxTS {
			t.Fatalf("delta log %s: %d entries up to %d, meta says %+v", dl.Path, d.Len(), slices.Max(d.Timestamps), dl)
		}
		all.IntPKs = append(all.IntPKs, d.IntPKs...)
		all.Timestamps = append(all.Timestamps, d.Timestamps...)
	}
	return all
}

// countingStore counts Puts per key.
type countingStore struct {
	objstore.Store
	mu   sync.Mutex
	puts []string
}

func (c *countingStore) Put(ctx context.Context, key string, data []byte) error {
	c.mu.Lock()
	c.puts = append(c.puts, key)
	c.mu.Unlock()
	return c.Store.Put(ctx, key, data)
}

func (c *countingStore) putsUnder(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.puts {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

func segmentPrefix(part, seg int64) string { return storage.SegmentPrefixes(collID, part, seg)[0] }

// TestFlushAndReplay writes two partitions' segments, seals one because
// it is full, checks its files, the delete log and the checkpoint, then
// crashes the data node and checks that a new one flushes the rest from
// the log without writing the flushed segment again.
func TestFlushAndReplay(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 10)
	objects := &countingStore{Store: e.objects}
	stop := e.startNode(t, objects)

	var wantA, wantB rows
	a1, r := e.insert(t, partA, 1, 2, 3, 4)
	wantA.add(r)
	b1, r := e.insert(t, partB, 101, 102)
	wantB.add(r)
	_, r = e.insert(t, partA, 5, 6, 7, 8, 9, 10)
	wantA.add(r)
	delTS := e.delete(t, 2, 102)
	// Segment A is full: this insert seals it and opens A2.
	a2, r := e.insert(t, partA, 11, 12)
	if a2.SegmentID == a1.SegmentID {
		t.Fatal("segment A was not sealed at 10 rows")
	}
	wantA2 := r

	e.waitFlushed(t, a1.SegmentID)
	e.checkSegment(t, a1.SegmentID, wantA)
	// The delete log is written after the segment is reported.
	eventually(t, "the delete log", func() bool { return len(must(e.data.DeltaLogs(bg, vch))) > 0 })
	d := e.deletes(t)
	if !slices.Equal(d.IntPKs, []int64{2, 102}) || !slices.Equal(d.Timestamps, []uint64{delTS, delTS}) {
		t.Fatalf("delta logs hold %+v", d)
	}
	// B is the oldest segment still buffered: the checkpoint waits at its start.
	segB, _ := must2(e.data.Segment(bg, b1.SegmentID))
	eventually(t, "checkpoint at the start of segment B", func() bool { return must(e.data.GetCheckpoint(bg, vch)).Position == segB.StartPosition })
	// Its timestamp is that of the position, not of the Seal that moved it:
	// a query node loading the channel serves reads at it before replaying
	// B's rows.
	if cp := must(e.data.GetCheckpoint(bg, vch)); cp.TS >= b1.TS {
		t.Fatalf("checkpoint at %d carries ts %d, not before segment B's first insert at %d", cp.Position, cp.TS, b1.TS)
	}
	if seg, _ := must2(e.data.Segment(bg, b1.SegmentID)); seg.State != model.SegmentGrowing {
		t.Fatalf("segment B is %v", seg.State)
	}

	// Crash: the buffers of B and A2 are lost.
	stop()
	ids, _, err := e.w.Seal(ctx, pch, vch, collID)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if want := []int64{b1.SegmentID, a2.SegmentID}; !slices.Equal(ids, want) {
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("sealed %v, want %v", ids, want)
		}
	}
	putsA := objects.putsUnder(segmentPrefix(partA, a1.SegmentID))
	listener := &flushRecorder{}
	e.data.AddListener(listener)
	e.startNode(t, objects)
	e.waitFlushed(t, b1.SegmentID, a2.SegmentID)
	e.checkSegment(t, b1.SegmentID, wantB)
	e.checkSegment(t, a2.SegmentID, wantA2)
	if n := objects.putsUnder(segmentPrefix(partA, a1.SegmentID)); n != putsA {
		t.Fatalf("replay wrote %d more files of the flushed segment %d", n-putsA, a1.SegmentID)
	}
	if got := listener.ids(); len(got) != 2 || slices.Contains(got, a1.SegmentID) {
		t.Fatalf("flush notifications after replay: %v", got)
	}
	// Nothing is buffered any more: the checkpoint reaches the Seal.
	latest, _ := e.log.Latest(ctx, pch)
	eventually(t, "checkpoint at the end of the log", func() bool { return must(e.data.GetCheckpoint(bg, vch)).Position == uint64(latest) })
	if got := e.deletes(t); !slices.Contains(got.IntPKs, 102) {
		t.Fatalf("deletes after replay: %+v", got)
	}
}

type flushRecorder struct {
	mu   sync.Mutex
	segs []int64
}

func (f *flushRecorder) SegmentFlushed(_ context.Context, seg *model.Segment) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.segs = append(f.segs, seg.ID)
	return nil
}

func (f *flushRecorder) ids() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.segs)
}

// switchStore sends calls to a fault-injecting store until healed.
type switchStore struct {
	objstore.Store // the faulty one
	healthy        objstore.Store
	healed         atomic.Bool
}

func (s *switchStore) cur() objstore.Store {
	if s.healed.Load() {
		return s.healthy
	}
	return s.Store
}

func (s *switchStore) Put(ctx context.Context, key string, data []byte) error {
	return s.cur().Put(ctx, key, data)
}

func (s *switchStore) Get(ctx context.Context, key string) ([]byte, error) {
	return s.cur().Get(ctx, key)
}

// TestFailingObjectStoreRetries fails the object store at each write of a
// flush: the checkpoint must stay where it was, the pipeline must retry,
// and once the store heals the segment is flushed exactly as written.
func TestFailingObjectStoreRetries(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the pipeline's one-second retry")
	}
	// A flush writes 4 insert binlogs (timestamps, id, v, tag), a stats
	// log and a delta log (a segment without a recorded sync manifest reads
	// nothing first, sync.go): fail the first, a middle and the last write.
	for _, failAfter := range []int{0, 3, 5} {
		e := newEnv(t, 1000)
		faulty := &objstoretest.Faulty{Store: e.objects, FailAfter: failAfter}
		sw := &switchStore{Store: faulty, healthy: e.objects}
		e.startNode(t, sw)
		// A tick moves the idle channel's checkpoint before anything is written.
		if err := e.w.SyncTo(context.Background(), pch, 1); err != nil {
			t.Fatal(err)
		}
		tick, _ := e.log.Latest(context.Background(), pch)
		eventually(t, "checkpoint at the first tick", func() bool { return must(e.data.GetCheckpoint(bg, vch)).Position == uint64(tick) })
		res, want := e.insert(t, partA, 1, 2, 3)
		e.delete(t, 2)
		if _, _, err := e.w.Seal(context.Background(), pch, vch, collID); err != nil {
			t.Fatal(err)
		}
		// Two failed attempts: the pipeline restarted at least once.
		eventually(t, "a retry", func() bool { return faulty.Calls() > failAfter+1 })
		if cp := must(e.data.GetCheckpoint(bg, vch)); cp.Position != uint64(tick) {
			t.Fatalf("fail after %d: checkpoint moved to %+v while flushes fail", failAfter, cp)
		}
		// Only the delta log write fails at 5: the segment itself is flushed.
		wantState := model.SegmentSealed
		if failAfter == 5 {
			wantState = model.SegmentFlushed
		}
		if seg, _ := must2(e.data.Segment(bg, res.SegmentID)); seg.State != wantState || len(must(e.data.DeltaLogs(bg, vch))) != 0 {
			t.Fatalf("fail after %d: segment %+v, delta logs %v", failAfter, seg, must(e.data.DeltaLogs(bg, vch)))
		}
		sw.healed.Store(true)
		e.waitFlushed(t, res.SegmentID)
		e.checkSegment(t, res.SegmentID, want)
		latest, _ := e.log.Latest(context.Background(), pch)
		eventually(t, "checkpoint at the Seal", func() bool { return must(e.data.GetCheckpoint(bg, vch)).Position == uint64(latest) })
		if d := e.deletes(t); !slices.Contains(d.IntPKs, 2) {
			t.Fatalf("fail after %d: deletes %+v", failAfter, d)
		}
	}
}

// TestRestartOfEverything restarts the coordinators, the writer and the data
// node over the same meta store, log and objects while a segment is
// growing: the rows written before the restart and after it end up flushed,
// each exactly once.
func TestRestartOfEverything(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 10)
	stop := e.startNode(t, e.objects)
	before, r := e.insert(t, partA, 1, 2, 3, 4, 5, 6, 7, 8)
	latest, _ := e.log.Latest(ctx, pch)
	stop()

	// Restart: new coordinators over the same meta store.
	var err error
	if e.root, err = rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: e.store}); err != nil {
		t.Fatal(err)
	}
	cfg := datacoord.Default()
	cfg.MaxSegmentRows = 10
	if e.data, err = datacoord.New(ctx, cfg, datacoord.Deps{KV: e.store, IDs: e.root}); err != nil {
		t.Fatal(err)
	}
	e.w = streaming.New(streaming.Default(), streaming.Deps{Log: e.log, TSO: e.root, Segments: e.data})
	e.startNode(t, e.objects)
	after, r2 := e.insert(t, partA, 9, 10, 11)
	ids, _, err := e.w.Seal(ctx, pch, vch, collID)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]int64{before.SegmentID}, ids...)
	e.waitFlushed(t, all...)
	if after.SegmentID == before.SegmentID {
		// One segment holding everything must respect the row limit.
		var both rows
		both.add(r)
		both.add(r2)
		if len(both.pks) > 10 {
			t.Fatalf("segment %d took %d rows across the restart, limit 10", before.SegmentID, len(both.pks))
		}
		e.checkSegment(t, before.SegmentID, both)
	} else {
		e.checkSegment(t, before.SegmentID, r)
		e.checkSegment(t, after.SegmentID, r2)
	}
	if n := must(e.data.RowCount(bg, collID, 0)); n != 11 {
		t.Fatalf("row count %d after flush, want 11", n)
	}
	eventually(t, "checkpoint past the restart", func() bool { return must(e.data.GetCheckpoint(bg, vch)).Position > uint64(latest) })
}

// failingAppends fails the next n Appends, then heals.
type failingAppends struct {
	logbroker.Log
	n atomic.Int32
}

func (f *failingAppends) Append(ctx context.Context, channel string, payload []byte, props map[string]string) (logbroker.MessageID, error) {
	if f.n.Add(-1) >= 0 {
		return 0, objstoretest.ErrInjected
	}
	return f.Log.Append(ctx, channel, payload, props)
}

// TestSealOfASegmentWithNoRows seals a segment whose only insert failed to
// reach the log: the data node has nothing to flush, but the segment must
// still leave the Sealed state, or a client's Flush would wait for it
// forever.
func TestSealOfASegmentWithNoRows(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1000)
	fl := &failingAppends{Log: e.log}
	e.w = streaming.New(streaming.Default(), streaming.Deps{Log: fl, TSO: e.root, Segments: e.data})
	e.startNode(t, e.objects)
	fl.n.Store(1)
	res, err := e.w.AppendInsert(ctx, pch, contract.Insert{CollectionID: collID, PartitionID: partA, VChannel: vch, Rows: 3, Bytes: 30,
		Message: &msg.Message{Kind: msg.KindInsert, VChannel: vch, Insert: &msgpb.InsertRequest{CollectionID: collID, PartitionID: partA, NumRows: 3}}})
	if err == nil {
		t.Fatalf("insert succeeded: %+v", res)
	}
	// A segment with rows in another partition is sealed with it.
	b, want := e.insert(t, partB, 1, 2)
	ids, _, err := e.w.Seal(ctx, pch, vch, collID)
	if err != nil || len(ids) != 2 {
		t.Fatalf("seal: %v %v", ids, err)
	}
	e.waitFlushed(t, ids...)
	e.checkSegment(t, b.SegmentID, want)
	for _, id := range ids {
		if id == b.SegmentID {
			continue
		}
		if seg, ok := must2(e.data.Segment(bg, id)); ok && seg.State != model.SegmentDropped {
			t.Fatalf("empty segment: %+v", seg)
		}
	}
	if segs := must(e.data.Segments(bg, collID, "")); len(segs) != 1 || segs[0].ID != b.SegmentID {
		t.Fatalf("segments: %+v", segs)
	}
	if n := must(e.data.RowCount(bg, collID, 0)); n != 2 {
		t.Fatalf("row count %d, want 2", n)
	}
	latest, _ := e.log.Latest(ctx, pch)
	eventually(t, "checkpoint at the Seal", func() bool { return must(e.data.GetCheckpoint(bg, vch)).Position == uint64(latest) })
}

// TestUpsertFlushesDeleteAndInsertAtOneTimestamp writes an upsert (one
// message: delete and insert of the same keys) and checks the flushed
// segment and delete log carry both at the message's timestamp.
func TestUpsertFlushesDeleteAndInsertAtOneTimestamp(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1000)
	e.startNode(t, e.objects)
	_, first := e.insert(t, partA, 1, 2)
	f := e.coll.Schema.GetFields()
	keys := []int64{2}
	ins := &msgpb.InsertRequest{CollectionID: collID, PartitionID: partA, NumRows: 1, ShardName: vch,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: keys}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: dim, Data: []float32{9, 9, 9, 9}}, f[1]),
			column.ToFieldData(&column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"new"}}, f[2]),
		}}
	m := &msg.Message{Kind: msg.KindUpsert, VChannel: vch, Insert: ins, Delete: &msgpb.DeleteRequest{CollectionID: collID, ShardName: vch, NumRows: 1,
		PrimaryKeys: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: keys}}}}}
	up, err := e.w.AppendInsert(ctx, pch, contract.Insert{CollectionID: collID, PartitionID: partA, VChannel: vch, Rows: 1, Bytes: 24, Message: m})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.w.Seal(ctx, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, up.SegmentID)
	want := first
	want.pks = append(want.pks, 2)
	want.ts = append(want.ts, up.TS)
	want.vecs = append(want.vecs, 9, 9, 9, 9)
	want.tags = append(want.tags, "new")
	e.checkSegment(t, up.SegmentID, want)
	eventually(t, "the delete log", func() bool { return len(must(e.data.DeltaLogs(bg, vch))) > 0 })
	if d := e.deletes(t); !slices.Equal(d.IntPKs, []int64{2}) || !slices.Equal(d.Timestamps, []uint64{up.TS}) {
		t.Fatalf("deletes %+v, want key 2 at %d", d, up.TS)
	}
}

// TestFlushWritesKeyOrder: a segment whose keys arrive out of order (and
// with a key written twice) is flushed in key order, rows of one key in
// arrival order, and reported sorted, so no sort compaction rewrites it.
func TestFlushWritesKeyOrder(t *testing.T) {
	e := newEnv(t, 10)
	e.startNode(t, e.objects)
	var want rows
	a1, r := e.insert(t, partA, 9, 3, 7)
	want.add(r)
	_, r = e.insert(t, partA, 1, 7, 8, 2)
	want.add(r)
	_, r = e.insert(t, partA, 6, 5, 4)
	want.add(r)
	// Full at 10 rows: this insert seals the first segment.
	if a2, _ := e.insert(t, partA, 11); a2.SegmentID == a1.SegmentID {
		t.Fatal("segment was not sealed at 10 rows")
	}
	e.waitFlushed(t, a1.SegmentID)
	e.checkSegment(t, a1.SegmentID, want)
}

// TestFlushOfAChannelWithNothingGrowing: a Flush's Seal on a channel with
// no growing segment writes the channel's buffered deletes and moves its
// checkpoint to the Seal, with no time tick (the writer's Run is not
// running here, so none comes): when the checkpoint has reached the
// Seal's timestamp, the deletes are in a delete log. Then a Seal of a
// channel with nothing buffered at all moves the checkpoint too.
func TestFlushOfAChannelWithNothingGrowing(t *testing.T) {
	e := newEnv(t, 1000)
	e.startNode(t, e.objects)
	ins, _ := e.insert(t, partA, 1, 2, 3, 4)
	if ids, _ := must2(e.w.Seal(bg, pch, vch, collID)); !slices.Equal(ids, []int64{ins.SegmentID}) {
		t.Fatalf("sealed %v, want [%d]", ids, ins.SegmentID)
	}
	e.waitFlushed(t, ins.SegmentID)
	delTS := e.delete(t, 2, 3)
	ids, ts := must2(e.w.Seal(bg, pch, vch, collID))
	if len(ids) != 0 || ts <= delTS {
		t.Fatalf("seal with nothing growing: %v at %d (delete at %d)", ids, ts, delTS)
	}
	eventually(t, "the checkpoint to reach the Seal", func() bool { return must(e.data.GetCheckpoint(bg, vch)).TS >= ts })
	if d := e.deletes(t); !slices.Equal(slices.Sorted(slices.Values(d.IntPKs)), []int64{2, 3}) {
		t.Fatalf("checkpoint at the Seal, deletes %+v, want keys 2 and 3", d)
	}
	_, ts = must2(e.w.Seal(bg, pch, vch, collID))
	eventually(t, "the checkpoint of an idle channel to reach the Seal", func() bool { return must(e.data.GetCheckpoint(bg, vch)).TS >= ts })
	if d := e.deletes(t); d.Len() != 2 {
		t.Fatalf("an idle channel's Seal wrote deletes again: %+v", d)
	}
}

// TestFlushAllFlushesEveryChannel: a FlushAll message (one for the whole
// physical channel) flushes the segments it sealed in the data node's
// channel, writes its buffered deletes and moves its checkpoint to the
// message, with no time tick; a FlushAll that does not list the channel
// (a collection created after the FlushAll's listing) still writes the
// deletes of a channel with nothing buffered and moves its checkpoint.
func TestFlushAllFlushesEveryChannel(t *testing.T) {
	e := newEnv(t, 1000)
	e.startNode(t, e.objects)
	ins, want := e.insert(t, partA, 1, 2, 3, 4)
	delTS := e.delete(t, 9)
	res, err := e.w.FlushAll(bg, pch, []contract.VChannel{{Name: vch, CollectionID: collID}})
	if err != nil || res.TS <= delTS {
		t.Fatalf("flush all: %+v %v", res, err)
	}
	e.waitFlushed(t, ins.SegmentID)
	e.checkSegment(t, ins.SegmentID, want)
	eventually(t, "the checkpoint to reach the FlushAll", func() bool { return must(e.data.GetCheckpoint(bg, vch)).TS >= res.TS })
	if cp := must(e.data.GetCheckpoint(bg, vch)); cp.Position != uint64(res.ID) || cp.TS != res.TS {
		t.Fatalf("checkpoint %+v, want the FlushAll at %d, %d", cp, res.ID, res.TS)
	}
	if d := e.deletes(t); !slices.Equal(d.IntPKs, []int64{9}) {
		t.Fatalf("deletes %+v after FlushAll, want key 9", d)
	}
	delTS = e.delete(t, 10)
	res, err = e.w.FlushAll(bg, pch, nil)
	if err != nil || res.TS <= delTS {
		t.Fatalf("flush all listing no channel: %+v %v", res, err)
	}
	eventually(t, "the unlisted channel's checkpoint to reach the FlushAll", func() bool { return must(e.data.GetCheckpoint(bg, vch)).TS >= res.TS })
	if d := e.deletes(t); !slices.Equal(slices.Sorted(slices.Values(d.IntPKs)), []int64{9, 10}) {
		t.Fatalf("deletes %+v after an unlisting FlushAll, want keys 9 and 10", d)
	}
}
