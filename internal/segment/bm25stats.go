package segment

import (
	"context"
	"fmt"
	"sync"

	"github.com/milvago/milvago/internal/bm25"
	"github.com/milvago/milvago/internal/column"
)

// bm25Totals holds, per sparse field, the BM25 statistics of the first n
// physical rows (deleted ones included), extended as a growing segment
// grows: row count, total tokens and rows per term.
type bm25Totals struct {
	mu     sync.Mutex
	fields map[int64]*bm25Total
}

type bm25Total struct {
	n      int
	tokens float64
	df     map[uint32]int64
}

// BM25Stats returns the BM25 statistics of the rows of a sparse
// term-frequency field that a read at mvccTs sees (inserted by then and
// not deleted): their number, their total tokens and, for each of terms,
// how many hold it. The query node sums them over a shard's segments to
// weight a full-text query (Milvus's IDF oracle).
func (c *core) BM25Stats(ctx context.Context, fieldID int64, mvccTs uint64, terms []uint32) (bm25.Stats, error) {
	s := c.snapshot()
	col, err := s.Column(fieldID)
	if err != nil {
		return bm25.Stats{}, err
	}
	sp, ok := col.(*column.SparseVector)
	if !ok {
		return bm25.Stats{}, fmt.Errorf("segment %d: field %d is not a sparse vector field", c.id, fieldID)
	}
	norms := c.norms[fieldID].upTo(col, s.n)
	out := bm25.Stats{DF: make(map[uint32]int64, len(terms))}

	c.bm25.mu.Lock()
	if c.bm25.fields == nil {
		c.bm25.fields = map[int64]*bm25Total{}
	}
	t := c.bm25.fields[fieldID]
	if t == nil {
		t = &bm25Total{df: map[uint32]int64{}}
		c.bm25.fields[fieldID] = t
	}
	for i := t.n; i < s.n; i++ {
		t.tokens += float64(norms[i])
		bm25.Each(sp.Rows[i], func(idx uint32, _ float32) { t.df[idx]++ })
	}
	t.n = max(t.n, s.n)
	// A snapshot taken before a concurrent extension sees fewer rows:
	// totals past it are subtracted below like invisible rows.
	n := t.n
	out.Rows, out.Tokens = int64(t.n), t.tokens
	for _, term := range terms {
		out.DF[term] = t.df[term]
	}
	c.bm25.mu.Unlock()
	if n > s.n {
		return c.bm25StatsSlow(ctx, sp, norms, s.n, mvccTs, terms)
	}

	vis := c.visible(s.n, mvccTs)
	if vis.Count() == s.n {
		return out, nil
	}
	want := make(map[uint32]bool, len(terms))
	for _, term := range terms {
		want[term] = true
	}
	for i := 0; i < s.n; i++ {
		if vis.Test(i) {
			continue
		}
		out.Rows--
		out.Tokens -= float64(norms[i])
		bm25.Each(sp.Rows[i], func(idx uint32, _ float32) {
			if want[idx] {
				out.DF[idx]--
			}
		})
	}
	return out, ctx.Err()
}

// bm25StatsSlow counts the visible rows among the first n directly.
func (c *core) bm25StatsSlow(ctx context.Context, sp *column.SparseVector, norms []float32, n int, mvccTs uint64, terms []uint32) (bm25.Stats, error) {
	out := bm25.Stats{DF: make(map[uint32]int64, len(terms))}
	want := make(map[uint32]bool, len(terms))
	for _, term := range terms {
		want[term] = true
		out.DF[term] = 0
	}
	vis := c.visible(n, mvccTs)
	for i := 0; i < n; i++ {
		if !vis.Test(i) {
			continue
		}
		out.Rows++
		out.Tokens += float64(norms[i])
		bm25.Each(sp.Rows[i], func(idx uint32, _ float32) {
			if want[idx] {
				out.DF[idx]++
			}
		})
	}
	return out, ctx.Err()
}
