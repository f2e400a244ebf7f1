package identity

import (
	"context"
	"testing"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/session"
)

// Server IDs (the sessions' counter) are under the high-water mark like
// the root coordinator's IDs: a wiped meta store does not hand out a
// server ID again.
func TestSessionIDsSurviveAWipedMetaStore(t *testing.T) {
	ctx := context.Background()
	meta, objects := kv.NewMemory(), objstore.NewMemory()
	w, err := LoadWatermark(ctx, meta, objects, nil)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for want := int64(1); want <= 5; want++ {
		id, err := session.AllocIDMarked(ctx, meta, w)
		if err != nil || id != want {
			t.Fatalf("id %d, %v; want %d", id, err, want)
		}
		last = id
	}
	if m := w.Marks()[CounterSession]; m <= uint64(last) {
		t.Fatalf("mark %d not above the last server ID %d", m, last)
	}
	// A restart on the same stores continues the sequence.
	w, err = LoadWatermark(ctx, meta, objects, nil)
	if err != nil || w.Floor(CounterSession) != 0 {
		t.Fatalf("restart: floor %d, %v", w.Floor(CounterSession), err)
	}
	if id, err := session.AllocIDMarked(ctx, meta, w); err != nil || id != last+1 {
		t.Fatalf("after a restart: id %d, %v; want %d", id, err, last+1)
	}
	last++
	// A wiped meta store resumes above every ID handed out.
	wiped := kv.NewMemory()
	w, err = LoadWatermark(ctx, wiped, objects, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for range 3 {
		id, err := session.AllocIDMarked(ctx, wiped, w)
		if err != nil {
			t.Fatal(err)
		}
		if id <= last || seen[id] {
			t.Fatalf("wiped meta store: server ID %d reused (last before the wipe %d)", id, last)
		}
		seen[id] = true
	}
	// Many IDs past the mark: the mark keeps moving ahead of them.
	for range 2 * steps[CounterSession] {
		id, err := session.AllocIDMarked(ctx, wiped, w)
		if err != nil {
			t.Fatal(err)
		}
		last = id
	}
	if m := w.Marks()[CounterSession]; m <= uint64(last) {
		t.Fatalf("mark %d not above the last server ID %d", m, last)
	}
}

// Raising one counter's mark copies only that counter's mark to the meta
// store: a wiped meta store where only server IDs were handed out yet
// (`milvago recover meta`, or a cluster role registering before the root
// coordinator persisted its counters) still resumes IDs and timestamps
// above the object store's marks at the next start.
func TestRaiseMirrorsOnlyItsCounter(t *testing.T) {
	ctx := context.Background()
	meta, objects := kv.NewMemory(), objstore.NewMemory()
	w, err := LoadWatermark(ctx, meta, objects, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{CounterID, CounterTSO} {
		if err := w.Raise(ctx, c, 5000); err != nil {
			t.Fatal(err)
		}
	}
	wiped := kv.NewMemory()
	w, err = LoadWatermark(ctx, wiped, objects, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := session.AllocIDMarked(ctx, wiped, w); err != nil {
		t.Fatal(err)
	}
	w, err = LoadWatermark(ctx, wiped, objects, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.Floor(CounterID) != 5000+steps[CounterID] || w.Floor(CounterTSO) != 5000+steps[CounterTSO] {
		t.Fatalf("after a server ID was handed out on the wiped meta store: floors id %d, tso %d; want the object store's marks",
			w.Floor(CounterID), w.Floor(CounterTSO))
	}
	if w.Floor(CounterSession) != 0 {
		t.Fatalf("session floor %d: the meta store's session counter is current", w.Floor(CounterSession))
	}
}
