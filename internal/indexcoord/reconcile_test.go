package indexcoord

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/model"
)

// noticeGate passes the data coordinator's flushed-segment notices to the
// index coordinator, or loses them as a notice cut short by a restart does
// ("indexcoord: context canceled").
type noticeGate struct {
	ic   *Server
	lost atomic.Bool
}

func (g *noticeGate) SegmentFlushed(ctx context.Context, seg *model.Segment) error {
	if g.lost.Load() {
		return fmt.Errorf("indexcoord: %w", context.Canceled)
	}
	return g.ic.SegmentFlushed(ctx, seg)
}

// buildsOf counts the index coordinator's builds (any state) of a segment.
func buildsOf(ic *Server, segment int64) int {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	n := 0
	for _, b := range ic.builds {
		if b.SegmentID == segment {
			n++
		}
	}
	return n
}

// A segment whose notice was lost is built after the index coordinator's
// restart, and the segments already built are not built again.
func TestLostNoticeBuiltAfterRestart(t *testing.T) {
	e := newEnv(t)
	if err := e.create(vecField, "v_idx", map[string]string{"index_type": "FLAT", "metric_type": "L2"}); err != nil {
		t.Fatal(err)
	}
	stop := e.run(t)
	s1 := e.flush(t, e.coll, 20)
	eventually(t, "build of the announced segment", func() bool { return len(must(e.ic.SegmentIndexes(bg, s1))) == 1 })
	e.notices.lost.Store(true)
	s2 := e.flush(t, e.coll, 30)
	stop()
	if n := buildsOf(e.ic, s2); n != 0 {
		t.Fatalf("segment %d has %d builds though its notice was lost", s2, n)
	}
	e.restart(t)
	e.run(t)
	eventually(t, "build of the segment whose notice was lost", func() bool { return len(must(e.ic.SegmentIndexes(bg, s2))) == 1 })
	if n := buildsOf(e.ic, s1); n != 1 {
		t.Fatalf("segment %d: %d builds after the restart, want 1", s1, n)
	}
}

// Without a restart, the periodic comparison finds the segment.
func TestLostNoticeBuiltByPeriodicReconcile(t *testing.T) {
	e := newEnv(t)
	e.ic.d.ReconcileEvery = 50 * time.Millisecond
	if err := e.create(vecField, "v_idx", map[string]string{"index_type": "FLAT", "metric_type": "L2"}); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	e.notices.lost.Store(true)
	s := e.flush(t, e.coll, 25)
	eventually(t, "build of the segment whose notice was lost", func() bool { return len(must(e.ic.SegmentIndexes(bg, s))) == 1 })
	time.Sleep(200 * time.Millisecond) // a few more comparisons
	if n := buildsOf(e.ic, s); n != 1 {
		t.Fatalf("segment %d: %d builds, want 1", s, n)
	}
}
