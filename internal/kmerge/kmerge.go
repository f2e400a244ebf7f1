// Package kmerge merges sorted runs of hits (one per shard or segment)
// into one order without building their concatenation: a heap of one
// cursor per run, so a reduce holds only what it keeps plus the cursors.
//
// The order is exactly that of a stable sort of the runs' concatenation
// (run 0 first) by the same comparison: ties between runs go to the lower
// run, ties within a run keep the run's order. A run that is not sorted by
// the comparison (a grouping search returns its hits group after group)
// is walked through a stably sorted permutation of its positions instead,
// which is the only case that allocates per call.
package kmerge

import "slices"

// Cmp compares position i of run r with position j of run s (negative:
// the first comes first).
type Cmp func(r, i, s, j int) int

// Merger holds the scratch of Merge, reused from call to call; the zero
// value is ready. A Merger is not safe for concurrent use.
type Merger struct {
	heap []cursor
}

type cursor struct {
	run   int
	at    int   // next position, an index into the run's [start, end)
	end   int   // the run's end
	perm  []int // nil: the run is sorted; else its positions in order
	pnext int   // next index into perm
}

func (c *cursor) pos() int {
	if c.perm != nil {
		return c.perm[c.pnext]
	}
	return c.at
}

func (c *cursor) advance() bool {
	if c.perm != nil {
		c.pnext++
		return c.pnext < len(c.perm)
	}
	c.at++
	return c.at < c.end
}

// Merge calls yield(run, i) for the positions of runs 0..runs-1 in merged
// order; run r holds positions [start, end) of bounds(r). It stops when
// yield returns false or every run is exhausted.
func (m *Merger) Merge(runs int, bounds func(run int) (start, end int), cmp Cmp, yield func(run, i int) bool) {
	h := m.heap[:0]
	for r := range runs {
		start, end := bounds(r)
		if start >= end {
			continue
		}
		c := cursor{run: r, at: start, end: end}
		if !sorted(r, start, end, cmp) {
			c.perm = make([]int, end-start)
			for i := range c.perm {
				c.perm[i] = start + i
			}
			slices.SortStableFunc(c.perm, func(i, j int) int { return cmp(r, i, r, j) })
		}
		h = append(h, c)
	}
	less := func(a, b *cursor) bool {
		if c := cmp(a.run, a.pos(), b.run, b.pos()); c != 0 {
			return c < 0
		}
		return a.run < b.run
	}
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			s := l
			if r := l + 1; r < len(h) && less(&h[r], &h[l]) {
				s = r
			}
			if !less(&h[s], &h[i]) {
				return
			}
			h[i], h[s] = h[s], h[i]
			i = s
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(h) > 0 {
		top := &h[0]
		if !yield(top.run, top.pos()) {
			break
		}
		if !top.advance() {
			last := len(h) - 1
			h[0] = h[last]
			h = h[:last]
		}
		down(0)
	}
	clear(h[:cap(h)]) // drop the permutations
	m.heap = h[:0]
}

// sorted reports whether run r's positions [start, end) are in order.
func sorted(r, start, end int, cmp Cmp) bool {
	for i := start + 1; i < end; i++ {
		if cmp(r, i-1, r, i) > 0 {
			return false
		}
	}
	return true
}
