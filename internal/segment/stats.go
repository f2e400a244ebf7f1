package segment

import "sync"

// statsTable holds per-field min/max statistics used to skip a segment
// whose values cannot match a filter. Values are stored as given by
// SetStats and handed to the filter's MayMatch unchanged.
type statsTable struct {
	mu sync.RWMutex
	m  map[int64][2]any
}

func (t *statsTable) set(fieldID int64, min, max any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[int64][2]any{}
	}
	t.m[fieldID] = [2]any{min, max}
}

func (t *statsTable) get(fieldID int64) (min, max any, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.m[fieldID]
	return v[0], v[1], ok
}

func (t *statsTable) empty() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m) == 0
}

// pruned reports whether the segment's statistics prove that no row can
// match filter.
func (c *core) pruned(filter Filter) bool {
	p, ok := filter.(Pruner)
	if !ok || c.stats.empty() {
		return false
	}
	return !p.MayMatch(c.stats.get)
}

// fullyMatched reports whether the segment's statistics prove that every
// row matches filter.
func (c *core) fullyMatched(filter Filter) bool {
	p, ok := filter.(FullMatcher)
	if !ok || c.stats.empty() {
		return false
	}
	return p.MustMatch(c.stats.get)
}
