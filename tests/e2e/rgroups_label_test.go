package e2e

import (
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/rgpb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestResourceGroupConfigRequired: CreateResourceGroup / UpdateResourceGroups
// with a configuration lacking requests or limits fail as in Milvus 2.6
// (querycoordv2/meta/resource_manager.go validateResourceGroupConfig: 303,
// `requests or limits is required: resource group illegal config[rg=..]
// [config=..]`, the config as its protobuf text); a create without any
// configuration gets Milvus's 0/0 default. The Go SDK always sends both, so
// the requests go through its service client. Standalone and cluster mode.
func TestResourceGroupConfigRequired(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	svc := cli.GetService()
	limit := func(n int32) *rgpb.ResourceGroupLimit { return &rgpb.ResourceGroupLimit{NodeNum: n} }

	wantCode(t, statusErr(svc.CreateResourceGroup(ctx, &milvuspb.CreateResourceGroupRequest{ResourceGroup: "rg_nolimits",
		Config: &rgpb.ResourceGroupConfig{Requests: limit(1)}})), 303,
		"requests or limits is required: resource group illegal config[rg=rg_nolimits][config=requests:{node_num:1}]")
	wantCode(t, statusErr(svc.CreateResourceGroup(ctx, &milvuspb.CreateResourceGroupRequest{ResourceGroup: "rg_norequests",
		Config: &rgpb.ResourceGroupConfig{Limits: limit(2)}})), 303,
		"requests or limits is required: resource group illegal config[rg=rg_norequests][config=limits:{node_num:2}]")
	names, err := cli.ListResourceGroups(ctx, milvusclient.NewListResourceGroupsOption())
	must(t, err)
	if slices.Contains(names, "rg_nolimits") || slices.Contains(names, "rg_norequests") {
		t.Fatalf("a refused group was created: %v", names)
	}

	// No configuration at all: Milvus's default, requests 0 and limits 0.
	must(t, statusErr(svc.CreateResourceGroup(ctx, &milvuspb.CreateResourceGroupRequest{ResourceGroup: "rg_bare"})))
	rg, err := cli.DescribeResourceGroup(ctx, milvusclient.NewDescribeResourceGroupOption("rg_bare"))
	must(t, err)
	if rg.Config.Requests.NodeNum != 0 || rg.Config.Limits.NodeNum != 0 {
		t.Fatalf("rg_bare's config %+v, want 0/0", rg.Config)
	}
	wantCode(t, statusErr(svc.UpdateResourceGroups(ctx, &milvuspb.UpdateResourceGroupsRequest{ResourceGroups: map[string]*rgpb.ResourceGroupConfig{
		"rg_bare": {Limits: limit(1)}}})), 303,
		"requests or limits is required: resource group illegal config[rg=rg_bare][config=limits:{node_num:1}]")
	// An update naming a missing group answers not found first, as Milvus
	// checks each group's existence before its configuration.
	wantCode(t, statusErr(svc.UpdateResourceGroups(ctx, &milvuspb.UpdateResourceGroupsRequest{ResourceGroups: map[string]*rgpb.ResourceGroupConfig{
		"rg_missing": {Limits: limit(1)}}})), 300, "resource group not found[rg=rg_missing]")
	must(t, statusErr(svc.UpdateResourceGroups(ctx, &milvuspb.UpdateResourceGroupsRequest{ResourceGroups: map[string]*rgpb.ResourceGroupConfig{
		"rg_bare": {Requests: limit(0), Limits: limit(0)}}})))
	must(t, cli.DropResourceGroup(ctx, milvusclient.NewDropResourceGroupOption("rg_bare")))
}

// TestResourceGroupLabelledStandalone: a standalone server started with
// MILVUS_SERVER_LABEL_RESOURCE_GROUP puts its query node in that resource
// group (created with requests 0, limits 1000000, as Milvus's
// createResourceGroupIfNotExists), not in the default group; collections
// load into it, and it cannot be dropped while the node is alive
// (tests/cluster TestClusterNodeLabels does the same on a cluster with a
// label per query node).
func TestResourceGroupLabelledStandalone(t *testing.T) {
	standaloneOnly(t, "the label is the process's environment; tests/cluster labels each query node")
	t.Setenv("MILVUS_SERVER_LABEL_RESOURCE_GROUP", "rg_own")
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)

	rg, err := cli.DescribeResourceGroup(ctx, milvusclient.NewDescribeResourceGroupOption("rg_own"))
	must(t, err)
	if len(rg.Nodes) != 1 || rg.Config.Requests.NodeNum != 0 || rg.Config.Limits.NodeNum != 1000000 {
		t.Fatalf("rg_own: %d nodes, config %+v", len(rg.Nodes), rg.Config)
	}
	def, err := cli.DescribeResourceGroup(ctx, milvusclient.NewDescribeResourceGroupOption("__default_resource_group"))
	must(t, err)
	if len(def.Nodes) != 0 {
		t.Fatalf("the default group holds %d nodes, want none", len(def.Nodes))
	}
	const name = "labelled"
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithConsistencyLevel(entity.ClStrong)))
	insertIDs(t, ctx, cli, name, 0, 20)
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.L2)))
	must(t, err)
	must(t, it.Await(ctx))
	// The default group has no node: a load there fails as Milvus's does.
	_, err = cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	wantCode(t, err, 304, "resource group node not enough")
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name).WithResourceGroup("rg_own"))
	must(t, err)
	must(t, lt.Await(ctx))
	if n := countWhere(t, ctx, cli, name, "id >= 0"); n != 20 {
		t.Fatalf("count %d, want 20", n)
	}
	replicas, err := cli.DescribeReplica(ctx, milvusclient.NewDescribeReplicaOption(name))
	must(t, err)
	if len(replicas) != 1 || replicas[0].ResourceGroupName != "rg_own" || !slices.Equal(replicas[0].Nodes, []int64{rg.Nodes[0].NodeID}) {
		t.Fatalf("replicas %+v, want one in rg_own on node %d", replicas, rg.Nodes[0].NodeID)
	}
	must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
	must(t, cli.UpdateResourceGroup(ctx, milvusclient.NewUpdateResourceGroupOption("rg_own", &entity.ResourceGroupConfig{})))
	err = cli.DropResourceGroup(ctx, milvusclient.NewDropResourceGroupOption("rg_own"))
	wantCode(t, err, 1100, "invalid parameter[expected=not empty resource group][actual=node ")
}
