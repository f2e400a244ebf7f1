package sysinfo

import (
	"runtime"
	"time"
)

// Build describes a build of the server (for system_info).
type Build struct {
	Version    string // the Milvus version implemented, e.g. v2.6.8
	DeployMode string
	BuildTime  string
}

// Component is one component of a process, as its process describes it.
type Component struct {
	Role    string
	ID      int64
	Address string
	Created time.Time
	// Configs are the component's system_configurations.
	Configs map[string]any
}

// Local returns a component's infos with this process's hardware hw
// (Hardware: read once for all the components of a process, so that every
// one reports the same sample and the CPU usage since the previous read
// is not split among them).
func Local(c Component, b Build, hw HardwareMetrics) ComponentInfos {
	created := c.Created.String()
	cfg := c.Configs
	if cfg == nil {
		cfg = map[string]any{}
	}
	return ComponentInfos{BaseComponentInfos: BaseComponentInfos{
		Name:          ComponentName(c.Role, c.ID),
		HardwareInfos: hw,
		SystemInfo: DeployMetrics{SystemVersion: b.Version, DeployMode: b.DeployMode, BuildVersion: b.Version,
			BuildTime: b.BuildTime, UsedGoVersion: runtime.Version()},
		CreatedTime: created, UpdatedTime: created, Type: c.Role, ID: c.ID,
	}, SystemConfigurations: cfg}
}

// Unreachable is the infos of a component whose process did not answer.
func Unreachable(role string, id int64, address string, err error) ComponentInfos {
	return ComponentInfos{BaseComponentInfos: BaseComponentInfos{HasError: true, ErrorReason: err.Error(),
		Name: ComponentName(role, id), HardwareInfos: HardwareMetrics{IP: address}, Type: role, ID: id},
		SystemConfigurations: map[string]any{}}
}

// Topology assembles Milvus's system topology from the answering proxy
// and the components of every other process, in Milvus's order (proxy,
// rootcoord, datacoord's nodes, datacoord, querycoord's nodes, querycoord)
// and with its edges: coordinators forward to each other, a coordinator
// manages its nodes, the proxy forwards to coordinators and nodes. Index
// nodes are managed by datacoord (which schedules index builds in Milvus
// 2.6), streaming nodes by querycoord (which lists them among its nodes);
// a component of another role (an index coordinator process) follows,
// forwarding to rootcoord.
func Topology(proxy ComponentInfos, others []ComponentInfos) SystemTopology {
	var root, data, query []ComponentInfos
	var dataNodes, queryNodes, rest []ComponentInfos
	for _, c := range others {
		switch c.Type {
		case RoleRootCoord:
			root = append(root, c)
		case RoleDataCoord:
			data = append(data, c)
		case RoleQueryCoord:
			query = append(query, c)
		case RoleDataNode, RoleIndexNode:
			dataNodes = append(dataNodes, c)
		case RoleQueryNode, RoleStreamingNode:
			queryNodes = append(queryNodes, c)
		default:
			rest = append(rest, c)
		}
	}
	edge := func(c ComponentInfos, typ string) ConnectionEdge {
		return ConnectionEdge{ConnectedIdentifier: int(c.ID), Type: typ, TargetType: c.Type}
	}
	forwardTo := func(groups ...[]ComponentInfos) []ConnectionEdge {
		out := []ConnectionEdge{}
		for _, g := range groups {
			for _, c := range g {
				out = append(out, edge(c, Forward))
			}
		}
		return out
	}
	var t SystemTopology
	t.NodesInfo = append(t.NodesInfo, SystemTopologyNode{Identifier: int(proxy.ID), Infos: proxy,
		Connected: forwardTo(root, data, query, queryNodes, dataNodes)})
	for _, c := range root {
		t.NodesInfo = append(t.NodesInfo, SystemTopologyNode{Identifier: int(c.ID), Infos: c, Connected: forwardTo(data, query)})
	}
	for _, c := range data {
		conn := forwardTo(root, query)
		for _, n := range dataNodes {
			t.NodesInfo = append(t.NodesInfo, SystemTopologyNode{Identifier: int(n.ID), Infos: n})
			conn = append(conn, edge(n, CoordConnectToNode))
		}
		t.NodesInfo = append(t.NodesInfo, SystemTopologyNode{Identifier: int(c.ID), Infos: c, Connected: conn})
	}
	if len(data) == 0 {
		for _, n := range dataNodes {
			t.NodesInfo = append(t.NodesInfo, SystemTopologyNode{Identifier: int(n.ID), Infos: n})
		}
	}
	for _, c := range query {
		conn := forwardTo(root, data)
		for _, n := range queryNodes {
			t.NodesInfo = append(t.NodesInfo, SystemTopologyNode{Identifier: int(n.ID), Infos: n})
			conn = append(conn, edge(n, CoordConnectToNode))
		}
		t.NodesInfo = append(t.NodesInfo, SystemTopologyNode{Identifier: int(c.ID), Infos: c, Connected: conn})
	}
	if len(query) == 0 {
		for _, n := range queryNodes {
			t.NodesInfo = append(t.NodesInfo, SystemTopologyNode{Identifier: int(n.ID), Infos: n})
		}
	}
	for _, c := range rest {
		t.NodesInfo = append(t.NodesInfo, SystemTopologyNode{Identifier: int(c.ID), Infos: c, Connected: forwardTo(root)})
	}
	return t
}
