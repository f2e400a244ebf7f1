package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/objstore"
)

// The counters a Watermark guards.
const (
	// CounterID is the global ID allocator's persisted limit.
	CounterID = "id"
	// CounterTSO is the timestamp oracle's persisted window (milliseconds).
	CounterTSO = "tso"
	// CounterSession is the server ID counter of the processes' sessions
	// (internal/session, session.MarkCounter).
	CounterSession = "session"
)

const (
	// WatermarkObjectKey is the object store's high-water mark.
	WatermarkObjectKey = "cluster/highwater.json"
	// WatermarkMetaKey is the meta store's copy of the last mark written,
	// by which a start tells a meta store that is behind the object store
	// (wiped, or restored from an old backup) from one that is current.
	WatermarkMetaKey = "cluster/highwater"
)

// steps: how far above a persisted limit the object store's mark is put,
// so that it is rewritten rarely. IDs are plentiful (2^30 of 2^63); the
// timestamp mark stays close to the clock, so that a recovered meta
// store's timestamps jump at most a minute ahead.
// Server IDs are handed out one per process start: 1024 starts per write.
var steps = map[string]uint64{CounterID: 1 << 30, CounterTSO: 60_000, CounterSession: 1 << 10}

// marks is the persisted form of a Watermark.
type marks map[string]uint64

// covers reports whether m is at or above o for every counter of o.
func (m marks) covers(o marks) bool {
	for k, v := range o {
		if m[k] < v {
			return false
		}
	}
	return true
}

// merged is the larger mark of m and o for every counter of either.
func merged(m, o marks) marks {
	out := marks{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range o {
		out[k] = max(out[k], v)
	}
	return out
}

// WatermarkMeta is what a Watermark needs of the meta store.
type WatermarkMeta interface {
	Get(ctx context.Context, key string) (kv.KeyValue, error)
	Txn(ctx context.Context, conds []kv.Cond, ops []kv.Op) (bool, error)
}

// Watermark keeps, in the object store, a value above every ID and every
// timestamp window the allocators persisted in the meta store. The
// allocators (internal/tso) resume from max(meta store, Floor), so IDs and
// timestamps never go backwards even if the meta store is wiped or
// restored from an old backup.
//
// Every process of a cluster that has the object store keeps a Watermark
// (the root coordinator for IDs and timestamps, each role for the server
// ID its session takes), so a raise is a read-modify-write of both stores
// that never writes a process's possibly stale view of the other
// counters: the meta store's copy is raised first, by compare-and-swap,
// then the object store's marks are written as the larger of what is
// there and that copy, and written again until the copy has not moved
// meanwhile. So the object store's marks are at or above the meta
// store's copy once no raise is under way, and the copy is never behind
// a mark some raise wrote: a start that finds the copy behind the object
// store's marks has a meta store that really is behind (wiped, or
// restored from a backup taken before the last raise).
type Watermark struct {
	meta    WatermarkMeta
	objects ObjectStore
	logger  *slog.Logger

	mu     sync.Mutex
	stored marks // the object store's marks, as last read or written
	floor  marks // the marks the meta store is behind of (set at load)
}

// LoadWatermark reads the marks of both stores. A meta store whose copy is
// behind the object store's marks (wiped, or restored from a backup) is
// logged at Warn, and the counters behind resume above the marks (Floor).
// Object store marks behind the copy (a raise that stopped between the
// two writes) are raised to it.
func LoadWatermark(ctx context.Context, meta WatermarkMeta, objects ObjectStore, logger *slog.Logger) (*Watermark, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Watermark{meta: meta, objects: objects, logger: logger, floor: marks{}}
	// The object store first: a raise under way meanwhile has raised the
	// copy before the marks, so it cannot show here as a copy behind.
	stored, err := w.readObject(ctx)
	if err != nil {
		return nil, err
	}
	mirror, _, err := w.readMirror(ctx)
	if err != nil {
		return nil, err
	}
	w.stored = stored
	for k, v := range stored {
		if mirror[k] < v {
			// The meta store has not seen the last mark: it is older than
			// the object store. Its counters may be behind what was handed
			// out; resume above the mark.
			w.floor[k] = v
			logger.Warn("the meta store is behind the object store's high-water mark (wiped, or restored from a backup): resuming above it",
				"counter", k, "meta_store_mark", mirror[k], "object_store_mark", v)
		}
	}
	if !stored.covers(mirror) {
		if err := w.publishLocked(ctx, merged(stored, mirror)); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// readObject reads the object store's marks (none yet: empty).
func (w *Watermark) readObject(ctx context.Context) (marks, error) {
	out := marks{}
	b, err := w.objects.Get(ctx, WatermarkObjectKey)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("identity: read the high-water mark: %w", err)
	default:
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, fmt.Errorf("identity: corrupt high-water mark %s (%q): %w", WatermarkObjectKey, b, err)
		}
	}
	return out, nil
}

// readMirror reads the meta store's copy and its revision (0: none yet).
func (w *Watermark) readMirror(ctx context.Context) (marks, int64, error) {
	out := marks{}
	kvp, err := w.meta.Get(ctx, WatermarkMetaKey)
	switch {
	case errors.Is(err, kv.ErrNotFound):
		return out, 0, nil
	case err != nil:
		return nil, 0, fmt.Errorf("identity: read the meta store's high-water mark: %w", err)
	}
	if err := json.Unmarshal(kvp.Value, &out); err != nil {
		return nil, 0, fmt.Errorf("identity: corrupt high-water mark %s (%q): %w", WatermarkMetaKey, kvp.Value, err)
	}
	return out, kvp.Revision, nil
}

// Floor returns the value counter must resume at or above (0: the meta
// store's own value is current).
func (w *Watermark) Floor(counter string) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.floor[counter]
}

