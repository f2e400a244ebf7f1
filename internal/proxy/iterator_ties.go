package proxy

import (
	"math"
	"sync"

	"github.com/milvago/milvago/internal/segment"
)

// Rows with equal scores are common (float32 distances over a few thousand
// rows collide), and Milvus's search iterator v2 loses those tied with a
// page's last score: the next page starts strictly after last_bound. The
// proxy remembers, per iterator token and page bound, which primary keys it
// returned at that bound, and the next page (same token, that last_bound)
// returns the other rows at the bound first. The memory is a best-effort
// cache: a miss (another proxy, a restart, an evicted token) gives Milvus's
// behaviour, never a wrong or duplicated row.
const (
	maxTieTokens = 4096    // iterators remembered; the oldest is forgotten first
	maxTieKeys   = 16384   // keys remembered per bound; beyond, the bound is not remembered
	maxTieTotal  = 1 << 20 // keys remembered in all; the oldest iterators are forgotten first
)

// tieMemory maps (token, bound) to the keys returned at that bound. It
// keeps the two latest bounds of each token, so that a client retrying a
// page finds its bound again. The zero value is ready to use.
type tieMemory struct {
	mu     sync.Mutex // guards tokens, fifo, total
	tokens map[string]*tokenTies
	fifo   []string // tokens in first-seen order, for eviction
	total  int      // keys held in all
}

func setLen(s *segment.PKSet) int {
	if s == nil {
		return 0
	}
	return len(s.Ints) + len(s.Strs)
}

// evictOldest forgets the oldest token. Caller holds mu.
func (m *tieMemory) evictOldest() {
	if t := m.tokens[m.fifo[0]]; t != nil {
		m.total -= setLen(t.sets[0]) + setLen(t.sets[1])
	}
	delete(m.tokens, m.fifo[0])
	m.fifo = m.fifo[1:]
}

type tokenTies struct {
	bounds [2]uint32 // math.Float32bits of the bounds
	sets   [2]*segment.PKSet
	next   int
}

// get returns the keys returned at bound by token's pages, or nil.
func (m *tieMemory) get(token string, bound float32) *segment.PKSet {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tokens[token]
	if t == nil {
		return nil
	}
	b := math.Float32bits(bound)
	for i, s := range t.sets {
		if s != nil && t.bounds[i] == b {
			return s
		}
	}
	return nil
}

// put remembers the keys token's page returned at its last bound.
func (m *tieMemory) put(token string, bound float32, set *segment.PKSet) {
	if setLen(set) > maxTieKeys {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		m.tokens = map[string]*tokenTies{}
	}
	t := m.tokens[token]
	if t == nil {
		if len(m.fifo) >= maxTieTokens {
			m.evictOldest()
		}
		t = &tokenTies{}
		m.tokens[token] = t
		m.fifo = append(m.fifo, token)
	}
	b := math.Float32bits(bound)
	slot := t.next
	for i, s := range t.sets {
		if s != nil && t.bounds[i] == b { // a later page at the same bound: its set includes this one
			slot = i
		}
	}
	m.total += setLen(set) - setLen(t.sets[slot])
	t.bounds[slot], t.sets[slot] = b, set
	if slot == t.next {
		t.next = 1 - t.next
	}
	for m.total > maxTieTotal && len(m.fifo) > 1 {
		m.evictOldest()
	}
}

// tiesAtBound returns the keys of the hits of a single-query page that
// score exactly bound, with those of the earlier pages at the same bound
// (prev, when the bound did not move).
func tiesAtBound(scores []float32, intPKs []int64, strPKs []string, bound float32, prev *segment.PKSet) *segment.PKSet {
	out := &segment.PKSet{}
	if prev != nil {
		out.Ints = append(out.Ints, prev.Ints...)
		out.Strs = append(out.Strs, prev.Strs...)
	}
	for i, s := range scores {
		if s != bound {
			continue
		}
		if i < len(strPKs) {
			out.Strs = append(out.Strs, strPKs[i])
		} else if i < len(intPKs) {
			out.Ints = append(out.Ints, intPKs[i])
		}
	}
	return out
}
