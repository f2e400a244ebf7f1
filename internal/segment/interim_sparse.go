package segment

import (
	"context"
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

// The interim index of a growing segment's sparse vector field (Milvus
// 2.6's SPARSE_INVERTED_INDEX_CC): an inverted index, term -> (row, value)
// postings in row order, extended one full chunk of interimChunkRows rows
// at a time in the background. A BM25 or IP search walks the postings of
// the query's terms only, accumulating each row's score in the query's
// term order with the scan's own formula (the scan's sparse inner product
// merges the two rows in ascending term order too), so scores and ranking
// are identical to the scan's; the rows not yet indexed are scanned. Under
// IP a row sharing no term with the query still scores 0, a hit for the
// scan: the best k of those (the first allowed rows, ties going to the
// smaller offset) complete the candidates.

// sparseInterim is the inverted index of one sparse field.
type sparseInterim struct {
	field    int64
	building atomic.Bool

	mu       sync.RWMutex
	on       bool // as interimIVF.on
	gen      int  // as interimIVF.gen
	postings map[uint32][]sparsePosting
	rows     int // rows [0, rows) are indexed; a multiple of interimChunkRows
	bytes    int64
}

type sparsePosting struct {
	row int32
	val float32
}

func (x *sparseInterim) due(n int) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.on && n-x.rows >= interimChunkRows
}

// setOn is interimIVF.setOn's.
func (x *sparseInterim) setOn(on bool) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.on == on {
		return false
	}
	x.on = on
	if !on {
		x.gen++
		x.postings, x.rows, x.bytes = map[uint32][]sparsePosting{}, 0, 0
	}
	return true
}

func (x *sparseInterim) size() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.bytes
}

// buildSparseInterim adds every full chunk of a growing segment's rows to
// x, one chunk per step, until done or ctx ends; a sealed segment's are
// indexed at once, every row (buildSealedSparseInterim).
func (c *core) buildSparseInterim(ctx context.Context, x *sparseInterim) {
	if c.sealed {
		c.buildSealedSparseInterim(ctx, x)
		return
	}
	for ctx.Err() == nil {
		s := c.snapshot()
		col, err := s.Column(x.field)
		if err != nil {
			return
		}
		sv, ok := col.(*column.SparseVector)
		if !ok {
			return
		}
		full := s.n / interimChunkRows * interimChunkRows
		x.mu.RLock()
		rows, gen, on := x.rows, x.gen, x.on
		x.mu.RUnlock()
		if !on || full <= rows {
			return
		}
		hi := min(rows+interimChunkRows, full)
		x.mu.Lock()
		if x.gen != gen {
			x.mu.Unlock()
			continue
		}
		for r := rows; r < hi; r++ {
			row := sv.Rows[r]
			for i := 0; i+8 <= len(row); i += 8 {
				d := binary.LittleEndian.Uint32(row[i:])
				v := math.Float32frombits(binary.LittleEndian.Uint32(row[i+4:]))
				l, had := x.postings[d]
				x.postings[d] = append(l, sparsePosting{row: int32(r), val: v})
				x.bytes += 8
				if !had {
					x.bytes += 48
				}
			}
		}
		x.rows = hi
		x.mu.Unlock()
	}
}

