package datanode

import (
	"context"
	"sync"
	"testing"
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
