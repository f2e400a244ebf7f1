package datanode

import (
	"context"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

type seqIDs struct{ next int64 }

func (s *seqIDs) AllocID(_ context.Context, n int64) (int64, error) {
	id := s.next
	s.next += n
	return id, nil
}

// putSegment writes a segment's insert logs as a flush does.
func putSegment(t testing.TB, objs objstore.Store, coll *model.Collection, id int64, pks []int64, ts []uint64, tags []string) model.Segment {
	t.Helper()
	ctx := context.Background()
	seg := model.Segment{ID: id, CollectionID: coll.ID, PartitionID: partA, VChannel: vch, State: model.SegmentFlushed,
		NumRows: int64(len(pks)), Binlogs: map[int64]string{}, FlushTS: slices.Max(ts)}
	tsData := make([]int64, len(ts))
	for i, v := range ts {
		tsData[i] = int64(v)
	}
	vec := &column.FloatVector{Dim: dim, Data: make([]float32, dim*len(pks))}
	for i, pk := range pks {
		vec.Data[i*dim] = float32(pk)
	}
	cols := map[int64]column.Column{
		TimestampFieldID: &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: tsData},
		100:              &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: pks},
		101:              vec,
		102:              &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: tags},
	}
	for f, c := range cols {
		data, err := storage.EncodeColumn(c)
		if err != nil {
			t.Fatal(err)
		}
		path := storage.InsertLogPath(coll.ID, partA, id, f, 1000+f)
		if err := objs.Put(ctx, path, data); err != nil {
			t.Fatal(err)
		}
		seg.Binlogs[f] = path
	}
	return seg
}

func putDeltas(t *testing.T, objs objstore.Store, id int64, pks []int64, ts []uint64) model.DeltaLog {
	t.Helper()
	data, err := storage.EncodeDeltas(storage.Deltas{IntPKs: pks, Timestamps: ts})
	if err != nil {
		t.Fatal(err)
	}
	path := storage.DeltaLogPath(collID, 0, 0, id)
	if err := objs.Put(context.Background(), path, data); err != nil {
		t.Fatal(err)
	}
	return model.DeltaLog{ID: id, CollectionID: collID, VChannel: vch, Path: path, Entries: int64(len(pks))}
}

