package querynode

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/milvago/milvago/internal/segment"
)

// PruneSegmentsMetric is the counter of the segments a query node's
// pruning considered, as /metrics shows it. Milvus exports only the last
// search's ratio (milvus_querynode_segment_prune_ratio, a gauge), which
// cannot tell how many segments were skipped between two scrapes; this is
// Milvago's counter, with Milvus's label of the prune type.
const PruneSegmentsMetric = "milvago_querynode_segment_prune_segments_total"

// Its labels: segment_prune_label is Milvus's, "scalar" (a filter checked
// against the segments' statistics of the clustering key) or "vector" (a
// search of a vector clustering key ranked against the segments'
// centroids); result is "pruned" (the segment was skipped) or "kept" (it
// was read).
const (
	PruneTypeLabel   = "segment_prune_label"
	PruneResultLabel = "result"
)

var pruneSegmentsDesc = prometheus.NewDesc(PruneSegmentsMetric,
	"Segments the query node's pruning considered since the process started, by prune type (scalar: a filter against the segments' clustering key statistics; vector: a search against their centroids) and result (pruned: skipped; kept: read).",
	[]string{PruneTypeLabel, PruneResultLabel}, nil)

// PruneMetrics returns the collector of PruneSegmentsMetric: it reads the
// process's counts (segment.PruneCounts, segment.FullMatchCounts,
// CentroidPruneCounts) at each scrape. Register it once per registry.
func PruneMetrics() prometheus.Collector { return pruneCollector{} }

type pruneCollector struct{}

func (pruneCollector) Describe(ch chan<- *prometheus.Desc) { ch <- pruneSegmentsDesc }

func (pruneCollector) Collect(ch chan<- prometheus.Metric) {
	pruned, scanned := segment.PruneCounts()
	full := segment.FullMatchCounts()
	vPruned, vKept := CentroidPruneCounts()
	for _, m := range []struct {
		kind, result string
		n            int64
	}{
		{"scalar", "pruned", pruned},
		{"scalar", "kept", scanned + full},
		{"vector", "pruned", vPruned},
		{"vector", "kept", vKept},
	} {
		ch <- prometheus.MustNewConstMetric(pruneSegmentsDesc, prometheus.CounterValue, float64(m.n), m.kind, m.result)
	}
}

// The query node's shard load queue (milvago.queryNode.loadConcurrency,
// loadqueue.go), as /metrics shows it: loads waiting for a slot, loads
// holding one, and the slots. Milvus's query node exports its load
// concurrency and queued read tasks as gauges named
// milvus_querynode_<what>; these follow that naming.
const (
	LoadQueuedMetric      = "milvago_querynode_load_shard_queued"
	LoadRunningMetric     = "milvago_querynode_load_shard_running"
	LoadConcurrencyMetric = "milvago_querynode_load_shard_concurrency"
)

var (
	loadQueuedDesc = prometheus.NewDesc(LoadQueuedMetric,
		"Shard loads waiting for a slot of the query node's load queue (milvago.queryNode.loadConcurrency).", nil, nil)
	loadRunningDesc = prometheus.NewDesc(LoadRunningMetric,
		"Shard loads holding a slot of the query node's load queue.", nil, nil)
	loadConcurrencyDesc = prometheus.NewDesc(LoadConcurrencyMetric,
		"Slots of the query node's load queue: the shard loads it runs at once (milvago.queryNode.loadConcurrency).", nil, nil)
)

// LoadMetrics returns the collector of s's load queue gauges, read at each
// scrape. Register it once per registry.
func (s *Server) LoadMetrics() prometheus.Collector { return loadCollector{q: s.d.loads} }

type loadCollector struct{ q *loadQueue }

func (loadCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- loadQueuedDesc
	ch <- loadRunningDesc
	ch <- loadConcurrencyDesc
}

func (c loadCollector) Collect(ch chan<- prometheus.Metric) {
	queued, running, slots := c.q.state()
	ch <- prometheus.MustNewConstMetric(loadQueuedDesc, prometheus.GaugeValue, float64(queued))
	ch <- prometheus.MustNewConstMetric(loadRunningDesc, prometheus.GaugeValue, float64(running))
	ch <- prometheus.MustNewConstMetric(loadConcurrencyDesc, prometheus.GaugeValue, float64(slots))
}
