package datacoord

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Report names a kind of data node report about a channel, as the
// refusals metric labels it.
type Report string

// The reports only a channel's owner is heard on (CheckOwner).
const (
	ReportFlush        Report = "flush"         // SegmentFlushed: a segment's binlogs
	ReportDeltaLog     Report = "delta_log"     // AddDeltaLog: a flushed batch of deletes
	ReportCheckpoint   Report = "checkpoint"    // UpdateCheckpoint
	ReportSyncManifest Report = "sync_manifest" // SaveSyncManifest: a growing segment's synced pieces
	ReportBufferedRows Report = "buffered_rows" // NoteBufferedRows
	// ChannelFailed and ChannelRecovered: a node cut off while its channel
	// moved must neither set a failure on the new owner's channel nor
	// clear one the owner reported (failures.go).
	ReportFailure  Report = "channel_failure"  // ChannelFailed
	ReportRecovery Report = "channel_recovery" // ChannelRecovered
)

// RefusalsMetric is the counter of reports refused because their sender
// does not own the channel (channel misrouted, 507): a data node cut off,
// paused or slow while its channel moved. Each is a stale write fencing
// stopped; a rise says nodes lose their channels while they work.
const RefusalsMetric = "milvago_datacoord_stale_reports_refused_total"

// newRefusals returns the refusals counter, registered with reg (nil: kept
// but not exported). A counter already registered there (a coordinator
// rebuilt in the same process) is reused.
func newRefusals(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: RefusalsMetric,
		Help: "Data node reports the data coordinator refused because the sender does not own the channel (channel misrouted, 507), by report."},
		[]string{"report"})
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if errors.As(err, &dup) {
			if existing, ok := dup.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
	}
	return c
}
