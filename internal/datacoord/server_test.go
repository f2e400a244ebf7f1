package datacoord

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rootcoord"
)

// newCoord returns a data coordinator over store, with a real root
// coordinator (over the same store) handing out IDs.
func newCoord(t *testing.T, store kv.Store, cfg Config) *Server {
	t.Helper()
	ctx := context.Background()
	root, err := rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, cfg, Deps{KV: store, IDs: root})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func smallConfig() Config {
	cfg := Default()
	cfg.MaxSegmentRows = 10
	cfg.MaxSegmentBytes = 1000
	return cfg
}

func mustAssign(t *testing.T, s *Server, coll, part int64, vc string, rows, bytes int64, pos uint64) contract.Assignment {
	t.Helper()
	a, err := s.AssignSegment(context.Background(), coll, part, vc, rows, bytes, pos)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAssignSegmentSealsFullSegment(t *testing.T) {
	// f assigns batches of (rows, bytes) in turn and checks after which
	// batch the first segment is sealed (-1: never).
	f := func(batches [][2]int64, sealedBy int) {
		t.Helper()
		s := newCoord(t, kv.NewMemory(), smallConfig())
		var first int64
		for i, b := range batches {
			a := mustAssign(t, s, 1, 2, "dml_0_1v0", b[0], b[1], uint64(100+i))
			if i == 0 {
				first = a.SegmentID
				if seg, _ := must2(s.Segment(bg, first)); seg.StartPosition != 100 || seg.State != model.SegmentGrowing {
					t.Fatalf("new segment: %+v", seg)
				}
				continue
			}
			if i != sealedBy {
				if len(a.Seal) != 0 || a.SegmentID != first {
					t.Fatalf("batch %d: got %+v, want segment %d and no seal", i, a, first)
				}
				continue
			}
			if !slices.Equal(a.Seal, []int64{first}) || a.SegmentID == first {
				t.Fatalf("batch %d: got %+v, want segment %d sealed and a new one", i, a, first)
			}
			old, _ := must2(s.Segment(bg, first))
			if old.State != model.SegmentSealed {
				t.Fatalf("full segment is %v", old.State)
			}
			next, _ := must2(s.Segment(bg, a.SegmentID))
			if next.State != model.SegmentGrowing || next.StartPosition != uint64(100+i) {
				t.Fatalf("next segment: %+v", next)
			}
			return
		}
		if sealedBy >= 0 {
			t.Fatalf("no seal after batch %d", sealedBy)
		}
	}
	f([][2]int64{{6, 1}, {4, 1}, {1, 1}}, 2)     // 10 rows fit, the 11th does not
	f([][2]int64{{600, 1}, {600, 1}}, 1)         // by rows alone
	f([][2]int64{{1, 600}, {1, 400}, {1, 1}}, 2) // 1000 bytes fit, 1001 do not
	f([][2]int64{{1, 999}, {1, 2}}, 1)           // by bytes alone
	f([][2]int64{{50, 5000}}, -1)                // an oversized first batch still goes to the empty segment
	f([][2]int64{{1, 1}, {8, 1}, {1, 1}}, -1)
}

func TestSealChannelSealsOnlyItsCollectionAndChannel(t *testing.T) {
	ctx := context.Background()
	s := newCoord(t, kv.NewMemory(), smallConfig())
	a := mustAssign(t, s, 1, 10, "dml_0_1v0", 1, 1, 5).SegmentID
	aPart := mustAssign(t, s, 1, 11, "dml_0_1v0", 1, 1, 6).SegmentID
	b := mustAssign(t, s, 2, 20, "dml_0_1v0", 1, 1, 7).SegmentID // other collection, same channel
	c := mustAssign(t, s, 1, 10, "dml_1_1v1", 1, 1, 8).SegmentID // same collection, other channel

	ids, err := s.SealChannel(ctx, 1, "dml_0_1v0", 77)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{a, aPart}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("sealed %v, want %v", ids, want)
	}
	f := func(id int64, state model.SegmentState, sealTS uint64) {
		t.Helper()
		seg, ok := must2(s.Segment(bg, id))
		if !ok || seg.State != state || seg.SealTS != sealTS {
			t.Fatalf("segment %d: %+v, want %v at %d", id, seg, state, sealTS)
		}
	}
	f(a, model.SegmentSealed, 77)
	f(aPart, model.SegmentSealed, 77)
	f(b, model.SegmentGrowing, 0)
	f(c, model.SegmentGrowing, 0)

	// Sealing again finds nothing; collection 0 means every collection.
	if ids, _ := s.SealChannel(ctx, 1, "dml_0_1v0", 78); len(ids) != 0 {
		t.Fatalf("second seal: %v", ids)
	}
	if ids, _ := s.SealChannel(ctx, 0, "dml_0_1v0", 79); !slices.Equal(ids, []int64{b}) {
		t.Fatalf("seal all: %v, want [%d]", ids, b)
	}
	f(c, model.SegmentGrowing, 0)
	// The next insert opens a new segment.
	if next := mustAssign(t, s, 1, 10, "dml_0_1v0", 1, 1, 9).SegmentID; next == a {
		t.Fatal("insert went to a sealed segment")
	}
}

