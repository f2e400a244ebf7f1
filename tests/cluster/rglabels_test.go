//go:build linux

package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/rgpb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestClusterNodeLabels: query nodes started with their own labels
// (MILVUS_SERVER_LABEL_* in each process's environment, as Milvus's
// sessionutil reads them) are placed by resource groups' node_filter and
// by the RESOURCE_GROUP label, and a collection's replicas, loaded into the
// filtered groups, are served by the labelled nodes: querynode-a
// (zone=a), querynode-b (zone=b, the querynode-only form of the variable)
// and querynode-c (RESOURCE_GROUP=rg_c).
func TestClusterNodeLabels(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1, env: map[string][]string{
		"querynode-a": {"MILVUS_SERVER_LABEL_zone=a"},
		"querynode-b": {"MILVUS_SERVER_LABEL_QUERYNODE_zone=b"},
		"querynode-c": {"MILVUS_SERVER_LABEL_RESOURCE_GROUP=rg_c"},
	}}, "mixcoord", "streamingnode", "datanode", "querynode-a:querynode", "querynode-b:querynode", "querynode-c:querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	const def = "__default_resource_group"
	nodesOf := func(name string) []int64 {
		t.Helper()
		rg, err := cli.DescribeResourceGroup(ctx, milvusclient.NewDescribeResourceGroupOption(name))
		if err != nil {
			t.Fatalf("describe %s: %v", name, err)
		}
		var out []int64
		for _, n := range rg.Nodes {
			out = append(out, n.NodeID)
		}
		return out
	}
	// querynode-c's group exists from its start, with its node only.
	eventually(t, 30*time.Second, "rg_c created for querynode-c", func() error {
		names, err := cli.ListResourceGroups(ctx, milvusclient.NewListResourceGroupsOption())
		if err != nil {
			return err
		}
		if len(names) != 2 {
			return fmt.Errorf("groups %v", names)
		}
		if n := len(nodesOf("rg_c")); n != 1 {
			return fmt.Errorf("rg_c has %d nodes", n)
		}
		if n := len(nodesOf(def)); n != 2 {
			return fmt.Errorf("default group has %d nodes", n)
		}
		return nil
	})
	nodeC := nodesOf("rg_c")[0]

	zone := func(v string) *entity.ResourceGroupConfig {
		return &entity.ResourceGroupConfig{Requests: entity.ResourceGroupLimit{NodeNum: 1}, Limits: entity.ResourceGroupLimit{NodeNum: 1},
			NodeFilter: entity.ResourceGroupNodeFilter{NodeLabels: map[string]string{"zone": v}}}
	}
	for _, g := range []string{"za", "zb", "zd"} {
		if err := cli.CreateResourceGroup(ctx, milvusclient.NewCreateResourceGroupOption(g)); err != nil {
			t.Fatalf("create %s: %v", g, err)
		}
		if err := cli.UpdateResourceGroup(ctx, milvusclient.NewUpdateResourceGroupOption(g, zone(strings.TrimPrefix(g, "z")))); err != nil {
			t.Fatalf("update %s: %v", g, err)
		}
	}
	var nodeA, nodeB int64
	eventually(t, 30*time.Second, "za and zb take their zone's node, zd none", func() error {
		a, b, d := nodesOf("za"), nodesOf("zb"), nodesOf("zd")
		if len(a) != 1 || len(b) != 1 || len(d) != 0 || len(nodesOf(def)) != 0 {
			return fmt.Errorf("za %v, zb %v, zd %v, default %v", a, b, d, nodesOf(def))
		}
		nodeA, nodeB = a[0], b[0]
		return nil
	})
	if nodeA == nodeC || nodeB == nodeC || nodeA == nodeB {
		t.Fatalf("nodes: za %d, zb %d, rg_c %d", nodeA, nodeB, nodeC)
	}
	// Swapping the filters swaps the nodes: the placement follows the labels.
	if err := cli.UpdateResourceGroup(ctx, milvusclient.NewUpdateResourceGroupOption("za", zone("b"))); err != nil {
		t.Fatal(err)
	}
	if err := cli.UpdateResourceGroup(ctx, milvusclient.NewUpdateResourceGroupOption("zb", zone("a"))); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "za and zb swap nodes", func() error {
		if a, b := nodesOf("za"), nodesOf("zb"); len(a) != 1 || a[0] != nodeB || len(b) != 1 || b[0] != nodeA {
			return fmt.Errorf("za %v, zb %v; want [%d], [%d]", a, b, nodeB, nodeA)
		}
		return nil
	})
	if err := cli.UpdateResourceGroup(ctx, milvusclient.NewUpdateResourceGroupOption("za", zone("a"))); err != nil {
		t.Fatal(err)
	}
	if err := cli.UpdateResourceGroup(ctx, milvusclient.NewUpdateResourceGroupOption("zb", zone("b"))); err != nil {
		t.Fatal(err)
	}

	// Two replicas, one in each zone: each is served by its zone's node.
	vecs := flowReplicas(t, ctx, cli, "zoned", 300, 2, "za", "zb")
	eventually(t, 60*time.Second, "each replica served by its zone's node", func() error {
		want := map[string]int64{"za": nodeA, "zb": nodeB}
		rs := describeReplicas(t, ctx, cli, "zoned")
		if len(rs) != 2 {
			return fmt.Errorf("%d replicas", len(rs))
		}
		for _, r := range rs {
			n, ok := want[r.ResourceGroupName]
			if !ok {
				return fmt.Errorf("replica %d in %s", r.ReplicaID, r.ResourceGroupName)
			}
			delete(want, r.ResourceGroupName)
			for _, sh := range r.Shards {
				if sh.ShardLeader != n {
					return fmt.Errorf("replica in %s: shard %s on node %d, want %d", r.ResourceGroupName, sh.ChannelName, sh.ShardLeader, n)
				}
			}
		}
		return nil
	})
	checkSearch(t, ctx, cli, "zoned", vecs, 1, 2, 3)

	// rg_c cannot be dropped while querynode-c is alive, even with limits 0
	// (its node has nowhere else to go).
	if err := cli.UpdateResourceGroup(ctx, milvusclient.NewUpdateResourceGroupOption("rg_c", &entity.ResourceGroupConfig{})); err != nil {
		t.Fatal(err)
	}
	if got := nodesOf("rg_c"); len(got) != 1 || got[0] != nodeC {
		t.Fatalf("rg_c with limits 0 has %v, want [%d]", got, nodeC)
	}
	err := cli.DropResourceGroup(ctx, milvusclient.NewDropResourceGroupOption("rg_c"))
	if want := fmt.Sprintf("invalid parameter[expected=not empty resource group][actual=node %d is still in the resource group]", nodeC); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("drop rg_c: %v, want %q", err, want)
	}

	// A configuration without limits, through the internal gRPC of the
	// cluster's query coordinator: Milvus's refusal.
	conn, err := grpc.NewClient(c.ProxyAddr("proxy"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, err := milvuspb.NewMilvusServiceClient(conn).UpdateResourceGroups(ctx, &milvuspb.UpdateResourceGroupsRequest{
		ResourceGroups: map[string]*rgpb.ResourceGroupConfig{"za": {Requests: &rgpb.ResourceGroupLimit{NodeNum: 1}}}})
	if want := "requests or limits is required: resource group illegal config[rg=za][config=requests:{node_num:1}]"; err != nil || st.GetCode() != 303 || st.GetReason() != want {
		t.Fatalf("update za without limits: %v, %v; want 303 %q", st, err, want)
	}
}
