package rerank

import "context"

import "math"

// decay multiplies each hit's merged (normalised) score by a decay of the
// distance between its input field value and origin.
type decay struct {
	field                        string
	fn                           func(origin, scale, decay, offset, v float64) float64
	origin, scale, offset, decay float64
	norm                         bool
	merge                        string // "max", "avg" or "sum"
}

func (*decay) Name() string            { return DecayName }
func (d *decay) InputFields() []string { return []string{d.field} }
func (*decay) SupportsGroup() bool     { return true }

func (d *decay) Rank(_ context.Context, lists []List, p Params) ([]Ranked, error) {
	// Merge the normalised scores of a key across lists.
	merged := map[PK]float32{}
	counts := map[PK]int{}
	for _, l := range lists {
		f := Normalize(d.norm, l.Metric, true)
		for _, h := range l.Hits {
			s := f(h.Score)
			old, seen := merged[h.PK]
			switch {
			case !seen:
				merged[h.PK] = s
			case d.merge == "max":
				merged[h.PK] = max(old, s)
			default: // sum, avg
				merged[h.PK] = old + s
			}
			counts[h.PK]++
		}
	}
	acc := newAccumulator()
	for li, l := range lists {
		for i, h := range l.Hits {
			if _, ok := acc.scores[h.PK]; ok {
				continue
			}
			src := merged[h.PK]
			if d.merge == "avg" {
				src /= float32(counts[h.PK])
			}
			acc.add(li, i, h, float32(d.fn(d.origin, d.scale, d.decay, d.offset, h.Value))*src)
		}
	}
	return acc.finish(p, true)
}

func adjusted(origin, offset, v float64) float64 {
	return math.Max(0, math.Abs(v-origin)-offset)
}

// gaussDecay is exp(-max(0,|v-origin|-offset)^2 / (2 sigma^2)) with sigma
// such that the decay is reached at scale.
func gaussDecay(origin, scale, decay, offset, v float64) float64 {
	a := adjusted(origin, offset, v)
	sigmaSquare := scale * scale / math.Log(decay)
	return math.Exp(a * a / sigmaSquare)
}

func expDecay(origin, scale, decay, offset, v float64) float64 {
	a := adjusted(origin, offset, v)
	return math.Exp(math.Log(decay) / scale * a)
}

func linearDecay(origin, scale, decay, offset, v float64) float64 {
	a := adjusted(origin, offset, v)
	return math.Max(decay, 1-(1-decay)/scale*a)
}