func TestCheckpointNeverMovesBackwards(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newCoord(t, store, Default())
	f := func(pos uint64, want uint64) {
		t.Helper()
		if err := s.UpdateCheckpoint(ctx, "vc", contract.Checkpoint{Position: pos, TS: pos * 10}); err != nil {
			t.Fatal(err)
		}
		if got := must(s.GetCheckpoint(bg, "vc")); got.Position != want || got.TS != want*10 {
			t.Fatalf("after update to %d: %+v, want position %d", pos, got, want)
		}
	}
	f(5, 5)
	f(9, 9)
	f(3, 9)
	f(9, 9)
	f(12, 12)
	if got := must(newCoord(t, store, Default()).GetCheckpoint(bg, "vc")); got.Position != 12 {
		t.Fatalf("after restart: %+v", got)
	}
	if got := must(s.GetCheckpoint(bg, "other")); got != (contract.Checkpoint{}) {
		t.Fatalf("unknown channel: %+v", got)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newCoord(t, store, smallConfig())
	flushed := mustAssign(t, s, 1, 10, "vc0", 4, 40, 1).SegmentID
	if _, err := s.SealChannel(ctx, 1, "vc0", 50); err != nil {
		t.Fatal(err)
	}
	if err := s.SegmentFlushed(ctx, contract.FlushResult{SegmentID: flushed, NumRows: 4, Binlogs: map[int64]string{1: "a", 100: "b"}, StatsLog: "s", FlushTS: 50, SizeBytes: 99}); err != nil {
		t.Fatal(err)
	}
	sealed := mustAssign(t, s, 1, 10, "vc0", 3, 30, 2).SegmentID
	if _, err := s.SealChannel(ctx, 1, "vc0", 60); err != nil {
		t.Fatal(err)
	}
	growing := mustAssign(t, s, 1, 10, "vc0", 8, 80, 3).SegmentID
	for _, id := range []int64{30, 10, 20} {
		if err := s.AddDeltaLog(ctx, model.DeltaLog{ID: id, CollectionID: 1, VChannel: "vc0", Path: "d", Entries: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpdateCheckpoint(ctx, "vc0", contract.Checkpoint{Position: 2, TS: 55}); err != nil {
		t.Fatal(err)
	}
	before := must(s.Segments(bg, 1, ""))

	r := newCoord(t, store, smallConfig())
	after := must(r.Segments(bg, 1, ""))
	if len(after) != 3 {
		t.Fatalf("after restart: %+v", after)
	}
	for i := range before {
		b, a := before[i], after[i]
		// Row counts of growing segments are not persisted per insert.
		if b.State == model.SegmentGrowing {
			b.NumRows, a.NumRows = 0, 0
		}
		if b.ID != a.ID || b.State != a.State || b.StartPosition != a.StartPosition || b.SealTS != a.SealTS ||
			b.NumRows != a.NumRows || b.StatsLog != a.StatsLog || b.FlushTS != a.FlushTS || len(b.Binlogs) != len(a.Binlogs) {
			t.Fatalf("segment %d changed over restart:\n%+v\n%+v", b.ID, b, a)
		}
	}
	if seg, _ := must2(r.Segment(bg, flushed)); seg.State != model.SegmentFlushed || seg.Binlogs[100] != "b" || seg.NumRows != 4 {
		t.Fatalf("flushed segment: %+v", seg)
	}
	if seg, _ := must2(r.Segment(bg, sealed)); seg.State != model.SegmentSealed {
		t.Fatalf("sealed segment: %+v", seg)
	}
	if cp := must(r.GetCheckpoint(bg, "vc0")); cp != (contract.Checkpoint{Position: 2, TS: 55}) {
		t.Fatalf("checkpoint: %+v", cp)
	}
	var ids []int64
	for _, dl := range must(r.DeltaLogs(bg, "vc0")) {
		ids = append(ids, dl.ID)
	}
	if !slices.Equal(ids, []int64{10, 20, 30}) {
		t.Fatalf("delta logs: %v", ids)
	}
	if !must(r.Flushed(bg, []int64{flushed})) || must(r.Flushed(bg, []int64{flushed, sealed})) {
		t.Fatal("Flushed disagrees with the segment states")
	}
	// The growing segment is still the one inserts go to...
	a := mustAssign(t, r, 1, 10, "vc0", 1, 1, 4)
	if a.SegmentID != growing && !slices.Equal(a.Seal, []int64{growing}) {
		t.Fatalf("after restart the growing segment %d was neither kept nor sealed: %+v", growing, a)
	}
	// ...and its limit still holds: it had 8 of 10 rows before the restart.
	a = mustAssign(t, r, 1, 10, "vc0", 2, 1, 5)
	if a.SegmentID == growing {
		t.Fatalf("growing segment %d took %d rows, over its limit of 10", growing, 8+1+2)
	}
}

type recordingListener struct {
	mu   sync.Mutex
	segs []model.Segment
}

func (l *recordingListener) SegmentFlushed(_ context.Context, seg *model.Segment) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.segs = append(l.segs, *seg)
	return nil
}

func TestSegmentFlushedIsIdempotentAndNotifiesOnce(t *testing.T) {
	ctx := context.Background()
	s := newCoord(t, kv.NewMemory(), smallConfig())
	l1, l2 := &recordingListener{}, &recordingListener{}
	s.AddListener(l1)
	s.AddListener(l2)
	id := mustAssign(t, s, 1, 10, "vc0", 5, 5, 1).SegmentID
	if _, err := s.SealChannel(ctx, 1, "vc0", 9); err != nil {
		t.Fatal(err)
	}
	r := contract.FlushResult{SegmentID: id, NumRows: 5, Binlogs: map[int64]string{1: "ts"}, FlushTS: 9}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errc <- s.SegmentFlushed(ctx, r) })
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []*recordingListener{l1, l2} {
		if len(l.segs) != 1 || l.segs[0].ID != id || l.segs[0].State != model.SegmentFlushed || l.segs[0].NumRows != 5 {
			t.Fatalf("listener heard %+v", l.segs)
		}
	}
	if err := s.SegmentFlushed(ctx, contract.FlushResult{SegmentID: 12345}); err == nil {
		t.Fatal("flushing an unknown segment succeeded")
	}
	if n := must(s.RowCount(bg, 1, 0)); n != 5 {
		t.Fatalf("row count %d", n)
	}
}

func TestDropCollection(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newCoord(t, store, smallConfig())
	c := &model.Collection{ID: 1, VChannels: []string{"vc0", "vc1"}}
	mustAssign(t, s, 1, 10, "vc0", 1, 1, 1)
	mustAssign(t, s, 1, 10, "vc1", 1, 1, 2)
	keep := mustAssign(t, s, 2, 20, "vc2", 1, 1, 3).SegmentID
	_ = s.UpdateCheckpoint(ctx, "vc0", contract.Checkpoint{Position: 1})
	_ = s.UpdateCheckpoint(ctx, "vc2", contract.Checkpoint{Position: 3})
	_ = s.AddDeltaLog(ctx, model.DeltaLog{ID: 1, CollectionID: 1, VChannel: "vc0"})
	_ = s.AddDeltaLog(ctx, model.DeltaLog{ID: 2, CollectionID: 2, VChannel: "vc2"})
	if err := s.DropCollection(ctx, c); err != nil {
		t.Fatal(err)
	}
	check := func(s *Server) {
		t.Helper()
		if segs := must(s.Segments(bg, 1, "")); len(segs) != 0 {
			t.Fatalf("dropped collection has segments %+v", segs)
		}
		if must(s.RowCount(bg, 1, 0)) != 0 || must(s.GetCheckpoint(bg, "vc0")) != (contract.Checkpoint{}) || len(must(s.DeltaLogs(bg, "vc0"))) != 0 {
			t.Fatal("dropped collection left state behind")
		}
		if segs := must(s.Segments(bg, 2, "")); len(segs) != 1 || segs[0].ID != keep || must(s.GetCheckpoint(bg, "vc2")).Position != 3 || len(must(s.DeltaLogs(bg, "vc2"))) != 1 {
			t.Fatal("drop touched another collection")
		}
	}
	check(s)
	check(newCoord(t, store, smallConfig()))
	// A new insert on the channel opens a fresh segment.
	if a := mustAssign(t, s, 1, 10, "vc0", 1, 1, 4); len(a.Seal) != 0 {
		t.Fatalf("assignment after drop: %+v", a)
	}
}

func TestSegmentFlushedWithNoRowsDropsIt(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newCoord(t, store, smallConfig())
	l := &recordingListener{}
	s.AddListener(l)
	id := mustAssign(t, s, 1, 10, "vc0", 3, 3, 1).SegmentID
	if _, err := s.SealChannel(ctx, 1, "vc0", 5); err != nil {
		t.Fatal(err)
	}
	if err := s.SegmentFlushed(ctx, contract.FlushResult{SegmentID: id, FlushTS: 5}); err != nil {
		t.Fatal(err)
	}
	if _, ok := must2(s.Segment(bg, id)); ok || !must(s.Flushed(bg, []int64{id})) || must(s.RowCount(bg, 1, 0)) != 0 || len(l.segs) != 0 {
		t.Fatalf("empty segment still known, counted or announced: %+v", l.segs)
	}
	if _, ok := must2(newCoord(t, store, smallConfig()).Segment(bg, id)); ok {
		t.Fatal("empty segment back after restart")
	}
}

func TestSealedSegmentsListsSealedNotFlushed(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newCoord(t, store, smallConfig())
	a := mustAssign(t, s, 1, 10, "vc0", 1, 1, 1).SegmentID
	b := mustAssign(t, s, 2, 20, "vc1", 1, 1, 2).SegmentID
	mustAssign(t, s, 3, 30, "vc2", 1, 1, 3) // stays growing
	for _, vc := range []string{"vc0", "vc1"} {
		if _, err := s.SealChannel(ctx, 0, vc, 9); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SegmentFlushed(ctx, contract.FlushResult{SegmentID: a, NumRows: 1, Binlogs: map[int64]string{1: "x"}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Server{s, newCoord(t, store, smallConfig())} {
		got := must(s.SealedSegments(bg))
		if len(got) != 1 || got[0].ID != b || got[0].VChannel != "vc1" || got[0].CollectionID != 2 {
			t.Fatalf("sealed segments %+v, want only %d", got, b)
		}
	}
}

// TestNoteBufferedRowsRestoresCountsAfterRestart: growing row counts are
// in memory only; the data node's replay gives them back, and nothing else
// moves.
func TestNoteBufferedRowsRestoresCountsAfterRestart(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newCoord(t, store, smallConfig())
	flushed := mustAssign(t, s, 1, 10, "vc0", 4, 40, 1).SegmentID
	if _, err := s.SealChannel(ctx, 1, "vc0", 50); err != nil {
		t.Fatal(err)
	}
	if err := s.SegmentFlushed(ctx, contract.FlushResult{SegmentID: flushed, NumRows: 4, Binlogs: map[int64]string{1: "a"}, FlushTS: 50}); err != nil {
		t.Fatal(err)
	}
	growing := mustAssign(t, s, 1, 10, "vc0", 3, 30, 2).SegmentID
	mustAssign(t, s, 1, 10, "vc0", 2, 20, 3)
	if got := must(s.RowCount(bg, 1, 0)); got != 9 {
		t.Fatalf("RowCount before restart = %d, want 9", got)
	}

	r := newCoord(t, store, smallConfig())
	if got := must(r.RowCount(bg, 1, 0)); got != 4 {
		t.Fatalf("RowCount after restart, before replay = %d, want the 4 flushed rows", got)
	}
	mustDo(r.NoteBufferedRows(bg, growing, 3)) // the replay's first insert
	mustDo(r.NoteBufferedRows(bg, growing, 5)) // and its second
	mustDo(r.NoteBufferedRows(bg, growing, 2)) // counts never go back
	mustDo(r.NoteBufferedRows(bg, flushed, 100))
	mustDo(r.NoteBufferedRows(bg, 12345, 7)) // unknown segment
	if got := must(r.RowCount(bg, 1, 0)); got != 9 {
		t.Fatalf("RowCount after replay = %d, want 9", got)
	}
}
