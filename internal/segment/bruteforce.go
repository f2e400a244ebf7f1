package segment

import (
	"context"
	"encoding/binary"
	"math"
	"math/bits"
	"runtime"
	"sort"
	"sync"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/index"
)

// Brute-force search: every allowed row is scored against every query.
// Scores become "smaller is better" keys (distances as they are, similarities
// negated) so that one collector and one range window serve every metric.

const (
	// bfRowsPerWorker is the number of allowed rows that justifies one more
	// goroutine for a single request.
	bfRowsPerWorker = 32 << 10
)

// bfScan is one brute-force search over a snapshot.
type bfScan struct {
	metric  index.Metric
	col     column.Column // a growing segment's fixed-width vectors are a *column.Chunked
	shape   column.Column // col, or its chunks' empty prototype: the concrete type and dimension
	norms   []float32     // COSINE over float-like vectors: row norms
	queries index.Dataset
	qf      []float32 // float queries, unit length for COSINE
	dim     int
	win     index.RangeWindow
	allowed *bitset.Set
	bm25    *bm25Params // BM25 only; norms then holds document lengths
}

// run fills res (nq*k slots) with the best allowed rows of each query.
func (b *bfScan) run(ctx context.Context, nq, k int, offs []int64, keys []float32) error {
	words := len(b.allowed.Words())
	workers := min(runtime.GOMAXPROCS(0), b.allowed.Count()*nq/bfRowsPerWorker)
	if workers <= 1 {
		cols := make([]*collector, nq)
		for q := range cols {
			cols[q] = newCollector(k)
		}
		if err := b.scan(ctx, 0, words, cols); err != nil {
			return err
		}
		for q, c := range cols {
			c.drain(keys[q*k:(q+1)*k], offs[q*k:(q+1)*k])
		}
		return nil
	}
	// Split the rows into contiguous word ranges, one per worker, each with
	// its own collectors; then merge.
	parts := make([][]*collector, workers)
	errsOut := make([]error, workers)
	var wg sync.WaitGroup
	step := (words + workers - 1) / workers
	for w := range workers {
		cols := make([]*collector, nq)
		for q := range cols {
			cols[q] = newCollector(k)
		}
		parts[w] = cols
		lo, hi := w*step, min((w+1)*step, words)
		wg.Go(func() { errsOut[w] = b.scan(ctx, lo, hi, cols) })
	}
	wg.Wait()
	for _, err := range errsOut {
		if err != nil {
			return err
		}
	}
	final := newCollector(k)
	for q := range nq {
		final.reset()
		for _, cols := range parts {
			c := cols[q]
			for i := range c.keys {
				final.push(c.keys[i], c.offs[i])
			}
		}
		final.drain(keys[q*k:(q+1)*k], offs[q*k:(q+1)*k])
	}
	return nil
}

// block is a run of allowed rows scored against every query before moving
// on, so that the rows are read from memory once per request rather than
// once per query.
type block struct {
	rows []int     // allowed row offsets
	conv []float32 // float16, bfloat16, int8 rows converted: len(rows)*dim
	// The run of contiguous storage being scored (setRun): the chunk of a
	// growing segment's vectors, or the whole column; row i is row
	// i-base of fv or bv (whichever the column's type is).
	fv   *column.FloatVector
	bv   *column.ByteVector
	base int
}

// setRun points the block at the storage of row rows[s] and returns the
// end of the rows there: rows[s:e] are read through fv or bv.
func (blk *block) setRun(col column.Column, s int) int {
	run, base, end := vectorRun(col, blk.rows[s])
	blk.base = base
	blk.fv, _ = run.(*column.FloatVector)
	blk.bv, _ = run.(*column.ByteVector)
	return s + sort.SearchInts(blk.rows[s:], end)
}

// vectorRun returns the contiguous storage holding row i of a vector
// column: a growing segment's chunk (column.Chunked), else the column
// itself. Row r of col, for r in [base, end), is row r-base of run.
func vectorRun(col column.Column, i int) (run column.Column, base, end int) {
	if ch, ok := col.(*column.Chunked); ok {
		return ch.Run(i)
	}
	return col, 0, col.Len()
}

