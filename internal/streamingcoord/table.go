package streamingcoord

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/milvago/milvago/internal/kv"
)

// Table is a watched copy of the assignments and releases, for the
// streaming nodes and the clients that route to them. It is safe for
// concurrent use; Run keeps it current.
type Table struct {
	store  kv.Store
	logger *slog.Logger

	mu       sync.Mutex
	assign   map[string]Assignment
	released map[string]int64
	changed  chan struct{} // closed and replaced on every change
	loaded   chan struct{} // closed once the first listing is in
}

// NewTable returns a table over store; Run fills it.
func NewTable(store kv.Store, logger *slog.Logger) *Table {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Table{store: store, logger: logger.With("component", "streamingcoord.table"), assign: map[string]Assignment{},
		released: map[string]int64{}, changed: make(chan struct{}), loaded: make(chan struct{})}
}

const tablePrefix = "streaming/"

// Run lists the assignments, then follows their changes, until ctx ends;
// a broken watch is resumed from a new listing.
func (t *Table) Run(ctx context.Context) {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		es, rev, err := t.store.ListWithRevision(ctx, tablePrefix)
		if err != nil {
			t.logger.Warn("list streaming assignments", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, 2*time.Second)
			continue
		}
		delay = 100 * time.Millisecond
		t.mu.Lock()
		t.assign, t.released = map[string]Assignment{}, map[string]int64{}
		for _, e := range es {
			t.applyLocked(e.Key, e.Value, false)
		}
		t.notifyLocked()
		select {
		case <-t.loaded:
		default:
			close(t.loaded)
		}
		t.mu.Unlock()
		for ev := range t.store.Watch(ctx, tablePrefix, rev) {
			t.mu.Lock()
			t.applyLocked(ev.Key, ev.Value, ev.Type == kv.EventDelete)
			t.notifyLocked()
			t.mu.Unlock()
		}
	}
}

func (t *Table) applyLocked(key string, value []byte, deleted bool) {
	switch {
	case strings.HasPrefix(key, PrefixAssignment):
		pc := strings.TrimPrefix(key, PrefixAssignment)
		if deleted {
			delete(t.assign, pc)
			return
		}
		_, a, err := decodeAssignment(key, value)
		if err != nil {
			t.logger.Warn("bad assignment", "err", err)
			return
		}
		t.assign[pc] = a
	case strings.HasPrefix(key, PrefixReleased):
		pc := strings.TrimPrefix(key, PrefixReleased)
		if deleted {
			delete(t.released, pc)
			return
		}
		var r released
		if err := json.Unmarshal(value, &r); err != nil {
			t.logger.Warn("bad release record", "key", key, "err", err)
			return
		}
		t.released[pc] = r.Term
	}
}

func (t *Table) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// Loaded is closed once the table holds a first listing.
func (t *Table) Loaded() <-chan struct{} { return t.loaded }

// Changed is closed at the next change.
func (t *Table) Changed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}

// Owner returns pchannel's assignment.
func (t *Table) Owner(pchannel string) (Assignment, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.assign[pchannel]
	return a, ok
}

// snapshot returns copies of the assignments and releases.
func (t *Table) snapshot() (map[string]Assignment, map[string]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.assign), maps.Clone(t.released)
}
