package segment

import (
	"math"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/index"
)

// Scoring rows read in place from a dense vector column: the interim
// index's probes (rows of the probed lists, scattered over the segment's
// chunks) and the brute-force scan's blocks. Both score a batch of rows of
// one run of storage (a growing segment's chunk, or a sealed segment's
// column) with one call of the row kernels (distance.L2SqRows / DotRows,
// bit for bit the single-row kernels), and prefetch the rows a few steps
// ahead: a probe's rows are 512 bytes (at dim 128) apart by kilobytes, a
// stride the hardware prefetcher does not follow, so reading them one at a
// time waited a memory latency per row (task interim12b: 78% of a probe's
// time sat in the kernel's first loads).

const (
	// scoreGroup is how many rows one row-kernel call scores.
	scoreGroup = 8
	// prefetchRows is how far ahead of the rows being scored their
	// successors are prefetched: about 8 KiB in flight at dim 128, enough
	// to cover a memory latency, far below L1.
	prefetchRows = 16
	// scoreBatch bounds a batch (rowScorer.add flushes at it).
	scoreBatch = 512
)

// rowScorer scores batches of rows of one run of a dense vector column
// against one query at a time. Float rows are read in place; float16,
// bfloat16 and int8 rows are converted into a buffer of its own first, as
// the scan converts them. One scorer per goroutine.
type rowScorer struct {
	col    column.Column
	metric index.Metric // L2, IP or COSINE
	dim    int
	norms  []float32 // COSINE: the rows' norms, by row number

	// The current run: rows [base, end) are rows [0, end-base) of fv or bv.
	fv        *column.FloatVector
	bv        *column.ByteVector
	base, end int

	ids  []uint32  // the batch: rows relative to base, ascending
	keys []float32 // their keys (score)
	conv []float32 // converted rows of the batch (bv only)
	seq  []uint32  // 0, 1, 2, ...: the converted rows' places in conv
}

func newRowScorer(col column.Column, metric index.Metric, dim int, norms []float32) *rowScorer {
	return &rowScorer{col: col, metric: metric, dim: dim, norms: norms,
		ids: make([]uint32, 0, scoreBatch), keys: make([]float32, scoreBatch)}
}

// in reports whether row r is in the current run.
func (sc *rowScorer) in(r int) bool { return r >= sc.base && r < sc.end }

// setRun points the scorer at the run holding row r; the batch must be
// empty.
func (sc *rowScorer) setRun(r int) {
	run, base, end := vectorRun(sc.col, r)
	sc.fv, _ = run.(*column.FloatVector)
	sc.bv, _ = run.(*column.ByteVector)
	sc.base, sc.end = base, end
}

// score computes the keys (smaller is better: L2 distance, negated inner
// product or cosine) of the batch's rows against query q, the same values
// the scan's per-row kernels give, into sc.keys[:len(sc.ids)], and returns
// them.
func (sc *rowScorer) score(q []float32) []float32 {
	n := len(sc.ids)
	if cap(sc.keys) < n {
		sc.keys = make([]float32, n)
	}
	keys := sc.keys[:n]
	if n == 0 {
		return keys
	}
	d := sc.dim
	base, ids := sc.rows()
	l2 := sc.metric == index.L2
	// Rows close together (a scan's block, most rows allowed) stream in
	// through the hardware prefetcher; scattered ones (a probe's) are
	// prefetched here.
	pf := 0
	if sc.fv != nil && int(ids[n-1]-ids[0]) >= 2*n {
		pf = prefetchRows
	}
	for j := range min(pf, n) {
		o := int(ids[j]) * d
		distance.Prefetch(base[o : o+d])
	}
	for i := 0; i < n; i += scoreGroup {
		e := min(i+scoreGroup, n)
		for j := i + pf; j < min(e+pf, n); j++ {
			o := int(ids[j]) * d
			distance.Prefetch(base[o : o+d])
		}
		if l2 {
			distance.L2SqRows(q, base, ids[i:e], keys[i:e])
		} else {
			distance.DotRows(q, base, ids[i:e], keys[i:e])
		}
	}
	switch sc.metric {
	case index.L2:
	case index.IP:
		for j, k := range keys {
			keys[j] = -k
		}
	default: // COSINE
		for j, k := range keys {
			keys[j] = -cosine(k, sc.norms[sc.base+int(sc.ids[j])])
		}
	}
	return keys
}

// rows returns the slab the batch's rows are read from and their row
// numbers in it: the run's float data and the batch's ids, or, for
// float16, bfloat16 and int8 rows, the rows converted (once per batch,
// whatever the number of queries: convert) and 0..n-1.
func (sc *rowScorer) rows() ([]float32, []uint32) {
	if sc.fv != nil {
		return sc.fv.Data, sc.ids
	}
	return sc.conv, sc.seq[:len(sc.ids)]
}

// convert converts the batch's float16, bfloat16 or int8 rows (a no-op
// for float rows); call it once the batch is complete, before score.
func (sc *rowScorer) convert() {
	if sc.fv != nil {
		return
	}
	n, d := len(sc.ids), sc.dim
	if cap(sc.conv) < n*d {
		m := max(n, scoreBatch)
		sc.conv = make([]float32, m*d)
		sc.seq = make([]uint32, m)
		for j := range sc.seq {
			sc.seq[j] = uint32(j)
		}
	}
	sc.conv = sc.conv[:n*d]
	for j, id := range sc.ids {
		if p := j + prefetchRows; p < n {
			distance.PrefetchBytes(sc.bv.Row(int(sc.ids[p])))
		}
		convertRow(sc.bv, int(id), sc.conv[j*d:(j+1)*d])
	}
}

// collect scores the batch against the queries qs (len(cols) of them, one
// after the other), offers each row's key to the query's collector (unless
// the range window win excludes it, as the scan does) and empties the
// batch.
func (sc *rowScorer) collect(qs []float32, cols []*collector, win index.RangeWindow) {
	if len(sc.ids) == 0 {
		return
	}
	sc.convert()
	for q, col := range cols {
		for j, kv := range sc.score(qs[q*sc.dim : (q+1)*sc.dim]) {
			if math.IsInf(float64(kv), 1) || !col.accepts(kv) || !win.Keep(kv) {
				continue
			}
			col.push(kv, int64(sc.base+int(sc.ids[j])))
		}
	}
	sc.ids = sc.ids[:0]
}

// add appends row r to the batch, first scoring the batch into cols
// (collect) when r lies in another run or the batch is full.
func (sc *rowScorer) add(r int, qs []float32, cols []*collector, win index.RangeWindow) {
	if !sc.in(r) {
		sc.collect(qs, cols, win)
		sc.setRun(r)
	} else if len(sc.ids) == scoreBatch {
		sc.collect(qs, cols, win)
	}
	sc.ids = append(sc.ids, uint32(r-sc.base))
}

// reset empties the batch and forgets the run.
func (sc *rowScorer) reset() { sc.ids, sc.base, sc.end = sc.ids[:0], 0, 0 }
