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

// WatermarkMeta is what a Watermark needs of the meta store.
type WatermarkMeta interface {
	Get(ctx context.Context, key string) (kv.KeyValue, error)
	Put(ctx context.Context, key string, value []byte) (int64, error)
}

// Watermark keeps, in the object store, a value above every ID and every
// timestamp window the allocators persisted in the meta store. The
// allocators (internal/tso) resume from max(meta store, Floor), so IDs and
// timestamps never go backwards even if the meta store is wiped or
// restored from an old backup.
type Watermark struct {
	meta    WatermarkMeta
	objects ObjectStore
	logger  *slog.Logger

	mu     sync.Mutex
	stored marks // the object store's marks
	mirror marks // the meta store's copy: per counter, the last mark it saw
	floor  marks // the marks the meta store is behind of (set at load)
}

// LoadWatermark reads the marks of both stores.
func LoadWatermark(ctx context.Context, meta WatermarkMeta, objects ObjectStore, logger *slog.Logger) (*Watermark, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Watermark{meta: meta, objects: objects, logger: logger, stored: marks{}, mirror: marks{}, floor: marks{}}
	b, err := objects.Get(ctx, WatermarkObjectKey)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("identity: read the high-water mark: %w", err)
	default:
		if err := json.Unmarshal(b, &w.stored); err != nil {
			return nil, fmt.Errorf("identity: corrupt high-water mark %s (%q): %w", WatermarkObjectKey, b, err)
		}
	}
	mirror := marks{}
	kvp, err := meta.Get(ctx, WatermarkMetaKey)
	switch {
	case errors.Is(err, kv.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("identity: read the meta store's high-water mark: %w", err)
	default:
		if err := json.Unmarshal(kvp.Value, &mirror); err != nil {
			return nil, fmt.Errorf("identity: corrupt high-water mark %s (%q): %w", WatermarkMetaKey, kvp.Value, err)
		}
	}
	w.mirror = mirror
	for k, v := range w.stored {
		if mirror[k] < v {
			// The meta store has not seen the last mark: it is older than
			// the object store. Its counters may be behind what was handed
			// out; resume above the mark.
			w.floor[k] = v
			logger.Warn("the meta store is behind the object store's high-water mark (wiped, or restored from a backup): resuming above it",
				"counter", k, "meta_store_mark", mirror[k], "object_store_mark", v)
		}
	}
	return w, nil
}

// Floor returns the value counter must resume at or above (0: the meta
// store's own value is current).
func (w *Watermark) Floor(counter string) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.floor[counter]
}

// Raise records that counter's persisted limit is about to become v: if v
// passes the object store's mark, the mark moves above it (in the object
// store first, then in the meta store's copy) before Raise returns.
func (w *Watermark) Raise(ctx context.Context, counter string, v uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v <= w.stored[counter] {
		return nil
	}
	next := marks{}
	for k, x := range w.stored {
		next[k] = x
	}
	next[counter] = v + steps[counter]
	b, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if err := w.objects.Put(ctx, WatermarkObjectKey, b); err != nil {
		return fmt.Errorf("identity: raise the high-water mark: %w", err)
	}
	w.stored = next
	// The meta store's copy moves for this counter only: it says which
	// marks the meta store's counters are current with, and another
	// counter that resumed above its floor may not have persisted its new
	// limit yet (a crash now must still find that counter behind).
	mirror := marks{}
	for k, x := range w.mirror {
		mirror[k] = x
	}
	mirror[counter] = next[counter]
	if b, err = json.Marshal(mirror); err != nil {
		return err
	}
	w.mirror = mirror
	if _, err := w.meta.Put(ctx, WatermarkMetaKey, b); err != nil {
		// The next start sees the meta store behind and resumes above the
		// mark: a jump, never a reuse.
		return fmt.Errorf("identity: copy the high-water mark to the meta store: %w", err)
	}
	return nil
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
