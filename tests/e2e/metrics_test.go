package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
)

// metricsTopology is the part of Milvus's system_info JSON that the SDKs
// and Attu read (metricsinfo.SystemTopology).
type metricsTopology struct {
	NodesInfo []struct {
		Identifier int `json:"identifier"`
		Connected  []struct {
			ConnectedIdentifier int    `json:"connected_identifier"`
			Type                string `json:"type"`
			TargetType          string `json:"target_type"`
		} `json:"connected"`
		Infos struct {
			HasError      bool   `json:"has_error"`
			Name          string `json:"name"`
			Type          string `json:"type"`
			ID            int64  `json:"id"`
			CreatedTime   string `json:"created_time"`
			UpdatedTime   string `json:"updated_time"`
			HardwareInfos struct {
				IP           string  `json:"ip"`
				CPUCoreCount int     `json:"cpu_core_count"`
				CPUCoreUsage float64 `json:"cpu_core_usage"`
				Memory       uint64  `json:"memory"`
				MemoryUsage  uint64  `json:"memory_usage"`
				Disk         float64 `json:"disk"`
				DiskUsage    float64 `json:"disk_usage"`
			} `json:"hardware_infos"`
			SystemInfo struct {
				SystemVersion string `json:"system_version"`
				DeployMode    string `json:"deploy_mode"`
				UsedGoVersion string `json:"used_go_version"`
			} `json:"system_info"`
			SystemConfigurations map[string]any `json:"system_configurations"`
		} `json:"infos"`
	} `json:"nodes_info"`
}

// TestGetMetrics asks the standalone server for system_info through the
// official SDK's service client (the SDK has no wrapper) and checks what
// the Node SDK and Attu read, and Milvus's errors for other requests.
func TestGetMetrics(t *testing.T) {
	standaloneOnly(t, "checks the standalone topology (one process, deploy mode STANDALONE, its data disk); tests/cluster TestClusterMetrics checks a cluster's")
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc := cli.GetService()

	resp, err := svc.GetMetrics(ctx, &milvuspb.GetMetricsRequest{Request: `{"metric_type":"system_info"}`})
	if err != nil || resp.GetStatus().GetCode() != 0 {
		t.Fatalf("GetMetrics system_info: %v, %v", resp.GetStatus(), err)
	}
	var topo metricsTopology
	if err := json.Unmarshal([]byte(resp.GetResponse()), &topo); err != nil {
		t.Fatalf("decode topology: %v\n%s", err, resp.GetResponse())
	}
	var types []string
	byType := map[string]int{}
	for i, n := range topo.NodesInfo {
		types = append(types, n.Infos.Type)
		byType[n.Infos.Type] = i
		in := n.Infos
		if in.HasError || in.Name == "" || in.ID == 0 || n.Identifier != int(in.ID) || in.CreatedTime == "" || in.UpdatedTime == "" {
			t.Errorf("node %d: %+v", i, n)
		}
		if hw := in.HardwareInfos; hw.CPUCoreCount <= 0 || hw.Memory == 0 || hw.MemoryUsage == 0 || hw.Disk <= 0 || !strings.Contains(hw.IP, ":") {
			t.Errorf("%s hardware: %+v", in.Name, hw)
		}
		if in.SystemInfo.DeployMode != "STANDALONE" || !strings.HasPrefix(in.SystemInfo.SystemVersion, "v2.6") || in.SystemInfo.UsedGoVersion == "" {
			t.Errorf("%s system_info: %+v", in.Name, in.SystemInfo)
		}
	}
	for _, want := range []string{"proxy", "rootcoord", "datacoord", "datanode", "querycoord", "querynode"} {
		if !slices.Contains(types, want) {
			t.Errorf("topology lacks %s: %v", want, types)
		}
	}
	if types[0] != "proxy" {
		t.Errorf("first node %s, want the proxy", types[0])
	}
	proxy := topo.NodesInfo[0].Infos
	if resp.GetComponentName() != proxy.Name || proxy.Name != "proxy"+jsonInt(proxy.ID) {
		t.Errorf("component name %q, proxy %q", resp.GetComponentName(), proxy.Name)
	}
	if proxy.SystemConfigurations["default_partition_name"] != "_default" || proxy.SystemConfigurations["default_index_name"] != "_default_idx" {
		t.Errorf("proxy configs: %v", proxy.SystemConfigurations)
	}
	// datacoord manages the data node, querycoord the query node.
	manages := func(coord, node string) bool {
		for _, e := range topo.NodesInfo[byType[coord]].Connected {
			if e.Type == "manage" && e.TargetType == node {
				return true
			}
		}
		return false
	}
	if !manages("datacoord", "datanode") || !manages("querycoord", "querynode") {
		t.Errorf("coordinator edges: %+v", topo.NodesInfo)
	}

	// req_type is read first, as Milvus does.
	resp, err = svc.GetMetrics(ctx, &milvuspb.GetMetricsRequest{Request: `{"req_type":"system_info","metric_type":"nope"}`})
	if err != nil || resp.GetStatus().GetCode() != 0 {
		t.Fatalf("GetMetrics req_type: %v, %v", resp.GetStatus(), err)
	}
	for _, tc := range []struct {
		req, reason string
		code        int32
	}{
		{`{"metric_type":"system_infos"}`, "metric not found[metric=system_infos]", 1200},
		{`{"metric_type":"collection_storage"}`, "metric not found[metric=collection_storage]", 1200},
		{`{}`, "metric_type or req_type not found in request", 65535},
		{`not json`, "metric_type or req_type not found in request", 65535},
	} {
		resp, err := svc.GetMetrics(ctx, &milvuspb.GetMetricsRequest{Request: tc.req})
		if err != nil || resp.GetStatus().GetCode() != tc.code || resp.GetStatus().GetReason() != tc.reason {
			t.Errorf("GetMetrics %s: %v, %v; want %d %q", tc.req, resp.GetStatus(), err, tc.code, tc.reason)
		}
	}
}

func jsonInt(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
