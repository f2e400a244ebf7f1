package contract

import "github.com/milvago/milvago/internal/model"

// CompactionTask is work the data coordinator gives a data node: merge
// Segments (one collection, partition and virtual channel, all flushed)
// into one new segment TargetID, dropping the rows that the channel's
// DeltaLogs delete and the rows inserted before ExpireTS (collection TTL).
// With CountOnly the node writes nothing and only counts, per segment, the
// rows the delta logs delete.
type CompactionTask struct {
	PlanID     int64
	Collection *model.Collection
	Segments   []model.Segment
	DeltaLogs  []model.DeltaLog
	ExpireTS   uint64 // 0: no row expires
	TargetID   int64
	CountOnly  bool
}

// CompactionResult is a finished compaction. Segment.NumRows 0 means no
// row survived: no file was written.
type CompactionResult struct {
	PlanID  int64
	Segment FlushResult
	// Deleted counts, per input segment, the rows the delta logs delete
	// (and, when not CountOnly, Expired the rows the TTL removed).
	Deleted map[int64]int64
	Expired int64
}
