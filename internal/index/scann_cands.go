package index

import "math"

// scannCand is one candidate of the reorder step: a list position and its
// fast-scan estimate (smaller is better).
type scannCand struct {
	est float32
	pos int32
}

// scannCands collects the best rk candidates of one query more cheaply than
// a heap: candidates below the threshold are appended, and when the buffer
// holds 2*rk of them it is cut to the best rk by selection, the threshold
// becoming the worst kept estimate. Most of a scan's offers then cost one
// comparison and the cut runs once per rk admitted candidates.
type scannCands struct {
	rk  int
	buf []scannCand
	thr float32 // offers at or above it cannot be among the best rk
}

func (c *scannCands) reset(rk int) {
	c.rk, c.buf, c.thr = rk, c.buf[:0], float32(math.Inf(1))
}

// add offers a candidate whose estimate is below c.thr.
func (c *scannCands) add(pos int32, est float32) {
	c.buf = append(c.buf, scannCand{est: est, pos: pos})
	if len(c.buf) >= 2*c.rk {
		c.cut()
	}
}

// cut keeps the best rk candidates (in no particular order) and lowers the
// threshold to the worst of them.
func (c *scannCands) cut() {
	if len(c.buf) <= c.rk {
		return
	}
	scannSelect(c.buf, c.rk)
	c.buf = c.buf[:c.rk]
	worst := c.buf[0].est
	for _, x := range c.buf[1:] {
		worst = max(worst, x.est)
	}
	c.thr = worst
}

// scannSelect reorders a so that its k smallest estimates come first
// (quickselect, median-of-three pivots; ties broken by position so the
// result does not depend on the scan's order).
func scannSelect(a []scannCand, k int) {
	less := func(x, y scannCand) bool { return x.est < y.est || (x.est == y.est && x.pos < y.pos) }
	lo, hi := 0, len(a)-1
	for hi > lo {
		mid := lo + (hi-lo)/2
		if less(a[mid], a[lo]) {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if less(a[hi], a[lo]) {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if less(a[hi], a[mid]) {
			a[hi], a[mid] = a[mid], a[hi]
		}
		p := a[mid]
		i, j := lo, hi
		for i <= j {
			for less(a[i], p) {
				i++
			}
			for less(p, a[j]) {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}
