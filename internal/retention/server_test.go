package retention

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rootcoord"
)

// rules is a retention loop over an in-memory log and a real data
// coordinator, with a clock and a collection list the test moves.
type rules struct {
	t     *testing.T
	ctx   context.Context
	log   *logbroker.Memory
	data  *datacoord.Server
	colls []*model.Collection
	now   time.Time
	r     *Server
	ids   map[string][]logbroker.MessageID
}

func newRules(t *testing.T, window time.Duration) *rules {
	t.Helper()
	ctx := context.Background()
	store := kv.NewMemory()
	x := &rules{t: t, ctx: ctx, log: logbroker.NewMemory(logbroker.MemoryConfig{}), now: time.Unix(1000, 0), ids: map[string][]logbroker.MessageID{}}
	t.Cleanup(func() { x.log.Close(); store.Close() })
	root, err := rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store})
	if err != nil {
		t.Fatal(err)
	}
	if x.data, err = datacoord.New(ctx, datacoord.Default(), datacoord.Deps{KV: store, IDs: root}); err != nil {
		t.Fatal(err)
	}
	x.r, err = New(Config{Interval: time.Second, Window: window}, Deps{Log: x.log, Checkpoints: x.data,
		Collections: func(context.Context) ([]*model.Collection, error) { return x.colls, nil },
		Now:         func() time.Time { return x.now }})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// append writes n messages to pc and records their IDs.
func (x *rules) append(pc string, n int) {
	x.t.Helper()
	for range n {
		id, err := x.log.Append(x.ctx, pc, []byte("m"), nil)
		if err != nil {
			x.t.Fatal(err)
		}
		x.ids[pc] = append(x.ids[pc], id)
	}
}

func (x *rules) checkpoint(vc string, pos logbroker.MessageID) {
	x.t.Helper()
	if err := x.data.UpdateCheckpoint(x.ctx, vc, contract.Checkpoint{Position: uint64(pos)}); err != nil {
		x.t.Fatal(err)
	}
}

func (x *rules) pass() {
	x.t.Helper()
	if err := x.r.pass(x.ctx); err != nil {
		x.t.Fatal(err)
	}
}

// truncatedAt returns the last message ID a reader cannot start after (0:
// nothing truncated).
func (x *rules) truncatedAt(pc string) logbroker.MessageID {
	x.t.Helper()
	var t logbroker.MessageID
	for _, id := range x.ids[pc] {
		r, err := x.log.Read(x.ctx, pc, id-1)
		if errors.Is(err, logbroker.ErrTruncated) {
			t = id
			continue
		}
		if err != nil {
			x.t.Fatal(err)
		}
		r.Close()
	}
	return t // Read(after) fails for every after < T
}

func (x *rules) check(pc string, want logbroker.MessageID) {
	x.t.Helper()
	if got := x.truncatedAt(pc); got != want {
		x.t.Fatalf("%s truncated up to %d, want %d", pc, got, want)
	}
}

func coll(id int64, vcs ...string) *model.Collection {
	c := &model.Collection{ID: id}
	for _, vc := range vcs {
		c.VChannels = append(c.VChannels, vc)
		c.PChannels = append(c.PChannels, vc[:len("dml_0")])
	}
	return c
}

