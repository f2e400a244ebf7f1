package indexnode

import (
	"context"
	"fmt"
	"time"

	"github.com/milvago/milvago/internal/analysis"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/storage"
)

// Analyze runs an analyze task (Milvus's index node analyze task): it
// reads the task's field from every segment's insert binlog, trains the
// centroids over the rows whose key is not null (analysis.Params: k-means++
// and Lloyd's iterations on a sample) and writes them to the object store
// as the task's centroids file (storage.EncodeCentroids), which the
// vector clustering compaction reads. Run again, it writes the same file.
func (s *Server) Analyze(ctx context.Context, t contract.AnalyzeTask) (contract.AnalyzeResult, error) {
	start := time.Now()
	if t.Dim <= 0 {
		return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: field %d has dimension %d", t.TaskID, t.FieldID, t.Dim)
	}
	var points []float32
	for _, path := range t.BinlogPaths {
		if path == "" {
			continue // the segment predates the field: every row null
		}
		if err := s.appendRows(ctx, t, path, &points); err != nil {
			return contract.AnalyzeResult{}, err
		}
	}
	p := analysis.Params{NumClusters: t.NumClusters, TrainRatio: t.TrainRatio, Seed: t.Seed}
	cent, k, err := p.Train(ctx, points, t.Dim)
	if err != nil {
		return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: k-means of %d rows into %d clusters: %w",
			t.TaskID, len(points)/t.Dim, k, err)
	}
	path := storage.AnalyzeFilePath(t.TaskID, storage.CentroidsFile)
	if err := s.objects.Put(ctx, path, storage.EncodeCentroids(t.Dim, cent)); err != nil {
		return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: write %s: %w", t.TaskID, path, err)
	}
	r := contract.AnalyzeResult{CentroidsFile: path, NumCentroids: int64(k), NumRows: int64(len(points) / t.Dim), Took: time.Since(start)}
	s.logger.Info("analyzed", "task", t.TaskID, "field", t.FieldID, "rows", r.NumRows, "centroids", k, "took", r.Took)
	return r, nil
}

// appendRows appends the non-null rows of the key binlog at path to
// points. The binlog is mapped, not read: only its rows are copied.
func (s *Server) appendRows(ctx context.Context, t contract.AnalyzeTask, path string, points *[]float32) error {
	m, err := s.objects.Map(ctx, path)
	if err != nil {
		return fmt.Errorf("indexnode: analyze %d: map %s: %w", t.TaskID, path, err)
	}
	defer m.Close()
	col, err := storage.DecodeColumn(m.Bytes())
	if err != nil {
		return fmt.Errorf("indexnode: analyze %d: decode %s: %w", t.TaskID, path, err)
	}
	vec, ok := col.(*column.FloatVector)
	if !ok || vec.Dim != t.Dim {
		return fmt.Errorf("indexnode: analyze %d: %s holds %s, not FloatVector of dimension %d", t.TaskID, path, col.DataType(), t.Dim)
	}
	if vec.Valid == nil {
		*points = append(*points, vec.Data...)
		return nil
	}
	for i := range vec.Len() {
		if !vec.IsNull(i) {
			*points = append(*points, vec.Row(i)...)
		}
	}
	return nil
}
