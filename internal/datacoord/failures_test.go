package datacoord

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// TestChannelFailure checks that a channel failure answers Flushed for the
// channel's unflushed segments (not the others), survives a restart, and is
// cleared when the checkpoint passes the failed message or the collection
// is dropped.
func TestChannelFailure(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	s := newCoord(t, store, Default())
	const bad, good = "dml_0_1v0", "dml_0_2v0"
	a := mustAssign(t, s, 1, 10, bad, 3, 30, 5)
	b := mustAssign(t, s, 2, 20, good, 3, 30, 6)
	f := contract.ChannelFailure{CollectionID: 1, VChannel: bad, Position: 9, Cause: `field "pk" of segment 1 has 0 rows, message says 3`}
	if err := s.ChannelFailed(ctx, f); err != nil {
		t.Fatal(err)
	}
	wantFailed := func(s *Server) {
		t.Helper()
		_, err := s.Flushed(ctx, []int64{b.SegmentID, a.SegmentID})
		if !errors.Is(err, errs.ErrServiceInternal) || errs.CodeOf(err) != 5 ||
			!strings.Contains(err.Error(), "service internal error[channel="+bad+"]") || !strings.Contains(err.Error(), f.Cause) {
			t.Fatalf("Flushed: %v", err)
		}
		if ok, err := s.Flushed(ctx, []int64{b.SegmentID}); ok || err != nil {
			t.Fatalf("Flushed of the healthy channel: %v, %v", ok, err)
		}
	}
	wantFailed(s)

	// The failure is in the meta store.
	s = newCoord(t, store, Default())
	wantFailed(s)

	// A checkpoint short of the message keeps it; one past it clears it.
	if err := s.UpdateCheckpoint(ctx, bad, contract.Checkpoint{Position: 8}); err != nil {
		t.Fatal(err)
	}
	wantFailed(s)
	if err := s.UpdateCheckpoint(ctx, bad, contract.Checkpoint{Position: 9}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Flushed(ctx, []int64{a.SegmentID}); ok || err != nil {
		t.Fatalf("Flushed after the checkpoint passed the failure: %v, %v", ok, err)
	}
	if fs := newCoord(t, store, Default()).ChannelFailures(ctx); len(fs) != 0 {
		t.Fatalf("failures after restart: %+v", fs)
	}

	// Dropping the collection clears its failure.
	if err := s.ChannelFailed(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := s.DropCollection(ctx, &model.Collection{ID: 1, VChannels: []string{bad}}); err != nil {
		t.Fatal(err)
	}
	if fs := newCoord(t, store, Default()).ChannelFailures(ctx); len(fs) != 0 {
		t.Fatalf("failures after drop and restart: %+v", fs)
	}
	// A flushed segment reported after its collection was dropped is
	// "segment not found", which the data node takes as dropped.
	err := s.SegmentFlushed(ctx, contract.FlushResult{SegmentID: a.SegmentID, NumRows: 3})
	if !errors.Is(err, errs.ErrSegmentNotFound) {
		t.Fatalf("SegmentFlushed of a dropped segment: %v", err)
	}
}
