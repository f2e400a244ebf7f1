package session

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/milvago/milvago/internal/kv"
)

// EventType says how a watched session changed.
type EventType int

// Event types.
const (
	Added EventType = iota + 1
	Updated
	Removed
)

func (t EventType) String() string {
	switch t {
	case Added:
		return "added"
	case Updated:
		return "updated"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is one change seen by Watch or WatchActive.
type Event struct {
	Type EventType
	// Session is the new Info for Added and Updated, the last Info the
	// watch saw for Removed (only ServerID and Role, for a member session
	// that was live before the watch's revision and never seen by it).
	Session Info
	// Revision is the store revision of the change.
	Revision int64
}

// List returns the live sessions of role, by server ID, and the store
// revision of the read: Watch(ctx, store, role, rev) misses nothing after it.
func List(ctx context.Context, store kv.Store, role string) ([]Info, int64, error) {
	kvs, rev, err := store.ListWithRevision(ctx, memberPrefix(role))
	if err != nil {
		return nil, 0, fmt.Errorf("session: list %s: %w", role, err)
	}
	var out []Info
	for _, e := range kvs {
		if _, ok := parseMember(role, e.Key); !ok {
			continue
		}
		info, err := decode(e)
		if err != nil {
			return nil, 0, fmt.Errorf("session: list %s: %w", role, err)
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b Info) int { return cmp.Compare(a.ServerID, b.ServerID) })
	return out, rev, nil
}

// Active returns the session holding role's election key (for a
// coordinator role hosted by a mixcoord, the mixcoord's) and the store
// revision of the read. With no active process it returns an error
// wrapping ErrNoActive, and still the revision, for WatchActive.
func Active(ctx context.Context, store kv.Store, role string) (Info, int64, error) {
	key := activeKey(role)
	kvs, rev, err := store.ListWithRevision(ctx, key)
	if err != nil {
		return Info{}, 0, fmt.Errorf("session: active %s: %w", role, err)
	}
	for _, e := range kvs {
		if e.Key == key {
			info, err := decode(e)
			if err != nil {
				return Info{}, 0, fmt.Errorf("session: active %s: %w", role, err)
			}
			return info, rev, nil
		}
	}
	return Info{}, rev, fmt.Errorf("session: %s: %w", role, ErrNoActive)
}

// Watch streams the changes to role's sessions after store revision rev
// (from List). With rev 0 it first reports every live session as Added.
// The channel closes when ctx ends or the store closes; the caller must
// keep receiving until then. After a broken or compacted watch it lists
// again and reports the difference, so Added may repeat a session the
// caller already has.
func Watch(ctx context.Context, store kv.Store, role string, rev int64) <-chan Event {
	w := &watcher{
		store:  store,
		prefix: memberPrefix(role),
		match: func(key string) (Info, bool) {
			id, ok := parseMember(role, key)
			return Info{ServerID: id, Role: role}, ok
		},
	}
	return w.start(ctx, rev)
}

// WatchActive streams the changes to role's election key after store
// revision rev (from Active): Added when a process becomes active, Removed
// when it stops being active. With rev 0 it first reports the current
// active process, if any, as Added. It behaves as Watch otherwise.
func WatchActive(ctx context.Context, store kv.Store, role string, rev int64) <-chan Event {
	key := activeKey(role)
	w := &watcher{
		store:  store,
		prefix: key,
		match: func(k string) (Info, bool) {
			return Info{Role: role}, k == key
		},
	}
	return w.start(ctx, rev)
}

func decode(e kv.KeyValue) (Info, error) {
	var info Info
	if err := json.Unmarshal(e.Value, &info); err != nil {
		return Info{}, fmt.Errorf("session key %s: %w", e.Key, err)
	}
	return info, nil
}

// watcher follows the keys under prefix that match, keeping what it knows
// of them to report removals and to diff after listing again.
type watcher struct {
	store  kv.Store
	prefix string
	// match reports whether key is watched, and the Info to report if
	// it is removed before the watcher saw it.
	match func(key string) (Info, bool)

	known map[string]known
}

type known struct {
	info Info
	rev  int64
}

const (
	minRetry = 50 * time.Millisecond
	maxRetry = 2 * time.Second
)

func (w *watcher) start(ctx context.Context, rev int64) <-chan Event {
	out := make(chan Event)
	w.known = map[string]known{}
	go w.run(ctx, out, rev)
	return out
}

func (w *watcher) run(ctx context.Context, out chan<- Event, rev int64) {
	defer close(out)
	send := func(e Event) bool {
		select {
		case out <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}
	relist := rev <= 0
	retry := minRetry
	for {
		if relist {
			kvs, r, err := w.store.ListWithRevision(ctx, w.prefix)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, kv.ErrClosed) {
					return
				}
				if !sleep(ctx, &retry) {
					return
				}
				continue
			}
			for _, e := range w.diff(kvs, r) {
				if !send(e) {
					return
				}
			}
			rev = r
		}
		delivered := false
		for ev := range w.store.Watch(ctx, w.prefix, rev) {
			delivered = true
			rev = ev.Revision
			e, ok := w.apply(ev)
			if ok && !send(e) {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		// The watch broke (compacted revision, store trouble): list again
		// and report what changed meanwhile.
		relist = true
		if delivered {
			retry = minRetry
		} else if !sleep(ctx, &retry) {
			return
		}
	}
}

// apply records one watch event and returns what to report.
func (w *watcher) apply(ev kv.Event) (Event, bool) {
	fallback, ok := w.match(ev.Key)
	if !ok {
		return Event{}, false
	}
	if ev.Type == kv.EventDelete {
		k, seen := w.known[ev.Key]
		delete(w.known, ev.Key)
		if seen {
			fallback = k.info
		}
		return Event{Type: Removed, Session: fallback, Revision: ev.Revision}, true
	}
	info, err := decode(ev.KeyValue)
	if err != nil {
		return Event{}, false // not a session: ignore it
	}
	typ := Added
	if _, seen := w.known[ev.Key]; seen {
		typ = Updated
	}
	w.known[ev.Key] = known{info: info, rev: ev.Revision}
	return Event{Type: typ, Session: info, Revision: ev.Revision}, true
}

// diff replaces what the watcher knows with a fresh list read at rev and
// returns the changes: removals first, then additions and updates by key.
func (w *watcher) diff(kvs []kv.KeyValue, rev int64) []Event {
	var evs []Event
	now := map[string]kv.KeyValue{}
	for _, e := range kvs {
		if _, ok := w.match(e.Key); ok {
			now[e.Key] = e
		}
	}
	keys := make([]string, 0, len(w.known))
	for k := range w.known {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := now[k]; !ok {
			evs = append(evs, Event{Type: Removed, Session: w.known[k].info, Revision: rev})
			delete(w.known, k)
		}
	}
	for _, e := range kvs {
		if _, ok := now[e.Key]; !ok {
			continue
		}
		info, err := decode(e)
		if err != nil {
			continue
		}
		typ := Added
		if k, seen := w.known[e.Key]; seen {
			if k.rev == e.Revision {
				continue
			}
			typ = Updated
		}
		w.known[e.Key] = known{info: info, rev: e.Revision}
		evs = append(evs, Event{Type: typ, Session: info, Revision: e.Revision})
	}
	return evs
}

// sleep waits *d (doubling it up to maxRetry for next time); false when
// ctx ended first.
func sleep(ctx context.Context, d *time.Duration) bool {
	t := time.NewTimer(*d)
	defer t.Stop()
	*d = min(2**d, maxRetry)
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