// vectorShape is col, or for a chunked column its chunks' empty
// prototype: what a type switch on the vector type needs.
func vectorShape(col column.Column) column.Column {
	if ch, ok := col.(*column.Chunked); ok {
		return ch.Proto()
	}
	return col
}

// blockWords is how many bitset words (64 rows each) make a block: about
// 256 KiB of vector data, to stay in L2 while every query passes over it.
func (b *bfScan) blockWords() int {
	rowBytes := 64 // sparse rows: a guess
	switch col := b.shape.(type) {
	case *column.FloatVector:
		rowBytes = 4 * col.Dim
	case *column.ByteVector:
		rowBytes = 4 * col.Dim // converted to float32
		if col.Type == binaryVector {
			rowBytes = col.RowBytes()
		}
	}
	return min(max((256<<10)/rowBytes/64, 1), 16)
}

// scan scores the allowed rows in bitset words [wlo, whi) against every
// query, block by block.
func (b *bfScan) scan(ctx context.Context, wlo, whi int, cols []*collector) error {
	words := b.allowed.Words()
	bw := b.blockWords()
	if b.dense() {
		// Float-like rows: each run of a block's rows is scored by the
		// row kernels in one call per query (rowScorer), not one call
		// and one closure per row.
		sc := newRowScorer(b.col, b.metric, b.dim, b.norms)
		for wb := wlo; wb < whi; wb += bw {
			if err := ctx.Err(); err != nil {
				return err
			}
			for wi := wb; wi < min(wb+bw, whi); wi++ {
				for w := words[wi]; w != 0; w &= w - 1 {
					sc.add(wi<<6|bits.TrailingZeros64(w), b.qf, cols, b.win)
				}
			}
			sc.collect(b.qf, cols, b.win)
		}
		return ctx.Err()
	}
	blk := &block{rows: make([]int, 0, bw*64)}
	keys := make([]func(j int) float32, len(cols))
	for q := range cols {
		keys[q] = b.keyFunc(q, blk)
	}
	for wb := wlo; wb < whi; wb += bw {
		if err := ctx.Err(); err != nil {
			return err
		}
		blk.rows = blk.rows[:0]
		for wi := wb; wi < min(wb+bw, whi); wi++ {
			for w := words[wi]; w != 0; w &= w - 1 {
				blk.rows = append(blk.rows, wi<<6|bits.TrailingZeros64(w))
			}
		}
		if len(blk.rows) == 0 {
			continue
		}
		b.runs(blk, func(s, e int) {
			for q, c := range cols {
				key := keys[q]
				for j := s; j < e; j++ {
					kv := key(j)
					if math.IsInf(float64(kv), 1) || !c.accepts(kv) || !b.win.Keep(kv) {
						continue
					}
					c.push(kv, int64(blk.rows[j]))
				}
			}
		})
	}
	return ctx.Err()
}

// dense reports whether the scan is of float, float16, bfloat16 or int8
// vectors under L2, IP or COSINE: what a rowScorer scores.
func (b *bfScan) dense() bool {
	switch col := b.shape.(type) {
	case *column.FloatVector:
	case *column.ByteVector:
		if col.Type == binaryVector {
			return false
		}
	default:
		return false
	}
	return b.qf != nil && (b.metric == index.L2 || b.metric == index.IP || b.metric == index.Cosine)
}

// runs calls score for each run of the block's rows held in one run of
// storage, rows[s:e], with the block pointed at that storage and the rows
// converted: one call unless the block crosses a chunk boundary of a
// growing segment's vectors.
func (b *bfScan) runs(blk *block, score func(s, e int)) {
	for s := 0; s < len(blk.rows); {
		e := blk.setRun(b.col, s)
		b.convert(blk, s, e)
		score(s, e)
		s = e
	}
}

// convert turns the block's float16, bfloat16 or int8 rows [s, e), in the
// current run, into float32s at the same places of blk.conv.
func (b *bfScan) convert(blk *block, s, e int) {
	col := blk.bv
	if col == nil || col.Type == binaryVector {
		return
	}
	need := len(blk.rows) * col.Dim
	if cap(blk.conv) < need {
		blk.conv = make([]float32, need, cap(blk.rows)*col.Dim)
	}
	blk.conv = blk.conv[:need]
	for j := s; j < e; j++ {
		convertRow(col, blk.rows[j]-blk.base, blk.conv[j*col.Dim:(j+1)*col.Dim])
	}
}

