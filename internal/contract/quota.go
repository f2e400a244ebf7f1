package contract

import "github.com/milvago/milvago/internal/sysinfo"

// QuotaCenterMetrics is the quota center's last sample, in the JSON of
// Milvus's metricsinfo.QuotaCenterMetrics (what the proxy's
// GetQuotaMetrics and REST quotacenter/describe return): Milvus's structs
// carry no JSON tags, so the keys are the field names, and int64 map keys
// become strings. The nodes are keyed by their server ID. Values Milvago
// does not measure are the zero values Milvus itself sends for them: no
// rate metrics (Rms), no flow graphs (Fgm; Milvago's data and query nodes
// consume no per-channel flow graph), no delete buffers, no L0 segments
// (deletes live in per-channel delta logs).
//
// QuotaStates is Milvago's addition: the verdict the center decided from
// the sample, in the names of Milvus's milvuspb.QuotaState and
// commonpb.ErrorCode (Milvus sends it to the proxies in SetRates instead).
type QuotaCenterMetrics struct {
	QueryNodeMetrics map[int64]*QueryNodeQuotaMetrics
	DataNodeMetrics  map[int64]*DataNodeQuotaMetrics
	ProxyMetrics     map[int64]*ProxyQuotaMetrics
	// DataCoordMetrics is nil until the center has measured the binlogs
	// (disk protection off: never), as Milvus's before its first sample.
	DataCoordMetrics *DataCoordQuotaMetrics
	QuotaStates      QuotaStateMetrics
}

// NewQuotaCenterMetrics is an empty sample (no node seen yet).
func NewQuotaCenterMetrics() *QuotaCenterMetrics {
	return &QuotaCenterMetrics{QueryNodeMetrics: map[int64]*QueryNodeQuotaMetrics{},
		DataNodeMetrics: map[int64]*DataNodeQuotaMetrics{}, ProxyMetrics: map[int64]*ProxyQuotaMetrics{},
		QuotaStates: QuotaStateMetrics{States: []QuotaState{}, DMLRateFactor: 1}}
}

// RateMetric is metricsinfo.RateMetric.
type RateMetric struct {
	Label string
	Rate  float64
}

// FlowGraphMetric is metricsinfo.FlowGraphMetric.
type FlowGraphMetric struct {
	MinFlowGraphChannel string
	MinFlowGraphTt      uint64
	NumFlowGraph        int
}

// NodeEffect is metricsinfo.NodeEffect: a node and the collections it
// holds.
type NodeEffect struct {
	NodeID        int64
	CollectionIDs []int64
}

// DeleteBufferInfo is metricsinfo.DeleteBufferInfo.
type DeleteBufferInfo struct {
	CollectionDeleteBufferNum  map[int64]int64
	CollectionDeleteBufferSize map[int64]int64
}

// QueryNodeQuotaMetrics is metricsinfo.QueryNodeQuotaMetrics.
// StreamingQuota stays null: Milvago's streaming node reports no WAL
// recovery time ticks.
type QueryNodeQuotaMetrics struct {
	Hms                 sysinfo.HardwareMetrics
	Rms                 []RateMetric
	Fgm                 FlowGraphMetric
	GrowingSegmentsSize int64
	LoadedBinlogSize    int64
	Effect              NodeEffect
	DeleteBufferInfo    DeleteBufferInfo
	StreamingQuota      *struct{ WALs []any }
}

// DataNodeQuotaMetrics is metricsinfo.DataNodeQuotaMetrics.
type DataNodeQuotaMetrics struct {
	Hms    sysinfo.HardwareMetrics
	Rms    []RateMetric
	Fgm    FlowGraphMetric
	Effect NodeEffect
}

// TaskQueueMetrics is metricsinfo.TaskQueueMetrics.
type TaskQueueMetrics struct {
	Type           string `json:"type"`
	PendingCount   int64  `json:"pending_count"`
	ExecutingCount int64  `json:"executing_count"`
	PendingTasks   []any  `json:"pending_tasks"`
	ExecutingTasks []any  `json:"executing_tasks"`
}

// ProxyQuotaMetrics is metricsinfo.ProxyQuotaMetrics.
type ProxyQuotaMetrics struct {
	Hms          sysinfo.HardwareMetrics
	Rms          []RateMetric
	QueueMetrics []TaskQueueMetrics
}

// DataCoordQuotaMetrics is metricsinfo.DataCoordQuotaMetrics: the binlog
// bytes of the cluster, each collection and each partition.
type DataCoordQuotaMetrics struct {
	TotalBinlogSize      int64
	CollectionBinlogSize map[int64]int64
	PartitionsBinlogSize map[int64]map[int64]int64
	CollectionL0RowCount map[int64]int64
}

// Quota states and their reasons, as Milvus names them.
const (
	QuotaDenyToWrite         = "DenyToWrite"
	QuotaMemoryExhausted     = "MemoryQuotaExhausted"
	QuotaDiskExhausted       = "DiskQuotaExhausted"
	QuotaStateScopeCluster   = "cluster"
	QuotaStateScopeDB        = "database"
	QuotaStateScopeColl      = "collection"
	QuotaStateScopePartition = "partition"
)

// QuotaState is one refusal the center decided: State (DenyToWrite) of a
// scope (cluster, database, collection, partition; ID or Name names it)
// for Code (MemoryQuotaExhausted, DiskQuotaExhausted), with Milvago's
// reason where it has one.
type QuotaState struct {
	Scope  string
	ID     int64  `json:",omitempty"`
	Name   string `json:",omitempty"`
	State  string
	Code   string
	Reason string `json:",omitempty"`
}

// QuotaStateMetrics is the center's verdict: the refusals and the DML
// rate factors (1: not scaled) for every collection and per collection.
type QuotaStateMetrics struct {
	States                   []QuotaState
	DMLRateFactor            float64
	CollectionDMLRateFactors map[int64]float64
}
