package rerank

import (
	"math"
	"strings"
)

// higherIsBetter reports whether a metric ranks larger scores first.
func higherIsBetter(metric string) bool {
	switch strings.ToUpper(metric) {
	case "COSINE", "IP", "BM25", "MAX_SIM", "MAX_SIM_COSINE", "MAX_SIM_IP":
		return true
	}
	return false
}

// Normalize is Milvus's getNormalizeFunc. With norm, a score maps into
// [0, 1] with larger better: COSINE (1+s)/2, IP 0.5+atan(s)/pi, BM25
// 2*atan(s)/pi, distances (L2, HAMMING, JACCARD, ...) 1-2*atan(d)/pi.
// Without norm, toGreater converts distances only (1-2*atan(d)/pi) and
// keeps similarity scores; otherwise scores are kept.
func Normalize(norm bool, metric string, toGreater bool) func(float32) float32 {
	identity := func(s float32) float32 { return s }
	distance := func(d float32) float32 { return 1 - 2*float32(math.Atan(float64(d)))/math.Pi }
	m := strings.ToUpper(metric)
	if !norm {
		if !toGreater || higherIsBetter(m) {
			return identity
		}
		return distance
	}
	switch m {
	case "COSINE":
		return func(s float32) float32 { return (1 + s) * 0.5 }
	case "IP":
		return func(s float32) float32 { return 0.5 + float32(math.Atan(float64(s)))/math.Pi }
	case "BM25":
		return func(s float32) float32 { return 2 * float32(math.Atan(float64(s))) / math.Pi }
	}
	return distance
}

// classifyMetrics is Milvus's classifyMetricsOrder: mixed when some lists
// rank larger-first and others smaller-first; descending when all rank
// larger-first (or mixed, after conversion).
func classifyMetrics(metrics []string) (mixed, descending bool) {
	larger, smaller := 0, 0
	for _, m := range metrics {
		if higherIsBetter(m) {
			larger++
		} else {
			smaller++
		}
	}
	if larger > 0 && smaller > 0 {
		return true, true
	}
	return false, smaller == 0
}
