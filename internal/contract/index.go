package contract

import (
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/model"
)

// CreateIndexRequest is a validated index definition.
type CreateIndexRequest struct {
	Collection *model.Collection
	Field      *schemapb.FieldSchema
	Name       string
	Params     map[string]string // flattened: index_type, metric_type and build params
	UserParams map[string]string
}

// IndexProgress describes how far an index is built.
type IndexProgress struct {
	State       commonpb.IndexState
	FailReason  string
	IndexedRows int64
	TotalRows   int64
	PendingRows int64
}

// BuildTask is one index build: one field of one segment.
type BuildTask struct {
	BuildID    int64
	Spec       index.Spec
	BinlogPath string // the field's insert binlog
}

// BuildResult is a finished build.
type BuildResult struct {
	File      string
	NumRows   int64
	SizeBytes int64
	Took      time.Duration
}

// AnalyzeTask is one analyze task for an index node: k-means over the
// FloatVector rows of the given insert binlogs of one field ("": a
// segment whose rows are all null), NumClusters centroids (at most the
// rows) trained on at most TrainRatio of the rows, sampled and seeded by
// Seed (analysis.Params).
type AnalyzeTask struct {
	TaskID      int64
	FieldID     int64
	Dim         int
	SegmentIDs  []int64 // per binlog path, its segment (names its mapping file)
	BinlogPaths []string
	NumClusters int
	TrainRatio  float64
	Seed        uint64
}

// AnalyzeResult is a finished analyze task: its centroids file
// (storage.EncodeCentroids) and the rows it trained over.
type AnalyzeResult struct {
	CentroidsFile string
	// MappingFiles are, per segment of the task, the file mapping each
	// row of its binlog to its nearest centroid
	// (storage.EncodeOffsetMapping; "": a segment without binlog).
	MappingFiles []string
	NumCentroids int64
	NumRows      int64
	Took         time.Duration
}