// buildSealedSparseInterim builds x over every row of a sealed segment at
// once: a first pass counts each term's postings, so that all of them
// live in one array, each term's in a contiguous run (no growing slices:
// on 1M rows several times faster than appending chunk by chunk). The
// index is published whole; a build stopped by ctx publishes nothing, and
// the segment is scanned.
func (c *core) buildSealedSparseInterim(ctx context.Context, x *sparseInterim) {
	s := c.snapshot()
	col, err := s.Column(x.field)
	if err != nil {
		return
	}
	sv, ok := col.(*column.SparseVector)
	if !ok {
		return
	}
	n := min(s.n, len(sv.Rows))
	counts := map[uint32]int32{}
	total := 0
	for r := range n {
		if r%interimChunkRows == 0 && ctx.Err() != nil {
			return
		}
		row := sv.Rows[r]
		for i := 0; i+8 <= len(row); i += 8 {
			counts[binary.LittleEndian.Uint32(row[i:])]++
		}
		total += len(row) / 8
	}
	all := make([]sparsePosting, total)
	postings := make(map[uint32][]sparsePosting, len(counts))
	at := 0
	for d, cnt := range counts {
		postings[d] = all[at : at : at+int(cnt)]
		at += int(cnt)
	}
	for r := range n {
		if r%interimChunkRows == 0 && ctx.Err() != nil {
			return
		}
		row := sv.Rows[r]
		for i := 0; i+8 <= len(row); i += 8 {
			d := binary.LittleEndian.Uint32(row[i:])
			postings[d] = append(postings[d], sparsePosting{row: int32(r), val: math.Float32frombits(binary.LittleEndian.Uint32(row[i+4:]))})
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.on {
		return
	}
	x.postings, x.rows, x.bytes = postings, n, int64(total)*8+int64(len(postings))*48
}

// searchSparseInterim answers a plain top-k or range BM25 or IP search of a
// growing or sealed segment's sparse field from its inverted index and a scan of the
// rows it does not hold. It reports false, doing nothing, where it does
// not apply.
func (c *core) searchSparseInterim(ctx context.Context, s *snapshot, fi *fieldInfo, metric index.Metric, win index.RangeWindow, req *SearchRequest, allowed *bitset.Set, res *SearchResult) (bool, error) {
	if c.interim == nil || req.Exact || req.After != nil || (metric != index.BM25 && metric != index.IP) || !interimApplies(req.IndexType) {
		return false, nil
	}
	x := c.interim.sparse[fi.id]
	if x == nil {
		return false, nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	rows := min(x.rows, s.n/64*64)
	if rows == 0 {
		return false, nil
	}
	b, err := c.newScan(s, fi, metric, win, req.Queries, req.Params.Params, allowed)
	if err != nil {
		return false, err
	}
	nq, k := res.NQ, res.K
	tailKeys, tailOffs, err := c.scanTail(ctx, b, allowed, rows, nq, k)
	if err != nil {
		return false, err
	}
	// Each row's running sum: in float64 for BM25 (as bm25Params.score),
	// in float32 for IP (as sparseDot).
	p := b.bm25 // nil under IP
	var acc []float64
	var ip []float32
	if p == nil {
		ip = make([]float32, rows)
	} else {
		acc = make([]float64, rows)
	}
	seen := bitset.New(rows)
	var touched []int32
	for q := range nq {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		col := newCollector(k)
		for i := q * k; i < (q+1)*k && tailOffs[i] >= 0; i++ {
			col.push(tailKeys[i], tailOffs[i])
		}
		qv := b.queries.Sparse[q]
		// The query's terms in its (ascending) order: each row's sum is
		// taken in the same order as the scan's merge, so it is the same.
		for i := 0; i+8 <= len(qv); i += 8 {
			d := binary.LittleEndian.Uint32(qv[i:])
			wq := math.Float32frombits(binary.LittleEndian.Uint32(qv[i+4:]))
			w := float64(wq)
			for _, pst := range x.postings[d] {
				r := int(pst.row)
				if r >= rows || !allowed.Test(r) {
					continue
				}
				if !seen.Test(r) {
					seen.Set(r)
					touched = append(touched, pst.row)
					if p == nil {
						ip[r] = 0
					} else {
						acc[r] = 0
					}
				}
				if p == nil { // as sparseDot
					ip[r] += float32(wq * pst.val)
					continue
				}
				tf := float64(pst.val)
				norm := p.k1 * (1 - p.b + p.b*float64(b.norms[r])/p.avgdl)
				acc[r] += w * tf * (p.k1 + 1) / (tf + norm)
			}
		}
		for _, r32 := range touched {
			r := int(r32)
			var kv float32
			if p == nil {
				kv = -ip[r]
			} else {
				kv = -float32(acc[r])
			}
			if !col.accepts(kv) || !b.win.Keep(kv) {
				continue
			}
			col.push(kv, int64(r))
		}
		if p == nil {
			// The rows sharing no term score 0 (the scan's key -0); in
			// ascending order, until one would not enter.
			var zero float32
			kv := -zero
			if b.win.Keep(kv) {
				for r := allowed.NextSet(0); r >= 0 && r < rows; r = allowed.NextSet(r + 1) {
					if seen.Test(r) {
						continue
					}
					if !col.takes(kv, int64(r)) {
						break
					}
					col.push(kv, int64(r))
				}
			}
		}
		for _, r32 := range touched {
			seen.Clear(int(r32))
		}
		touched = touched[:0]
		col.drain(res.Scores[q*k:(q+1)*k], res.Offsets[q*k:(q+1)*k])
	}
	for i, off := range res.Offsets {
		if off >= 0 {
			res.Scores[i] = -res.Scores[i]
		}
	}
	return true, nil
}

// newSparseInterims returns the inverted indexes of the layout's sparse
// fields.
func newSparseInterims(l *layout) map[int64]*sparseInterim {
	out := map[int64]*sparseInterim{}
	for _, fi := range l.order {
		if fi.typ == schemapb.DataType_SparseFloatVector {
			out[fi.id] = &sparseInterim{field: fi.id, postings: map[uint32][]sparsePosting{}}
		}
	}
	return out
}
