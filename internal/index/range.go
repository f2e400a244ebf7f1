package index

import (
	"fmt"
	"math"
)

// Range search, shared by every index type.
//
// Milvus turns a search into a range search when the search params carry
// "radius" (and optionally "range_filter"). The hits are then the best K rows
// whose score lies in the window:
//
//	L2, HAMMING, JACCARD (smaller is better): range_filter <= distance < radius
//	IP, COSINE, BM25     (larger is better):  radius < similarity <= range_filter
//
// A range_filter on the wrong side of radius is a parameter error, as in
// Milvus. Indexes rank internally by a "smaller is better" key (the distance,
// or the negated similarity); RangeWindow works on that key so one
// comparison serves every metric.

// RangeWindow is a parsed range-search window over internal keys (smaller is
// better): a key t is in the window when Lo <= t < Hi. The zero value is
// inactive and keeps everything.
type RangeWindow struct {
	Active bool
	Lo, Hi float32
}

// ParseRange reads "radius" and "range_filter" for metric m. Without a
// radius it returns an inactive window.
func ParseRange(m Metric, params map[string]string) (RangeWindow, error) {
	radius, ok, err := FloatParam(params, "radius", 0)
	if err != nil || !ok {
		return RangeWindow{}, err
	}
	rf, hasRF, err := FloatParam(params, "range_filter", 0)
	if err != nil {
		return RangeWindow{}, err
	}
	w := RangeWindow{Active: true, Lo: float32(math.Inf(-1))}
	if m.HigherIsBetter() {
		if hasRF && rf <= radius {
			return RangeWindow{}, fmt.Errorf("range_filter (%g) must be greater than radius (%g) for metric %s: %w", rf, radius, m, ErrInvalidParam)
		}
		// radius < s <= rf  <=>  -rf <= -s < -radius
		w.Hi = float32(-radius)
		if hasRF {
			w.Lo = float32(-rf)
		}
		return w, nil
	}
	if hasRF && rf >= radius {
		return RangeWindow{}, fmt.Errorf("range_filter (%g) must be less than radius (%g) for metric %s: %w", rf, radius, m, ErrInvalidParam)
	}
	w.Hi = float32(radius)
	if hasRF {
		w.Lo = float32(rf)
	}
	return w, nil
}

// Keep reports whether internal key t (smaller is better) lies in the window.
func (w RangeWindow) Keep(t float32) bool { return !w.Active || (t >= w.Lo && t < w.Hi) }

// KeepScore reports whether a score as Milvus reports it for metric m lies in
// the window.
func (w RangeWindow) KeepScore(m Metric, score float32) bool {
	if m.HigherIsBetter() {
		score = -score
	}
	return w.Keep(score)
}

// FilterResult clears, in place, the hits of res whose reported score falls
// outside the window, compacting each query's surviving hits to the front
// (order kept) and padding with label -1. Types that cannot prune inside their
// search can run a wide top-K search and call this.
func (w RangeWindow) FilterResult(m Metric, res *Result) {
	if !w.Active {
		return
	}
	for q := range res.NQ {
		labels := res.Labels[q*res.K : (q+1)*res.K]
		dists := res.Distances[q*res.K : (q+1)*res.K]
		j := 0
		for i := range labels {
			if labels[i] >= 0 && w.KeepScore(m, dists[i]) {
				labels[j], dists[j] = labels[i], dists[i]
				j++
			}
		}
		for ; j < len(labels); j++ {
			labels[j], dists[j] = -1, 0
		}
	}
}
