package rerank

import (
	"cmp"
	"context"
	"math"
	"slices"
)

// PK is a primary key: Int64 keys use Int, VarChar keys use Str.
type PK struct {
	Int int64
	Str string
}

func comparePK(a, b PK) int {
	if c := cmp.Compare(a.Str, b.Str); c != 0 {
		return c
	}
	return cmp.Compare(a.Int, b.Int)
}

// Hit is one hit of a ranked list.
type Hit struct {
	PK    PK
	Score float32
	// Value is the reranker's input field value of the hit's row (decay's
	// numeric field); unused by rrf and weighted.
	Value float64
	// Text is the model reranker's input field value (a VarChar).
	Text string
	// Group is the hit's group-by value (nil, bool, int64 or string) when
	// the search groups.
	Group any
}

// List is one search's hits for one query, best first, and the metric
// that scored them ("L2", "IP", "COSINE", "BM25", "HAMMING", ...).
type List struct {
	Metric string
	Hits   []Hit
}

// Params are the fused ranking's size and grouping: Milvus's rank params.
type Params struct {
	// Limit hits (groups when grouping) are returned after skipping Offset.
	Limit, Offset int
	// NQ is the number of queries of the search (the model reranker needs
	// one query text per query); Query is the one being ranked (0-based).
	NQ, Query int
	// RoundDecimal is -1 (no rounding) or 0..6 digits.
	RoundDecimal int
	// Grouping fuses into groups of at most GroupSize hits by Hit.Group,
	// ranked by GroupScorer ("max", the default, "sum" or "avg").
	Grouping    bool
	GroupSize   int
	GroupScorer string
}

// Ranked is one fused hit: its key, its fused score, and where it was
// first seen (List index and position in that list), so a caller can copy
// its row's fields from there.
type Ranked struct {
	PK        PK
	Score     float32
	List, Pos int
	Group     any
}

// Reranker fuses the lists of one query into one ranking.
type Reranker interface {
	// Name is Milvus's reranker name: "rrf", "weighted" or "decay".
	Name() string
	// InputFields are the schema fields whose values the reranker reads
	// (Hit.Value); empty for rrf and weighted.
	InputFields() []string
	// SupportsGroup reports whether the reranker can rank groups.
	SupportsGroup() bool
	// Rank fuses lists (one per sub-search, in request order); ctx bounds
	// the model reranker's calls to its service.
	Rank(ctx context.Context, lists []List, p Params) ([]Ranked, error)
}

// loc is where a key was first seen.
type loc struct {
	list, pos int
	group     any
}

// accumulator gathers fused scores per key in first-seen order.
type accumulator struct {
	keys   []PK
	scores map[PK]float32
	locs   map[PK]loc
}

func newAccumulator() *accumulator {
	return &accumulator{scores: map[PK]float32{}, locs: map[PK]loc{}}
}

// add adds s to key's fused score, recording the key's first location.
func (a *accumulator) add(li, pos int, h Hit, s float32) {
	if old, ok := a.scores[h.PK]; ok {
		a.scores[h.PK] = old + s
		return
	}
	a.keys = append(a.keys, h.PK)
	a.scores[h.PK] = s
	a.locs[h.PK] = loc{li, pos, h.Group}
}

// finish sorts the keys (descending or ascending by score, ties by the
// smaller key) and cuts the page, or groups them.
func (a *accumulator) finish(p Params, descending bool) ([]Ranked, error) {
	if p.Grouping {
		return a.groups(p)
	}
	keys := a.sorted(descending)
	end := min(len(keys), p.Offset+p.Limit)
	out := make([]Ranked, 0, max(0, end-p.Offset))
	for i := p.Offset; i < end; i++ {
		out = append(out, a.ranked(keys[i], a.scores[keys[i]], p.RoundDecimal))
	}
	return out, nil
}

func (a *accumulator) sorted(descending bool) []PK {
	keys := slices.Clone(a.keys)
	slices.SortFunc(keys, func(x, y PK) int {
		sx, sy := a.scores[x], a.scores[y]
		if sx == sy {
			return comparePK(x, y)
		}
		c := cmp.Compare(sx, sy)
		if descending {
			return -c
		}
		return c
	})
	return keys
}

func (a *accumulator) ranked(k PK, score float32, round int) Ranked {
	l := a.locs[k]
	return Ranked{PK: k, Score: roundScore(score, round), List: l.list, Pos: l.pos, Group: l.group}
}

type group struct {
	keys       []PK
	scores     []float32
	maxScore   float32
	sumScore   float32
	finalScore float32
}

// groups is Milvus's newGroupingIDScores: keys by descending score fill
// their group up to GroupSize; groups rank by their score (ties: the larger
// group, then the smaller first key); the page is a range of groups.
func (a *accumulator) groups(p Params) ([]Ranked, error) {
	keys := a.sorted(true)
	buckets := map[any]*group{}
	var order []*group
	for _, k := range keys {
		s := a.scores[k]
		gv := a.locs[k].group
		g := buckets[gv]
		if g == nil {
			g = &group{}
			buckets[gv] = g
			order = append(order, g)
		}
		if len(g.keys) >= p.GroupSize {
			continue
		}
		g.keys = append(g.keys, k)
		g.scores = append(g.scores, s)
		if s > g.maxScore { // Milvus starts the max at 0
			g.maxScore = s
		}
		g.sumScore += s
	}
	for _, g := range order {
		switch p.GroupScorer {
		case "", "max":
			g.finalScore = g.maxScore
		case "sum":
			g.finalScore = g.sumScore
		case "avg":
			g.finalScore = g.sumScore / float32(len(g.keys))
		default:
			return nil, errInvalidMsg("input group scorer type: %s is not supported!", p.GroupScorer)
		}
	}
	slices.SortStableFunc(order, func(x, y *group) int {
		if x.finalScore == y.finalScore {
			if len(x.keys) == len(y.keys) {
				return comparePK(x.keys[0], y.keys[0])
			}
			return cmp.Compare(len(y.keys), len(x.keys))
		}
		return cmp.Compare(y.finalScore, x.finalScore)
	})
	end := min(len(order), p.Offset+p.Limit)
	var out []Ranked
	for i := p.Offset; i < end; i++ {
		for j, k := range order[i].keys {
			out = append(out, a.ranked(k, order[i].scores[j], p.RoundDecimal))
		}
	}
	return out, nil
}

// roundScore is Milvus's rounding of fused scores.
func roundScore(s float32, round int) float32 {
	if round < 0 {
		return s
	}
	m := math.Pow(10, float64(round))
	return float32(math.Floor(float64(s)*m+0.5) / m)
}
