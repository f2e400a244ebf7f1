package e2e

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestStandaloneReplicas: standalone has one query node, so two replicas
// fail with Milvus's error; one replica has every shard on that node, as
// DescribeReplica (GetReplicas) and GetQuerySegmentInfo show; the default
// resource group holds the node.
func TestStandaloneReplicas(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim, n = "replicas", 8, 300
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
		WithFloatVectorColumn("v", dim, randomVectors(rand.New(rand.NewPCG(3, 4)), n, dim))); err != nil {
		t.Fatal(err)
	}
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err == nil {
		err = ft.Await(ctx)
	}
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "v", index.NewFlatIndex(entity.L2)))
	if err == nil {
		err = it.Await(ctx)
	}
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	if rs, err := cli.DescribeReplica(ctx, milvusclient.NewDescribeReplicaOption(name)); err != nil || len(rs) != 0 {
		t.Fatalf("replicas of a collection not loaded: %v, %v", rs, err)
	}
	if _, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name).WithReplica(2)); err == nil ||
		!strings.Contains(err.Error(), "resource group node not enough") {
		t.Fatalf("two replicas on one query node: %v", err)
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err == nil {
		err = lt.Await(ctx)
	}
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	rs, err := cli.DescribeReplica(ctx, milvusclient.NewDescribeReplicaOption(name))
	if err != nil || len(rs) != 1 {
		t.Fatalf("replicas: %v, %v", rs, err)
	}
	r := rs[0]
	if r.ReplicaID == 0 || len(r.Nodes) != 1 || len(r.Shards) != 2 || r.ResourceGroupName != "__default_resource_group" {
		t.Fatalf("replica %+v", r)
	}
	for _, sh := range r.Shards {
		if sh.ShardLeader != r.Nodes[0] || sh.ChannelName == "" {
			t.Fatalf("shard %+v", sh)
		}
	}
	raw := rawService(t, srv)
	qs, err := raw.GetQuerySegmentInfo(ctx, &milvuspb.GetQuerySegmentInfoRequest{CollectionName: name})
	if err != nil || qs.GetStatus().GetCode() != 0 || len(qs.GetInfos()) == 0 {
		t.Fatalf("query segments: %v, %v", qs, err)
	}
	var rows int64
	for _, info := range qs.GetInfos() {
		if info.GetNodeID() != r.Nodes[0] || info.GetState() != commonpb.SegmentState_Sealed {
			t.Fatalf("segment %v", info)
		}
		rows += info.GetNumRows()
	}
	if rows != n {
		t.Fatalf("query segments hold %d rows, want %d", rows, n)
	}
	// One node: nowhere to balance to; a node of no replica: Milvus's error.
	if st, err := raw.LoadBalance(ctx, &milvuspb.LoadBalanceRequest{CollectionName: name, SrcNodeID: 99}); err != nil ||
		!strings.Contains(st.GetReason(), "source node not found in any replica") {
		t.Fatalf("balance off an unknown node: %v, %v", st, err)
	}
	rg, err := cli.DescribeResourceGroup(ctx, milvusclient.NewDescribeResourceGroupOption("__default_resource_group"))
	if err != nil || rg.NumAvailableNode != 1 || rg.NumLoadedReplica[name] != 1 {
		t.Fatalf("default resource group: %+v, %v", rg, err)
	}

	// The RESTful resource group routes.
	base := "http://" + srv.addr
	// No config: requests and limits 0 (Milvus's binding refuses a config
	// whose node_num is 0, see TestRESTResourceGroupAlterAndTransfer).
	restOK(t, base, "/resource_groups/create", map[string]any{"name": "rg_rest"})
	if got := fmt.Sprint(restOK(t, base, "/resource_groups/list", map[string]any{})); got != "[__default_resource_group rg_rest]" {
		t.Fatalf("REST list: %s", got)
	}
	d := restOK(t, base, "/resource_groups/describe", map[string]any{"name": "__default_resource_group"}).(map[string]any)
	if g := d["resource_group"].(map[string]any); g["name"] != "__default_resource_group" || restInt(t, g["num_available_node"]) != 1 {
		t.Fatalf("REST describe: %v", d)
	}
	restWantCode(t, base, "/resource_groups/describe", map[string]any{"name": "nope"}, 300)
	restOK(t, base, "/resource_groups/drop", map[string]any{"name": "rg_rest"})
}
