package querycoord

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/querynode"
	"github.com/milvago/milvago/internal/shardroute"
)

// TestResourceGroups moves nodes between resource groups by their
// requests and limits and a replica between groups: its shards follow it
// onto the target group's node, and reads keep working.
func TestResourceGroups(t *testing.T) {
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
	nodesOf := func(rg string) int {
		info, err := qc.DescribeResourceGroup(bg, rg)
		if err != nil {
			t.Fatal(err)
		}
		return len(info.Nodes)
	}
	if n := nodesOf(DefaultResourceGroup); n != 3 {
		t.Fatalf("default group has %d nodes, want 3", n)
	}
	if err := qc.CreateResourceGroup(c.ctx, "rg1", RGConfig{Requests: 1, Limits: 1}); err != nil {
		t.Fatal(err)
	}
	if err := qc.CreateResourceGroup(c.ctx, "rg1", RGConfig{Requests: 1, Limits: 1}); err != nil {
		t.Fatalf("same config again: %v", err)
	}
	if err := qc.CreateResourceGroup(c.ctx, "rg1", RGConfig{Requests: 2, Limits: 2}); !errors.Is(err, errs.ErrResourceGroupAlreadyExist) {
		t.Fatalf("other config: %v", err)
	}
	for _, tc := range []struct {
		cfg  RGConfig
		want string
	}{
		{RGConfig{Requests: -1}, "node num in `requests` or `limits` should not less than 0"},
		{RGConfig{Requests: 10, Limits: 1}, "limits node num should not less than requests node num"},
	} {
		cfg, want := tc.cfg, tc.want
		if err := qc.CreateResourceGroup(c.ctx, "bad", cfg); !errors.Is(err, errs.ErrResourceGroupIllegalConfig) || !strings.Contains(err.Error(), want) {
			t.Fatalf("config %v: %v", cfg, err)
		}
	}
	if _, err := qc.DescribeResourceGroup(bg, "nope"); !errors.Is(err, errs.ErrResourceGroupNotFound) {
		t.Fatalf("describe a missing group: %v", err)
	}
	if nodesOf("rg1") != 1 || nodesOf(DefaultResourceGroup) != 2 {
		t.Fatalf("rg1 %d nodes, default %d; want 1 and 2", nodesOf("rg1"), nodesOf(DefaultResourceGroup))
	}
	names := must(qc.ListResourceGroups(bg))
	if strings.Join(names, ",") != DefaultResourceGroup+",rg1" {
		t.Fatalf("groups %v", names)
	}

	// Two replicas in the default group (two nodes); one moves to rg1.
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 3); !errors.Is(err, errs.ErrResourceGroupNodeNotEnough) {
		t.Fatalf("three replicas on the default group's two nodes: %v", err)
	}
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 2); err != nil {
		t.Fatal(err)
	}
	rg1Node := must(qc.DescribeResourceGroup(bg, "rg1")).Nodes[0].ID
	if err := qc.TransferReplica(c.ctx, DefaultResourceGroup, "rg1", c.coll.ID, c.coll.Name, 3); err == nil ||
		err.Error() != "the number of replicas to transfer is greater than the number of replicas in the collection: invalid parameter[expected=3][actual=2]" {
		t.Fatalf("moved three of two replicas: %v", err)
	}
	if err := qc.TransferReplica(c.ctx, "rg1", DefaultResourceGroup, c.coll.ID, c.coll.Name, 1); err == nil ||
		!strings.Contains(err.Error(), "only found [0] replicas of collection ["+c.coll.Name+"] in source resource group [rg1], but 1 require") {
		t.Fatalf("moved a replica rg1 does not have: %v", err)
	}
	if err := qc.TransferReplica(c.ctx, DefaultResourceGroup, "rg1", c.coll.ID, c.coll.Name, 1); err != nil {
		t.Fatal(err)
	}
	moved := 0
	for _, r := range must(qc.Replicas(bg, c.coll.ID)) {
		if r.ResourceGroup != "rg1" {
			continue
		}
		moved++
		for _, sh := range r.Shards {
			if sh.NodeID != rg1Node {
				t.Fatalf("shard %s of the moved replica on node %d, want rg1's node %d", sh.VChannel, sh.NodeID, rg1Node)
			}
		}
	}
	if moved != 1 {
		t.Fatalf("%d replicas in rg1, want 1", moved)
	}
	if n := must(qc.DescribeResourceGroup(bg, "rg1")).LoadedReplicas[c.coll.ID]; n != 1 {
		t.Fatalf("rg1 reports %d loaded replicas", n)
	}
	eventually(t, "both replicas loaded", func() bool { st := must(qc.State(bg, c.coll.ID)); return st.Progress == 100 })
	router := shardroute.New(shardroute.Default(), qc, set, nil)
	for range 4 {
		if n, err := c.countVia(c.ctx, router, c.now(t)); err != nil || n != 30 {
			t.Fatalf("count %d, %v", n, err)
		}
	}

	// Dropping: the default group never; rg1 only once empty.
	if err := qc.DropResourceGroup(c.ctx, DefaultResourceGroup); err == nil || !strings.Contains(err.Error(), "default resource group is not deletable") {
		t.Fatalf("drop default: %v", err)
	}
	if err := qc.DropResourceGroup(c.ctx, "rg1"); err == nil || !strings.Contains(err.Error(), "resource group's limits node num is not 0") {
		t.Fatalf("drop rg1 with limits: %v", err)
	}
	if err := qc.UpdateResourceGroups(c.ctx, map[string]RGConfig{"rg1": {}}); err != nil {
		t.Fatal(err)
	}
	if nodesOf("rg1") != 0 || nodesOf(DefaultResourceGroup) != 3 {
		t.Fatalf("after emptying rg1: rg1 %d nodes, default %d", nodesOf("rg1"), nodesOf(DefaultResourceGroup))
	}
	// rg1's replica keeps its node, now the default group's, as a
	// read-only node: outgoing for rg1, incoming for the default group.
	if info := must(qc.DescribeResourceGroup(bg, "rg1")); info.Outgoing[c.coll.ID] != 1 || len(info.Incoming) != 0 {
		t.Fatalf("rg1 after emptying: outgoing %v incoming %v, want {%d:1} and none", info.Outgoing, info.Incoming, c.coll.ID)
	}
	if info := must(qc.DescribeResourceGroup(bg, DefaultResourceGroup)); info.Incoming[c.coll.ID] != 1 || len(info.Outgoing) != 0 {
		t.Fatalf("default after emptying rg1: incoming %v outgoing %v", info.Incoming, info.Outgoing)
	}
	for range 2 {
		if n, err := c.countVia(c.ctx, router, c.now(t)); err != nil || n != 30 {
			t.Fatalf("count with rg1's replica on a read-only node: %d, %v", n, err)
		}
	}
	if err := qc.DropResourceGroup(c.ctx, "rg1"); err == nil || !strings.Contains(err.Error(), "some replicas still loaded in resource group") {
		t.Fatalf("drop rg1 with a replica: %v", err)
	}
	if err := qc.TransferReplica(c.ctx, "rg1", DefaultResourceGroup, c.coll.ID, c.coll.Name, 1); err != nil {
		t.Fatal(err)
	}
	if err := qc.DropResourceGroup(c.ctx, "rg1"); err != nil {
		t.Fatal(err)
	}
	if err := qc.DropResourceGroup(c.ctx, "rg1"); err != nil {
		t.Fatalf("drop a missing group: %v", err)
	}
	for _, r := range must(qc.Replicas(bg, c.coll.ID)) {
		if !r.Serviceable() {
			t.Fatalf("replica %+v has a shard without a node", r)
		}
	}
}

