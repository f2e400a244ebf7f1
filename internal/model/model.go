// Package model holds the domain records the coordinators own and share:
// collections, partitions, segments and index definitions. They are plain
// data: each coordinator persists its own records in the meta store.
package model

import (
	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// DefaultDatabase is the database every deployment has.
const DefaultDatabase = "default"

// DefaultPartition is the partition every collection has.
const DefaultPartition = "_default"

// Collection is a collection's definition, owned by rootcoord.
type Collection struct {
	ID               int64
	DBName           string
	Name             string
	Schema           *schemapb.CollectionSchema // field IDs assigned; includes $meta when dynamic
	ShardsNum        int32
	VChannels        []string // one per shard
	PChannels        []string // the physical channel carrying each vchannel
	ConsistencyLevel commonpb.ConsistencyLevel
	Properties       []*commonpb.KeyValuePair
	Partitions       []Partition
	Aliases          []string
	CreateTS         uint64
	UpdateTS         uint64 // every change; orders definitions between nodes
	// SchemaTS is Milvus's UpdateTimestamp, the one clients cache and send
	// back with writes: it moves on create, alter and rename, not when a
	// partition or an alias comes or goes. 0 in records written before it
	// existed: SchemaTimestamp falls back to UpdateTS.
	SchemaTS uint64
}

// SchemaTimestamp is the timestamp clients compare with their cached
// schema's (Milvus's UpdateTimestamp).
func (c *Collection) SchemaTimestamp() uint64 {
	if c.SchemaTS != 0 {
		return c.SchemaTS
	}
	return c.UpdateTS
}

// Partition is one partition of a collection.
type Partition struct {
	ID       int64
	Name     string
	CreateTS uint64
}

// PartitionByName returns the partition named name.
func (c *Collection) PartitionByName(name string) (Partition, bool) {
	for _, p := range c.Partitions {
		if p.Name == name {
			return p, true
		}
	}
	return Partition{}, false
}

// PrimaryField returns the primary key field.
func (c *Collection) PrimaryField() *schemapb.FieldSchema {
	for _, f := range c.Schema.GetFields() {
		if f.GetIsPrimaryKey() {
			return f
		}
	}
	return nil
}

// Field returns the field named name.
func (c *Collection) Field(name string) *schemapb.FieldSchema {
	for _, f := range c.Schema.GetFields() {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

// FieldByID returns the field with ID id.
func (c *Collection) FieldByID(id int64) *schemapb.FieldSchema {
	for _, f := range c.Schema.GetFields() {
		if f.GetFieldID() == id {
			return f
		}
	}
	return nil
}

// SegmentState is a segment's place in its life cycle.
type SegmentState int

// Segment states, in life-cycle order.
const (
	SegmentGrowing SegmentState = iota + 1
	SegmentSealed
	SegmentFlushed
	SegmentDropped
)

func (s SegmentState) String() string {
	switch s {
	case SegmentGrowing:
		return "Growing"
	case SegmentSealed:
		return "Sealed"
	case SegmentFlushed:
		return "Flushed"
	case SegmentDropped:
		return "Dropped"
	}
	return "Unknown"
}

// Segment is a segment's meta, owned by datacoord.
type Segment struct {
	ID           int64
	CollectionID int64
	PartitionID  int64
	VChannel     string
	State        SegmentState
	NumRows      int64 // rows written (incl. rows deleted later)
	// StartPosition is the log position just before the segment's first row:
	// replaying the channel from here re-reads all of its rows.
	StartPosition uint64
	SealTS        uint64
	// Files written at flush; empty until Flushed.
	Binlogs   map[int64]string // field ID -> insert log path (fields 0 and 1 are row IDs and timestamps)
	StatsLog  string
	FlushTS   uint64
	SizeBytes int64
	// CompactedFrom lists the segments a compaction merged into this one,
	// with their own ancestors: the log's inserts of any of them are this
	// segment's rows. A query node loading it stops serving them (a
	// Dropped segment carrying it is a compaction that kept no row).
	CompactedFrom []int64 `json:",omitempty"`
	// DeltaApplied is the ID of the newest delta log of the channel whose
	// deletes a compaction removed from this segment's rows (delta logs
	// of a channel are added in ID order); 0: none.
	DeltaApplied int64 `json:",omitempty"`
	// DeletedRows is how many of NumRows the channel's delta logs up to
	// DeletedUpTo delete (counted by a data node); live rows are
	// NumRows - DeletedRows.
	DeletedRows int64 `json:",omitempty"`
	DeletedUpTo int64 `json:",omitempty"`
	DroppedAt   int64 `json:",omitempty"` // unix milliseconds; garbage collected after dataCoord.gc.dropTolerance
	// Siblings are the other segments one clustering compaction wrote
	// from the same sources: together they hold the sources' rows, so a
	// query node swaps the sources out only once all of them are loaded.
	Siblings []int64 `json:",omitempty"`
	// Clustered marks a segment a clustering compaction wrote (Milvus's
	// L2): its rows cover one range of the clustering key.
	Clustered bool `json:",omitempty"`
	// Sorted marks a segment whose rows are in primary-key order (Milvus
	// 2.6's is_sorted): every compaction writes its outputs sorted, and
	// sort compaction rewrites each flushed segment so.
	Sorted bool `json:",omitempty"`
	// SyncManifest is the object key of a growing or sealed segment's sync
	// manifest (the pieces its data node synced before the seal), as the
	// owner of the segment's channel last recorded it; empty: no piece
	// counts. A manifest the data coordinator did not record (written by
	// a node that lost the channel, or never acknowledged) is not read.
	SyncManifest string `json:",omitempty"`
}

// DeltaLog is a flushed batch of deletes of one channel (an "L0" file):
// it applies to every sealed segment of the channel.
type DeltaLog struct {
	ID           int64
	CollectionID int64
	VChannel     string
	Path         string
	Entries      int64
	MaxTS        uint64
}

// IndexDef is an index defined on a field, owned by indexcoord.
type IndexDef struct {
	ID           int64
	CollectionID int64
	FieldID      int64
	Name         string
	IndexParams  map[string]string // index_type, metric_type, and build params
	TypeParams   map[string]string
	UserParams   map[string]string // as the user sent them (DescribeIndex returns them)
	CreateTS     uint64
}

// SegmentIndex is one index built for one segment.
type SegmentIndex struct {
	BuildID    int64
	IndexID    int64
	SegmentID  int64
	FieldID    int64
	State      commonpb.IndexState
	FailReason string
	File       string
	NumRows    int64
	SizeBytes  int64
}

// AnalyzeTask is an analyze task (Milvus's analyze meta), owned by
// indexcoord: k-means over one FloatVector field of a partition's
// segments, run by an index node, whose centroids a vector clustering
// compaction maps its rows to. ID is its creator's (the clustering plan's
// ID, also the k-means seed). The fields from State on are the task's
// progress: Attempts counts its dispatches to an index node, Failures
// those that failed and were retried (State Retry while it waits for the
// next; FailReason the last failure's reason, kept once it finishes), and
// MappingFiles are, per segment (SegmentIDs' order), its offset mapping
// file ("": the segment predates the field).
type AnalyzeTask struct {
	ID           int64
	CollectionID int64
	PartitionID  int64
	FieldID      int64
	Dim          int64
	SegmentIDs   []int64
	Binlogs      []string // per segment, the field's insert binlog ("": every row null)
	NumClusters  int64
	TrainRatio   float64

	State         commonpb.IndexState
	FailReason    string
	Attempts      int64
	CentroidsFile string
	MappingFiles  []string
	NumCentroids  int64
	NumRows       int64
	Failures      int64
}

// Mappings returns the task's offset mapping files by segment.
func (t AnalyzeTask) Mappings() map[int64]string {
	m := make(map[int64]string, len(t.SegmentIDs))
	for i, id := range t.SegmentIDs {
		if i < len(t.MappingFiles) {
			m[id] = t.MappingFiles[i]
		}
	}
	return m
}