// Raise records that counter's persisted limit is about to become v: if v
// passes the marks, the meta store's copy and then the object store's mark
// move above it before Raise returns.
func (w *Watermark) Raise(ctx context.Context, counter string, v uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v <= w.stored[counter] {
		// The object store's marks only grow, and the copy was raised
		// before them.
		return nil
	}
	for {
		stored, err := w.readObject(ctx)
		if err != nil {
			return err
		}
		mirror, rev, err := w.readMirror(ctx)
		if err != nil {
			return err
		}
		if stored[counter] >= v && mirror[counter] >= v {
			// Another process raised it meanwhile.
			w.stored = merged(w.stored, stored)
			return nil
		}
		mark := max(stored[counter], mirror[counter])
		if mark < v {
			mark = v + steps[counter]
		}
		// The copy moves for this counter only: it says which marks the
		// meta store's counters are current with, and another counter
		// that resumed above its floor may not have persisted its new
		// limit yet (a crash now must still find that counter behind).
		next := merged(mirror, marks{counter: mark})
		b, err := json.Marshal(next)
		if err != nil {
			return err
		}
		ok, err := w.meta.Txn(ctx, []kv.Cond{{Key: WatermarkMetaKey, Revision: rev}}, []kv.Op{{Key: WatermarkMetaKey, Value: b}})
		if err != nil {
			return fmt.Errorf("identity: raise the meta store's high-water mark: %w", err)
		}
		if !ok {
			continue // another process raised a mark meanwhile: read both again
		}
		return w.publishLocked(ctx, merged(stored, next))
	}
}

// publishLocked writes marks to the object store, merged with the meta
// store's copy until the copy no longer moves under the write: a process
// that wrote marks from an older copy after another's write is followed
// by its own rewrite. w.mu is held (or w is not shared yet).
func (w *Watermark) publishLocked(ctx context.Context, m marks) error {
	for {
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := w.objects.Put(ctx, WatermarkObjectKey, b); err != nil {
			// The copy is above the marks until the next raise or start
			// writes them: a start then sees no meta store behind, which
			// is right, as the counter was not persisted past the marks.
			return fmt.Errorf("identity: raise the high-water mark: %w", err)
		}
		w.stored = merged(w.stored, m)
		mirror, _, err := w.readMirror(ctx)
		if err != nil {
			return err
		}
		if m.covers(mirror) {
			return nil
		}
		stored, err := w.readObject(ctx)
		if err != nil {
			return err
		}
		m = merged(stored, merged(m, mirror))
	}
}

// Marks returns the object store's marks (recovery reports them).
func (w *Watermark) Marks() map[string]uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]uint64{}
	for k, v := range w.stored {
		out[k] = v
	}
	return out
}
