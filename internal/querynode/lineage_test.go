package querynode

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// loadPlanned loads the collection with the shard's current plan (sealed
// segments and delete logs) and waits until it serves.
func (e *env) loadPlanned(t *testing.T, sealed ...model.Segment) {
	t.Helper()
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch)),
		DeltaLogs: must(e.data.DeltaLogs(bg, vch))}
	for _, s := range sealed {
		plan.Sealed = append(plan.Sealed, contract.SegmentPlan{Segment: s})
	}
	e.gated.open()
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "progress 100", func() bool { p, _ := must2(e.qn.Progress(bg, collID)); return p == 100 })
}

func (e *env) servedIDs(t *testing.T) (sealed, growing []int64) {
	t.Helper()
	dl := e.delegator(t)
	dl.mu.RLock()
	defer dl.mu.RUnlock()
	return slices.Sorted(maps.Keys(dl.sealed)), slices.Sorted(maps.Keys(dl.growing))
}

// compacted returns a segment made from src (it reuses src's files: the
// same rows, keys and insert timestamps, as a compaction writes them)
// whose CompactedFrom names only from.
func compacted(src model.Segment, id int64, from ...int64) model.Segment {
	out := src
	out.ID, out.CompactedFrom = id, from
	return out
}

// TestCompactedTwiceSourceForgotten is issue 12's count(*) that saw two
// versions of rows: A is compacted into X, X into Y before X was handed
// off (its index was not built yet; the query coordinator never hands off
// a segment already dropped), and garbage collection forgot A's record
// before Y was committed, so Y names only X. The handoff of Y must still
// take A out: else A's rows are served twice (query deduplicates them by
// primary key; count(*) counts both copies).
func TestCompactedTwiceSourceForgotten(t *testing.T) {
	e := newEnv(t)
	e.insert(t, keyRange(0, 20)...)
	e.delete(t, 3) // a delete before the flush: A keeps the row, hidden
	a := e.seal(t)
	e.insert(t, keyRange(20, 30)...)
	b := e.seal(t) // an unrelated segment: it stays
	e.insert(t, keyRange(30, 35)...)
	e.delete(t, 0, 21)
	e.loadPlanned(t, a, b)
	want := slices.Sorted(maps.Keys(e.live))
	if got := e.keys(t, e.now(t)); !slices.Equal(got, want) {
		t.Fatalf("before: %v, want %v", got, want)
	}
	x, y := a.ID+1000, a.ID+2000
	if err := e.qn.SyncSegment(e.ctx, collID, contract.SegmentPlan{Segment: compacted(a, y, x)}); err != nil {
		t.Fatal(err)
	}
	sealed, _ := e.servedIDs(t)
	if !slices.Equal(sealed, []int64{b.ID, y}) {
		t.Fatalf("shard serves sealed %v, want [%d %d]", sealed, b.ID, y)
	}
	// keys checks count(*) == distinct keys of the query == search hits.
	if got := e.keys(t, e.now(t)); !slices.Equal(got, want) {
		t.Fatalf("after: %v, want %v", got, want)
	}
	// X's handoff, if it ever comes, is refused.
	if err := e.qn.SyncSegment(e.ctx, collID, contract.SegmentPlan{Segment: compacted(a, x, a.ID)}); err != nil {
		t.Fatal(err)
	}
	if sealed, _ := e.servedIDs(t); !slices.Equal(sealed, []int64{b.ID, y}) {
		t.Fatalf("after X: shard serves sealed %v", sealed)
	}
	// A's inserts replayed from the log are skipped.
	e.insert(t, 40)
	want = slices.Sorted(maps.Keys(e.live))
	if got := e.keys(t, e.now(t)); !slices.Equal(got, want) {
		t.Fatalf("at the end: %v, want %v", got, want)
	}
}

// TestCompactedSourceStillGrowingHere covers the same gap when the shard
// never received the flushed copy of the source: it still serves the
// source as a growing segment.
func TestCompactedSourceStillGrowingHere(t *testing.T) {
	e := newEnv(t)
	e.loadPlanned(t)
	e.insert(t, keyRange(0, 10)...)
	a := e.seal(t)
	e.insert(t, keyRange(10, 15)...) // another growing segment: it stays
	want := slices.Sorted(maps.Keys(e.live))
	if got := e.keys(t, e.now(t)); !slices.Equal(got, want) {
		t.Fatalf("before: %v, want %v", got, want)
	}
	_, growing := e.servedIDs(t)
	if !slices.Contains(growing, a.ID) || len(growing) != 2 {
		t.Fatalf("growing %v, want %d and another", growing, a.ID)
	}
	y := compacted(a, a.ID+2000, a.ID+1000)
	if err := e.qn.SyncSegment(e.ctx, collID, contract.SegmentPlan{Segment: y}); err != nil {
		t.Fatal(err)
	}
	sealed, growing := e.servedIDs(t)
	if !slices.Equal(sealed, []int64{y.ID}) || slices.Contains(growing, a.ID) || len(growing) != 1 {
		t.Fatalf("sealed %v growing %v: want Y %d and the other growing segment", sealed, growing, y.ID)
	}
	if got := e.keys(t, e.now(t)); !slices.Equal(got, want) {
		t.Fatalf("after: %v, want %v", got, want)
	}
}

