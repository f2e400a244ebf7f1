// Package identity gives the three stores of a deployment (the meta store,
// the log and the object store) one cluster identity, checked at every
// start, and keeps a high-water mark of the IDs and timestamps handed out
// outside the meta store, so that neither ever goes backwards.
//
// Without it, a wiped meta store restarts the ID counter and a new
// collection reads back an old collection's log messages and files, and a
// lost log directory makes every checkpoint point past the end of an empty
// log, so nothing new is ever read. With it, a start finds which store is
// missing or belongs to another cluster and refuses to serve, naming the
// store; `milvago recover` (internal/app/recover.go) rebuilds what can be
// rebuilt.
package identity

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/objstore"
)

// Where each store keeps the identity.
const (
	// MetaKey is the meta store's record (under its root path).
	MetaKey = "cluster/identity"
	// ObjectKey is the object store's copy (under its root path).
	ObjectKey = "cluster/identity.json"
	// LogChannel is the log channel whose first message is the log's copy.
	LogChannel = "milvago-cluster-identity"
)

// The stores, as named in records and errors.
const (
	StoreMeta    = "meta"
	StoreObjects = "objects"
	StoreLog     = "log"
)

// Errors Check wraps; errors.As(err, **Error) gives the details.
var (
	// ErrMissing: a store that carried the identity has none (wiped or
	// replaced by an empty one), or the meta store has none while another
	// store has one.
	ErrMissing = errors.New("store has no cluster identity")
	// ErrMismatch: a store carries another cluster's identity.
	ErrMismatch = errors.New("store belongs to another cluster")
)

// Identity is a deployment's cluster identity.
type Identity struct {
	ClusterID string    `json:"cluster_id"`
	CreatedAt time.Time `json:"created_at"`
}

// Record is the meta store's copy of the identity: it also remembers which
// other stores were stamped, so that an unstamped store later is known to
// have been lost rather than never seen.
type Record struct {
	Identity
	Stamped map[string]bool `json:"stamped"`
}

// New returns a fresh identity (a random UUID).
func New() Identity {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return Identity{ClusterID: fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), CreatedAt: time.Now().UTC().Truncate(time.Second)}
}

// MetaStore is what the check needs of the meta store.
type MetaStore interface {
	Get(ctx context.Context, key string) (kv.KeyValue, error)
	Txn(ctx context.Context, conds []kv.Cond, ops []kv.Op) (bool, error)
}

// ObjectStore is what the check needs of the object store.
type ObjectStore interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, data []byte) error
}

// LogStore is what the check needs of the log.
type LogStore interface {
	Append(ctx context.Context, channel string, payload []byte, props map[string]string) (logbroker.MessageID, error)
	Read(ctx context.Context, channel string, after logbroker.MessageID) (logbroker.Reader, error)
	Latest(ctx context.Context, channel string) (logbroker.MessageID, error)
}

// Stores are the stores a process opened, each with a description naming
// it for an operator (kind and path or endpoint). A process checks the
// stores it uses: Objects or Log may be nil.
type Stores struct {
	Meta        MetaStore
	MetaName    string
	Objects     ObjectStore
	ObjectsName string
	Log         LogStore
	LogName     string
	// Hint, when set, says how to recover a store (the command line of
	// `milvago recover` for this deployment); it ends a refusal.
	Hint func(store string) string
}