// TestTransferNode checks the deprecated TransferNode as Milvus 2.6's
// ResourceManager.TransferNode: it rewrites both groups' configurations
// (the target asks for n nodes more, the source for n fewer; the default
// group keeps its limits), with Milvus's errors for bad arguments.
func TestTransferNode(t *testing.T) {
	c := newCluster(t)
	set := &nodeSet{m: map[int64]*querynode.Server{}}
	for _, id := range []int64{11, 12, 13} {
		c.startNode(t, set, id)
	}
	store := kv.NewMemory()
	t.Cleanup(func() { store.Close() })
	qc := must(New(c.ctx, Deps{KV: store, Data: c.data, Indexes: c.icoord, Nodes: set, IDs: c.root, Collections: c.root}))
	if err := qc.SetNodes(c.ctx, infos(11, 12, 13)); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"rg1", "rg2"} {
		if err := qc.CreateResourceGroup(c.ctx, g, RGConfig{}); err != nil {
			t.Fatal(err)
		}
	}
	// A default group whose limits the user set: TransferNode keeps them.
	if err := qc.UpdateResourceGroups(c.ctx, map[string]RGConfig{DefaultResourceGroup: {Requests: 0, Limits: 5}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src, dst string
		n        int32
		is       error
		want     string
	}{
		{"rg1", "rg1", 1, errs.ErrParameterInvalid, "source resource group and target resource group should not be the same"},
		{DefaultResourceGroup, "rg1", 0, errs.ErrParameterInvalid, "invalid NumNode 0"},
		{"nope", "rg1", 1, errs.ErrResourceGroupNotFound, "nope"},
		{DefaultResourceGroup, "nope", 1, errs.ErrResourceGroupNotFound, "nope"},
		{DefaultResourceGroup, "rg1", 4, errs.ErrResourceGroupNodeNotEnough, ""},
	} {
		err := qc.TransferNode(c.ctx, tc.src, tc.dst, tc.n)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("TransferNode(%s, %s, %d): %v, want %v %q", tc.src, tc.dst, tc.n, err, tc.is, tc.want)
		}
	}
	cfgOf := func(g string) RGConfig { return must(qc.DescribeResourceGroup(bg, g)).Config }
	nodesOf := func(g string) int { return len(must(qc.DescribeResourceGroup(bg, g)).Nodes) }

	if err := qc.TransferNode(c.ctx, DefaultResourceGroup, "rg1", 2); err != nil {
		t.Fatal(err)
	}
	if got := cfgOf(DefaultResourceGroup); got.Requests != 0 || got.Limits != 5 {
		t.Errorf("default group after giving 2 nodes: %+v, want requests 0 and its limits 5", got)
	}
	if got := cfgOf("rg1"); got.Requests != 2 || got.Limits != 2 {
		t.Errorf("rg1 after taking 2 nodes: %+v, want 2 and 2", got)
	}
	if nodesOf("rg1") != 2 || nodesOf(DefaultResourceGroup) != 1 {
		t.Fatalf("rg1 %d nodes, default %d; want 2 and 1", nodesOf("rg1"), nodesOf(DefaultResourceGroup))
	}
	// Between two other groups both sides' limits move.
	if err := qc.TransferNode(c.ctx, "rg1", "rg2", 1); err != nil {
		t.Fatal(err)
	}
	if got := cfgOf("rg1"); got.Requests != 1 || got.Limits != 1 {
		t.Errorf("rg1 after giving 1 node: %+v, want 1 and 1", got)
	}
	if got := cfgOf("rg2"); got.Requests != 1 || got.Limits != 1 {
		t.Errorf("rg2 after taking 1 node: %+v, want 1 and 1", got)
	}
	if nodesOf("rg1") != 1 || nodesOf("rg2") != 1 || nodesOf(DefaultResourceGroup) != 1 {
		t.Fatalf("nodes: rg1 %d, rg2 %d, default %d; want 1 each", nodesOf("rg1"), nodesOf("rg2"), nodesOf(DefaultResourceGroup))
	}
}

