package datacoord

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

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

// TestChannelFailureOwnerOnly: ChannelFailed and ChannelRecovered are heard
// only from the data node owning the channel's pchannel now. A node that
// lost the channel (cut off while it moved) is refused with channel
// misrouted (507), and counted as a refusal: it cannot clear the owner's
// Retrying failure, nor set one of its own on the owner's channel. A
// Retrying failure is answered only while its reporter owns the channel:
// after the move the new owner retries, and its own failure is answered.
func TestChannelFailureOwnerOnly(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	s := newCoord(t, kv.NewMemory(), Default())
	nodes := &fakeDataNodes{watched: map[int64][]string{}, down: map[int64]bool{}}
	c1 := coll(1, "p0")
	ch, err := NewChannels(ctx, ChannelsDeps{KV: kv.NewMemory(), Nodes: nodes, Collections: fakeCatalog{1: c1}.list, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	s.SetChannels(ch)
	if err := ch.SetNodes(ctx, []int64{10}); err != nil {
		t.Fatal(err)
	}
	if err := ch.WatchCollection(ctx, c1); err != nil {
		t.Fatal(err)
	}
	vc := c1.VChannels[0]
	first, second := contract.WithCaller(ctx, 10), contract.WithCaller(ctx, 11)
	f := contract.ChannelFailure{CollectionID: 1, VChannel: vc, Position: 9, Cause: "put binlog: connection refused", Retrying: true}
	if err := s.ChannelFailed(first, f); err != nil {
		t.Fatalf("failure from the owner: %v", err)
	}
	f.Node = 10 // the reporter, as recorded
	wantFailures := func(want ...contract.ChannelFailure) {
		t.Helper()
		got := s.ChannelFailures(ctx)
		if len(got) != len(want) || (len(want) == 1 && got[0] != want[0]) {
			t.Fatalf("failures %+v, want %+v", got, want)
		}
	}
	wantMisrouted := func(what string, err error, node, owner int64) {
		t.Helper()
		want := fmt.Sprintf("channel misrouted: not owned by this node[channel=%s][node=%d][owner=%d]", vc, node, owner)
		if !errors.Is(err, errs.ErrChannelMisrouted) || errs.CodeOf(err) != 507 || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v, want code 507 %q", what, err, want)
		}
	}
	wantMisrouted("recovery from a node that does not own the channel", s.ChannelRecovered(second, vc), 11, 10)
	other := contract.ChannelFailure{CollectionID: 1, VChannel: vc, Position: 12, Cause: "stale", Retrying: false}
	wantMisrouted("failure from a node that does not own the channel", s.ChannelFailed(second, other), 11, 10)
	wantFailures(f)
	if _, err := s.ChannelsFlushed(ctx, []string{vc}, 1); !errors.Is(err, errs.ErrServiceInternal) ||
		!strings.Contains(err.Error(), "keeps retrying: "+f.Cause) {
		t.Fatalf("ChannelsFlushed while the owner's flushes fail: %v", err)
	}

	// Node 10's session ends while it is cut off: the channel moves to 11,
	// and what 10 still sends is refused.
	if err := ch.SetNodes(ctx, []int64{11}); err != nil {
		t.Fatal(err)
	}
	wantMisrouted("recovery from the former owner", s.ChannelRecovered(first, vc), 10, 11)
	wantMisrouted("failure from the former owner", s.ChannelFailed(first, other), 10, 11)
	wantFailures(f)
	// Node 10's failure is no longer the channel's state: node 11 retries
	// the flush, and the channel is not flushed yet.
	if flushed, err := s.ChannelsFlushed(ctx, []string{vc}, 1); flushed || err != nil {
		t.Fatalf("ChannelsFlushed after the channel moved from the node whose flushes failed: %v, %v; want false, nil", flushed, err)
	}
	// The new owner's flushes fail too: its failure is answered.
	mine := contract.ChannelFailure{CollectionID: 1, VChannel: vc, Position: 9, Cause: "put binlog: disk full", Retrying: true}
	if err := s.ChannelFailed(second, mine); err != nil {
		t.Fatalf("failure from the new owner: %v", err)
	}
	if _, err := s.ChannelsFlushed(ctx, []string{vc}, 1); !errors.Is(err, errs.ErrServiceInternal) ||
		!strings.Contains(err.Error(), "keeps retrying: "+mine.Cause) {
		t.Fatalf("ChannelsFlushed while the new owner's flushes fail: %v", err)
	}
	// Its flush succeeds: its report clears the failure.
	if err := s.ChannelRecovered(second, vc); err != nil {
		t.Fatalf("recovery from the new owner: %v", err)
	}
	wantFailures()
	// In-process calls (standalone) are the owner's.
	if err := s.ChannelFailed(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := s.ChannelRecovered(ctx, vc); err != nil {
		t.Fatal(err)
	}
	wantFailures()
	want := map[string]float64{"channel_failure": 2, "channel_recovery": 2}
	if got := refusals(t, reg); !maps.Equal(got, want) {
		t.Fatalf("%s: %v, want %v", RefusalsMetric, got, want)
	}
}
