package segment

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvago/milvago/internal/index"
)

// randIPRow is a sparse row of real-valued weights (some negative, so some
// rows score below the rows sharing no term), indices ascending.
func randIPRow(rng *rand.Rand, vocab, maxTerms int) []byte {
	row := randBM25Row(rng, vocab, maxTerms)
	for i := 0; i+8 <= len(row); i += 8 {
		binary.LittleEndian.PutUint32(row[i+4:], math.Float32bits(rng.Float32()*3-0.7))
	}
	return row
}

// TestSparseInterimIPEqualsBruteForce: IP searches of a growing segment's
// sparse field answered from its inverted interim index give exactly the
// scan's offsets and scores (an oracle: the scan), with a filter, deletes,
// MVCC and range windows, including the rows that share no term with the
// query (score 0) and a query sharing none with any row.
func TestSparseInterimIPEqualsBruteForce(t *testing.T) {
	const n, vocab = 7*1024 + 300, 400
	rng := rand.New(rand.NewPCG(31, 32))
	rows := make([][]byte, n)
	for i := range rows {
		rows[i] = randIPRow(rng, vocab, 10)
	}
	g, err := NewGrowingWithInterim(1, 1, sparseSchema(), DefaultInterimIndexConfig())
	if err != nil {
		t.Fatal(err)
	}
	indexAll(g)
	appendSparse(t, g, rows, 0, n/2, 100)
	appendSparse(t, g, rows, n/2, n, 105)
	g.waitInterim()
	x := g.interim.sparse[fSparse]
	if x.rows != n/interimChunkRows*interimChunkRows {
		t.Fatalf("sparse interim index holds %d rows", x.rows)
	}
	var del []int64
	var dts []uint64
	for i := 0; i < n; i += 11 {
		del, dts = append(del, int64(i)), append(dts, 110)
	}
	g.Delete(del, nil, dts)
	queries := make([][]byte, 10)
	for i := range queries {
		queries[i] = randIPRow(rng, vocab, 6)
	}
	// A term no row holds: every row scores 0.
	queries = append(queries, binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, vocab+5), math.Float32bits(1)))
	probe, err := g.Search(context.Background(), &SearchRequest{FieldID: fSparse, IndexType: "SPARSE_INVERTED_INDEX", Metric: index.IP, Exact: true,
		Queries: index.Dataset{Sparse: queries[:1]}, Params: index.SearchParams{K: 60}, MVCCTs: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		name   string
		filter Filter
		mvcc   uint64
		k      int
		params map[string]string
	}{
		{"plain", nil, 200, 10, nil},
		{"deep", nil, 200, 400, nil}, // past the rows sharing a term: the 0s fill in
		{"filter", &ageFilter{keep: func(a int64) bool { return a%4 != 1 }}, 200, 300, nil},
		{"mvcc", nil, 102, 50, nil},
		{"range", nil, 200, 20, map[string]string{"radius": fmt.Sprint(probe.Scores[59]), "range_filter": fmt.Sprint(probe.Scores[5])}},
		{"range with 0", nil, 200, 100, map[string]string{"radius": "-0.5", "range_filter": "1"}},
	} {
		req := &SearchRequest{FieldID: fSparse, IndexType: "SPARSE_INVERTED_INDEX", Metric: index.IP, Queries: index.Dataset{Sparse: queries},
			Params: index.SearchParams{K: v.k, Params: v.params}, Filter: v.filter, MVCCTs: v.mvcc}
		got, err := g.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		req.Exact = true
		want, err := g.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Offsets, want.Offsets) || !slices.Equal(got.Scores, want.Scores) {
			for i := range got.Offsets {
				if got.Offsets[i] != want.Offsets[i] || got.Scores[i] != want.Scores[i] {
					t.Fatalf("%s: hit %d (query %d): interim %d %v, scan %d %v", v.name, i, i/v.k, got.Offsets[i], got.Scores[i], want.Offsets[i], want.Scores[i])
				}
			}
		}
		if !slices.ContainsFunc(got.Offsets, func(o int64) bool { return o >= 0 }) {
			t.Fatalf("%s: no hits: a vacuous check", v.name)
		}
	}
	// The index is really what answers: emptied, the indexed rows score 0.
	x.mu.Lock()
	x.postings = map[uint32][]sparsePosting{}
	x.mu.Unlock()
	req := &SearchRequest{FieldID: fSparse, IndexType: "SPARSE_INVERTED_INDEX", Metric: index.IP, Queries: index.Dataset{Sparse: queries[:1]},
		Params: index.SearchParams{K: 10}, MVCCTs: 200}
	got, _ := g.Search(context.Background(), req)
	req.Exact = true
	want, _ := g.Search(context.Background(), req)
	if slices.Equal(got.Offsets, want.Offsets) {
		t.Fatal("emptied postings still give the scan's answer: the interim index was not used")
	}
}
