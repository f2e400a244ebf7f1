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
	createIDColl(t, ctx, cli, "rg_idle", dim, nil)
	must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption("rg_idle")))
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
	// Milvus binds a create config's requests and limits as required and
	// their node_num too (0 is missing): an empty group is created with no
	// config (the query coordinator's default, requests and limits 0).
	restOK(t, base, "/resource_groups/create", map[string]any{"name": "rg_b"})

	// A group without a node takes a replica, as Milvus 2.6: the replica
	// keeps serving from its old node, a read-only node (outgoing for
	// rg_b, incoming for the default group, outbound in GetReplicas).
	restOK(t, base, "/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b",
		"collectionName": name, "replicaNum": 1})
	rs, err := cli.DescribeReplica(ctx, milvusclient.NewDescribeReplicaOption(name))
	if err != nil || len(rs) != 1 || rs[0].ResourceGroupName != "rg_b" || len(rs[0].Nodes) != 1 || rs[0].NumOutboundNode[def] != 1 {
		t.Fatalf("replica moved into a group without nodes: %+v, %v", rs, err)
	}
	d := restOK(t, base, "/resource_groups/describe", map[string]any{"name": "rg_b"}).(map[string]any)["resource_group"].(map[string]any)
	// (encoding/json of Milvus's proto answer leaves a 0 num_available_node out)
	if out, _ := d["num_outgoing_node"].(map[string]any); out[name] == nil || restInt(t, out[name]) != 1 || d["num_available_node"] != nil {
		t.Fatalf("rg_b with a replica and no node: %v", d)
	}
	grp, err := cli.DescribeResourceGroup(ctx, milvusclient.NewDescribeResourceGroupOption(def))
	if err != nil || grp.NumIncomingNode[name] != 1 || len(grp.NumLoadedReplica) != 0 {
		t.Fatalf("default group lending its node: %+v, %v", grp, err)
	}
	if _, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id < 3").WithOutputFields("id")); err != nil {
		t.Fatalf("query served by the read-only node: %v", err)
	}
	restOK(t, base, "/resource_groups/transfer_replica", map[string]any{"sourceRgName": "rg_b", "targetRgName": def,
		"collectionName": name, "replicaNum": 1})
	if grp, err := cli.DescribeResourceGroup(ctx, milvusclient.NewDescribeResourceGroupOption(def)); err != nil || len(grp.NumIncomingNode) != 0 {
		t.Fatalf("default group after the replica came back: %+v, %v", grp, err)
	}

	// node_filter: kept, described, and applied (the standalone query
	// node has no labels: the group asks for a node and gets none).
	restOK(t, base, "/resource_groups/create", map[string]any{"name": "rg_f", "config": map[string]any{
		"requests": map[string]any{"node_num": 1}, "limits": map[string]any{"node_num": 1},
		"node_filter": map[string]any{"node_labels": map[string]any{"zone": "z1"}}}})
	d = restOK(t, base, "/resource_groups/describe", map[string]any{"name": "rg_f"}).(map[string]any)["resource_group"].(map[string]any)
	if nf := fmt.Sprint(d["config"].(map[string]any)["node_filter"]); nf != "map[node_labels:[map[key:zone value:z1]]]" || d["num_available_node"] != nil {
		t.Fatalf("rg_f: node_filter %s, %v", nf, d)
	}
	// alter: configs are not validated by the binding; an omitted requests
	// or limits is node_num 0 (rg_f can then be dropped).
	restOK(t, base, "/resource_groups/alter", map[string]any{"resource_groups": map[string]any{"rg_f": map[string]any{}}})
	grp, err = cli.DescribeResourceGroup(ctx, milvusclient.NewDescribeResourceGroupOption("rg_f"))
	if err != nil || grp.Config.Requests.NodeNum != 0 || grp.Config.Limits.NodeNum != 0 || len(grp.Config.NodeFilter.NodeLabels) != 0 {
		t.Fatalf("rg_f after an empty alter: %+v, %v", grp, err)
	}
	restOK(t, base, "/resource_groups/drop", map[string]any{"name": "rg_f"})
	restOK(t, base, "/resource_groups/alter", map[string]any{"resource_groups": map[string]any{}}) // present, empty: success

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
		// gin's validator, as Milvus's wrapperPost answers it
		{"/resource_groups/alter", map[string]any{}, 1802, "missing required parameters, error: Key: 'UpdateResourceGroupReq.ResourceGroups' " +
			"Error:Field validation for 'ResourceGroups' failed on the 'required' tag"},
		{"/resource_groups/create", map[string]any{}, 1802, "missing required parameters, error: Key: 'ResourceGroupReq.Name' " +
			"Error:Field validation for 'Name' failed on the 'required' tag"},
		{"/resource_groups/create", map[string]any{"name": "x", "config": map[string]any{}}, 1802,
			"Key: 'ResourceGroupReq.Config.Requests' Error:Field validation for 'Requests' failed on the 'required' tag\n" +
				"Key: 'ResourceGroupReq.Config.Limits' Error:Field validation for 'Limits' failed on the 'required' tag"},
		{"/resource_groups/create", map[string]any{"name": "x", "config": map[string]any{"requests": map[string]any{"node_num": 0},
			"limits": map[string]any{"node_num": 1}, "node_filter": map[string]any{}}}, 1802,
			"Key: 'ResourceGroupReq.Config.Requests.NodeNum' Error:Field validation for 'NodeNum' failed on the 'required' tag\n" +
				"Key: 'ResourceGroupReq.Config.NodeFilter.NodeLabels' Error:Field validation for 'NodeLabels' failed on the 'required' tag"},
		{"/resource_groups/describe", map[string]any{"name": ""}, 1802, "Key: 'ResourceGroupReq.Name' Error:Field validation for 'Name' failed"},
		{"/resource_groups/alter", map[string]any{"resource_groups": map[string]any{"nope": map[string]any{
			"requests": map[string]any{"node_num": 0}, "limits": map[string]any{"node_num": 0}}}}, 300, "resource group not found[rg=nope]"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b", "collectionName": name},
			1802, "missing required parameters, error: Key: 'TransferReplicaReq.ReplicaNum' Error:Field validation for 'ReplicaNum' failed on the 'required' tag"},
		{"/resource_groups/transfer_replica", map[string]any{"replicaNum": 1}, 1802,
			"Key: 'TransferReplicaReq.SourceRgName' Error:Field validation for 'SourceRgName' failed on the 'required' tag\n" +
				"Key: 'TransferReplicaReq.TargetRgName' Error:Field validation for 'TargetRgName' failed on the 'required' tag\n" +
				"Key: 'TransferReplicaReq.CollectionName' Error:Field validation for 'CollectionName' failed on the 'required' tag"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": "nope", "targetRgName": "rg_b", "collectionName": name, "replicaNum": 1},
			300, "resource group not found[rg=nope]"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "nope", "collectionName": name, "replicaNum": 1},
			300, "resource group not found[rg=nope]"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": def, "collectionName": name, "replicaNum": 1},
			1100, "source resource group and target resource group should not be the same, resource group: " + def},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b", "collectionName": name, "replicaNum": -1},
			1100, "invalid parameter[expected=NumReplica > 0][actual=invalid NumReplica -1]"},
		// Milvus names the collection, not its ID, in querycoord's texts.
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b", "collectionName": "rg_idle", "replicaNum": 1},
			101, "collection not loaded[collection=rg_idle]"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b", "collectionName": "nope", "replicaNum": 1},
			100, "collection not found[database=default][collection=nope]"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b", "collectionName": name, "replicaNum": 2},
			1100, "the number of replicas to transfer is greater than the number of replicas in the collection: invalid parameter[expected=2][actual=1]"},
		{"/resource_groups/transfer_replica", map[string]any{"sourceRgName": "rg_b", "targetRgName": def, "collectionName": name, "replicaNum": 1},
			1100, "invalid parameter[expected=NumReplica not greater than the number of replica in source resource group][actual=only found [0] replicas of collection [" +
				name + "] in source resource group [rg_b], but 1 require]"},
	} {
		m := restPost(t, base, tc.path, tc.body)
		if c := restCode(m); c != tc.code || !strings.Contains(fmt.Sprint(m["message"]), tc.want) {
			t.Errorf("POST %s %v: code %d %q, want %d %q", tc.path, tc.body, c, m["message"], tc.code, tc.want)
		}
	}

	// transfer_replica: the replica moves into rg_b.
	restOK(t, base, "/resource_groups/transfer_replica", map[string]any{"sourceRgName": def, "targetRgName": "rg_b",
		"collectionName": name, "replicaNum": 1})
	rs, err = cli.DescribeReplica(ctx, milvusclient.NewDescribeReplicaOption(name))
	if err != nil || len(rs) != 1 || rs[0].ResourceGroupName != "rg_b" || len(rs[0].NumOutboundNode) != 0 {
		t.Fatalf("replicas after the transfer: %+v, %v", rs, err)
	}
	d = restOK(t, base, "/resource_groups/describe", map[string]any{"name": "rg_b"}).(map[string]any)["resource_group"].(map[string]any)
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
