package datacoord

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// fakeDataNodes records the vchannels each node was told to watch.
type fakeDataNodes struct {
	mu      sync.Mutex
	watched map[int64][]string
	down    map[int64]bool
}

type fakeDataNode struct {
	f  *fakeDataNodes
	id int64
}

func (f *fakeDataNodes) DataNode(_ context.Context, id int64) (DataNode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down[id] {
		return nil, errs.NodeNotFound(id)
	}
	return fakeDataNode{f, id}, nil
}

func (n fakeDataNode) Watch(_ context.Context, c *model.Collection) error {
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	for _, vc := range c.VChannels {
		if !slices.Contains(n.f.watched[n.id], vc) {
			n.f.watched[n.id] = append(n.f.watched[n.id], vc)
		}
	}
	return nil
}

func (n fakeDataNode) Unwatch(_ context.Context, c *model.Collection) error {
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	n.f.watched[n.id] = slices.DeleteFunc(n.f.watched[n.id], func(vc string) bool { return slices.Contains(c.VChannels, vc) })
	return nil
}

func (f *fakeDataNodes) of(id int64) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.watched[id])
	slices.Sort(out)
	return out
}

type fakeCatalog map[int64]*model.Collection

func (c fakeCatalog) list(context.Context) ([]*model.Collection, error) {
	var out []*model.Collection
	for _, coll := range c {
		out = append(out, coll)
	}
	return out, nil
}

func coll(id int64, pchannels ...string) *model.Collection {
	c := &model.Collection{ID: id, Name: "c"}
	for i, pc := range pchannels {
		c.PChannels = append(c.PChannels, pc)
		c.VChannels = append(c.VChannels, pc+"_"+string(rune('a'+id))+"v"+string(rune('0'+i)))
	}
	return c
}

func TestChannelsAssignBalanceAndMove(t *testing.T) {
	ctx := context.Background()
	store := kv.NewMemory()
	nodes := &fakeDataNodes{watched: map[int64][]string{}, down: map[int64]bool{}}
	c1 := coll(1, "p0", "p1", "p2", "p3")
	c2 := coll(2, "p0", "p1")
	cat := fakeCatalog{1: c1, 2: c2}
	ch, err := NewChannels(ctx, ChannelsDeps{KV: store, Nodes: nodes, Collections: cat.list})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.SetNodes(ctx, []int64{10, 11}); err != nil {
		t.Fatal(err)
	}
	if err := ch.WatchCollection(ctx, c1); err != nil {
		t.Fatal(err)
	}
	if err := ch.WatchCollection(ctx, c2); err != nil {
		t.Fatal(err)
	}
	// Balanced: two pchannels each; a pchannel's vchannels on one node.
	got := ch.Assignments()
	n10, n11 := 0, 0
	for _, n := range got {
		switch n {
		case 10:
			n10++
		case 11:
			n11++
		}
	}
	if n10 != 2 || n11 != 2 {
		t.Fatalf("assignments %v, want two pchannels each", got)
	}
	if w := len(nodes.of(10)) + len(nodes.of(11)); w != 6 {
		t.Fatalf("watched %v and %v, want 6 vchannels in all", nodes.of(10), nodes.of(11))
	}
	for _, vc := range nodes.of(10) {
		if slices.Contains(nodes.of(11), vc) {
			t.Fatalf("vchannel %s watched twice", vc)
		}
	}
	// Only the owner may report on a vchannel.
	var onP0 string
	owner := got["p0"]
	other := int64(21) - owner
	onP0 = c1.VChannels[0]
	if err := ch.CheckOwner(contract.WithCaller(ctx, owner), ReportFlush, onP0); err != nil {
		t.Fatalf("owner refused: %v", err)
	}
	if err := ch.CheckOwner(contract.WithCaller(ctx, other), ReportCheckpoint, onP0); !errors.Is(err, errs.ErrChannelMisrouted) {
		t.Fatalf("non-owner: %v", err)
	}
	if err := ch.CheckOwner(ctx, ReportFlush, onP0); err != nil {
		t.Fatalf("in-process: %v", err)
	}

	// Node 10 leaves: its pchannels move to 11, which watches them; a
	// joining node 12 keeps nothing of 11's.
	nodes.down[10] = true
	if err := ch.SetNodes(ctx, []int64{11, 12}); err != nil {
		t.Fatal(err)
	}
	got = ch.Assignments()
	for pc, n := range got {
		if n == 10 {
			t.Fatalf("pchannel %s still on the dead node: %v", pc, got)
		}
	}
	if len(nodes.of(11))+len(nodes.of(12)) != 6 {
		t.Fatalf("after the move: 11 %v, 12 %v", nodes.of(11), nodes.of(12))
	}
	if err := ch.CheckOwner(contract.WithCaller(ctx, 10), ReportDeltaLog, onP0); !errors.Is(err, errs.ErrChannelMisrouted) {
		t.Fatalf("the dead node may still report: %v", err)
	}

	// A new coordinator loads the owners and re-sends them to the nodes.
	nodes2 := &fakeDataNodes{watched: map[int64][]string{}, down: map[int64]bool{}}
	ch2, err := NewChannels(ctx, ChannelsDeps{KV: store, Nodes: nodes2, Collections: cat.list})
	if err != nil {
		t.Fatal(err)
	}
	if !sameOwners(ch2.Assignments(), got) {
		t.Fatalf("reloaded %v, want %v", ch2.Assignments(), got)
	}
	if err := ch2.SetNodes(ctx, []int64{11, 12}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(nodes2.of(11), nodes.of(11)) || !slices.Equal(nodes2.of(12), nodes.of(12)) {
		t.Fatalf("re-sent 11 %v 12 %v, want %v %v", nodes2.of(11), nodes2.of(12), nodes.of(11), nodes.of(12))
	}
	if err := ch2.CheckOwner(contract.WithCaller(ctx, 10), ReportFlush, onP0); !errors.Is(err, errs.ErrChannelMisrouted) {
		t.Fatalf("reloaded: the dead node may report: %v", err)
	}

	// Dropped: unwatched and forgotten.
	delete(cat, 1)
	if err := ch2.UnwatchCollection(ctx, c1); err != nil {
		t.Fatal(err)
	}
	if len(nodes2.of(11))+len(nodes2.of(12)) != 2 {
		t.Fatalf("after drop: 11 %v, 12 %v", nodes2.of(11), nodes2.of(12))
	}
	if err := ch2.CheckOwner(contract.WithCaller(ctx, 99), ReportFlush, c1.VChannels[0]); err != nil {
		t.Fatalf("dropped collection's channel: %v", err)
	}
}

func TestChannelsWaitForFirstNode(t *testing.T) {
	ctx := context.Background()
	nodes := &fakeDataNodes{watched: map[int64][]string{}, down: map[int64]bool{}}
	c1 := coll(1, "p0", "p1")
	ch, err := NewChannels(ctx, ChannelsDeps{KV: kv.NewMemory(), Nodes: nodes, Collections: fakeCatalog{1: c1}.list})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.WatchCollection(ctx, c1); err != nil {
		t.Fatal(err)
	}
	if err := ch.SetNodes(ctx, []int64{5}); err != nil {
		t.Fatal(err)
	}
	if got := nodes.of(5); len(got) != 2 {
		t.Fatalf("first node watches %v", got)
	}
}

func sameOwners(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
