package rerank

import "context"

// rrf is reciprocal rank fusion: a hit at rank r (1-based) of a list adds
// 1/(k+r) to its score.
type rrf struct{ k float32 }

func (*rrf) Name() string          { return RRFName }
func (*rrf) InputFields() []string { return nil }
func (*rrf) SupportsGroup() bool   { return true }

func (r *rrf) Rank(_ context.Context, lists []List, p Params) ([]Ranked, error) {
	acc := newAccumulator()
	for li, l := range lists {
		for i, h := range l.Hits {
			acc.add(li, i, h, 1/(r.k+float32(i+1)))
		}
	}
	return acc.finish(p, true)
}

// weighted sums each list's (optionally normalised) scores times its weight.
type weighted struct {
	weights []float32
	norm    bool
}

func (*weighted) Name() string          { return WeightedName }
func (*weighted) InputFields() []string { return nil }
func (*weighted) SupportsGroup() bool   { return true }

func (w *weighted) Rank(_ context.Context, lists []List, p Params) ([]Ranked, error) {
	if len(lists) != len(w.weights) {
		return nil, errInvalidValue(len(lists), len(w.weights), "the length of weights param mismatch with ann search requests")
	}
	metrics := make([]string, len(lists))
	for i, l := range lists {
		metrics[i] = l.Metric
	}
	mixed, descending := classifyMetrics(metrics)
	acc := newAccumulator()
	for li, l := range lists {
		f := Normalize(w.norm, l.Metric, mixed)
		for i, h := range l.Hits {
			acc.add(li, i, h, w.weights[li]*f(h.Score))
		}
	}
	return acc.finish(p, w.norm || descending)
}
