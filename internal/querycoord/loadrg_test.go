package querycoord

import (
	"errors"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/querynode"
)

// TestLoadIntoResourceGroups: a load naming resource groups places its
// replicas there as Milvus's AssignReplica does, and fails with Milvus's
// errors for a missing group, too few nodes or a mismatched group count.
func TestLoadIntoResourceGroups(t *testing.T) {
	c := newCluster(t)
	c.createIndex(t)
	c.insertRange(t, 0, 30)
	set := &nodeSet{m: map[int64]*querynode.Server{}}
	for _, id := range []int64{11, 12, 13} {
		c.startNode(t, set, id)
	}
	store := kv.NewMemory()
	t.Cleanup(func() { store.Close() })
	qc := must(New(c.ctx, Deps{KV: store, Data: c.data, Indexes: c.icoord, Nodes: set, IDs: c.root, Collections: c.root}))
	c.data.AddListener(qc)
	c.icoord.AddListener(qc)
	if err := qc.SetNodes(c.ctx, infos(11, 12, 13)); err != nil {
		t.Fatal(err)
	}
	if err := qc.CreateResourceGroup(c.ctx, "rg1", RGConfig{Requests: 1, Limits: 1}); err != nil {
		t.Fatal(err)
	}
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 2, "nope"); !errors.Is(err, errs.ErrResourceGroupNotFound) {
		t.Fatalf("load into a missing group: %v", err)
	}
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 2, "rg1"); !errors.Is(err, errs.ErrResourceGroupNodeNotEnough) {
		t.Fatalf("two replicas in a one-node group: %v", err)
	}
	err := qc.LoadCollection(c.ctx, c.coll, nil, 3, "rg1", DefaultResourceGroup)
	if !errors.Is(err, errs.ErrParameterInvalid) || !strings.Contains(err.Error(), "resource group num can only be 0, 1 or same as replica number") {
		t.Fatalf("3 replicas over 2 groups: %v", err)
	}
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 2, "rg1", DefaultResourceGroup); err != nil {
		t.Fatal(err)
	}
	rg1Node := must(qc.DescribeResourceGroup(bg, "rg1")).Nodes[0].ID
	groups := map[string]int{}
	for _, r := range must(qc.Replicas(bg, c.coll.ID)) {
		groups[r.ResourceGroup]++
		if r.ResourceGroup != "rg1" {
			continue
		}
		for _, sh := range r.Shards {
			if sh.NodeID != rg1Node {
				t.Fatalf("shard %s of rg1's replica on node %d, want %d", sh.VChannel, sh.NodeID, rg1Node)
			}
		}
	}
	if groups["rg1"] != 1 || groups[DefaultResourceGroup] != 1 {
		t.Fatalf("replicas per group %v, want one in each", groups)
	}

	// Loading again with other groups moves the replicas: both into
	// the default group (two nodes there).
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 2, DefaultResourceGroup); err != nil {
		t.Fatal(err)
	}
	used := map[int64]bool{}
	for _, r := range must(qc.Replicas(bg, c.coll.ID)) {
		if r.ResourceGroup != DefaultResourceGroup {
			t.Fatalf("replica %d still in %s after reloading into the default group", r.ID, r.ResourceGroup)
		}
		for _, sh := range r.Shards {
			if sh.NodeID == rg1Node || sh.NodeID == 0 {
				t.Fatalf("shard %s of replica %d on node %d after the move", sh.VChannel, r.ID, sh.NodeID)
			}
			used[sh.NodeID] = true
		}
	}
	if len(used) != 2 {
		t.Fatalf("replicas use nodes %v, want the default group's two", used)
	}
	eventually(t, "moved replicas loaded", func() bool { st := must(qc.State(bg, c.coll.ID)); return st.Loaded && st.Progress == 100 })
	// And back: one replica per group.
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 2, "rg1", DefaultResourceGroup); err != nil {
		t.Fatal(err)
	}
	groups = map[string]int{}
	for _, r := range must(qc.Replicas(bg, c.coll.ID)) {
		groups[r.ResourceGroup]++
	}
	if groups["rg1"] != 1 || groups[DefaultResourceGroup] != 1 {
		t.Fatalf("after reloading into both groups: %v", groups)
	}
}
