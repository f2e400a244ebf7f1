package pb

import (
	"reflect"
	"testing"

	"github.com/milvago/milvago/internal/model"
)

// TestSegmentRoundTrip: a segment crosses the worker and coordinator RPCs
// with every field, Sorted and Clustered included (an imported segment
// registered Sorted must not be sort-compacted and indexed again in a
// cluster).
func TestSegmentRoundTrip(t *testing.T) {
	in := model.Segment{ID: 1, CollectionID: 2, PartitionID: 3, VChannel: "v", State: model.SegmentFlushed, NumRows: 4,
		StartPosition: 5, SealTS: 6, Binlogs: map[int64]string{100: "b"}, StatsLog: "s", FlushTS: 7, SizeBytes: 8,
		CompactedFrom: []int64{9}, DeltaApplied: 10, Siblings: []int64{11}, Clustered: true, DeletedRows: 12, DeletedUpTo: 13,
		Sorted: true, SyncManifest: "m"}
	if out := ToSegment(FromSegment(in)); !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
	}
}
