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
		b, err := s.objects.Get(ctx, path)
		if err != nil {
			return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: read %s: %w", t.TaskID, path, err)
		}
		col, err := storage.DecodeColumn(b)
		if err != nil {
			return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: decode %s: %w", t.TaskID, path, err)
		}
		vec, ok := col.(*column.FloatVector)
		if !ok || vec.Dim != t.Dim {
			return contract.AnalyzeResult{}, fmt.Errorf("indexnode: analyze %d: %s holds %s, not FloatVector of dimension %d",
				t.TaskID, path, col.DataType(), t.Dim)
		}
		if vec.Valid == nil {
			points = append(points, vec.Data...)
			continue
		}
		for i := range vec.Len() {
			if !vec.IsNull(i) {
				points = append(points, vec.Row(i)...)
			}
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