// TestTransferReplicaIntoEmptyGroup: as Milvus 2.6, a replica moves into a
// group without nodes; it keeps serving from its old nodes as read-only
// nodes (GetReplicas lists them and counts them outbound; the groups'
// descriptions count them outgoing and incoming) until the group gets a
// node, which then serves every shard while the old nodes let go.
func TestTransferReplicaIntoEmptyGroup(t *testing.T) {
	c := newCluster(t)
	c.createIndex(t)
	c.insertRange(t, 0, 20)
	set := &nodeSet{m: map[int64]*querynode.Server{}}
	for _, id := range []int64{11, 12} {
		c.startNode(t, set, id)
	}
	store := kv.NewMemory()
	t.Cleanup(func() { store.Close() })
	qc := must(New(c.ctx, Deps{KV: store, Data: c.data, Indexes: c.icoord, Nodes: set, IDs: c.root, Collections: c.root}))
	c.data.AddListener(qc)
	c.icoord.AddListener(qc)
	if err := qc.SetNodes(c.ctx, infos(11, 12)); err != nil {
		t.Fatal(err)
	}
	if err := qc.CreateResourceGroup(c.ctx, "empty", RGConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := qc.LoadCollection(c.ctx, c.coll, nil, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "loaded", func() bool { return must(qc.State(bg, c.coll.ID)).Progress == 100 })
	if err := qc.TransferReplica(c.ctx, DefaultResourceGroup, "empty", c.coll.ID, c.coll.Name, 1); err != nil {
		t.Fatalf("transfer into a group without nodes: %v", err)
	}
	rs := must(qc.Replicas(bg, c.coll.ID))
	if len(rs) != 1 || rs[0].ResourceGroup != "empty" || !slices.Equal(rs[0].Nodes, []int64{11, 12}) ||
		rs[0].Outbound[DefaultResourceGroup] != 2 || !rs[0].Serviceable() {
		t.Fatalf("replica after the transfer: %+v", rs)
	}
	info := must(qc.DescribeResourceGroup(bg, "empty"))
	if len(info.Nodes) != 0 || info.LoadedReplicas[c.coll.ID] != 1 || info.Outgoing[c.coll.ID] != 2 || len(info.Incoming) != 0 {
		t.Fatalf("empty group: %+v", info)
	}
	def := must(qc.DescribeResourceGroup(bg, DefaultResourceGroup))
	if len(def.Nodes) != 2 || len(def.LoadedReplicas) != 0 || def.Incoming[c.coll.ID] != 2 || len(def.Outgoing) != 0 {
		t.Fatalf("default group: %+v", def)
	}
	router := shardroute.New(shardroute.Default(), qc, set, nil)
	if n, err := c.countVia(c.ctx, router, c.now(t)); err != nil || n != 20 {
		t.Fatalf("count from the read-only nodes: %d, %v", n, err)
	}

	// The group gets a node: the replica's shards go to it, the other
	// node lets go, and nothing is outgoing any more.
	if err := qc.UpdateResourceGroups(c.ctx, map[string]RGConfig{"empty": {Requests: 1, Limits: 1}}); err != nil {
		t.Fatal(err)
	}
	info = must(qc.DescribeResourceGroup(bg, "empty"))
	if len(info.Nodes) != 1 || len(info.Outgoing) != 0 {
		t.Fatalf("group with a node: %+v", info)
	}
	own := info.Nodes[0].ID
	rs = must(qc.Replicas(bg, c.coll.ID))
	if !slices.Equal(rs[0].Nodes, []int64{own}) || len(rs[0].Outbound) != 0 {
		t.Fatalf("replica after the group got node %d: %+v", own, rs[0])
	}
	for _, sh := range rs[0].Shards {
		if sh.NodeID != own {
			t.Fatalf("shard %s on node %d, want %d", sh.VChannel, sh.NodeID, own)
		}
	}
	if def := must(qc.DescribeResourceGroup(bg, DefaultResourceGroup)); len(def.Incoming) != 0 {
		t.Fatalf("default group still lends nodes: %+v", def)
	}
	eventually(t, "loaded on the group's node", func() bool { return must(qc.State(bg, c.coll.ID)).Progress == 100 })
	if n, err := c.countVia(c.ctx, router, c.now(t)); err != nil || n != 20 {
		t.Fatalf("count from the group's node: %d, %v", n, err)
	}
}

// TestResourceGroupNodeFilter: a group with a node filter takes only
// nodes carrying its labels (Milvus's ResourceGroup.AcceptNode), even
// when it asks for more; changing the filter sends a node it no longer
// accepts back and takes one it does; the default group takes any node.
func TestResourceGroupNodeFilter(t *testing.T) {
	c := newCluster(t)
	set := &nodeSet{m: map[int64]*querynode.Server{}}
	for _, id := range []int64{11, 12, 13} {
		c.startNode(t, set, id)
	}
	store := kv.NewMemory()
	t.Cleanup(func() { store.Close() })
	qc := must(New(c.ctx, Deps{KV: store, Data: c.data, Indexes: c.icoord, Nodes: set, IDs: c.root, Collections: c.root}))
	nodes := infos(11, 12, 13)
	nodes[0].Labels = map[string]string{"zone": "a", "disk": "ssd"}
	nodes[1].Labels = map[string]string{"zone": "b"}
	if err := qc.SetNodes(c.ctx, nodes); err != nil {
		t.Fatal(err)
	}
	nodesOf := func(rg string) []int64 {
		var out []int64
		for _, n := range must(qc.DescribeResourceGroup(bg, rg)).Nodes {
			out = append(out, n.ID)
		}
		return out
	}
	zone := func(v string) []contract.NodeLabel { return []contract.NodeLabel{{Key: "zone", Value: v}} }
	if err := qc.CreateResourceGroup(c.ctx, "za", RGConfig{Requests: 2, Limits: 2, NodeLabels: zone("a")}); err != nil {
		t.Fatal(err)
	}
	if err := qc.CreateResourceGroup(c.ctx, "zc", RGConfig{Requests: 1, Limits: 1, NodeLabels: zone("c")}); err != nil {
		t.Fatal(err)
	}
	if got := nodesOf("za"); !slices.Equal(got, []int64{11}) {
		t.Fatalf("za (zone=a, asks 2) has %v, want [11]", got)
	}
	if got := nodesOf("zc"); len(got) != 0 {
		t.Fatalf("zc (zone=c) has %v, want none", got)
	}
	if got := nodesOf(DefaultResourceGroup); !slices.Equal(got, []int64{12, 13}) {
		t.Fatalf("default has %v, want [12 13]", got)
	}
	if cfg := must(qc.DescribeResourceGroup(bg, "za")).Config; !slices.Equal(cfg.NodeLabels, zone("a")) {
		t.Fatalf("za's described filter %v", cfg.NodeLabels)
	}
	if err := qc.UpdateResourceGroups(c.ctx, map[string]RGConfig{"za": {Requests: 1, Limits: 1, NodeLabels: zone("b")}}); err != nil {
		t.Fatal(err)
	}
	if got := nodesOf("za"); !slices.Equal(got, []int64{12}) {
		t.Fatalf("za (now zone=b) has %v, want [12]", got)
	}
	if got := nodesOf(DefaultResourceGroup); !slices.Equal(got, []int64{11, 13}) {
		t.Fatalf("default has %v, want [11 13]", got)
	}
	// Two labels: both must match.
	if err := qc.UpdateResourceGroups(c.ctx, map[string]RGConfig{"za": {Requests: 1, Limits: 1,
		NodeLabels: []contract.NodeLabel{{Key: "zone", Value: "a"}, {Key: "disk", Value: "hdd"}}}}); err != nil {
		t.Fatal(err)
	}
	if got := nodesOf("za"); len(got) != 0 {
		t.Fatalf("za (zone=a, disk=hdd) has %v, want none", got)
	}
}

// TestResourceGroupLabelledNode: a query node labelled
// RESOURCE_GROUP=<name> (MILVUS_SERVER_LABEL_RESOURCE_GROUP) goes to that
// group, created when missing, and to no other, as Milvus 2.6's resource
// manager places it (resource_manager.go assignIncomingNode,
// resource_group.go AcceptNode); the group cannot be dropped while the
// node is alive (validateResourceGroupIsDeletable).
func TestResourceGroupLabelledNode(t *testing.T) {
	c := newCluster(t)
	set := &nodeSet{m: map[int64]*querynode.Server{}}
	for _, id := range []int64{11, 12, 13} {
		c.startNode(t, set, id)
	}
	store := kv.NewMemory()
	t.Cleanup(func() { store.Close() })
	qc := must(New(c.ctx, Deps{KV: store, Data: c.data, Indexes: c.icoord, Nodes: set, IDs: c.root, Collections: c.root}))
	nodes := infos(11, 12, 13)
	nodes[0].Labels = map[string]string{LabelResourceGroup: "rgl"}
	if err := qc.SetNodes(c.ctx, nodes); err != nil {
		t.Fatal(err)
	}
	nodesOf := func(rg string) []int64 {
		var out []int64
		for _, n := range must(qc.DescribeResourceGroup(bg, rg)).Nodes {
			out = append(out, n.ID)
		}
		return out
	}
	if got := must(qc.DescribeResourceGroup(bg, "rgl")).Config; !got.Equal(RGConfig{Limits: defaultRGCapacity}) {
		t.Fatalf("created group's config %v, want requests 0, limits %d", got, defaultRGCapacity)
	}
	if got := nodesOf("rgl"); !slices.Equal(got, []int64{11}) {
		t.Fatalf("rgl has %v, want [11]", got)
	}
	if got := nodesOf(DefaultResourceGroup); !slices.Equal(got, []int64{12, 13}) {
		t.Fatalf("default has %v, want [12 13]", got)
	}
	// A group asking for three nodes gets the two unlabelled ones only.
	if err := qc.CreateResourceGroup(c.ctx, "big", RGConfig{Requests: 3, Limits: 3}); err != nil {
		t.Fatal(err)
	}
	if got := nodesOf("big"); !slices.Equal(got, []int64{12, 13}) {
		t.Fatalf("big has %v, want [12 13]", got)
	}
	// Limits 0: the labelled node has nowhere else to go and stays.
	if err := qc.UpdateResourceGroups(c.ctx, map[string]RGConfig{"rgl": {}, "big": {}}); err != nil {
		t.Fatal(err)
	}
	if got := nodesOf("rgl"); !slices.Equal(got, []int64{11}) {
		t.Fatalf("rgl with limits 0 has %v, want [11]", got)
	}
	if got := nodesOf(DefaultResourceGroup); !slices.Equal(got, []int64{12, 13}) {
		t.Fatalf("default has %v, want [12 13]", got)
	}
	err := qc.DropResourceGroup(c.ctx, "rgl")
	if want := "invalid parameter[expected=not empty resource group][actual=node 11 is still in the resource group]"; err == nil || err.Error() != want {
		t.Fatalf("drop rgl with its labelled node alive: %v, want %q", err, want)
	}
	// The labelled node leaves: the group can go.
	if err := qc.SetNodes(c.ctx, nodes[1:]); err != nil {
		t.Fatal(err)
	}
	if err := qc.DropResourceGroup(c.ctx, "rgl"); err != nil {
		t.Fatalf("drop rgl after its node left: %v", err)
	}
	// It comes back: the group is created again.
	if err := qc.SetNodes(c.ctx, nodes); err != nil {
		t.Fatal(err)
	}
	if got := nodesOf("rgl"); !slices.Equal(got, []int64{11}) {
		t.Fatalf("rgl after the node came back has %v, want [11]", got)
	}
}

// TestResourceGroupConfigRequired: a configuration without requests or
// limits is refused, on create and on update, with Milvus's text
// (resource_manager.go validateResourceGroupConfig).
func TestResourceGroupConfigRequired(t *testing.T) {
	c := newCluster(t)
	store := kv.NewMemory()
	t.Cleanup(func() { store.Close() })
	qc := must(New(c.ctx, Deps{KV: store, Data: c.data, Indexes: c.icoord, Nodes: &nodeSet{m: map[int64]*querynode.Server{}}, IDs: c.root, Collections: c.root}))
	for _, tc := range []struct {
		cfg  RGConfig
		want string
	}{
		{RGConfig{Limits: 1, NoRequests: true}, "requests or limits is required: resource group illegal config[rg=g][config=limits:{node_num:1}]"},
		{RGConfig{Requests: 2, NoLimits: true, TransferFrom: []string{DefaultResourceGroup}},
			`requests or limits is required: resource group illegal config[rg=g][config=requests:{node_num:2} transfer_from:{resource_group:"__default_resource_group"}]`},
		{RGConfig{NoRequests: true, NoLimits: true}, "requests or limits is required: resource group illegal config[rg=g][config=]"},
	} {
		if err := qc.CreateResourceGroup(c.ctx, "g", tc.cfg); err == nil || err.Error() != tc.want || !errors.Is(err, errs.ErrResourceGroupIllegalConfig) {
			t.Errorf("create with %+v: %v\nwant %s", tc.cfg, err, tc.want)
		}
	}
	if err := qc.CreateResourceGroup(c.ctx, "g", RGConfig{}); err != nil {
		t.Fatal(err)
	}
	want := "requests or limits is required: resource group illegal config[rg=g][config=requests:{}]"
	if err := qc.UpdateResourceGroups(c.ctx, map[string]RGConfig{"g": {NoLimits: true}}); err == nil || err.Error() != want {
		t.Errorf("update without limits: %v\nwant %s", err, want)
	}
}
