package datanode

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

// startSyncNode is startNode with a sync policy.
func (e *env) startSyncNode(t *testing.T, objects objstore.Store, pol SyncPolicy) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n := New(Deps{Log: e.log, Objects: objects, Coord: e.data, IDs: e.root, Sync: &pol})
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

// pieces reads a growing segment's sync manifest.
func (e *env) pieces(t *testing.T, part, seg int64) []syncPiece {
	t.Helper()
	for {
		// The recorded manifest's predecessor is deleted once a new one is
		// recorded: read the record again if it went meanwhile.
		m, err := (&pipeline{d: Deps{Objects: e.objects}}).loadManifest(bg, segOf(e, seg).SyncManifest)
		if errors.Is(err, objstore.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return m.Pieces
	}
}

// checkArrivalOrder checks a flushed segment's binlogs against the rows
// written, in the order they were written, and its Sorted flag.
func (e *env) checkArrivalOrder(t *testing.T, id int64, want rows, sorted bool) {
	t.Helper()
	seg, ok := must2(e.data.Segment(bg, id))
	if !ok || seg.State != model.SegmentFlushed || seg.NumRows != int64(len(want.pks)) || seg.Sorted != sorted {
		t.Fatalf("segment %d: %+v, want flushed, sorted=%v, with %d rows", id, seg, sorted, len(want.pks))
	}
	decode := func(field int64) column.Column {
		t.Helper()
		data, err := e.objects.Get(bg, seg.Binlogs[field])
		if err != nil {
			t.Fatalf("segment %d field %d: %v", id, field, err)
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
	data, err := e.objects.Get(bg, seg.StatsLog)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.DecodeStats(data)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != int64(len(want.pks)) {
		t.Fatalf("segment %d stats count %d rows, want %d", id, st.Rows, len(want.pks))
	}
	for _, pk := range want.pks {
		if !st.MayContainInt(pk) {
			t.Fatalf("segment %d stats rule out key %d", id, pk)
		}
	}
	if st.PK.MinInt != slices.Min(want.pks) || st.PK.MaxInt != slices.Max(want.pks) {
		t.Fatalf("segment %d key bounds [%d, %d], want [%d, %d]", id, st.PK.MinInt, st.PK.MaxInt, slices.Min(want.pks), slices.Max(want.pks))
	}
}

// segmentObjects lists the objects under a segment's insert log directory.
func (e *env) segmentObjects(t *testing.T, part, seg int64) []string {
	t.Helper()
	var out []string
	for _, o := range must(e.objects.List(bg, segmentPrefix(part, seg))) {
		out = append(out, o.Key)
	}
	return out
}

// everyInsert syncs each insert as its own piece.
var everyInsert = SyncPolicy{InsertBufSize: 1}

// TestSyncInPieces syncs every insert of a segment as a piece: the buffer
// is written and freed before the seal, the manifest lists each piece with
// its row range, and the seal merges the pieces into one binlog per field
// (keys in order: registered Sorted), deleting the pieces.
func TestSyncInPieces(t *testing.T) {
	e := newEnv(t, 10)
	e.startSyncNode(t, e.objects, everyInsert)
	var want rows
	first, r := e.insert(t, partA, 1, 2, 3)
	want.add(r)
	_, r = e.insert(t, partA, 4, 5)
	want.add(r)
	_, r = e.insert(t, partA, 6, 7, 8, 9)
	want.add(r)
	seg := first.SegmentID
	var pieces []syncPiece
	eventually(t, "three pieces", func() bool { pieces = e.pieces(t, partA, seg); return len(pieces) == 3 })
	for i, wantRows := range []int64{3, 2, 4} {
		p := pieces[i]
		if p.Rows != wantRows || len(p.Binlogs) != 4 {
			t.Fatalf("piece %d: %+v, want %d rows in 4 binlogs (timestamps, id, v, tag)", i, p, wantRows)
		}
		if i > 0 && (p.RowFrom != pieces[i-1].RowFrom+pieces[i-1].Rows || p.SyncedPos <= pieces[i-1].SyncedPos) {
			t.Fatalf("piece %d %+v does not follow piece %d %+v", i, p, i-1, pieces[i-1])
		}
	}
	if s, _ := must2(e.data.Segment(bg, seg)); s.State != model.SegmentGrowing || s.NumRows != 9 {
		t.Fatalf("segment before the seal: %+v", s)
	}
	_, r = e.insert(t, partA, 10)
	want.add(r)
	e.insert(t, partA, 11) // seals the full segment
	e.waitFlushed(t, seg)
	e.checkArrivalOrder(t, seg, want, true)
	e.checkSegment(t, seg, want) // as a segment flushed from memory
	s, _ := must2(e.data.Segment(bg, seg))
	for _, key := range e.segmentObjects(t, partA, seg) {
		if !slices.Contains(slices.Collect(maps.Values(s.Binlogs)), key) {
			t.Fatalf("%s is left in the flushed segment's directory (files %v)", key, s.Binlogs)
		}
	}
}

// TestSyncInPiecesUnsorted: keys out of order across pieces are merged in
// arrival order and the segment is not registered Sorted (sort compaction
// sorts it), whereas a segment flushed from memory is sorted at flush.
func TestSyncInPiecesUnsorted(t *testing.T) {
	e := newEnv(t, 6)
	e.startSyncNode(t, e.objects, everyInsert)
	var want rows
	first, r := e.insert(t, partA, 50, 60, 70)
	want.add(r)
	_, r = e.insert(t, partA, 5, 6, 7)
	want.add(r)
	e.insert(t, partA, 1)
	e.waitFlushed(t, first.SegmentID)
	e.checkArrivalOrder(t, first.SegmentID, want, false)
}

// TestSyncBufferSize syncs only once a segment's buffer passes the size:
// small inserts accumulate into one piece.
func TestSyncBufferSize(t *testing.T) {
	e := newEnv(t, 1000)
	// Each insert of 10 rows: 10 keys, 10 x 4 floats, 10 tags ~ 300 bytes.
	e.startSyncNode(t, e.objects, SyncPolicy{InsertBufSize: 1000})
	var want rows
	var seg int64
	for i := range int64(12) {
		res, r := e.insert(t, partA, slices.Collect(keyRange(i*10, i*10+10))...)
		want.add(r)
		seg = res.SegmentID
	}
	var pieces []syncPiece
	eventually(t, "pieces", func() bool { pieces = e.pieces(t, partA, seg); return len(pieces) >= 2 })
	for _, p := range pieces {
		if p.Rows < 20 || p.Rows > 50 {
			t.Fatalf("piece of %d rows for a 1000-byte buffer of ~300-byte inserts: %+v", p.Rows, pieces)
		}
	}
	if _, _, err := e.w.Seal(bg, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, seg)
	e.checkArrivalOrder(t, seg, want, true)
}

func keyRange(lo, hi int64) func(func(int64) bool) {
	return func(yield func(int64) bool) {
		for k := lo; k < hi; k++ {
			if !yield(k) {
				return
			}
		}
	}
}

// TestSyncForcedByWatermark: with no buffer size, the memory watermark
// (dataNode.memory.forceSyncWatermark of MemoryTotal) syncs the largest
// buffer.
func TestSyncForcedByWatermark(t *testing.T) {
	e := newEnv(t, 1000)
	e.startSyncNode(t, e.objects, SyncPolicy{ForceSyncEnable: true, ForceSyncSegmentNum: 1, ForceSyncWatermark: 0.5, MemoryTotal: 2000})
	var want rows
	var seg int64
	for i := range int64(8) {
		res, r := e.insert(t, partA, slices.Collect(keyRange(i*10, i*10+10))...)
		want.add(r)
		seg = res.SegmentID
	}
	eventually(t, "a forced piece", func() bool { return len(e.pieces(t, partA, seg)) >= 1 })
	if _, _, err := e.w.Seal(bg, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, seg)
	e.checkArrivalOrder(t, seg, want, true)
}

// TestSyncCrashBetweenPieces crashes the data node after some pieces are
// durable and more rows are buffered, keeps inserting, and starts a new
// data node: it replays from the checkpoint (still before the segment),
// skips the inserts its pieces hold and flushes every row exactly once.
func TestSyncCrashBetweenPieces(t *testing.T) {
	e := newEnv(t, 1000)
	stop := e.startSyncNode(t, e.objects, everyInsert)
	var want rows
	first, r := e.insert(t, partA, 1, 2)
	want.add(r)
	_, r = e.insert(t, partA, 3, 4, 5)
	want.add(r)
	seg := first.SegmentID
	eventually(t, "two pieces", func() bool { return len(e.pieces(t, partA, seg)) == 2 })
	if cp, s := must(e.data.GetCheckpoint(bg, vch)), segOf(e, seg); cp.Position > s.StartPosition {
		t.Fatalf("checkpoint %d passed the growing segment's start", cp.Position)
	}
	stop()
	_, r = e.insert(t, partA, 6)
	want.add(r)
	// A second node syncs the new insert as a third piece, then crashes
	// again before the seal.
	stop = e.startSyncNode(t, e.objects, everyInsert)
	eventually(t, "three pieces", func() bool { return len(e.pieces(t, partA, seg)) == 3 })
	stop()
	if _, _, err := e.w.Seal(bg, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	// The third node has nothing of the segment to buffer: every insert is
	// in a piece; the Seal flushes it from its pieces.
	e.startSyncNode(t, e.objects, everyInsert)
	e.waitFlushed(t, seg)
	e.checkArrivalOrder(t, seg, want, true)
}

// manifestFailStore fails the first n writes of a sync manifest: the
// piece's binlogs are written, the manifest that would make them count is
// not (a crash between the two).
type manifestFailStore struct {
	objstore.Store
	left atomic.Int32
}

func (s *manifestFailStore) Put(ctx context.Context, key string, data []byte) error {
	if strings.Contains(key, "/"+syncManifestPrefix) && s.left.Add(-1) >= 0 {
		return errors.New("injected: manifest write lost")
	}
	return s.Store.Put(ctx, key, data)
}

// TestSyncManifestLost: a piece whose manifest write fails does not count;
// the pipeline restarts from the checkpoint, buffers its rows again, and
// the segment holds each row once.
func TestSyncManifestLost(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the pipeline's one-second retry")
	}
	e := newEnv(t, 1000)
	store := &manifestFailStore{Store: e.objects}
	e.startSyncNode(t, store, everyInsert)
	var want rows
	first, r := e.insert(t, partA, 1, 2)
	want.add(r)
	seg := first.SegmentID
	eventually(t, "one piece", func() bool { return len(e.pieces(t, partA, seg)) == 1 })
	store.left.Store(1)
	_, r = e.insert(t, partA, 3, 4, 5)
	want.add(r)
	eventually(t, "the second piece after the retry", func() bool { return len(e.pieces(t, partA, seg)) == 2 })
	if _, _, err := e.w.Seal(bg, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, seg)
	e.checkArrivalOrder(t, seg, want, true)
	if p := e.pieces(t, partA, seg); len(p) != 0 {
		t.Fatalf("manifest left after the flush: %+v", p)
	}
}

func segOf(e *env, id int64) model.Segment {
	s, _ := must2(e.data.Segment(bg, id))
	return s
}

// TestSyncFieldAddedBetweenPieces: a field added after some rows were
// synced is in the later pieces only; the merge fills the earlier rows
// with what they read as (null), one value per row.
func TestSyncFieldAddedBetweenPieces(t *testing.T) {
	e := newEnv(t, 1000)
	added := &model.Collection{}
	*added = *e.coll
	added.UpdateTS = 1
	added.Schema = proto.Clone(e.coll.Schema).(*schemapb.CollectionSchema)
	added.Schema.Fields = append(added.Schema.Fields, &schemapb.FieldSchema{FieldID: 103, Name: "score", DataType: schemapb.DataType_Int64, Nullable: true})
	pol := everyInsert
	ctx, cancel := context.WithCancel(context.Background())
	n := New(Deps{Log: e.log, Objects: e.objects, Coord: e.data, IDs: e.root, Collections: &fixedCollections{c: added}, Sync: &pol})
	if err := n.Watch(ctx, e.coll); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	res, _ := e.insert(t, partA, 1, 2)
	eventually(t, "the first piece", func() bool { return len(e.pieces(t, partA, res.SegmentID)) == 1 })
	n.UpdateCollection(added)
	f := added.Schema.GetFields()
	ins := &msgpb.InsertRequest{CollectionID: collID, PartitionID: partA, NumRows: 1, ShardName: vch,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{3}}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: dim, Data: make([]float32, dim)}, f[1]),
			column.ToFieldData(&column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"x"}}, f[2]),
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{30}, Valid: []bool{true}}, f[3]),
		}}
	if _, err := e.w.AppendInsert(ctx, pch, contract.Insert{CollectionID: collID, PartitionID: partA, VChannel: vch,
		Rows: 1, Bytes: 24, Message: &msg.Message{Kind: msg.KindInsert, VChannel: vch, Insert: ins}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second piece", func() bool { return len(e.pieces(t, partA, res.SegmentID)) == 2 })
	if _, _, err := e.w.Seal(ctx, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, res.SegmentID)
	seg, _ := must2(e.data.Segment(bg, res.SegmentID))
	data, err := e.objects.Get(ctx, seg.Binlogs[103])
	if err != nil {
		t.Fatal(err)
	}
	c, err := storage.DecodeColumn(data)
	if err != nil {
		t.Fatal(err)
	}
	s := c.(*column.Scalar[int64])
	if s.Len() != 3 || !s.IsNull(0) || !s.IsNull(1) || s.IsNull(2) || s.Data[2] != 30 || seg.NumRows != 3 {
		t.Fatalf("added field's binlog: %+v (segment %+v)", s, seg)
	}
}