// TestCompactedHandoffNamingAllSourcesSkipsTheRowCheck: a handoff whose
// sources are all known replaces exactly them.
func TestCompactedHandoffNamingAllSourcesSkipsTheRowCheck(t *testing.T) {
	e := newEnv(t)
	e.insert(t, keyRange(0, 10)...)
	a := e.seal(t)
	e.insert(t, keyRange(10, 20)...)
	b := e.seal(t)
	e.loadPlanned(t, a, b)
	dl := e.delegator(t)
	loaded := dl.snapshot(nil, false)
	defer loaded.release()
	if got, gapped := dl.untracedSources(e.ctx, compacted(a, a.ID+1000, a.ID), loaded.segs[0]); got != nil || gapped != nil {
		t.Fatalf("untraced sources %v for a complete lineage", got)
	}
}

// TestLoadReplansWhenAPlannedSegmentIsGone: a shard's plan names segment
// A, but A is compacted into Y and A's files are collected while earlier
// segments load (the drop tolerance passed). Retrying the old plan fails
// for ever (progress stuck below 100, reads waiting on the shard, issue
// 11); the shard takes a fresh plan at once instead.
func TestLoadReplansWhenAPlannedSegmentIsGone(t *testing.T) {
	e := newEnv(t)
	e.insert(t, keyRange(0, 10)...)
	b := e.seal(t)
	e.insert(t, keyRange(10, 20)...)
	a := e.seal(t)
	// A as planned, its files gone; Y holds its rows (A's files under Y's
	// ID in the fresh plan).
	gone := a
	gone.Binlogs = map[int64]string{}
	for f, p := range a.Binlogs {
		gone.Binlogs[f] = p + ".collected"
	}
	y := compacted(a, a.ID+1000, a.ID)
	cp := must(e.data.GetCheckpoint(bg, vch))
	replans := 0
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: cp,
		Sealed: []contract.SegmentPlan{{Segment: b}, {Segment: gone}}}
	plan.Replan = func(context.Context) (contract.ChannelPlan, error) {
		replans++
		return contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: cp,
			Sealed: []contract.SegmentPlan{{Segment: b}, {Segment: y}}}, nil
	}
	e.gated.open()
	start := time.Now()
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "progress 100", func() bool { p, _ := must2(e.qn.Progress(bg, collID)); return p == 100 })
	if took := time.Since(start); took > time.Second {
		t.Fatalf("load took %v", took)
	}
	if got := e.keys(t, e.now(t)); !slices.Equal(got, keyRange(0, 20)) {
		t.Fatalf("shard shows %v, want 0..19", got)
	}
	if sealed, _ := e.servedIDs(t); !slices.Equal(sealed, []int64{b.ID, y.ID}) || replans != 1 {
		t.Fatalf("sealed %v after %d replans", sealed, replans)
	}
}

// TestGappedHandoffAheadOfTheLog: the shard lags behind the log when Y
// (made from X, made from A; Y names only X) is handed off, so it has not
// read A's inserts yet. When it reads them they must not make a growing
// segment beside Y.
func TestGappedHandoffAheadOfTheLog(t *testing.T) {
	e := newEnv(t)
	e.insert(t, keyRange(0, 10)...)
	e.insert(t, keyRange(10, 20)...)
	a := e.seal(t)
	e.insert(t, keyRange(20, 25)...) // B: not compacted, stays growing
	// Loaded from the start of the log, which it has not read yet.
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{{VChannel: vch, PChannel: pch}}); err != nil {
		t.Fatal(err)
	}
	y := compacted(a, a.ID+2000, a.ID+1000)
	if err := e.qn.SyncSegment(e.ctx, collID, contract.SegmentPlan{Segment: y}); err != nil {
		t.Fatal(err)
	}
	e.gated.open()
	eventually(t, "progress 100", func() bool { p, _ := must2(e.qn.Progress(bg, collID)); return p == 100 })
	want := slices.Sorted(maps.Keys(e.live))
	if got := e.keys(t, e.now(t)); !slices.Equal(got, want) {
		t.Fatalf("shard shows %v, want %v", got, want)
	}
	sealed, growing := e.servedIDs(t)
	if !slices.Equal(sealed, []int64{y.ID}) || len(growing) != 1 || growing[0] == a.ID {
		t.Fatalf("sealed %v growing %v", sealed, growing)
	}
}

// TestGappedSourceHandoffFinishesLate: A's own handoff finishes after Y's
// (Y made from X made from A, naming only X): A is refused.
func TestGappedSourceHandoffFinishesLate(t *testing.T) {
	e := newEnv(t)
	e.insert(t, keyRange(0, 20)...)
	a := e.seal(t)
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{{VChannel: vch, PChannel: pch}}); err != nil {
		t.Fatal(err)
	}
	y := compacted(a, a.ID+2000, a.ID+1000)
	for _, s := range []model.Segment{y, a} {
		if err := e.qn.SyncSegment(e.ctx, collID, contract.SegmentPlan{Segment: s}); err != nil {
			t.Fatal(err)
		}
	}
	e.gated.open()
	eventually(t, "progress 100", func() bool { p, _ := must2(e.qn.Progress(bg, collID)); return p == 100 })
	if got := e.keys(t, e.now(t)); !slices.Equal(got, keyRange(0, 20)) {
		t.Fatalf("shard shows %v, want 0..19 once", got)
	}
	if sealed, growing := e.servedIDs(t); !slices.Equal(sealed, []int64{y.ID}) || len(growing) != 0 {
		t.Fatalf("sealed %v growing %v", sealed, growing)
	}
}
