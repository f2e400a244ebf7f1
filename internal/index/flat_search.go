package index

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/distance"
)

// prepareQueries validates queries and search params for a float index of
// dimension dim over n rows and returns the queries ready to score:
// normalised for COSINE (a copy; the caller's slice is left alone).
func prepareQueries(m Metric, queries Dataset, dim int, p SearchParams, n int) ([]float32, int, error) {
	if p.K < 1 {
		return nil, 0, fmt.Errorf("topk %d should be >= 1: %w", p.K, ErrInvalidParam)
	}
	qdim, nq, err := floatRows(queries, dim)
	if err != nil {
		return nil, 0, fmt.Errorf("queries: %w", err)
	}
	_ = qdim
	if p.Filter != nil && p.Filter.Len() != n {
		return nil, 0, fmt.Errorf("filter of %d rows for an index of %d: %w", p.Filter.Len(), n, ErrInvalidParam)
	}
	qs := queries.Float
	if m == Cosine {
		qs = normalizedCopy(qs, dim)
	}
	return qs, nq, nil
}

// newResult allocates a result for nq queries of k slots, all empty.
func newResult(nq, k int) *Result {
	res := &Result{NQ: nq, K: k, Labels: make([]int64, nq*k), Distances: make([]float32, nq*k)}
	for i := range res.Labels {
		res.Labels[i] = -1
	}
	return res
}

// flatScan is exact search over a contiguous row-major slab of float vectors.
// It ranks by a smaller-is-better key: squared L2, or the negated inner
// product when ip is set (IP, and COSINE over unit vectors).
type flatScan struct {
	vecs   []float32
	dim, n int
	ip     bool
	filter *bitset.Set // rows to skip; nil: none
	win    RangeWindow
	rows   []uint32 // if non-nil, only these rows are candidates (ascending)
}

// flatBlockBytes is the row-block size that several queries share while it
// sits in L2 cache.
const flatBlockBytes = 128 << 10

// flatQueryGroup is how many queries scan one row block together.
const flatQueryGroup = 16

// search fills res with each query's best K rows. Queries are spread over
// GOMAXPROCS workers; a single query is split over row ranges instead.
func (s *flatScan) search(ctx context.Context, qs []float32, res *Result) error {
	nq := res.NQ
	workers := min(runtime.GOMAXPROCS(0), max(1, nq))
	if nq == 1 && s.n >= 32768 && workers == 1 {
		workers = min(runtime.GOMAXPROCS(0), 4)
	}
	if workers <= 1 || (nq < workers && s.n < 32768) {
		s.scanQueries(qs, 0, nq, 0, s.n, res)
		return ctx.Err()
	}
	var wg sync.WaitGroup
	if nq >= workers {
		per := (nq + workers - 1) / workers
		for lo := 0; lo < nq; lo += per {
			hi := min(nq, lo+per)
			wg.Go(func() { s.scanQueries(qs, lo, hi, 0, s.n, res) })
		}
		wg.Wait()
		return ctx.Err()
	}
	// Few queries, many rows: split rows, then merge the partial top-Ks.
	parts := make([]*Result, workers)
	per := (s.n + workers - 1) / workers
	for w := range workers {
		parts[w] = newResult(nq, res.K)
		lo, hi := w*per, min(s.n, (w+1)*per)
		wg.Go(func() { s.scanQueries(qs, 0, nq, lo, hi, parts[w]) })
	}
	wg.Wait()
	for q := range nq {
		tk := NewTopK(res.K)
		for _, p := range parts {
			for i := q * res.K; i < (q+1)*res.K && p.Labels[i] >= 0; i++ {
				tk.Push(p.Labels[i], s.key(p.Distances[i]))
			}
		}
		s.drain(tk, res, q)
	}
	return ctx.Err()
}

// key maps a reported score back to the internal key.
func (s *flatScan) key(score float32) float32 {
	if s.ip {
		return -score
	}
	return score
}

// drain writes a collector into query q's slots, converting keys to scores.
func (s *flatScan) drain(tk *TopK, res *Result, q int) {
	labels := res.Labels[q*res.K : (q+1)*res.K]
	dists := res.Distances[q*res.K : (q+1)*res.K]
	n := tk.Drain(labels, dists)
	if s.ip {
		for i := range n {
			dists[i] = -dists[i]
		}
	}
}

// scanQueries answers queries [qlo, qhi) over rows [rlo, rhi), in groups of
// flatQueryGroup queries sharing each cache-sized block of rows.
func (s *flatScan) scanQueries(qs []float32, qlo, qhi, rlo, rhi int, res *Result) {
	d := s.dim
	block := max(1, flatBlockBytes/(4*d))
	var words []uint64
	if s.filter != nil {
		words = s.filter.Words()
	}
	tks := make([]*TopK, 0, flatQueryGroup)
	for g := qlo; g < qhi; g += flatQueryGroup {
		ge := min(qhi, g+flatQueryGroup)
		tks = tks[:0]
		for range ge - g {
			tks = append(tks, NewTopK(res.K))
		}
		if s.rows != nil {
			s.scanRowList(qs, g, ge, tks)
		} else {
			for b := rlo; b < rhi; b += block {
				be := min(rhi, b+block)
				for qi := g; qi < ge; qi++ {
					q := qs[qi*d : (qi+1)*d]
					tk := tks[qi-g]
					for i := b; i < be; i++ {
						if words != nil && words[i>>6]&(1<<(uint(i)&63)) != 0 {
							continue
						}
						s.offer(tk, q, i)
					}
				}
			}
		}
		for qi := g; qi < ge; qi++ {
			s.drain(tks[qi-g], res, qi)
		}
	}
}

// scanRowList scores only the rows listed in s.rows.
func (s *flatScan) scanRowList(qs []float32, g, ge int, tks []*TopK) {
	d := s.dim
	for qi := g; qi < ge; qi++ {
		q := qs[qi*d : (qi+1)*d]
		for _, r := range s.rows {
			s.offer(tks[qi-g], q, int(r))
		}
	}
}

// offer scores row i against q and pushes it if it is in the range window.
func (s *flatScan) offer(tk *TopK, q []float32, i int) {
	d := s.dim
	row := s.vecs[i*d : (i+1)*d]
	var key float32
	if s.ip {
		key = -distance.Dot(q, row)
	} else {
		key = distance.L2Sq(q, row)
	}
	if tk.Full() && key >= tk.Worst() {
		return
	}
	if !s.win.Keep(key) {
		return
	}
	tk.Push(int64(i), key)
}
