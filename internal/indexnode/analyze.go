package indexnode

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/milvago/milvago/internal/analysis"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/storage"
)

// Analyze runs an analyze task (Milvus's index node analyze task): it
// reads the task's field from every segment's insert binlog, trains the
// centroids over the rows whose key is not null (analysis.Params: k-means++
// and Lloyd's iterations on a sample), maps every row of every segment to
// its nearest centroid, and writes to the object store, as Milvus's
// analysis does, one offset mapping file per segment
// (storage.EncodeOffsetMapping: the centroid of each row of the binlog,
// deleted rows included, as the binlog holds them) and the centroids file
// (storage.EncodeCentroids), which the vector clustering compaction reads.
// Run again, it writes the same files.
//
// Errors that running again cannot mend (bad input: a wrong dimension or
// type, a missing or corrupt binlog) wrap errs.ErrParameterInvalid or
// errs.ErrIoKeyNotFound, which the index coordinator does not retry.
func (s *Server) Analyze(ctx context.Context, t contract.AnalyzeTask) (contract.AnalyzeResult, error) {
	start := time.Now()
	if t.Dim <= 0 {
		return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: field %d has dimension %d: %w", t.TaskID, t.FieldID, t.Dim, errs.ErrParameterInvalid)
	}
	if len(t.SegmentIDs) != len(t.BinlogPaths) {
		return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: %d segment IDs for %d binlogs: %w",
			t.TaskID, len(t.SegmentIDs), len(t.BinlogPaths), errs.ErrParameterInvalid)
	}
	var points []float32
	segs := make([]segmentRows, len(t.BinlogPaths))
	for i, path := range t.BinlogPaths {
		if path == "" {
			continue // the segment predates the field: every row null
		}
		var err error
		if segs[i], err = s.appendRows(ctx, t, path, &points); err != nil {
			return contract.AnalyzeResult{}, err
		}
	}
	p := analysis.Params{NumClusters: t.NumClusters, TrainRatio: t.TrainRatio, Seed: t.Seed}
	n := len(points) / t.Dim
	cent, k, err := p.Train(ctx, points, t.Dim)
	if err != nil {
		return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: k-means of %d rows into %d clusters: %w",
			t.TaskID, n, k, err)
	}
	// Every non-null row to its nearest centroid (Milvus's centroid ID
	// mapping, which its compactor reads instead of computing it).
	assign := make([]int32, n)
	if k > 0 {
		index.AssignL2(points, t.Dim, cent, assign)
	}
	if err := ctx.Err(); err != nil {
		return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: %w", t.TaskID, err)
	}
	r := contract.AnalyzeResult{MappingFiles: make([]string, len(t.SegmentIDs))}
	next := 0 // the first row of the segment in assign
	for i, seg := range segs {
		if t.BinlogPaths[i] == "" {
			continue
		}
		ids := make([]uint32, seg.rows)
		for row := range ids {
			if seg.isNull(row) {
				ids[row] = storage.NoCentroid
				continue
			}
			ids[row] = uint32(assign[next])
			next++
		}
		path := storage.OffsetMappingPath(t.TaskID, t.SegmentIDs[i])
		if err := s.objects.Put(ctx, path, storage.EncodeOffsetMapping(k, ids)); err != nil {
			return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: write %s: %w", t.TaskID, path, err)
		}
		r.MappingFiles[i] = path
	}
	path := storage.AnalyzeFilePath(t.TaskID, storage.CentroidsFile)
	if err := s.objects.Put(ctx, path, storage.EncodeCentroids(t.Dim, cent)); err != nil {
		return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: write %s: %w", t.TaskID, path, err)
	}
	r.CentroidsFile, r.NumCentroids, r.NumRows, r.Took = path, int64(k), int64(n), time.Since(start)
	s.logger.Info("analyzed", "task", t.TaskID, "field", t.FieldID, "rows", r.NumRows, "centroids", k,
		"segments", len(t.SegmentIDs), "took", r.Took)
	return r, nil
}

// segmentRows is what the mapping needs of a segment's key column: its
// rows, and which are null (nil: none).
type segmentRows struct {
	rows  int
	nulls []bool
}

func (s segmentRows) isNull(row int) bool { return s.nulls != nil && s.nulls[row] }

// appendRows appends the non-null rows of the key binlog at path to
// points. The binlog is mapped, not read: only its rows are copied.
func (s *Server) appendRows(ctx context.Context, t contract.AnalyzeTask, path string, points *[]float32) (segmentRows, error) {
	m, err := s.objects.Map(ctx, path)
	if err != nil {
		if errors.Is(err, objstore.ErrNotFound) {
			// Milvus fails a task whose input is missing (NoSuchKey)
			// rather than retry it.
			err = fmt.Errorf("%w: %w", errs.ErrIoKeyNotFound, err)
		}
		return segmentRows{}, fmt.Errorf("indexnode: analyze %d: map %s: %w", t.TaskID, path, err)
	}
	defer m.Close()
	col, err := storage.DecodeColumn(m.Bytes())
	if err != nil {
		if errors.Is(err, storage.ErrCorrupt) {
			err = fmt.Errorf("%w: %w", errs.ErrParameterInvalid, err)
		}
		return segmentRows{}, fmt.Errorf("indexnode: analyze %d: decode %s: %w", t.TaskID, path, err)
	}
	vec, ok := col.(*column.FloatVector)
	if !ok || vec.Dim != t.Dim {
		return segmentRows{}, fmt.Errorf("indexnode: analyze %d: %s holds %s, not FloatVector of dimension %d: %w",
			t.TaskID, path, col.DataType(), t.Dim, errs.ErrParameterInvalid)
	}
	seg := segmentRows{rows: vec.Len()}
	if vec.Valid == nil {
		*points = append(*points, vec.Data...)
		return seg, nil
	}
	seg.nulls = make([]bool, vec.Len())
	for i := range vec.Len() {
		if vec.IsNull(i) {
			seg.nulls[i] = true
		} else {
			*points = append(*points, vec.Row(i)...)
		}
	}
	return seg, nil
}
