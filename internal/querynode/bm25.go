package querynode

import (
	"context"
	"fmt"
	"maps"
	"strconv"

	"github.com/milvago/milvago/internal/bm25"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/segment"
)

// bm25Statser is what a segment offers the shard's BM25 statistics.
type bm25Statser interface {
	BM25Stats(ctx context.Context, fieldID int64, mvccTs uint64, terms []uint32) (bm25.Stats, error)
}

// weightBM25 turns the term-frequency queries of a search against a BM25
// function's output field into BM25 weights (term frequency times IDF)
// from the statistics of every row of the shard that the read sees, and
// sets bm25_avgdl, as Milvus's delegator (buildBM25IDF) does with its IDF
// oracle. It returns false when the shard has no rows or no tokens:
// Milvus then answers with no hits.
func (dl *delegator) weightBM25(ctx context.Context, sreq *segment.SearchRequest) (bool, error) {
	all := dl.snapshot(nil, false)
	defer all.release()
	terms := bm25.Terms(sreq.Queries.Sparse)
	var st bm25.Stats
	for _, s := range all.segs {
		ss, ok := s.(bm25Statser)
		if !ok {
			return false, fmt.Errorf("segment %d keeps no BM25 statistics", s.ID())
		}
		part, err := ss.BM25Stats(ctx, sreq.FieldID, sreq.MVCCTs, terms)
		if err != nil {
			return false, fmt.Errorf("BM25 statistics of segment %d: %w", s.ID(), err)
		}
		st.Add(part)
	}
	avgdl := st.Avgdl()
	if avgdl <= 0 {
		return false, nil
	}
	weighted := make([][]byte, len(sreq.Queries.Sparse))
	for i, q := range sreq.Queries.Sparse {
		weighted[i] = st.Weights(q)
	}
	sreq.Queries = index.Dataset{Sparse: weighted}
	sreq.Metric = index.BM25
	params := maps.Clone(sreq.Params.Params)
	if params == nil {
		params = map[string]string{}
	}
	params["bm25_avgdl"] = strconv.FormatFloat(avgdl, 'g', -1, 64)
	sreq.Params.Params = params
	return true, nil
}
