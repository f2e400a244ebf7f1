package datanode

import (
	"context"
	"slices"
	"testing"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

// TestClusteringCompactionCutsByKey clusters two segments by the VarChar
// field: deleted rows are dropped, the kept rows come out sorted by key in
// segments of at least PreferRows rows whose key ranges do not overlap
// (a run of one key is never cut), sorted by primary key within each
// segment, each row keeps its own values and
// timestamp, and each segment's stats log holds its key range.
func TestClusteringCompactionCutsByKey(t *testing.T) {
	objs := objstore.NewMemory()
	coll := testCollection()
	s := New(Deps{Objects: objs, IDs: &seqIDs{next: 5000}})
	a := putSegment(t, objs, coll, 1, []int64{1, 2, 3, 4, 5}, []uint64{10, 11, 12, 13, 14}, []string{"e", "b", "b", "a", "d"})
	b := putSegment(t, objs, coll, 2, []int64{6, 7, 8, 9}, []uint64{20, 21, 22, 23}, []string{"c", "b", "f", "a"})
	d := putDeltas(t, objs, 3, []int64{5}, []uint64{30}) // deletes "d"
	ctx := context.Background()
	res, err := s.Compact(ctx, contract.CompactionTask{PlanID: 9, Collection: coll, Segments: []model.Segment{a, b},
		DeltaLogs: []model.DeltaLog{d}, ClusteringField: 102, TargetIDs: []int64{70, 71, 72, 73, 74, 75}, PreferRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted[1] != 1 || len(res.Clustered) == 0 {
		t.Fatalf("result %+v", res)
	}
	// Sorted: a(4) a(9) | b(2) b(3) b(7) | c(6) e(1) | f(8), then each
	// segment by primary key.
	want := [][]string{{"a", "a"}, {"b", "b", "b"}, {"e", "c"}, {"f"}}
	wantPKs := [][]int64{{4, 9}, {2, 3, 7}, {1, 6}, {8}}
	if len(res.Clustered) != len(want) {
		t.Fatalf("%d segments, want %d: %+v", len(res.Clustered), len(want), res.Clustered)
	}
	for i, seg := range res.Clustered {
		if seg.SegmentID != int64(70+i) || seg.NumRows != int64(len(want[i])) {
			t.Fatalf("segment %d: %+v", i, seg)
		}
		tags := readCol(t, objs, seg.Binlogs[102]).(*column.Scalar[string]).Data
		pks := readCol(t, objs, seg.Binlogs[100]).(*column.Scalar[int64]).Data
		ts := readCol(t, objs, seg.Binlogs[TimestampFieldID]).(*column.Scalar[int64]).Data
		vec := readCol(t, objs, seg.Binlogs[101]).(*column.FloatVector)
		if !slices.Equal(tags, want[i]) || !slices.Equal(pks, wantPKs[i]) {
			t.Fatalf("segment %d: tags %v pks %v", i, tags, pks)
		}
		for j, pk := range pks {
			wantTS := int64(9 + pk)
			if pk > 5 {
				wantTS = int64(14 + pk)
			}
			if ts[j] != wantTS || vec.Data[j*dim] != float32(pk) {
				t.Fatalf("segment %d row %d (pk %d): ts %d vector %v", i, j, pk, ts[j], vec.Row(j))
			}
		}
		data, err := objs.Get(ctx, seg.StatsLog)
		if err != nil {
			t.Fatal(err)
		}
		st, err := storage.DecodeStats(data)
		if err != nil {
			t.Fatal(err)
		}
		fs := st.Fields[102]
		if fs == nil || fs.MinStr != slices.Min(want[i]) || fs.MaxStr != slices.Max(want[i]) {
			t.Fatalf("segment %d stats %+v", i, fs)
		}
	}

	// Too few target IDs is an error, not a partial write.
	if _, err := s.Compact(ctx, contract.CompactionTask{PlanID: 10, Collection: coll, Segments: []model.Segment{a, b},
		ClusteringField: 102, TargetIDs: []int64{80}, PreferRows: 2}); err == nil {
		t.Fatal("clustering into one target ID for four segments succeeded")
	}
	// A vector field is no clustering key here.
	if _, err := s.Compact(ctx, contract.CompactionTask{PlanID: 11, Collection: coll, Segments: []model.Segment{a},
		ClusteringField: 101, TargetIDs: []int64{90, 91}, PreferRows: 2}); err == nil {
		t.Fatal("clustering by a vector field succeeded")
	}
}

// TestCutRangesNulls: null keys go last, in a run of their own.
func TestCutRangesNulls(t *testing.T) {
	key := &column.Scalar[int64]{Data: []int64{3, 0, 1, 0, 2}, Valid: []bool{true, false, true, false, true}}
	order, same, err := clusterOrder(key)
	if err != nil {
		t.Fatal(err)
	}
	got := cutRanges(order, same, key, 10)
	if len(got) != 2 || !slices.Equal(got[0], []int{2, 4, 0}) || !slices.Equal(got[1], []int{1, 3}) {
		t.Fatalf("ranges %v", got)
	}
}
