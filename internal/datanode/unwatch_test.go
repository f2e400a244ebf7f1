package datanode

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/storage"
)

// A pchannel unwatched (moved to another data node) and later watched
// again is read anew from the checkpoints then current: the rows this
// node had buffered when it let go, and those written while it did not
// own the channel, are all flushed.
func TestUnwatchStopsPipelineAndRewatchReplays(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnv(t, 100)
	n := New(Deps{Log: e.log, Objects: e.objects, Coord: e.data, IDs: e.root})
	if err := n.Watch(ctx, e.coll); err != nil {
		t.Fatal(err)
	}
	var run sync.WaitGroup
	run.Go(func() { n.Run(ctx) })
	t.Cleanup(func() { cancel(); run.Wait() })

	a, want := e.insert(t, partA, 1, 2, 3, 4)
	// Wait until the pipeline has read the insert (its segment buffered).
	eventually(t, "the insert to be buffered", func() bool {
		seg, ok := must2(e.data.Segment(bg, a.SegmentID))
		return ok && seg.ID == a.SegmentID && must(e.data.GetCheckpoint(bg, vch)).Position <= seg.StartPosition
	})
	n.Unwatch(e.coll)
	n.mu.Lock()
	left := len(n.pipelines)
	n.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d pipelines after the last vchannel was unwatched", left)
	}
	_, r := e.insert(t, partA, 5, 6)
	want.add(r)
	if err := n.Watch(ctx, e.coll); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.w.Seal(ctx, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, a.SegmentID)
	e.checkSegment(t, a.SegmentID, want)
}

// A vchannel watched while its pchannel's reader already passed messages
// of it (a data node that restarts is given its collections one by one,
// and the first one's pipeline reads before the others are watched): the
// reader goes back to the late vchannel's checkpoint, so its rows are
// buffered and flushed; before, its checkpoint moved over them at the
// next time tick and retention truncated them away.
func TestWatchBehindTheReaderReadsAgain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnv(t, 100)
	other := otherCollection()
	n := New(Deps{Log: e.log, Objects: e.objects, Coord: e.data, IDs: e.root})
	if err := n.Watch(ctx, e.coll); err != nil {
		t.Fatal(err)
	}
	var run sync.WaitGroup
	run.Go(func() { n.Run(ctx) })
	t.Cleanup(func() { cancel(); run.Wait() })

	late := e.insertOther(t, 1, 2, 3)
	a, _ := e.insert(t, partA, 10)
	// The reader has passed the other collection's insert once it
	// flushed this one.
	if _, _, err := e.w.Seal(ctx, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, a.SegmentID)
	if err := n.Watch(ctx, other); err != nil {
		t.Fatal(err)
	}
	e.insert(t, partA, 11) // a message after the watch
	if _, _, err := e.w.Seal(ctx, pch, otherVC, otherID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, late.SegmentID)
	seg, _ := must2(e.data.Segment(bg, late.SegmentID))
	path, ok := seg.Binlogs[100]
	if !ok {
		t.Fatalf("the late vchannel's segment has no rows (flushed empty): %+v", seg)
	}
	c, err := storage.DecodeColumn(must(e.objects.Get(bg, path)))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.(*column.Scalar[int64]).Data; !slices.Equal(got, []int64{1, 2, 3}) {
		t.Fatalf("the late vchannel's segment holds keys %v, want [1 2 3]", got)
	}
}