func readCol(t testing.TB, objs objstore.Store, path string) column.Column {
	t.Helper()
	data, err := objs.Get(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := storage.DecodeColumn(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCompactDropsDeletedAndExpiredRows merges two segments: rows deleted
// by a later delete are dropped, a delete older than a row (an upsert's
// new row) does not hide it, rows before ExpireTS are dropped, and the
// kept rows keep their values and insert timestamps, in primary-key order.
func TestCompactDropsDeletedAndExpiredRows(t *testing.T) {
	objs := objstore.NewMemory()
	coll := testCollection()
	s := New(Deps{Objects: objs, IDs: &seqIDs{next: 5000}})
	a := putSegment(t, objs, coll, 1, []int64{1, 2, 3, 4}, []uint64{10, 11, 12, 13}, []string{"a1", "a2", "a3", "a4"})
	b := putSegment(t, objs, coll, 2, []int64{5, 2, 6}, []uint64{20, 21, 22}, []string{"b5", "b2", "b6"})
	// Delete 2 at 21 (the upsert of 2 at 21 keeps its new row), 4 at 30,
	// 6 at 15 (before 6 was inserted: no effect).
	d := putDeltas(t, objs, 3, []int64{2, 4, 6}, []uint64{21, 30, 15})
	ctx := context.Background()

	count, err := s.Compact(ctx, contract.CompactionTask{Collection: coll, Segments: []model.Segment{a, b}, DeltaLogs: []model.DeltaLog{d}, CountOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if count.Deleted[1] != 2 || count.Deleted[2] != 0 || count.Segment.NumRows != 0 || len(count.Segment.Binlogs) != 0 {
		t.Fatalf("count only: %+v", count)
	}

	res, err := s.Compact(ctx, contract.CompactionTask{PlanID: 9, Collection: coll, Segments: []model.Segment{a, b},
		DeltaLogs: []model.DeltaLog{d}, ExpireTS: 11, TargetID: 77})
	if err != nil {
		t.Fatal(err)
	}
	// Row 1 (ts 10) expired; 2@11 and 4@13 deleted; kept: 3, 5, 2@21, 6,
	// written sorted by key.
	if res.Expired != 1 || res.Deleted[1] != 2 || res.Segment.NumRows != 4 || res.Segment.SegmentID != 77 || res.Segment.FlushTS != 22 {
		t.Fatalf("result %+v", res)
	}
	pks := readCol(t, objs, res.Segment.Binlogs[100]).(*column.Scalar[int64]).Data
	tags := readCol(t, objs, res.Segment.Binlogs[102]).(*column.Scalar[string]).Data
	ts := readCol(t, objs, res.Segment.Binlogs[TimestampFieldID]).(*column.Scalar[int64]).Data
	vec := readCol(t, objs, res.Segment.Binlogs[101]).(*column.FloatVector)
	if !slices.Equal(pks, []int64{2, 3, 5, 6}) || !slices.Equal(tags, []string{"b2", "a3", "b5", "b6"}) || !slices.Equal(ts, []int64{21, 12, 20, 22}) {
		t.Fatalf("kept pks %v tags %v ts %v", pks, tags, ts)
	}
	for i, pk := range pks {
		if vec.Data[i*dim] != float32(pk) {
			t.Fatalf("vector of row %d: %v", i, vec.Row(i))
		}
	}
	data, err := objs.Get(ctx, res.Segment.StatsLog)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.DecodeStats(data)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 4 || !st.MayContainInt(6) || st.PK.MinInt != 2 || st.PK.MaxInt != 6 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCompactEverythingDeleted writes nothing when no row survives.
func TestCompactEverythingDeleted(t *testing.T) {
	objs := objstore.NewMemory()
	coll := testCollection()
	s := New(Deps{Objects: objs, IDs: &seqIDs{next: 5000}})
	a := putSegment(t, objs, coll, 1, []int64{1, 2}, []uint64{10, 11}, []string{"x", "y"})
	d := putDeltas(t, objs, 3, []int64{1, 2}, []uint64{50, 50})
	res, err := s.Compact(context.Background(), contract.CompactionTask{Collection: coll, Segments: []model.Segment{a},
		DeltaLogs: []model.DeltaLog{d}, TargetID: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.Segment.NumRows != 0 || len(res.Segment.Binlogs) != 0 || res.Deleted[1] != 2 {
		t.Fatalf("result %+v", res)
	}
	list, _ := objs.List(context.Background(), storage.InsertLogPrefix+"/")
	if len(list) != len(a.Binlogs) {
		t.Fatalf("%d insert logs, want only the source's %d", len(list), len(a.Binlogs))
	}
}

// TestCompactFillsAddedField fills a field a segment predates, and fails
// cleanly on a missing binlog of a field that cannot be filled.
func TestCompactFillsAddedField(t *testing.T) {
	objs := objstore.NewMemory()
	coll := testCollection()
	coll.Schema.Fields = append(coll.Schema.Fields, &schemapb.FieldSchema{FieldID: 103, Name: "extra", DataType: schemapb.DataType_Int64, Nullable: true,
		TypeParams: []*commonpb.KeyValuePair{}})
	s := New(Deps{Objects: objs, IDs: &seqIDs{next: 5000}})
	a := putSegment(t, objs, coll, 1, []int64{1, 2}, []uint64{10, 11}, []string{"x", "y"})
	res, err := s.Compact(context.Background(), contract.CompactionTask{Collection: coll, Segments: []model.Segment{a}, TargetID: 8})
	if err != nil {
		t.Fatal(err)
	}
	extra := readCol(t, objs, res.Segment.Binlogs[103])
	if extra.Len() != 2 || !extra.IsNull(0) {
		t.Fatalf("filled column: %d rows, null %v", extra.Len(), extra.IsNull(0))
	}
	delete(a.Binlogs, 101)
	if _, err := s.Compact(context.Background(), contract.CompactionTask{Collection: coll, Segments: []model.Segment{a}, TargetID: 9}); err == nil {
		t.Fatal("compaction of a segment missing a vector binlog succeeded")
	}
}
