//go:build linux

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

type topoNode struct {
	Identifier int `json:"identifier"`
	Connected  []struct {
		ConnectedIdentifier int    `json:"connected_identifier"`
		Type                string `json:"type"`
		TargetType          string `json:"target_type"`
	} `json:"connected"`
	Infos struct {
		HasError      bool   `json:"has_error"`
		ErrorReason   string `json:"error_reason"`
		Name          string `json:"name"`
		Type          string `json:"type"`
		ID            int64  `json:"id"`
		CreatedTime   string `json:"created_time"`
		HardwareInfos struct {
			IP           string `json:"ip"`
			CPUCoreCount int    `json:"cpu_core_count"`
			Memory       uint64 `json:"memory"`
			MemoryUsage  uint64 `json:"memory_usage"`
		} `json:"hardware_infos"`
		SystemInfo struct {
			DeployMode string `json:"deploy_mode"`
		} `json:"system_info"`
	} `json:"infos"`
}

func systemInfo(t *testing.T, ctx context.Context, cli *milvusclient.Client) (string, map[string][]topoNode) {
	t.Helper()
	resp, err := cli.GetService().GetMetrics(ctx, &milvuspb.GetMetricsRequest{Request: `{"metric_type":"system_info"}`})
	if err != nil || resp.GetStatus().GetCode() != 0 {
		t.Fatalf("GetMetrics: %v, %v", resp.GetStatus(), err)
	}
	var topo struct {
		NodesInfo []topoNode `json:"nodes_info"`
	}
	if err := json.Unmarshal([]byte(resp.GetResponse()), &topo); err != nil {
		t.Fatalf("decode: %v", err)
	}
	byType := map[string][]topoNode{}
	for _, n := range topo.NodesInfo {
		byType[n.Infos.Type] = append(byType[n.Infos.Type], n)
	}
	if len(topo.NodesInfo) == 0 || topo.NodesInfo[0].Infos.Type != "proxy" || topo.NodesInfo[0].Infos.Name != resp.GetComponentName() {
		t.Fatalf("first node is not the answering proxy %q: %s", resp.GetComponentName(), resp.GetResponse())
	}
	return resp.GetResponse(), byType
}

// TestClusterMetrics checks GetMetrics system_info in cluster mode: every
// process found through the sessions reports its components (a mixcoord
// its three coordinators under its ID), and a process that died before
// its session expired is reported with has_error. It also lists flushed
// segments through a proxy (GetPersistentSegmentInfo from datacoord).
func TestClusterMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy-1:proxy", "proxy-2:proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy-1"))

	raw, byType := systemInfo(t, ctx, cli)
	for _, typ := range []string{"proxy", "rootcoord", "datacoord", "querycoord", "datanode", "querynode", "indexnode", "streamingnode"} {
		ns := byType[typ]
		if len(ns) != 1 {
			t.Fatalf("%d %s nodes: %s", len(ns), typ, raw)
		}
		in := ns[0].Infos
		if in.HasError || in.ID == 0 || in.CreatedTime == "" || in.SystemInfo.DeployMode != "DISTRIBUTED" ||
			in.HardwareInfos.CPUCoreCount == 0 || in.HardwareInfos.Memory == 0 || in.HardwareInfos.MemoryUsage == 0 ||
			!strings.HasPrefix(in.HardwareInfos.IP, "127.0.0.1:") {
			t.Errorf("%s: %+v", typ, in)
		}
	}
	// One process, three coordinators; each worker its own process.
	mix := byType["rootcoord"][0].Infos.ID
	if byType["datacoord"][0].Infos.ID != mix || byType["querycoord"][0].Infos.ID != mix {
		t.Errorf("mixcoord components under different IDs: %s", raw)
	}
	ids := map[int64]string{}
	for _, typ := range []string{"proxy", "rootcoord", "datanode", "querynode", "indexnode", "streamingnode"} {
		id := byType[typ][0].Infos.ID
		if other, dup := ids[id]; dup {
			t.Errorf("%s and %s share ID %d", typ, other, id)
		}
		ids[id] = typ
	}
	// As in Milvus, a proxy's address is its session's: the internal port
	// the coordinators reach (proxy.internalPort), not the public one.
	if ip := byType["proxy"][0].Infos.HardwareInfos.IP; !strings.HasPrefix(ip, "127.0.0.1:") || ip == c.ProxyAddr("proxy-1") {
		t.Errorf("proxy address %q, want its internal address on 127.0.0.1 (public %q)", ip, c.ProxyAddr("proxy-1"))
	}
	manages := false
	for _, e := range byType["querycoord"][0].Connected {
		manages = manages || (e.Type == "manage" && e.TargetType == "querynode" && int64(e.ConnectedIdentifier) == byType["querynode"][0].Infos.ID)
	}
	if !manages {
		t.Errorf("querycoord does not manage the query node: %s", raw)
	}

	// GetPersistentSegmentInfo through the other proxy.
	vecs := flow(t, ctx, cli, "segs", 300)
	cli2 := connect(t, ctx, c.ProxyAddr("proxy-2"))
	segs, err := cli2.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption("segs"))
	if err != nil {
		t.Fatalf("GetPersistentSegmentInfo: %v", err)
	}
	var rows int64
	for _, s := range segs {
		if s.State != commonpb.SegmentState_Flushed {
			t.Errorf("segment %+v", s)
		}
		rows += s.NumRows
	}
	if rows != int64(len(vecs)) {
		t.Errorf("flushed rows %d, want %d (%+v)", rows, len(vecs), segs)
	}

	// A killed index node, its session not yet expired: has_error.
	c.Roles["indexnode"].Kill()
	_, byType = systemInfo(t, ctx, cli)
	if ns := byType["indexnode"]; len(ns) == 1 {
		if !ns[0].Infos.HasError || ns[0].Infos.ErrorReason == "" {
			t.Errorf("killed index node: %+v", ns[0].Infos)
		}
	}
	eventually(t, 30*time.Second, "the killed index node leaves the topology", func() error {
		_, byType := systemInfo(t, ctx, cli)
		if len(byType["indexnode"]) != 0 {
			return errors.New("still listed")
		}
		return nil
	})
}