// Error is a refusal to start: which store, and what is wrong with it.
type Error struct {
	Store   string // StoreMeta, StoreObjects or StoreLog
	Name    string // the store's description
	Kind    error  // ErrMissing or ErrMismatch
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

// State is what a store holds: its identity, or none.
type State struct {
	Present  bool
	Identity Identity
}

// Read returns what each given store holds, stamping nothing. The meta
// store's record is returned whole.
func Read(ctx context.Context, st Stores) (meta Record, metaOK bool, objects, log State, revision int64, err error) {
	meta, metaOK, revision, err = readMeta(ctx, st.Meta)
	if err != nil {
		return
	}
	if st.Objects != nil {
		if objects, err = readObjects(ctx, st.Objects); err != nil {
			err = fmt.Errorf("identity: read %s: %w", st.ObjectsName, err)
			return
		}
	}
	if st.Log != nil {
		if log, err = readLog(ctx, st.Log); err != nil {
			err = fmt.Errorf("identity: read %s: %w", st.LogName, err)
		}
	}
	return
}

// Check verifies that the given stores belong to one cluster, stamping a
// store that was never stamped (the first start, or a role that reaches a
// store first), and returns the identity. It refuses, with an *Error, a
// store that was stamped and has lost its identity, a store of another
// cluster, and a meta store without identity next to a store that has one.
func Check(ctx context.Context, st Stores, logger *slog.Logger) (Identity, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	for attempt := 0; ; attempt++ {
		rec, ok, objects, lg, rev, err := Read(ctx, st)
		if err != nil {
			return Identity{}, err
		}
		if !ok {
			if err := missingMeta(st, objects, lg); err != nil {
				// Read reads the meta store before the others: a process
				// that started at the same moment may have written the
				// record and stamped a store in between. Only a meta store
				// still without identity is a wiped one.
				if _, stamped, _, rerr := readMeta(ctx, st.Meta); rerr == nil && stamped && attempt <= 20 {
					continue
				}
				return Identity{}, err
			}
			rec = Record{Identity: New(), Stamped: map[string]bool{}}
			logger.Info("new cluster: stamping the stores with a cluster identity", "cluster_id", rec.ClusterID)
		} else if err := compare(st, rec, objects, lg); err != nil {
			// A store the record calls stamped may be one another process
			// is stamping right now (it records the stamp first): give it
			// a moment before calling the store wiped.
			var ie *Error
			if errors.As(err, &ie) && ie.Kind == ErrMissing && attempt < 20 {
				select {
				case <-ctx.Done():
					return Identity{}, ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			return Identity{}, err
		}
		// Record the new stamps first (an interrupted start leaves
		// "stamped" true and the store unstamped only if the stamp itself
		// failed, which the retry below repairs before returning).
		changed := !ok
		if st.Objects != nil && !objects.Present && !rec.Stamped[StoreObjects] {
			rec.Stamped[StoreObjects], changed = true, true
		}
		if st.Log != nil && !lg.Present && !rec.Stamped[StoreLog] {
			rec.Stamped[StoreLog], changed = true, true
		}
		if changed {
			applied, err := putMeta(ctx, st.Meta, rec, rev)
			if err != nil {
				return Identity{}, fmt.Errorf("identity: write %s: %w", st.MetaName, err)
			}
			if !applied {
				if attempt > 20 {
					return Identity{}, fmt.Errorf("identity: %s keeps changing under the check", st.MetaName)
				}
				continue // another process stamped meanwhile: check again
			}
		}
		if st.Objects != nil && !objects.Present {
			if err := StampObjects(ctx, st.Objects, rec.Identity); err != nil {
				return Identity{}, fmt.Errorf("identity: stamp %s: %w", st.ObjectsName, err)
			}
			logger.Info("stamped the object store with the cluster identity", "store", st.ObjectsName, "cluster_id", rec.ClusterID)
		}
		if st.Log != nil && !lg.Present {
			if err := StampLog(ctx, st.Log, rec.Identity); err != nil {
				return Identity{}, fmt.Errorf("identity: stamp %s: %w", st.LogName, err)
			}
			logger.Info("stamped the log with the cluster identity", "store", st.LogName, "cluster_id", rec.ClusterID)
		}
		return rec.Identity, nil
	}
}

// missingMeta refuses a meta store without identity when another store has
// one: the meta store was wiped or replaced.
func missingMeta(st Stores, objects, lg State) error {
	var other, otherName string
	switch {
	case objects.Present:
		other, otherName = objects.Identity.ClusterID, st.ObjectsName
	case lg.Present:
		other, otherName = lg.Identity.ClusterID, st.LogName
	default:
		return nil
	}
	return &Error{Store: StoreMeta, Name: st.MetaName, Kind: ErrMissing, Message: fmt.Sprintf(
		"cluster identity: %s has no cluster identity, but %s belongs to cluster %s: the meta store was wiped or replaced. "+
			"Starting would reuse IDs and read back old log messages and files as new data. Restore the meta store, or "+
			"adopt an empty one (its collections are lost): %s", st.MetaName, otherName, other, hint(st, "meta"))}
}

// compare refuses stores whose identity differs from the meta store's,
// and stamped stores that lost theirs.
func compare(st Stores, rec Record, objects, lg State) error {
	check := func(store, name string, s State, lost string) error {
		switch {
		case s.Present && s.Identity.ClusterID != rec.ClusterID:
			return &Error{Store: store, Name: name, Kind: ErrMismatch, Message: fmt.Sprintf(
				"cluster identity: %s belongs to cluster %s, but %s belongs to cluster %s: the %s is another deployment's. "+
					"Point this deployment at its own %s, or: %s", name, s.Identity.ClusterID, st.MetaName, rec.ClusterID, store, store, hint(st, store))}
		case !s.Present && rec.Stamped[store]:
			return &Error{Store: store, Name: name, Kind: ErrMissing, Message: fmt.Sprintf(
				"cluster identity: %s has no cluster identity, but cluster %s (%s) stamped it: it was wiped or replaced, %s. "+
					"Restore it, or: %s", name, rec.ClusterID, st.MetaName, lost, hint(st, store))}
		}
		return nil
	}
	if st.Objects != nil {
		if err := check(StoreObjects, st.ObjectsName, objects, "and every flushed segment and index in it is lost"); err != nil {
			return err
		}
	}
	if st.Log != nil {
		if err := check(StoreLog, st.LogName, lg, "and every write not yet flushed to the object store is lost"); err != nil {
			return err
		}
	}
	return nil
}

func hint(st Stores, store string) string {
	if st.Hint == nil {
		return "see `milvago recover --help`"
	}
	return st.Hint(store)
}

func readMeta(ctx context.Context, m MetaStore) (Record, bool, int64, error) {
	kvp, err := m.Get(ctx, MetaKey)
	if errors.Is(err, kv.ErrNotFound) {
		return Record{}, false, 0, nil
	}
	if err != nil {
		return Record{}, false, 0, fmt.Errorf("identity: read the meta store: %w", err)
	}
	var rec Record
	if err := json.Unmarshal(kvp.Value, &rec); err != nil || rec.ClusterID == "" {
		return Record{}, false, 0, fmt.Errorf("identity: the meta store's %s is not a cluster identity (%q)", MetaKey, kvp.Value)
	}
	if rec.Stamped == nil {
		rec.Stamped = map[string]bool{}
	}
	return rec, true, kvp.Revision, nil
}

// putMeta writes rec if MetaKey is still at revision rev (0: absent).
func putMeta(ctx context.Context, m MetaStore, rec Record, rev int64) (bool, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	return m.Txn(ctx, []kv.Cond{{Key: MetaKey, Revision: rev}}, []kv.Op{{Key: MetaKey, Value: b}})
}

// WriteMeta replaces the meta store's record (recovery).
func WriteMeta(ctx context.Context, m MetaStore, rec Record) error {
	_, _, rev, err := readMeta(ctx, m)
	if err != nil {
		// An unreadable record is replaced too.
		kvp, gerr := m.Get(ctx, MetaKey)
		if gerr != nil {
			return err
		}
		rev = kvp.Revision
	}
	ok, err := putMeta(ctx, m, rec, rev)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("identity: %s changed while it was rewritten", MetaKey)
	}
	return nil
}

func readObjects(ctx context.Context, o ObjectStore) (State, error) {
	b, err := o.Get(ctx, ObjectKey)
	if errors.Is(err, objstore.ErrNotFound) {
		return State{}, nil
	}
	if err != nil {
		return State{}, err
	}
	var id Identity
	if err := json.Unmarshal(b, &id); err != nil || id.ClusterID == "" {
		return State{}, fmt.Errorf("%s is not a cluster identity (%q)", ObjectKey, b)
	}
	return State{Present: true, Identity: id}, nil
}

// StampObjects writes id into the object store.
func StampObjects(ctx context.Context, o ObjectStore, id Identity) error {
	b, err := json.Marshal(id)
	if err != nil {
		return err
	}
	return o.Put(ctx, ObjectKey, b)
}

// readTimeout bounds the wait for a message Latest says is there.
const readTimeout = 30 * time.Second

func readLog(ctx context.Context, l LogStore) (State, error) {
	last, err := l.Latest(ctx, LogChannel)
	if err != nil && !errors.Is(err, logbroker.ErrNoSuchChannel) {
		return State{}, err
	}
	if last == 0 {
		return State{}, nil
	}
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	r, err := l.Read(rctx, LogChannel, 0)
	if err != nil {
		return State{}, err
	}
	defer r.Close()
	m, err := r.Next(rctx)
	if err != nil {
		return State{}, fmt.Errorf("read channel %s: %w", LogChannel, err)
	}
	var id Identity
	if err := json.Unmarshal(m.Payload, &id); err != nil || id.ClusterID == "" {
		return State{}, fmt.Errorf("channel %s does not hold a cluster identity (%q)", LogChannel, m.Payload)
	}
	return State{Present: true, Identity: id}, nil
}

// StampLog appends id to the log's identity channel. Only the channel's
// first message counts: a log stamped twice by racing processes of one
// cluster keeps the first, which is the same identity.
func StampLog(ctx context.Context, l LogStore, id Identity) error {
	b, err := json.Marshal(id)
	if err != nil {
		return err
	}
	_, err = l.Append(ctx, LogChannel, b, nil)
	return err
}

// Verify is Check without stamping: it returns the refusal a start would
// return (nil when a start would go ahead, stamping what was never
// stamped).
func Verify(ctx context.Context, st Stores) error {
	rec, ok, objects, lg, _, err := Read(ctx, st)
	if err != nil {
		return err
	}
	if !ok {
		return missingMeta(st, objects, lg)
	}
	return compare(st, rec, objects, lg)
}

// RestampLog replaces the log's identity (recovery adopting a log that has
// another one, or a damaged one): it appends id, then discards every
// earlier message of the identity channel, so that id becomes the first.
// A crash in between leaves the old identity first; running it again
// finishes.
func RestampLog(ctx context.Context, l interface {
	LogStore
	Truncate(ctx context.Context, channel string, upTo logbroker.MessageID) error
}, id Identity) error {
	b, err := json.Marshal(id)
	if err != nil {
		return err
	}
	at, err := l.Append(ctx, LogChannel, b, nil)
	if err != nil {
		return err
	}
	return l.Truncate(ctx, LogChannel, at-1)
}
