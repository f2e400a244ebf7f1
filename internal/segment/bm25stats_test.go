package segment

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bm25"
	"github.com/milvago/milvago/internal/column"
)

// TestBM25Stats: a segment's BM25 statistics count the rows a read sees:
// rows inserted later and rows deleted by then are left out, and the
// running totals extend as the segment grows.
func TestBM25Stats(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := genRows(rng, schemapb.DataType_Int64, 0, 300, 10)
	b := genRows(rng, schemapb.DataType_Int64, 300, 200, 20)
	for _, r := range []rows{a, b} {
		sp := r.cols[fSparse].(*column.SparseVector)
		for i := range sp.Rows {
			sp.Rows[i] = tfRow(rng, 40, 10)
		}
	}
	g := newGrowingWith(t, schemapb.DataType_Int64, a)
	terms := []uint32{0, 7, 39}
	want := func(parts []rows, dead map[int64]bool) bm25.Stats {
		st := bm25.Stats{DF: map[uint32]int64{}}
		for _, term := range terms {
			st.DF[term] = 0
		}
		pk := int64(0)
		for _, r := range parts {
			for _, row := range r.cols[fSparse].(*column.SparseVector).Rows {
				if !dead[pk] {
					st.Rows++
					bm25.Each(row, func(idx uint32, v float32) {
						st.Tokens += float64(v)
						if _, ok := st.DF[idx]; ok {
							st.DF[idx]++
						}
					})
				}
				pk++
			}
		}
		return st
	}
	check := func(label string, mvcc uint64, parts []rows, dead map[int64]bool) {
		t.Helper()
		got, err := g.BM25Stats(context.Background(), fSparse, mvcc, terms)
		if err != nil {
			t.Fatal(err)
		}
		w := want(parts, dead)
		if got.Rows != w.Rows || got.Tokens != w.Tokens {
			t.Fatalf("%s: rows %d tokens %g, want %d %g", label, got.Rows, got.Tokens, w.Rows, w.Tokens)
		}
		for _, term := range terms {
			if got.DF[term] != w.DF[term] {
				t.Fatalf("%s: df(%d) %d, want %d", label, term, got.DF[term], w.DF[term])
			}
		}
	}
	check("first batch", 15, []rows{a}, nil)
	if err := g.Append(b.ts, b.cols); err != nil {
		t.Fatal(err)
	}
	check("before the second batch's timestamp", 15, []rows{a}, nil)
	check("both batches", 25, []rows{a, b}, nil)
	dead := map[int64]bool{}
	var pks []int64
	var ts []uint64
	for pk := int64(0); pk < 500; pk += 4 {
		dead[pk] = true
		pks = append(pks, pk)
		ts = append(ts, 30)
	}
	g.Delete(pks, nil, ts)
	check("before the deletes", 25, []rows{a, b}, nil)
	check("after the deletes", 35, []rows{a, b}, dead)
}
