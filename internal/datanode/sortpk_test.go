package datanode

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
)

// TestSortCompaction rewrites one segment of random keys (duplicates
// among them, as plain inserts may write) in key order: every row is kept
// with its own values and insert timestamp, rows of one key keep their
// input order, and the stats log is rebuilt.
func TestSortCompaction(t *testing.T) {
	objs := objstore.NewMemory()
	coll := testCollection()
	s := New(Deps{Objects: objs, IDs: &seqIDs{next: 5000}})
	r := rand.New(rand.NewPCG(1, 2))
	const n = 2000
	pks := make([]int64, n)
	ts := make([]uint64, n)
	tags := make([]string, n)
	for i := range pks {
		pks[i] = r.Int64N(n) - n/2 // about a third repeat
		ts[i] = uint64(100 + i)
		tags[i] = fmt.Sprint("t", i)
	}
	seg := putSegment(t, objs, coll, 1, pks, ts, tags)
	res, err := s.Compact(context.Background(), contract.CompactionTask{PlanID: 1, Collection: coll, Segments: []model.Segment{seg}, TargetID: 50})
	if err != nil {
		t.Fatal(err)
	}
	if res.Segment.NumRows != n {
		t.Fatalf("rows %d", res.Segment.NumRows)
	}
	// The oracle: input offsets stably sorted by key.
	want := identity(n)
	sort.SliceStable(want, func(a, b int) bool { return pks[want[a]] < pks[want[b]] })
	gotPK := readCol(t, objs, res.Segment.Binlogs[100]).(*column.Scalar[int64]).Data
	gotTag := readCol(t, objs, res.Segment.Binlogs[102]).(*column.Scalar[string]).Data
	gotTS := readCol(t, objs, res.Segment.Binlogs[TimestampFieldID]).(*column.Scalar[int64]).Data
	vec := readCol(t, objs, res.Segment.Binlogs[101]).(*column.FloatVector)
	if !slices.IsSorted(gotPK) {
		t.Fatal("output not in key order")
	}
	for i, src := range want {
		if gotPK[i] != pks[src] || gotTag[i] != tags[src] || gotTS[i] != int64(ts[src]) || vec.Data[i*dim] != float32(pks[src]) {
			t.Fatalf("row %d: pk %d tag %s ts %d, want row %d of the input (pk %d tag %s ts %d)", i, gotPK[i], gotTag[i], gotTS[i], src, pks[src], tags[src], ts[src])
		}
	}

	// Sorting a sorted segment again changes nothing.
	sorted := model.Segment{ID: 50, CollectionID: coll.ID, PartitionID: partA, VChannel: vch, State: model.SegmentFlushed,
		NumRows: n, Binlogs: res.Segment.Binlogs, FlushTS: res.Segment.FlushTS}
	again, err := s.Compact(context.Background(), contract.CompactionTask{PlanID: 2, Collection: coll, Segments: []model.Segment{sorted}, TargetID: 51})
	if err != nil {
		t.Fatal(err)
	}
	if p := readCol(t, objs, again.Segment.Binlogs[102]).(*column.Scalar[string]).Data; !slices.Equal(p, gotTag) {
		t.Fatal("a second sort reordered rows")
	}
}

// TestPKOrderStrings sorts VarChar keys stably and reports already sorted
// rows.
func TestPKOrderStrings(t *testing.T) {
	pk := &column.Scalar[string]{Data: []string{"b", "a", "c", "a"}}
	rows := identity(4)
	if !pkOrder(pk, rows) || !slices.Equal(rows, []int{1, 3, 0, 2}) {
		t.Fatalf("rows %v", rows)
	}
	sorted := &column.Scalar[string]{Data: []string{"a", "a", "b"}}
	if pkOrder(sorted, identity(3)) {
		t.Fatal("sorted keys reported moved")
	}
}