// TestTruncatesToTheMinimumCheckpoint: a pchannel is truncated up to the
// smallest checkpoint of the vchannels it carries, never past one, and
// not at all while one of them has no checkpoint.
func TestTruncatesToTheMinimumCheckpoint(t *testing.T) {
	x := newRules(t, 0)
	x.colls = []*model.Collection{coll(1, "dml_0_1v0", "dml_1_1v1"), coll(2, "dml_0_2v0")}
	x.append("dml_0", 10)
	x.append("dml_1", 10)
	a := x.ids["dml_0"]

	// dml_0_2v0 has no checkpoint yet: dml_0 is held at 0.
	x.checkpoint("dml_0_1v0", a[7])
	x.pass()
	x.check("dml_0", 0)
	x.check("dml_1", 0) // dml_1_1v1 has no checkpoint either

	x.checkpoint("dml_0_2v0", a[3])
	x.pass()
	if _, err := x.log.Read(x.ctx, "dml_0", a[3]); err != nil {
		t.Fatalf("reading from the smallest checkpoint: %v", err)
	}
	if _, err := x.log.Read(x.ctx, "dml_0", a[2]); !errors.Is(err, logbroker.ErrTruncated) {
		t.Fatalf("reading before the smallest checkpoint: %v, want ErrTruncated", err)
	}
	x.check("dml_1", 0)

	// Dropping collection 2 releases its hold.
	x.colls = x.colls[:1]
	x.pass()
	if _, err := x.log.Read(x.ctx, "dml_0", a[7]); err != nil {
		t.Fatalf("reading from the checkpoint: %v", err)
	}
	if _, err := x.log.Read(x.ctx, "dml_0", a[6]); !errors.Is(err, logbroker.ErrTruncated) {
		t.Fatalf("reading before the checkpoint: %v, want ErrTruncated", err)
	}
}

// TestWindow: a safe point is truncated to only once it has been safe for
// the whole window, and an unchanged state makes no log call.
func TestWindow(t *testing.T) {
	x := newRules(t, 10*time.Minute)
	x.colls = []*model.Collection{coll(1, "dml_0_1v0")}
	x.append("dml_0", 10)
	a := x.ids["dml_0"]
	truncated := func() logbroker.MessageID {
		for i := len(a) - 1; i >= 0; i-- {
			if _, err := x.log.Read(x.ctx, "dml_0", a[i]); errors.Is(err, logbroker.ErrTruncated) {
				return a[i+1]
			}
		}
		return 0
	}

	x.checkpoint("dml_0_1v0", a[2])
	x.pass() // a[2] safe since 0 min
	x.now = x.now.Add(4 * time.Minute)
	x.checkpoint("dml_0_1v0", a[5])
	x.pass() // a[5] safe since 4 min
	x.now = x.now.Add(5 * time.Minute)
	x.pass()
	if got := truncated(); got != 0 {
		t.Fatalf("truncated up to %d after 9 minutes", got)
	}
	x.now = x.now.Add(time.Minute)
	x.pass()
	if got := truncated(); got != a[2] {
		t.Fatalf("truncated up to %d after 10 minutes, want %d", got, a[2])
	}
	x.now = x.now.Add(4 * time.Minute)
	x.pass()
	if got := truncated(); got != a[5] {
		t.Fatalf("truncated up to %d after 14 minutes, want %d", got, a[5])
	}
	if len(x.r.pending) != 0 {
		t.Fatalf("pending after the last safe point: %v", x.r.pending)
	}
}

// TestCollectionsChangingDuringAPass: a pass that sees the collections
// change between its two listings truncates nothing.
func TestCollectionsChangingDuringAPass(t *testing.T) {
	x := newRules(t, 0)
	x.append("dml_0", 5)
	a := x.ids["dml_0"]
	x.checkpoint("dml_0_1v0", a[4])
	first := []*model.Collection{coll(1, "dml_0_1v0")}
	second := []*model.Collection{coll(1, "dml_0_1v0"), coll(2, "dml_0_2v0")}
	calls := 0
	x.r.d.Collections = func(context.Context) ([]*model.Collection, error) {
		calls++
		if calls == 1 {
			return first, nil
		}
		return second, nil
	}
	x.pass()
	if _, err := x.log.Read(x.ctx, "dml_0", a[0]); err != nil {
		t.Fatalf("truncated although collection 2 appeared during the pass: %v", err)
	}
}

