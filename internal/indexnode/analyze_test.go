package indexnode

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvago/milvago/internal/analysis"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

// TestAnalyzeWritesCentroids analyzes two segments, one with null rows
// and one that predates the field: the centroids file holds the centroids
// analysis.Params trains over exactly the non-null rows, in segment
// order, and a second run writes the same file.
func TestAnalyzeWritesCentroids(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMemory()
	rng := rand.New(rand.NewPCG(3, 4))
	const dim = 8
	vecs := func(n int, centre float32) []float32 {
		out := make([]float32, n*dim)
		for i := range out {
			out[i] = centre + rng.Float32()
		}
		return out
	}
	a := vecs(300, 0)
	b := &column.FloatVector{Dim: dim, Data: vecs(200, 50), Valid: make([]bool, 200)}
	var points []float32
	points = append(points, a...)
	for i := range b.Valid {
		b.Valid[i] = i%4 != 0
		if b.Valid[i] {
			points = append(points, b.Row(i)...)
		} else {
			clear(b.Data[i*dim : (i+1)*dim])
		}
	}
	putColumn(t, store, "insert_log/1/2/3/101/4", &column.FloatVector{Dim: dim, Data: a})
	putColumn(t, store, "insert_log/1/2/5/101/6", b)
	task := contract.AnalyzeTask{TaskID: 77, FieldID: 101, Dim: dim, NumClusters: 4, TrainRatio: 0.8, Seed: 77,
		SegmentIDs: []int64{3, 8, 5}, BinlogPaths: []string{"insert_log/1/2/3/101/4", "", "insert_log/1/2/5/101/6"}}
	s := New(store, nil)
	r, err := s.Analyze(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	if r.CentroidsFile != storage.AnalyzeFilePath(77, storage.CentroidsFile) || r.NumCentroids != 4 || r.NumRows != int64(len(points)/dim) {
		t.Fatalf("result %+v", r)
	}
	data, err := store.Get(ctx, r.CentroidsFile)
	if err != nil {
		t.Fatal(err)
	}
	gotDim, got, err := storage.DecodeCentroids(data)
	if err != nil || gotDim != dim {
		t.Fatalf("decode: dim %d, %v", gotDim, err)
	}
	want, k, err := analysis.Params{NumClusters: 4, TrainRatio: 0.8, Seed: 77}.Train(ctx, points, dim)
	if err != nil || k != 4 {
		t.Fatalf("train: %d, %v", k, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("centroids differ from the analysis of the non-null rows")
	}
	// One offset mapping file per segment with a binlog: each row's
	// nearest centroid, none for a null row; none for the segment that
	// predates the field.
	if !slices.Equal(r.MappingFiles, []string{storage.OffsetMappingPath(77, 3), "", storage.OffsetMappingPath(77, 5)}) {
		t.Fatalf("mapping files %v", r.MappingFiles)
	}
	for i, rows := range []*column.FloatVector{{Dim: dim, Data: a}, nil, b} {
		if rows == nil {
			continue
		}
		mf, err := store.Get(ctx, r.MappingFiles[i])
		if err != nil {
			t.Fatal(err)
		}
		k, ids, err := storage.DecodeOffsetMapping(mf)
		if err != nil || k != 4 || len(ids) != rows.Len() {
			t.Fatalf("mapping %s: %d rows to %d centroids, %v", r.MappingFiles[i], len(ids), k, err)
		}
		for row, id := range ids {
			if rows.IsNull(row) {
				if id != storage.NoCentroid {
					t.Fatalf("null row %d mapped to %d", row, id)
				}
				continue
			}
			best, bestD := 0, float32(math.MaxFloat32)
			for c := range 4 {
				if d := distance.L2Sq(rows.Row(row), got[c*dim:(c+1)*dim]); d < bestD {
					best, bestD = c, d
				}
			}
			if int(id) != best {
				t.Fatalf("segment %d row %d mapped to %d, nearest %d", task.SegmentIDs[i], row, id, best)
			}
		}
	}
	if _, err := s.Analyze(ctx, task); err != nil {
		t.Fatal(err)
	}
	again, _ := store.Get(ctx, r.CentroidsFile)
	if !slices.Equal(again, data) {
		t.Fatal("a second run wrote another file")
	}
	// Not a FloatVector field of that dimension: an error, no file.
	bad := task
	bad.TaskID, bad.Dim = 78, 4
	if _, err := s.Analyze(ctx, bad); !errors.Is(err, errs.ErrParameterInvalid) {
		t.Fatalf("analysis with the wrong dimension: %v, want a permanent ErrParameterInvalid", err)
	}
	if files, _ := store.List(ctx, storage.AnalyzeFilePath(78, "")); len(files) != 0 {
		t.Fatalf("a failed analysis wrote %v", files)
	}
	// A missing binlog is Milvus's NoSuchKey, not retried either.
	bad.Dim, bad.BinlogPaths = dim, []string{"insert_log/1/2/3/101/4", "", "insert_log/gone"}
	if _, err := s.Analyze(ctx, bad); !errors.Is(err, errs.ErrIoKeyNotFound) {
		t.Fatalf("analysis of a missing binlog: %v, want ErrIoKeyNotFound", err)
	}
}
