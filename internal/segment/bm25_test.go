package segment

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

func tfRow(rng *rand.Rand, vocab, terms int) []byte {
	idx := rng.Perm(vocab)[:1+rng.IntN(terms)]
	slices.Sort(idx)
	var out []byte
	for _, t := range idx {
		out = binary.LittleEndian.AppendUint32(out, uint32(t))
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(1+rng.IntN(4))))
	}
	return out
}

// TestBM25MatchesSparseIndex checks that growing-segment BM25 brute force
// ranks and scores like the sparse inverted index over the same rows.
func TestBM25MatchesSparseIndex(t *testing.T) {
	if !slices.Contains(index.Types(), index.TypeSparseInv) {
		t.Skip("SPARSE_INVERTED_INDEX is not registered in internal/index yet")
	}
	rng := rand.New(rand.NewPCG(61, 62))
	const n = 400
	r := genRows(rng, schemapb.DataType_Int64, 0, n, 1)
	sp := r.cols[fSparse].(*column.SparseVector)
	for i := range sp.Rows {
		sp.Rows[i] = tfRow(rng, 50, 12)
	}
	g := newGrowingWith(t, schemapb.DataType_Int64, r)
	for _, params := range []map[string]string{nil, {"bm25_k1": "1.5", "bm25_b": "0.5"}, {"bm25_avgdl": "7"}} {
		idx, err := index.New(index.Spec{Type: index.TypeSparseInv, Metric: index.BM25, Params: params})
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.Build(context.Background(), index.Dataset{Sparse: sp.Rows}); err != nil {
			t.Fatal(err)
		}
		qs := index.Dataset{Sparse: [][]byte{tfRow(rng, 50, 4), tfRow(rng, 50, 4)}}
		want, err := idx.Search(context.Background(), qs, index.SearchParams{K: 10})
		if err != nil {
			t.Fatal(err)
		}
		got, err := g.Search(context.Background(), &SearchRequest{FieldID: fSparse, Queries: qs, Metric: index.BM25,
			Params: index.SearchParams{K: 10, Params: params}, MVCCTs: 1})
		if err != nil {
			t.Fatal(err)
		}
		for i := range want.Labels {
			if math.Abs(float64(want.Distances[i]-got.Scores[i])) > 1e-4*math.Max(1, math.Abs(float64(want.Distances[i]))) {
				t.Fatalf("params %v slot %d: score %g (row %d), index %g (row %d)", params, i, got.Scores[i], got.Offsets[i], want.Distances[i], want.Labels[i])
			}
		}
	}
	if _, err := g.Search(context.Background(), &SearchRequest{FieldID: fSparse, Queries: index.Dataset{Sparse: [][]byte{tfRow(rng, 50, 4)}}, Metric: index.BM25,
		Params: index.SearchParams{K: 10, Params: map[string]string{"bm25_k1": "x"}}, MVCCTs: 1}); !errors.Is(err, errs.ErrParameterInvalid) {
		t.Fatal("bm25_k1 out of range accepted")
	}
}

// TestBM25FallbackUsesIndexParams: a sealed segment that scans instead of
// asking its BM25 index (few rows pass the filter) scores with the index's
// build parameters.
func TestBM25FallbackUsesIndexParams(t *testing.T) {
	if !slices.Contains(index.Types(), index.TypeSparseInv) {
		t.Skip("SPARSE_INVERTED_INDEX is not registered in internal/index yet")
	}
	rng := rand.New(rand.NewPCG(63, 64))
	const n = 400
	r := genRows(rng, schemapb.DataType_Int64, 0, n, 1)
	sp := r.cols[fSparse].(*column.SparseVector)
	for i := range sp.Rows {
		sp.Rows[i] = tfRow(rng, 30, 12)
	}
	ages := r.cols[fAge].(*column.Scalar[int64]).Data
	idx, err := index.New(index.Spec{Type: index.TypeSparseInv, Metric: index.BM25, Params: map[string]string{"bm25_k1": "1.9", "bm25_b": "0.3"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.Build(context.Background(), index.Dataset{Sparse: sp.Rows}); err != nil {
		t.Fatal(err)
	}
	s := newSealedWith(t, schemapb.DataType_Int64, r, map[int64]index.Index{fSparse: idx})
	qs := index.Dataset{Sparse: [][]byte{tfRow(rng, 30, 4)}}
	skip := bitset.New(n)
	for i, a := range ages {
		skip.SetTo(i, a >= 20)
	}
	want, err := idx.Search(context.Background(), qs, index.SearchParams{K: 5, Filter: skip})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Search(context.Background(), &SearchRequest{FieldID: fSparse, Queries: qs, Params: index.SearchParams{K: 5},
		Filter: &ageFilter{keep: func(a int64) bool { return a < 20 }}, MVCCTs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got.Metric != index.BM25 {
		t.Fatalf("metric %s", got.Metric)
	}
	for i := range want.Labels {
		if math.Abs(float64(want.Distances[i]-got.Scores[i])) > 1e-4*math.Max(1, math.Abs(float64(want.Distances[i]))) {
			t.Fatalf("slot %d: scan score %g, index %g", i, got.Scores[i], want.Distances[i])
		}
	}
}
