package indexnode

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/scalarindex"
	"github.com/milvago/milvago/internal/storage"
)

// buildScalar builds a scalar index (INVERTED, BITMAP, STL_SORT, TRIE,
// NGRAM, JSON path indexes) from the field's binlog: the same task, the
// same file naming and the same generic index envelope as vector builds.
func (s *Server) buildScalar(ctx context.Context, t contract.BuildTask) (contract.BuildResult, error) {
	start := time.Now()
	if t.BinlogPath == "" {
		return contract.BuildResult{}, fmt.Errorf("indexnode: build %d: scalar index of a segment without the field's binlog", t.BuildID)
	}
	m, err := s.objects.Map(ctx, t.BinlogPath)
	if err != nil {
		return contract.BuildResult{}, fmt.Errorf("indexnode: map %s: %w", t.BinlogPath, err)
	}
	defer m.Close()
	col, err := storage.DecodeColumn(m.Bytes())
	if err != nil {
		return contract.BuildResult{}, fmt.Errorf("indexnode: decode %s: %w", t.BinlogPath, err)
	}
	params := maps.Clone(t.Spec.Params)
	if params == nil {
		params = map[string]string{}
	}
	params[scalarindex.ParamIndexType] = t.Spec.Type
	idx, err := scalarindex.Build(ctx, params, col)
	if err != nil {
		return contract.BuildResult{}, fmt.Errorf("indexnode: build %d: %w", t.BuildID, err)
	}
	r, err := s.writeIndexFile(ctx, t.BuildID, idx)
	if err != nil {
		return contract.BuildResult{}, err
	}
	r.NumRows, r.Took = int64(idx.Len()), time.Since(start)
	s.logger.Info("built scalar index", "build", t.BuildID, "type", t.Spec.Type, "rows", r.NumRows, "bytes", r.SizeBytes, "took", r.Took)
	return r, nil
}