// keyFunc returns the key of the block's j-th row for query q, read from
// the block's current run.
func (b *bfScan) keyFunc(q int, blk *block) func(j int) float32 {
	switch col := b.shape.(type) {
	case *column.FloatVector:
		qv := b.qf[q*b.dim : (q+1)*b.dim]
		switch b.metric {
		case index.L2:
			return func(j int) float32 { return distance.L2Sq(qv, blk.fv.Row(blk.rows[j]-blk.base)) }
		case index.IP:
			return func(j int) float32 { return -distance.Dot(qv, blk.fv.Row(blk.rows[j]-blk.base)) }
		default: // COSINE
			return func(j int) float32 {
				i := blk.rows[j]
				return -cosine(distance.Dot(qv, blk.fv.Row(i-blk.base)), b.norms[i])
			}
		}
	case *column.ByteVector:
		if col.Type == binaryVector {
			w := col.RowBytes()
			qv := b.queries.Binary[q*w : (q+1)*w]
			if b.metric == index.Jaccard {
				return func(j int) float32 { return distance.Jaccard(qv, blk.bv.Row(blk.rows[j]-blk.base)) }
			}
			if b.metric == index.Substructure || b.metric == index.Superstructure {
				// Matching rows score 0; the others are never hits.
				return func(j int) float32 {
					if index.StructureMatch(b.metric, qv, blk.bv.Row(blk.rows[j]-blk.base)) {
						return 0
					}
					return float32(math.Inf(1))
				}
			}
			return func(j int) float32 { return float32(distance.Hamming(qv, blk.bv.Row(blk.rows[j]-blk.base))) }
		}
		d := b.dim
		qv := b.qf[q*d : (q+1)*d]
		switch b.metric {
		case index.L2:
			return func(j int) float32 { return distance.L2Sq(qv, blk.conv[j*d:(j+1)*d]) }
		case index.IP:
			return func(j int) float32 { return -distance.Dot(qv, blk.conv[j*d:(j+1)*d]) }
		default: // COSINE
			return func(j int) float32 { return -cosine(distance.Dot(qv, blk.conv[j*d:(j+1)*d]), b.norms[blk.rows[j]]) }
		}
	case *column.SparseVector:
		qv := b.queries.Sparse[q]
		if b.bm25 != nil {
			return func(j int) float32 {
				i := blk.rows[j]
				s, ok := b.bm25.score(qv, col.Rows[i], b.norms[i])
				if !ok { // no query term: not a hit, as in the inverted index
					return float32(math.Inf(1))
				}
				return -s
			}
		}
		return func(j int) float32 { return -sparseDot(qv, col.Rows[blk.rows[j]]) }
	}
	panic("segment: brute force over a non-vector column") // checked by Search
}

// cosine turns the dot product of a unit query and a row into the cosine
// similarity, given the row's norm. A zero row scores 0.
func cosine(dot, norm float32) float32 {
	if norm == 0 {
		return 0
	}
	return dot / norm
}

// sparseDot is the inner product of two sparse rows in Milvus's format:
// little-endian (uint32 index, float32 value) pairs, indices ascending.
func sparseDot(a, b []byte) float32 {
	var s float32
	i, j := 0, 0
	for i+8 <= len(a) && j+8 <= len(b) {
		ia, ib := binary.LittleEndian.Uint32(a[i:]), binary.LittleEndian.Uint32(b[j:])
		switch {
		case ia < ib:
			i += 8
		case ia > ib:
			j += 8
		default:
			// Rounded before the sum (never fused): the interim index's
			// postings walk adds the same products in the same order.
			s += float32(math.Float32frombits(binary.LittleEndian.Uint32(a[i+4:])) * math.Float32frombits(binary.LittleEndian.Uint32(b[j+4:])))
			i += 8
			j += 8
		}
	}
	return s
}
