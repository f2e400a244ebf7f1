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

// TestLoadRetriesAMissingFileEverySecond: a load failing on a missing file
// is retried at Milvus's cadence (its segment checker's second), not after
// a back-off doubling from 2 s: a file back 2.5 s later is loaded about a
// second after, not at the 6 s attempt (2+4 s), as the first queries of
// issue 11 that waited 31 s (2+4+8+16 s) did.
func TestLoadRetriesAMissingFileEverySecond(t *testing.T) {
	e := newEnv(t)
	e.insert(t, keyRange(0, 10)...)
	seg := e.seal(t)
	path := seg.Binlogs[101]
	data := must(e.objects.Get(bg, path))
	if err := e.objects.Delete(bg, path); err != nil {
		t.Fatal(err)
	}
	e.gated.open()
	start := time.Now()
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: must(e.data.GetCheckpoint(bg, vch)),
		Sealed: []contract.SegmentPlan{{Segment: seg}}}
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if p, has, err := e.qn.Progress(bg, collID); !has || p == 100 || err == nil {
		t.Fatalf("progress %d, %v, %v with a file missing", p, has, err)
	}
	if err := e.objects.Put(bg, path, data); err != nil {
		t.Fatal(err)
	}
	restored := time.Now()
	eventually(t, "progress 100", func() bool { p, _, _ := e.qn.Progress(bg, collID); return p == 100 })
	if took := time.Since(restored); took > 1500*time.Millisecond {
		t.Fatalf("loaded %v after the file came back (%v in all)", took, time.Since(start))
	}
	if got := e.keys(t, e.now(t)); !slices.Equal(got, keyRange(0, 10)) {
		t.Fatalf("shard shows %v", got)
	}
}

func TestLoadRetryDelay(t *testing.T) {
	for a := 1; a <= fastLoadRetries; a++ {
		if d := loadRetryDelay(a); d != loadRetry {
			t.Fatalf("attempt %d waits %v", a, d)
		}
	}
	prev := loadRetry
	for a := fastLoadRetries + 1; a < fastLoadRetries+20; a++ {
		d := loadRetryDelay(a)
		if d < prev || d > maxLoadRetry {
			t.Fatalf("attempt %d waits %v after %v", a, d, prev)
		}
		prev = d
	}
	if prev != maxLoadRetry {
		t.Fatalf("the delay tops out at %v", prev)
	}
}
