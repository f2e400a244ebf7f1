package index

import (
	"fmt"
	"math"
)

// ivfRange is a parsed range-search window in "smaller is better" space:
// the score t an index ranks by (squared L2, Hamming or Jaccard distance, or
// the negated similarity for IP, COSINE and BM25) is kept when lo <= t < hi.
//
// Milvus semantics: for L2, HAMMING and JACCARD a hit has
// range_filter <= distance < radius; for IP, COSINE and BM25
// radius < similarity <= range_filter. range_filter is optional.
type ivfRange struct {
	on     bool
	lo, hi float32
}

// ivfParseRange reads "radius" and "range_filter" from search params. Without
// a radius the search is a plain top-K search.
func ivfParseRange(m Metric, params map[string]string) (ivfRange, error) {
	radius, ok, err := FloatParam(params, "radius", 0)
	if err != nil || !ok {
		return ivfRange{}, err
	}
	rf, hasRF, err := FloatParam(params, "range_filter", 0)
	if err != nil {
		return ivfRange{}, err
	}
	r := ivfRange{on: true, lo: float32(math.Inf(-1))}
	if m.HigherIsBetter() {
		if hasRF && rf <= radius {
			return ivfRange{}, fmt.Errorf("range_filter (%g) must be greater than radius (%g) for %s: %w", rf, radius, m, ErrInvalidParam)
		}
		r.hi = float32(-radius)
		if hasRF {
			r.lo = float32(-rf)
		}
		return r, nil
	}
	if hasRF && rf >= radius {
		return ivfRange{}, fmt.Errorf("range_filter (%g) must be less than radius (%g) for %s: %w", rf, radius, m, ErrInvalidParam)
	}
	r.hi = float32(radius)
	if hasRF {
		r.lo = float32(rf)
	}
	return r, nil
}

// keep reports whether score t (smaller is better) lies in the window; a
// disabled window keeps everything.
func (r ivfRange) keep(t float32) bool { return !r.on || (t < r.hi && t >= r.lo) }
