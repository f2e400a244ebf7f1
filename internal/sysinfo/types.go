package sysinfo

import (
	"encoding/json"
	"strconv"
)

// The component roles, as Milvus's typeutil names them.
const (
	RoleProxy         = "proxy"
	RoleRootCoord     = "rootcoord"
	RoleDataCoord     = "datacoord"
	RoleQueryCoord    = "querycoord"
	RoleIndexCoord    = "indexcoord"
	RoleMixCoord      = "mixcoord"
	RoleDataNode      = "datanode"
	RoleQueryNode     = "querynode"
	RoleIndexNode     = "indexnode"
	RoleStreamingNode = "streamingnode"
)

// Deploy modes (metricsinfo.ClusterDeployMode, StandaloneDeployMode).
const (
	ClusterDeployMode    = "DISTRIBUTED"
	StandaloneDeployMode = "STANDALONE"
)

// Connection types of a topology edge.
const (
	CoordConnectToNode = "manage"
	Forward            = "forward"
)

// HardwareMetrics is metricsinfo.HardwareMetrics. Disk and DiskUsage are
// in GB, as Milvus reports them.
type HardwareMetrics struct {
	IP               string  `json:"ip"`
	CPUCoreCount     int     `json:"cpu_core_count"`
	CPUCoreUsage     float64 `json:"cpu_core_usage"`
	Memory           uint64  `json:"memory"`
	MemoryUsage      uint64  `json:"memory_usage"`
	Disk             float64 `json:"disk"`
	DiskUsage        float64 `json:"disk_usage"`
	IOWaitPercentage float64 `json:"io_wait_percentage"`
}

// DeployMetrics is metricsinfo.DeployMetrics.
type DeployMetrics struct {
	SystemVersion string `json:"system_version"`
	DeployMode    string `json:"deploy_mode"`
	BuildVersion  string `json:"build_version"`
	BuildTime     string `json:"build_time"`
	UsedGoVersion string `json:"used_go_version"`
}

// BaseComponentInfos is metricsinfo.BaseComponentInfos.
type BaseComponentInfos struct {
	HasError      bool            `json:"has_error"`
	ErrorReason   string          `json:"error_reason"`
	Name          string          `json:"name"`
	HardwareInfos HardwareMetrics `json:"hardware_infos"`
	SystemInfo    DeployMetrics   `json:"system_info"`
	CreatedTime   string          `json:"created_time"`
	UpdatedTime   string          `json:"updated_time"`
	Type          string          `json:"type"`
	ID            int64           `json:"id"`
}

// ComponentInfos is one component's infos: Milvus's ProxyInfos,
// RootCoordInfos, DataCoordInfos, ... share BaseComponentInfos and add
// their system_configurations and, for some, quota and collection
// metrics. A query node reports its quota metrics (the growing segments'
// bytes the quota center reads); the others, which Milvago does not
// collect, are reported as null as a Milvus component without them does.
type ComponentInfos struct {
	BaseComponentInfos
	SystemConfigurations map[string]any `json:"system_configurations"`
	// QuotaMetrics is a query node's quota_metrics (nil: none).
	QuotaMetrics *QueryNodeQuotaMetrics `json:"quota_metrics,omitempty"`
}

// QueryNodeQuotaMetrics is metricsinfo.QueryNodeQuotaMetrics, the part of
// it Milvago measures (Milvus's struct has no JSON tags: its keys are the
// field names).
type QueryNodeQuotaMetrics struct {
	Hms HardwareMetrics
	// GrowingSegmentsSize is the bytes of the node's growing segments
	// (growingSegmentsSizeProtection).
	GrowingSegmentsSize int64
	// Effect names the collections the node holds.
	Effect NodeEffect
}

// NodeEffect is metricsinfo.NodeEffect: a node and its collections.
type NodeEffect struct {
	NodeID        int64
	CollectionIDs []int64
}

// MarshalJSON writes the infos with the keys Milvus's type for the role
// has.
func (c ComponentInfos) MarshalJSON() ([]byte, error) {
	type plain ComponentInfos
	b, err := json.Marshal(plain(c))
	if err != nil {
		return nil, err
	}
	var extra []string
	switch c.Type {
	case RoleProxy, RoleDataNode:
		extra = []string{"quota_metrics"}
	case RoleQueryNode, RoleDataCoord:
		extra = []string{"quota_metrics", "collection_metrics"}
	}
	if len(extra) == 0 {
		return b, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, k := range extra {
		if _, ok := m[k]; !ok {
			m[k] = json.RawMessage("null")
		}
	}
	return json.Marshal(m)
}

// ConnectionEdge is metricsinfo.ConnectionEdge.
type ConnectionEdge struct {
	ConnectedIdentifier int    `json:"connected_identifier"`
	Type                string `json:"type"`
	TargetType          string `json:"target_type"`
}

// SystemTopologyNode is metricsinfo.SystemTopologyNode.
type SystemTopologyNode struct {
	Identifier int              `json:"identifier"`
	Connected  []ConnectionEdge `json:"connected"`
	Infos      ComponentInfos   `json:"infos"`
}

// SystemTopology is metricsinfo.SystemTopology, the Response of
// GetMetrics system_info.
type SystemTopology struct {
	NodesInfo []SystemTopologyNode `json:"nodes_info"`
}

// ComponentName is metricsinfo.ConstructComponentName: role and ID.
func ComponentName(role string, id int64) string { return role + strconv.FormatInt(id, 10) }
