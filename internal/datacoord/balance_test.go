package datacoord

import (
	"context"
	"errors"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
)

// A data node that joins gets live pchannels, one per Balance, until the
// owners differ by at most one; the old owner unwatches each before the
// new one watches it, and its reports are refused after the move.
func TestChannelsBalanceOntoJoiningNode(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	nodes := &fakeDataNodes{watched: map[int64][]string{}, down: map[int64]bool{}}
	c1 := coll(1, "p0", "p1", "p2", "p3")
	c2 := coll(2, "p0", "p2")
	cat := fakeCatalog{1: c1, 2: c2}
	ch, err := NewChannels(ctx, ChannelsDeps{KV: store, Nodes: nodes, Collections: cat.list})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.SetNodes(ctx, []int64{10}); err != nil {
		t.Fatal(err)
	}
	if pc, err := ch.Balance(ctx); err != nil || pc != "" {
		t.Fatalf("one node: moved %q, %v", pc, err)
	}
	if len(nodes.of(10)) != 6 {
		t.Fatalf("node 10 watches %v", nodes.of(10))
	}
	if err := ch.SetNodes(ctx, []int64{10, 11}); err != nil {
		t.Fatal(err)
	}
	if len(nodes.of(11)) != 0 {
		t.Fatalf("joining node watches %v before any balance", nodes.of(11))
	}
	var moved []string
	for range 4 {
		pc, err := ch.Balance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if pc != "" {
			moved = append(moved, pc)
		}
	}
	if len(moved) != 2 || moved[0] != "p0" || moved[1] != "p1" {
		t.Fatalf("moved %v, want p0 then p1", moved)
	}
	got := ch.Assignments()
	if got["p0"] != 11 || got["p1"] != 11 || got["p2"] != 10 || got["p3"] != 10 {
		t.Fatalf("owners %v", got)
	}
	// p0 carries c1 and c2, p1 c1: node 11 watches 3 vchannels, node 10
	// the other 3, none on both.
	if a, b := nodes.of(10), nodes.of(11); len(a) != 3 || len(b) != 3 {
		t.Fatalf("watched: 10 %v, 11 %v", a, b)
	}
	for _, r := range []struct {
		node int64
		ok   bool
	}{{11, true}, {10, false}} {
		err := ch.CheckOwner(contract.WithCaller(ctx, r.node), ReportCheckpoint, c1.VChannels[0])
		if r.ok != (err == nil) || (!r.ok && !errors.Is(err, errs.ErrChannelMisrouted)) {
			t.Fatalf("report from %d on a moved pchannel: %v", r.node, err)
		}
	}
	// The owners survive a coordinator restart.
	ch2, err := NewChannels(ctx, ChannelsDeps{KV: store, Nodes: nodes, Collections: cat.list})
	if err != nil {
		t.Fatal(err)
	}
	if !sameOwners(ch2.Assignments(), got) {
		t.Fatalf("reloaded %v, want %v", ch2.Assignments(), got)
	}
}

// A move whose old owner cannot be told to stop does not happen.
func TestChannelsBalanceOwnerUnreachable(t *testing.T) {
	ctx := context.Background()
	nodes := &fakeDataNodes{watched: map[int64][]string{}, down: map[int64]bool{}}
	c1 := coll(1, "p0", "p1")
	ch, err := NewChannels(ctx, ChannelsDeps{KV: kv.NewMemory(), Nodes: nodes, Collections: fakeCatalog{1: c1}.list})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.SetNodes(ctx, []int64{10}); err != nil {
		t.Fatal(err)
	}
	if err := ch.SetNodes(ctx, []int64{10, 11}); err != nil {
		t.Fatal(err)
	}
	nodes.mu.Lock()
	nodes.down[10] = true
	nodes.mu.Unlock()
	if _, err := ch.Balance(ctx); err == nil {
		t.Fatal("moved off an unreachable owner")
	}
	if got := ch.Assignments(); got["p0"] != 10 || got["p1"] != 10 {
		t.Fatalf("owners %v", got)
	}
}
