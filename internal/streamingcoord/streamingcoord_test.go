package streamingcoord_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"

	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/kvtest"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/session"
	"github.com/milvago/milvago/internal/streaming"
	"github.com/milvago/milvago/internal/streamingcoord"
)

var pchannels = []string{"dml_0", "dml_1", "dml_2", "dml_3", "dml_4", "dml_5"}

func newCoord(t *testing.T, store kv.Store) *streamingcoord.Coord {
	t.Helper()
	c, err := streamingcoord.New(t.Context(), streamingcoord.Deps{KV: store, PChannels: pchannels})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func load(c *streamingcoord.Coord) map[int64]int {
	out := map[int64]int{}
	for _, a := range c.Assignments() {
		out[a.Node]++
	}
	return out
}

// Pchannels spread evenly; a joining node takes them one at a time from
// the busiest; a dead node's go to the live ones; a new coordinator (a
// failover) loads the assignments.
func TestAssignment(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	store := e.NewStore("assign")
	t.Cleanup(func() { store.Close() })
	ctx := t.Context()
	c := newCoord(t, store)
	if err := c.SetNodes(ctx, []int64{7, 8}); err != nil {
		t.Fatal(err)
	}
	if got := load(c); got[7] != 3 || got[8] != 3 {
		t.Fatalf("load with two nodes: %v, want 3 each", got)
	}
	for pc, a := range c.Assignments() {
		if a.Term != 1 || a.From != 0 {
			t.Fatalf("%s: first assignment %+v, want term 1 from nobody", pc, a)
		}
	}
	// A third node joins: nothing moves at once (no orphan), then one
	// pchannel per Balance from the busiest.
	if err := c.SetNodes(ctx, []int64{7, 8, 9}); err != nil {
		t.Fatal(err)
	}
	if got := load(c); got[9] != 0 {
		t.Fatalf("joining node took %d pchannels at once", got[9])
	}
	var moved []string
	for {
		pc, err := c.Balance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if pc == "" {
			break
		}
		moved = append(moved, pc)
		if a := c.Assignments()[pc]; a.Node != 9 || a.Term != 2 || (a.From != 7 && a.From != 8) {
			t.Fatalf("moved %s: %+v", pc, a)
		}
	}
	if got := load(c); len(moved) != 2 || got[7] != 2 || got[8] != 2 || got[9] != 2 {
		t.Fatalf("after balance: moved %v, load %v, want 2 each", moved, got)
	}
	// Node 8 dies: its two go to 7 and 9, from 8.
	if err := c.SetNodes(ctx, []int64{7, 9}); err != nil {
		t.Fatal(err)
	}
	if got := load(c); got[7] != 3 || got[9] != 3 {
		t.Fatalf("after node 8 left: %v", got)
	}
	// A failover: the next coordinator sees the same.
	c2 := newCoord(t, store)
	if fmt.Sprint(c2.Assignments()) != fmt.Sprint(c.Assignments()) {
		t.Fatalf("reloaded %v, want %v", c2.Assignments(), c.Assignments())
	}
}

// node is one streaming node: its session, ownership and writer.
type node struct {
	sess   *session.Session
	own    *streamingcoord.Ownership
	w      *streaming.Writer
	cancel context.CancelFunc
}

type shared struct {
	store kv.Store
	log   *logbroker.Memory
	root  *rootcoord.Server
	data  *datacoord.Server
}

func newShared(t *testing.T) *shared {
	t.Helper()
	e := kvtest.StartEmbedded(t)
	store := e.NewStore("handover")
	t.Cleanup(func() { store.Close() })
	mem := kv.NewMemory()
	t.Cleanup(func() { mem.Close() })
	root, err := rootcoord.New(t.Context(), rootcoord.Default(), rootcoord.Deps{KV: mem})
	if err != nil {
		t.Fatal(err)
	}
	data, err := datacoord.New(t.Context(), datacoord.Default(), datacoord.Deps{KV: mem, IDs: root})
	if err != nil {
		t.Fatal(err)
	}
	log := logbroker.NewMemory(logbroker.MemoryConfig{})
	t.Cleanup(func() { log.Close() })
	return &shared{store: store, log: log, root: root, data: data}
}

func (s *shared) start(t *testing.T, name string) *node {
	t.Helper()
	sess, err := session.Register(t.Context(), s.store, session.Config{Role: session.RoleStreamingNode, Address: name + ":22222", TTL: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	n := &node{sess: sess}
	table := streamingcoord.NewTable(s.store, nil)
	n.own = streamingcoord.NewOwnership(streamingcoord.OwnershipDeps{KV: s.store, Table: table,
		Session: func() streamingcoord.Session { return sess },
		Writer:  streamingcoord.ReleaseFunc(func(ctx context.Context, pc string) { n.w.Release(ctx, pc) })})
	n.w = streaming.New(streaming.Default(), streaming.Deps{Log: s.log, TSO: s.root, Segments: s.data, Owner: n.own})
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	t.Cleanup(cancel)
	go table.Run(ctx)
	go n.own.Run(ctx)
	return n
}

func waitHeld(t *testing.T, n *node, pc string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, held := n.own.Held()[pc]
		if held == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d holds %s: %v, want %v", n.sess.ID(), pc, held, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func del(vc string, pk int64) *msg.Message {
	return &msg.Message{Kind: msg.KindDelete, VChannel: vc, Delete: &msgpb.DeleteRequest{CollectionID: 1, ShardName: vc, NumRows: 1}}
}

// timestamps returns the timestamps of pchannel's messages in log order.
func timestamps(t *testing.T, log logbroker.Log, pc string) []uint64 {
	t.Helper()
	ctx := t.Context()
	latest, err := log.Latest(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := log.Read(ctx, pc, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []uint64
	for {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dm, err := msg.Decode(m.Payload, m.Properties)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, dm.TS)
		if m.ID >= latest {
			return out
		}
	}
}

func strictlyIncreasing(t *testing.T, ts []uint64) {
	t.Helper()
	for i := 1; i < len(ts); i++ {
		if ts[i] <= ts[i-1] {
			t.Fatalf("timestamps not strictly increasing at %d: %v", i, ts)
		}
	}
}

// A balance move: the old writer stops (its appends refused with
// "channel misrouted") and records the release; the new one starts only
// then, and its timestamps continue the pchannel's order.
func TestFencedHandOver(t *testing.T) {
	t.Parallel()
	s := newShared(t)
	ctx := t.Context()
	a := s.start(t, "a")
	c := newCoord(t, s.store)
	if err := c.SetNodes(ctx, []int64{a.sess.ID()}); err != nil {
		t.Fatal(err)
	}
	for _, pc := range pchannels {
		waitHeld(t, a, pc, true)
	}
	// Nobody else may write: a node the table does not name is refused.
	b := s.start(t, "b")
	if _, err := b.w.AppendDelete(ctx, "dml_0", del("dml_0_1v0", 1)); !errors.Is(err, errs.ErrChannelMisrouted) {
		t.Fatalf("append by a node that does not own the pchannel: %v, want channel misrouted", err)
	}
	for i := range 5 {
		if _, err := a.w.AppendDelete(ctx, "dml_0", del("dml_0_1v0", int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetNodes(ctx, []int64{a.sess.ID(), b.sess.ID()}); err != nil {
		t.Fatal(err)
	}
	moved, err := c.Balance(ctx)
	if err != nil || moved != "dml_0" {
		t.Fatalf("Balance = %q, %v; want dml_0", moved, err)
	}
	waitHeld(t, b, "dml_0", true)
	waitHeld(t, a, "dml_0", false)
	_, err = a.w.AppendDelete(ctx, "dml_0", del("dml_0_1v0", 9))
	if !errors.Is(err, errs.ErrChannelMisrouted) {
		t.Fatalf("stale writer's append after the hand-over: %v, want channel misrouted", err)
	}
	t.Logf("stale writer refused: %v", err)
	for i := range 5 {
		if _, err := b.w.AppendDelete(ctx, "dml_0", del("dml_0_1v0", int64(10+i))); err != nil {
			t.Fatal(err)
		}
	}
	ts := timestamps(t, s.log, "dml_0")
	if len(ts) < 10 {
		t.Fatalf("%d messages, want at least 10", len(ts))
	}
	strictlyIncreasing(t, ts)
}

// A writer that stops following the assignments (cut off) but whose
// session lives keeps the pchannel from its successor; once its session
// ends the successor takes it, and the old writer's appends are refused.
func TestHandOverWaitsForTheOldWriter(t *testing.T) {
	t.Parallel()
	s := newShared(t)
	ctx := t.Context()
	a := s.start(t, "a")
	c := newCoord(t, s.store)
	if err := c.SetNodes(ctx, []int64{a.sess.ID()}); err != nil {
		t.Fatal(err)
	}
	waitHeld(t, a, "dml_3", true)
	if _, err := a.w.AppendDelete(ctx, "dml_3", del("dml_3_1v0", 1)); err != nil {
		t.Fatal(err)
	}
	b := s.start(t, "b")
	a.cancel() // a no longer sees the assignments
	if err := c.SetNodes(ctx, []int64{b.sess.ID()}); err != nil {
		t.Fatal(err)
	}
	if got := c.Assignments()["dml_3"]; got.Node != b.sess.ID() || got.From != a.sess.ID() {
		t.Fatalf("assignment %+v, want to %d from %d", got, b.sess.ID(), a.sess.ID())
	}
	time.Sleep(time.Second)
	if _, held := b.own.Held()["dml_3"]; held {
		t.Fatal("the new writer started while the old one may still append")
	}
	start := time.Now()
	if err := a.sess.Close(); err != nil {
		t.Fatal(err)
	}
	waitHeld(t, b, "dml_3", true)
	t.Logf("taken %v after the old writer's session ended", time.Since(start).Round(time.Millisecond))
	if _, err := a.w.AppendDelete(ctx, "dml_3", del("dml_3_1v0", 2)); !errors.Is(err, errs.ErrNodeOffline) {
		t.Fatalf("append by a writer whose session ended: %v, want node offline", err)
	}
	if _, err := b.w.AppendDelete(ctx, "dml_3", del("dml_3_1v0", 3)); err != nil {
		t.Fatal(err)
	}
	strictlyIncreasing(t, timestamps(t, s.log, "dml_3"))
}

// A pchannel moved again before its new writer started names as the
// writer that must stop the one that may still be appending: the previous
// writer, while it lives and has not released the pchannel.
func TestReassignBeforeTheHandOverSettled(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	store := e.NewStore("chain")
	t.Cleanup(func() { store.Close() })
	ctx := t.Context()
	c, err := streamingcoord.New(ctx, streamingcoord.Deps{KV: store, PChannels: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetNodes(ctx, []int64{1}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetNodes(ctx, []int64{1, 2}); err != nil {
		t.Fatal(err)
	}
	if pc, err := c.Balance(ctx); err != nil || pc != "a" {
		t.Fatalf("Balance: %q %v, want a", pc, err)
	}
	if a := c.Assignments()["a"]; a.Node != 2 || a.From != 1 || a.Term != 2 {
		t.Fatalf("after the move: %+v, want node 2 from 1, term 2", a)
	}
	// Node 2 dies before node 1 released "a": node 1 may still append,
	// so node 3 must wait for node 1, not for the dead node 2.
	if err := c.SetNodes(ctx, []int64{1, 3}); err != nil {
		t.Fatal(err)
	}
	if a := c.Assignments()["a"]; a.Node != 3 || a.From != 1 || a.Term != 3 {
		t.Fatalf("moved on before the hand-over settled: %+v, want node 3 from 1, term 3", a)
	}
	// Once node 1 records its release, the next move names the assignee.
	if _, err := store.Put(ctx, streamingcoord.PrefixReleased+"a", []byte(`{"term":3}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetNodes(ctx, []int64{1, 4}); err != nil { // node 3 died
		t.Fatal(err)
	}
	if a := c.Assignments()["a"]; a.Node != 4 || a.From != 3 || a.Term != 4 {
		t.Fatalf("after a settled hand-over: %+v, want node 4 from 3, term 4", a)
	}
}