// TestUnusedPChannelsEmptiedAfterRestart: a retention loop that starts
// with messages on pchannels no collection maps to (their collections were
// dropped before a restart) empties them, and leaves used ones to the
// checkpoint rule.
func TestUnusedPChannelsEmptiedAfterRestart(t *testing.T) {
	x := newRules(t, 0)
	x.append("dml_0", 3) // a dropped collection's messages
	x.append("dml_1", 3) // a live collection's
	x.colls = []*model.Collection{coll(1, "dml_1_v0")}
	r, err := New(Config{Interval: time.Second}, Deps{Log: x.log, Checkpoints: x.data,
		Collections: func(context.Context) ([]*model.Collection, error) { return x.colls, nil },
		Now:         func() time.Time { return x.now }, PChannels: []string{"dml_0", "dml_1", "dml_2"}})
	if err != nil {
		t.Fatal(err)
	}
	x.r = r
	x.pass() // marks dml_0 and dml_2 unused
	x.check("dml_0", 0)
	x.pass() // empties them
	x.check("dml_0", x.ids["dml_0"][2])
	x.check("dml_1", 0) // no checkpoint yet: kept
	x.pass()            // nothing more to do, no error on the never-written dml_2
}

// TestOnlyTheOwnerTruncates: with several streaming nodes each pchannel is
// truncated only by the loop of its current writer, which follows the
// hand-over; a loop that gets a pchannel back waits out a whole window
// again, and nothing goes past a checkpoint.
func TestOnlyTheOwnerTruncates(t *testing.T) {
	x := newRules(t, 10*time.Minute)
	x.colls = []*model.Collection{coll(1, "dml_0_1v0", "dml_1_1v1")}
	x.append("dml_0", 10)
	x.append("dml_1", 10)
	a, b := x.ids["dml_0"], x.ids["dml_1"]
	owner := map[string]string{"dml_0": "A", "dml_1": "B"}
	var truncs []string
	loop := func(node string) *Server {
		r, err := New(Config{Interval: time.Second, Window: 10 * time.Minute}, Deps{Log: countingLog{x.log, node, &truncs}, Checkpoints: x.data,
			Collections: func(context.Context) ([]*model.Collection, error) { return x.colls, nil },
			Now:         func() time.Time { return x.now },
			Owns:        func(pc string) bool { return owner[pc] == node }})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ra, rb := loop("A"), loop("B")
	pass := func() {
		t.Helper()
		for _, r := range []*Server{ra, rb} {
			if err := r.pass(x.ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	x.checkpoint("dml_0_1v0", a[4])
	x.checkpoint("dml_1_1v1", b[6])
	pass()
	x.now = x.now.Add(10 * time.Minute)
	pass()
	x.check("dml_0", a[4])
	x.check("dml_1", b[6])
	if got := fmt.Sprint(truncs); got != "[A:dml_0 B:dml_1]" {
		t.Fatalf("truncations: %s, want each pchannel by its owner only", got)
	}

	// dml_0 moves to B: A stops, B starts its own window.
	owner["dml_0"] = "B"
	truncs = nil
	x.checkpoint("dml_0_1v0", a[8])
	pass()
	x.now = x.now.Add(9 * time.Minute)
	pass()
	x.check("dml_0", a[4])
	x.now = x.now.Add(time.Minute)
	pass()
	x.check("dml_0", a[8])
	if got := fmt.Sprint(truncs); got != "[B:dml_0]" {
		t.Fatalf("truncations after the hand-over: %s, want [B:dml_0]", got)
	}
	if len(ra.pending) != 0 {
		t.Fatalf("the old owner still queues %v", ra.pending)
	}
	// Back to A: its earlier queue is gone, so it waits a whole window.
	owner["dml_0"] = "A"
	truncs = nil
	x.checkpoint("dml_0_1v0", a[9])
	pass()
	x.now = x.now.Add(9 * time.Minute)
	pass()
	x.check("dml_0", a[8])
	x.now = x.now.Add(time.Minute)
	pass()
	x.check("dml_0", a[9])
	if got := fmt.Sprint(truncs); got != "[A:dml_0]" {
		t.Fatalf("truncations after the hand-back: %s, want [A:dml_0]", got)
	}
}

// countingLog records which node truncated which pchannel.
type countingLog struct {
	*logbroker.Memory
	node   string
	truncs *[]string
}

func (c countingLog) Truncate(ctx context.Context, pc string, upTo logbroker.MessageID) error {
	*c.truncs = append(*c.truncs, c.node+":"+pc)
	return c.Memory.Truncate(ctx, pc, upTo)
}
