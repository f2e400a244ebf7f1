package querynode

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// TestLoadReplansWhenAPlannedDeltaLogIsGone: a shard's plan names a delete
// log that a compaction applied to every segment and that garbage
// collection removed before the shard read it (a load that started late or
// was retried). Retrying the old plan failed for ever (progress stuck at 0,
// reads waiting on the shard, issue 11); the shard takes a fresh plan at
// once instead.
func TestLoadReplansWhenAPlannedDeltaLogIsGone(t *testing.T) {
	e := newEnv(t)
	e.insert(t, keyRange(0, 10)...)
	e.seal(t)
	e.delete(t, 3, 7)
	e.insert(t, keyRange(10, 12)...)
	e.seal(t) // flushes the deletes to a delete log
	deltas := must(e.data.DeltaLogs(bg, vch))
	if len(deltas) == 0 {
		t.Fatal("no delete log was written")
	}
	sealed := must(e.data.Segments(bg, collID, vch))
	fresh := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch)), DeltaLogs: deltas}
	for _, s := range sealed {
		if s.State == model.SegmentFlushed {
			fresh.Sealed = append(fresh.Sealed, contract.SegmentPlan{Segment: s})
		}
	}
	// The stale plan names a delete log collected since.
	stale := fresh
	stale.DeltaLogs = append(slices.Clone(deltas), model.DeltaLog{ID: deltas[0].ID - 1, VChannel: vch, Path: deltas[0].Path + ".collected"})
	replans := 0
	stale.Replan = func(context.Context) (contract.ChannelPlan, error) {
		replans++
		return fresh, nil
	}
	e.gated.open()
	start := time.Now()
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{stale}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "progress 100", func() bool { p, _ := must2(e.qn.Progress(bg, collID)); return p == 100 })
	if took := time.Since(start); took > time.Second {
		t.Fatalf("load took %v", took)
	}
	want := slices.DeleteFunc(keyRange(0, 12), func(k int64) bool { return k == 3 || k == 7 })
	if got := e.keys(t, e.now(t)); !slices.Equal(got, want) {
		t.Fatalf("shard shows %v, want %v", got, want)
	}
	if replans != 1 {
		t.Fatalf("%d replans, want 1", replans)
	}

}
