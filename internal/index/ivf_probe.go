package index

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/milvago/milvago/internal/bitset"
)

// ivfLists is the inverted-file layout shared by every IVF index here: the
// rows of list l occupy positions offsets[l] to offsets[l+1] of the
// list-ordered arrays, and ids maps a position back to its row label.
type ivfLists struct {
	offsets []uint32 // lists+1 entries, offsets[0] == 0, offsets[lists] == n
	ids     []int32  // n entries
}

// ivfGroup sorts n rows into lists by their assignment (a counting sort,
// stable in row order) and returns the layout and, for each position, the
// row that moved there.
func ivfGroup(assign []int32, lists int) ivfLists {
	offsets := make([]uint32, lists+1)
	for _, a := range assign {
		offsets[a+1]++
	}
	for l := range lists {
		offsets[l+1] += offsets[l]
	}
	ids := make([]int32, len(assign))
	next := slices.Clone(offsets[:lists])
	for row, a := range assign {
		ids[next[a]] = int32(row)
		next[a]++
	}
	return ivfLists{offsets: offsets, ids: ids}
}

// memoryBytes is the size of the layout arrays.
func (v ivfLists) memoryBytes() int64 { return int64(len(v.offsets)+len(v.ids)) * 4 }

// ivfPlan is what one Search call decided, shared by all its queries.
type ivfPlan struct {
	k       int
	nprobe  int // lists to probe first (scaled up under a filter); the probe widens when they cannot fill k
	filter  *bitset.Set
	rng     RangeWindow
	scanAll bool // the filter leaves so few rows that every list is visited
}

// ivfMakePlan validates the common search parameters of an IVF index of n
// rows in lists lists.
func ivfMakePlan(m Metric, n, lists int, p SearchParams) (ivfPlan, error) {
	if p.K < 1 {
		return ivfPlan{}, fmt.Errorf("topk (%d) should be >= 1: %w", p.K, ErrInvalidParam)
	}
	nprobe, err := IntParam(p.Params, "nprobe", 8, 1, 65536)
	if err != nil {
		return ivfPlan{}, err
	}
	rng, err := ParseRange(m, p.Params)
	if err != nil {
		return ivfPlan{}, err
	}
	if p.Filter != nil && p.Filter.Len() != n {
		return ivfPlan{}, fmt.Errorf("filter covers %d rows, index has %d: %w", p.Filter.Len(), n, ErrInvalidParam)
	}
	plan := ivfPlan{k: p.K, nprobe: min(nprobe, lists), filter: p.Filter, rng: rng}
	if p.Filter != nil && lists > 0 && n > 0 {
		allowed := n - p.Filter.Count()
		if allowed == n {
			plan.filter = nil
			return plan, nil
		}
		// Filtered rows cost a bit test, not a distance. Probe nprobe*n/allowed
		// lists so that about as many rows are scored as without a filter:
		// the recall then stays close to the unfiltered recall at the same
		// nprobe (the nearest allowed rows lie in more distant lists). When
		// that covers every list, visit them all: exact for IVF_FLAT.
		if allowed == 0 || int64(plan.nprobe)*int64(n) >= int64(lists)*int64(allowed) {
			plan.nprobe, plan.scanAll = lists, true
		} else {
			plan.nprobe = min(lists, int((int64(plan.nprobe)*int64(n)+int64(allowed)-1)/int64(allowed)))
		}
	}
	return plan, nil
}

// ivfProbeScratch holds the per-query buffers of the probe loop.
type ivfProbeScratch struct {
	sel    *TopK
	labels []int64
	scores []float32
	seen   []bool
	rest   []int32
}

// ivfProbe visits lists in order of their coarse score (smaller is better):
// the best plan.nprobe first, then, while need reports that the answer is not
// complete yet, the others best-first. With plan.scanAll it visits every list.
func ivfProbe(coarse []float32, plan ivfPlan, s *ivfProbeScratch, need func() bool, scan func(list int)) {
	lists := len(coarse)
	if plan.scanAll || plan.nprobe >= lists {
		for l := range lists {
			scan(l)
		}
		return
	}
	if s.sel == nil {
		s.sel = NewTopK(plan.nprobe)
	}
	s.sel.Reset(plan.nprobe)
	for l, c := range coarse {
		s.sel.Push(int64(l), c)
	}
	if cap(s.labels) < plan.nprobe {
		s.labels = make([]int64, plan.nprobe)
		s.scores = make([]float32, plan.nprobe)
	}
	got := s.sel.Drain(s.labels[:plan.nprobe], s.scores[:plan.nprobe])
	for _, l := range s.labels[:got] {
		scan(int(l))
	}
	if !need() {
		return
	}
	// Widen: the remaining lists, best first.
	if cap(s.seen) < lists {
		s.seen = make([]bool, lists)
	}
	seen := s.seen[:lists]
	clear(seen)
	for _, l := range s.labels[:got] {
		seen[l] = true
	}
	rest := s.rest[:0]
	for l := range lists {
		if !seen[l] {
			rest = append(rest, int32(l))
		}
	}
	slices.SortFunc(rest, func(a, b int32) int {
		switch ca, cb := coarse[a], coarse[b]; {
		case ca < cb:
			return -1
		case ca > cb:
			return 1
		}
		return int(a - b)
	})
	s.rest = rest
	for _, l := range rest {
		if !need() {
			return
		}
		scan(int(l))
	}
}

// ivfNeedMore reports whether the probe should widen: a top-K search widens
// until it holds k hits; a range search widens only when a filter may have
// removed hits from the probed lists.
func ivfNeedMore(plan ivfPlan, top *TopK) bool {
	if top.Full() {
		return false
	}
	return !plan.rng.Active || plan.filter != nil
}

// ivfRunQueries runs one(q, labels, distances) for each of nq queries, spread
// over GOMAXPROCS goroutines, and returns the flattened result. one writes
// exactly k slots. The context is checked between queries.
func ivfRunQueries(ctx context.Context, nq, k int, one func(q int, labels []int64, dists []float32)) (*Result, error) {
	res := &Result{NQ: nq, K: k, Labels: make([]int64, nq*k), Distances: make([]float32, nq*k)}
	workers := min(runtime.GOMAXPROCS(0), nq)
	if workers <= 1 {
		for q := range nq {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			one(q, res.Labels[q*k:(q+1)*k], res.Distances[q*k:(q+1)*k])
		}
		return res, nil
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
	)
	for range workers {
		wg.Go(func() {
			for {
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				q := next
				next++
				mu.Unlock()
				if q >= nq {
					return
				}
				one(q, res.Labels[q*k:(q+1)*k], res.Distances[q*k:(q+1)*k])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// ivfDrain writes the collected hits best-first, turning negated
// similarities back into similarities for higher-is-better metrics.
func ivfDrain(top *TopK, m Metric, labels []int64, dists []float32) {
	got := top.Drain(labels, dists)
	if m.HigherIsBetter() {
		for i := range got {
			dists[i] = -dists[i]
		}
	}
}

// ivfWorth reports whether score t could enter top: a cheap inlined test
// that spares the Push call for the great majority of scanned rows.
func ivfWorth(top *TopK, t float32) bool { return !top.Full() || t < top.Worst() }
