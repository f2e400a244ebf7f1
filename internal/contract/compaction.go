package contract

import (
	"time"

	"github.com/milvago/milvago/internal/model"
)

// CompactionTask is work the data coordinator gives a data node: merge
// Segments (one collection, partition and virtual channel, all flushed)
// into one new segment TargetID, dropping the rows that the channel's
// DeltaLogs delete and the rows inserted before ExpireTS (collection TTL).
// Outputs are written in primary-key order (a one-segment task with
// nothing to drop is a sort compaction).
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
	// ClusteringField, when set, makes this a clustering compaction: the
	// kept rows are sorted by that field and cut into segments of about
	// PreferRows rows (rows of one key value never straddle two), named
	// TargetIDs in key order (Milvus's clustering compaction, scalar keys).
	ClusteringField int64
	TargetIDs       []int64
	PreferRows      int64
	// NumClusters, set when ClusteringField is a FloatVector, makes it a
	// vector clustering compaction: the plan's analyze task trained up to
	// NumClusters centroids and wrote them to AnalyzeFile (a centroids
	// file, storage.EncodeCentroids) and each source's offset mapping
	// (AnalyzeMappings); every row goes to the centroid its mapping
	// names, clusters smaller than MinClusterRatio of the average merge
	// into their nearest, and each cluster is written as one segment
	// (several when it holds more than PreferRows rows) whose stats log
	// carries its centroid.
	NumClusters     int64
	MinClusterRatio float64
	AnalyzeFile     string
	// AnalyzeMappings are the analyze task's offset mapping files, by
	// source segment: the centroid of each row of the segment's binlog,
	// which the compaction uses instead of computing distances.
	AnalyzeMappings map[int64]string
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
	// Clustered are the segments a clustering compaction wrote, in key
	// order (Segment is unused then).
	Clustered []FlushResult
}

// CompactionPlan is one plan of a compaction job: its input segments and
// the segment it wrote.
type CompactionPlan struct {
	PlanID  int64
	Sources []int64
	Target  int64 // 0: none (no row survived, or not done yet)
	Done    bool
	Failed  bool
	Reason  string
}

// CompactionJob is a manual or automatic compaction of one collection, as
// GetCompactionState reports it.
type CompactionJob struct {
	ID           int64
	CollectionID int64
	Plans        []CompactionPlan
	Started      time.Time
}

// Completed reports whether every plan has finished.
func (j CompactionJob) Completed() bool {
	for _, p := range j.Plans {
		if !p.Done {
			return false
		}
	}
	return true
}

// Counts returns the executing, completed and failed plans.
func (j CompactionJob) Counts() (executing, completed, failed int64) {
	for _, p := range j.Plans {
		switch {
		case !p.Done:
			executing++
		case p.Failed:
			failed++
		default:
			completed++
		}
	}
	return
}
