package datacoord

import (
	"context"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// AdoptLog keeps flushed segments, drops the ones whose rows were only in
// the lost log, and moves every checkpoint to the new log's position; a
// data coordinator started afterwards sees exactly that.
func TestAdoptLog(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newCoord(t, store, Default())
	const vcA, vcB = "dml_0_1v0", "dml_1_1v1"
	flushed := mustAssign(t, s, 1, 2, vcA, 5, 50, 10).SegmentID
	if _, err := s.SealChannel(ctx, 1, vcA, 20); err != nil {
		t.Fatal(err)
	}
	if err := s.SegmentFlushed(ctx, contract.FlushResult{SegmentID: flushed, NumRows: 5, Binlogs: map[int64]string{1: "ts"}}); err != nil {
		t.Fatal(err)
	}
	sealed := mustAssign(t, s, 1, 2, vcA, 3, 30, 30).SegmentID
	if _, err := s.SealChannel(ctx, 1, vcA, 40); err != nil {
		t.Fatal(err)
	}
	growing := mustAssign(t, s, 1, 2, vcB, 3, 30, 50).SegmentID
	for vc, pos := range map[string]uint64{vcA: 25, vcB: 45} {
		if err := s.UpdateCheckpoint(ctx, vc, contract.Checkpoint{Position: pos, TS: 99}); err != nil {
			t.Fatal(err)
		}
	}

	adopted, err := AdoptLog(ctx, store, func(vc string) (uint64, error) { return map[string]uint64{vcA: 0, vcB: 7}[vc], nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(adopted.Dropped) != 2 || adopted.Dropped[0].ID != sealed || adopted.Dropped[1].ID != growing {
		t.Fatalf("dropped %+v, want %d and %d", adopted.Dropped, sealed, growing)
	}
	s = newCoord(t, store, Default())
	for id, want := range map[int64]model.SegmentState{flushed: model.SegmentFlushed, sealed: model.SegmentDropped, growing: model.SegmentDropped} {
		seg, ok, err := s.Segment(ctx, id)
		if err != nil || !ok || seg.State != want {
			t.Fatalf("segment %d after adoption: %+v %v %v, want %s", id, seg, ok, err, want)
		}
	}
	for vc, want := range map[string]uint64{vcA: 0, vcB: 7} {
		cp, err := s.GetCheckpoint(ctx, vc)
		if err != nil || cp.Position != want || cp.TS != 99 {
			t.Fatalf("checkpoint of %s after adoption: %+v %v, want position %d", vc, cp, err, want)
		}
	}
	// New inserts go to a new segment, not to a dropped one.
	if next := mustAssign(t, s, 1, 2, vcB, 1, 10, 8).SegmentID; next == growing || next == sealed {
		t.Fatalf("an insert after adoption went to dropped segment %d", next)
	}
}
