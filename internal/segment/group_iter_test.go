package segment

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

// TestGroupByIndexWithoutIterators: Milvus groups through knowhere
// iterators, which IVF_PQ lacks; a grouping search on a segment indexed
// with IVF_PQ fails with Milvus's text, an ungrouped one works.
func TestGroupByIndexWithoutIterators(t *testing.T) {
	rng := rand.New(rand.NewPCG(75, 76))
	const n = 600
	r := genRows(rng, schemapb.DataType_Int64, 0, n, 1)
	vec := r.cols[fVec].(*column.FloatVector)
	idx, err := index.New(index.Spec{Type: index.TypeIVFPQ, Metric: index.L2, Dim: testDim, Params: map[string]string{"nlist": "8", "m": "4", "nbits": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Build(context.Background(), index.Dataset{Dim: testDim, Float: vec.Data}); err != nil {
		t.Fatal(err)
	}
	s := newSealedWith(t, schemapb.DataType_Int64, r, map[int64]index.Index{fVec: idx})
	req := &SearchRequest{FieldID: fVec, Queries: queriesFor(rng, fVec, 2), Params: index.SearchParams{K: 5}, MVCCTs: 1}
	if _, err := s.Search(context.Background(), req); err != nil {
		t.Fatalf("plain search: %v", err)
	}
	req.GroupBy = &GroupBy{FieldID: fAge}
	_, err = s.Search(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "Failed to group_by, current index:IVF_PQ doesn't support") {
		t.Fatalf("group by on IVF_PQ: %v", err)
	}
}
