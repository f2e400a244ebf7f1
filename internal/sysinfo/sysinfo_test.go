package sysinfo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLocalInfosJSON(t *testing.T) {
	dir := t.TempDir()
	c := Local(Component{Role: RoleProxy, ID: 7, Address: "10.0.0.1:19530", Created: time.Unix(0, 0).UTC(),
		Configs: map[string]any{"default_partition_name": "_default"}}, Build{Version: "v2.6.8", DeployMode: ClusterDeployMode}, Hardware("10.0.0.1:19530", dir))
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"has_error", "error_reason", "name", "hardware_infos", "system_info", "created_time",
		"updated_time", "type", "id", "system_configurations", "quota_metrics"} {
		if _, ok := m[k]; !ok {
			t.Errorf("infos lack %q: %s", k, b)
		}
	}
	if m["name"] != "proxy7" || m["type"] != "proxy" || m["id"] != float64(7) || m["quota_metrics"] != nil {
		t.Errorf("infos: %s", b)
	}
	hw := c.HardwareInfos
	if hw.IP != "10.0.0.1:19530" || hw.CPUCoreCount <= 0 || hw.Memory == 0 || hw.MemoryUsage == 0 || hw.Disk <= 0 || hw.DiskUsage > hw.Disk {
		t.Errorf("hardware: %+v", hw)
	}
	// A round trip keeps the infos (the proxy decodes what nodes send).
	var back ComponentInfos
	if err := json.Unmarshal(b, &back); err != nil || back.Name != c.Name || back.HardwareInfos != c.HardwareInfos ||
		back.SystemConfigurations["default_partition_name"] != "_default" {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	// Root coordinator infos have no quota metrics key, as Milvus's type.
	b, _ = json.Marshal(Local(Component{Role: RoleRootCoord, ID: 1}, Build{}, HardwareMetrics{}))
	if strings.Contains(string(b), "quota_metrics") {
		t.Errorf("rootcoord infos: %s", b)
	}
}

func TestTopologyEdges(t *testing.T) {
	info := func(role string, id int64) ComponentInfos {
		return ComponentInfos{BaseComponentInfos: BaseComponentInfos{Name: ComponentName(role, id), Type: role, ID: id}}
	}
	top := Topology(info(RoleProxy, 9), []ComponentInfos{
		info(RoleRootCoord, 1), info(RoleDataCoord, 1), info(RoleQueryCoord, 1),
		info(RoleQueryNode, 3), info(RoleDataNode, 4), info(RoleStreamingNode, 5), info(RoleIndexNode, 6),
		Unreachable(RoleIndexCoord, 8, "h:1", errors.New("boom")),
	})
	var order []string
	nodes := map[string]SystemTopologyNode{}
	for _, n := range top.NodesInfo {
		order = append(order, n.Infos.Name)
		nodes[n.Infos.Name] = n
	}
	want := "proxy9 rootcoord1 datanode4 indexnode6 datacoord1 querynode3 streamingnode5 querycoord1 indexcoord8"
	if strings.Join(order, " ") != want {
		t.Fatalf("order %v, want %s", order, want)
	}
	edges := func(name string) string {
		var s []string
		for _, e := range nodes[name].Connected {
			s = append(s, e.Type+":"+e.TargetType)
		}
		return strings.Join(s, " ")
	}
	for name, want := range map[string]string{
		"rootcoord1":  "forward:datacoord forward:querycoord",
		"datacoord1":  "forward:rootcoord forward:querycoord manage:datanode manage:indexnode",
		"querycoord1": "forward:rootcoord forward:datacoord manage:querynode manage:streamingnode",
		"proxy9":      "forward:rootcoord forward:datacoord forward:querycoord forward:querynode forward:streamingnode forward:datanode forward:indexnode",
		"indexcoord8": "forward:rootcoord",
	} {
		if got := edges(name); got != want {
			t.Errorf("%s edges %q, want %q", name, got, want)
		}
	}
	if n := nodes["indexcoord8"].Infos; !n.HasError || n.ErrorReason != "boom" {
		t.Errorf("unreachable: %+v", n)
	}
	b, err := json.Marshal(top)
	if err != nil || !strings.HasPrefix(string(b), `{"nodes_info":[{"identifier":9,"connected":[`) {
		t.Errorf("json %s, %v", b, err)
	}
}
