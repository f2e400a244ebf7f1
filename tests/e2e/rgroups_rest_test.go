package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestRESTResourceGroupAlterAndTransfer: REST resource_groups/alter
// changes a group's configuration as DescribeResourceGroup then reports it
// (and moves the node its requests ask for), resource_groups/
// transfer_replica moves a loaded collection's replica into another group
// (GetReplicas and REST describe show it there), and bad input is refused
// with Milvus's codes and texts.
func TestRESTResourceGroupAlterAndTransfer(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	base := "http://" + srv.addr
	const name, dim = "rg_transfer", 8
	createIDColl(t, ctx, cli, name, dim, nil)
	if _, err := cli.Insert(ctx, vectorRows(name, "", 0, 100, dim)); err != nil {
		t.Fatal(err)
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err == nil {
		err = lt.Await(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	const def = "__default_resource_group"
	// Milvus's validator refuses node_num 0 (ResourceGroupLimit.NodeNum is
	// binding:"required"), so an empty group is created without a config.
	restOK(t, base, "/resource_groups/create", map[string]any{"name": "rg_b"})

	// alter: rg_b asks for the node, from the default group.
	restOK(t, base, "/resource_groups/alter", map[string]any{"resource_groups": map[string]any{
		"rg_b": map[string]any{"requests": map[string]any{"node_num": 1}, "limits": map[string]any{"node_num": 1},
			"transfer_from": []any{map[string]any{"resource_group": def}}, "transfer_to": []any{map[string]any{"resource_group": def}}},
	}})
	rg, err := cli.DescribeResourceGroup(ctx, milvusclient.NewDescribeResourceGroupOption("rg_b"))
	if err != nil {
		t.Fatal(err)
	}
	if c := rg.Config; c.Requests.NodeNum != 1 || c.Limits.NodeNum != 1 || len(c.TransferFrom) != 1 || c.TransferFrom[0].ResourceGroup != def ||
		len(c.TransferTo) != 1 || c.TransferTo[0].ResourceGroup != def {
		t.Fatalf("rg_b config after alter: %+v", c)
	}
	eventually(t, 20*time.Second, "the node moved into rg_b", func() (bool, string) {
		d := restOK(t, base, "/resource_groups/describe", map[string]any{"name": "rg_b"}).(map[string]any)["resource_group"].(map[string]any)
		return restInt(t, d["num_available_node"]) == 1, fmt.Sprint(d)
	})

	// Refusals, as Milvus gives them.
	for _, tc := range []struct {
		path string
		body map[string]any
		code int64
		want string
	}{
		{"/resource_groups/alter", map[string]any{}, 1802, "missing required parameters"},
		{"/resource_groups/alter", map[string]any{"resource_groups": map[string]any{"nope": map[string]any{
			"requests": map[string]any{"node_num": 0}, "limits": map[string]any{"node_num": 0}}}}, 300, "resource group not found[rg=nope]"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b", "collectionName": name},
			1802, "missing required parameters"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": "nope", "targetRgName": "rg_b", "collectionName": name, "replicaNum": 1},
			300, "resource group not found[rg=nope]"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "nope", "collectionName": name, "replicaNum": 1},
			300, "resource group not found[rg=nope]"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": def, "collectionName": name, "replicaNum": 1},
			1100, "source resource group and target resource group should not be the same, resource group: " + def},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b", "collectionName": name, "replicaNum": -1},
			1100, "invalid parameter[expected=NumReplica > 0][actual=invalid NumReplica -1]"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b", "collectionName": "nope", "replicaNum": 1},
			100, "collection not found[database=default][collection=nope]"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b", "collectionName": name, "replicaNum": 2},
			1100, "invalid parameter[expected=2][actual=1]: the number of replicas to transfer is greater than the number of replicas in the collection"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": "rg_b", "targetRgName": def, "collectionName": name, "replicaNum": 1},
			1100, "invalid parameter[expected=NumReplica not greater than the number of replica in source resource group][actual=only found [0] replicas of collection ["},
	} {
		m := restPost(t, base, tc.path, tc.body)
		if c := restCode(m); c != tc.code || !strings.Contains(fmt.Sprint(m["message"]), tc.want) {
			t.Errorf("POST %s %v: code %d %q, want %d %q", tc.path, tc.body, c, m["message"], tc.code, tc.want)
		}
	}

	// transfer_replica: the replica moves into rg_b.
	restOK(t, base, "/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b",
		"collectionName": name, "replicaNum": 1})
	rs, err := cli.DescribeReplica(ctx, milvusclient.NewDescribeReplicaOption(name))
	if err != nil || len(rs) != 1 || rs[0].ResourceGroupName != "rg_b" {
		t.Fatalf("replicas after the transfer: %+v, %v", rs, err)
	}
	d := restOK(t, base, "/resource_groups/describe", map[string]any{"name": "rg_b"}).(map[string]any)["resource_group"].(map[string]any)
	if loaded, _ := d["num_loaded_replica"].(map[string]any); restInt(t, loaded[name]) != 1 {
		t.Fatalf("rg_b after the transfer: %v", d)
	}
	d = restOK(t, base, "/resource_groups/describe", map[string]any{"name": def}).(map[string]any)["resource_group"].(map[string]any)
	if loaded, _ := d["num_loaded_replica"].(map[string]any); loaded[name] != nil {
		t.Fatalf("the default group after the transfer: %v", d)
	}
	// The collection is still served, from rg_b's node.
	if _, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id < 3").WithOutputFields("id")); err != nil {
		t.Fatalf("query after the transfer: %v", err)
	}
}
