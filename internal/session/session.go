package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/milvago/milvago/internal/kv"
)

// Roles of a cluster's processes, as Milvus names them.
const (
	RoleProxy         = "proxy"
	RoleRootCoord     = "rootcoord"
	RoleDataCoord     = "datacoord"
	RoleQueryCoord    = "querycoord"
	RoleIndexCoord    = "indexcoord"
	RoleMixCoord      = "mixcoord"
	RoleQueryNode     = "querynode"
	RoleDataNode      = "datanode"
	RoleIndexNode     = "indexnode"
	RoleStreamingNode = "streamingnode"
)

// Errors reported by sessions.
var (
	// ErrLost is wrapped by Session.Err and Leadership.Err when the
	// session's lease was lost: the process must stop acting.
	ErrLost = errors.New("session: lease lost")
	// ErrClosed is returned by calls on a closed session.
	ErrClosed = errors.New("session: closed")
	// ErrDeposed is wrapped by Leadership.Err when the election key was
	// deleted or overwritten while the session was still alive.
	ErrDeposed = errors.New("session: no longer the active coordinator")
	// ErrResigned is wrapped by Leadership.Err after Resign.
	ErrResigned = errors.New("session: resigned")
	// ErrNoActive is returned by Active when no process holds the role.
	ErrNoActive = errors.New("session: no active coordinator")
)

// DefaultTTL is the session lease's TTL, Milvus's common.session.ttl.
const DefaultTTL = 15 * time.Second

const (
	root  = "session/"
	idKey = root + "id"
)

// Info is what a session publishes, as JSON, under its keys. Field names
// follow Milvus's sessionutil.SessionRaw.
type Info struct {
	ServerID int64  `json:"ServerID"`
	Role     string `json:"ServerName"`
	// Address is the process's gRPC endpoint, host:port.
	Address string `json:"Address"`
	Version string `json:"Version"`
	// StartTime is when the process registered.
	StartTime time.Time `json:"StartTime"`
	// Standby is set while the process campaigns for its role without
	// holding it; Active while it holds it.
	Standby bool `json:"Standby,omitempty"`
	Active  bool `json:"Active,omitempty"`
	// Stopping is set by MarkStopping: the process is shutting down and
	// takes no new work.
	Stopping bool   `json:"Stopping,omitempty"`
	LeaseID  int64  `json:"LeaseID,omitempty"`
	HostName string `json:"HostName,omitempty"`
	// ServerLabels are the process's labels (LabelsFromEnv); resource
	// groups' node filters match a query node's.
	ServerLabels map[string]string `json:"ServerLabels,omitempty"`
}

// Config describes the process that registers.
type Config struct {
	// Role is one of the Role constants (any lowercase word is accepted).
	Role string
	// Address is where peers reach the process's gRPC server, host:port.
	Address string
	// Version is the process's version string.
	Version string
	// TTL is the lease's time to live; default DefaultTTL. etcd rounds it
	// up to whole seconds and to its minimum TTL.
	TTL time.Duration
	// Labels are the server labels the session carries.
	Labels map[string]string
	// Mark, when set, mirrors the server ID counter outside the meta store
	// (AllocIDMarked). nil: the counter lives in the meta store only.
	Mark Mark
}

// Validate reports a config Register cannot use.
func (c Config) Validate() error {
	if c.Role == "" {
		return errors.New("session: no role")
	}
	for _, r := range c.Role {
		if r < 'a' || r > 'z' {
			return fmt.Errorf("session: role %q: only lowercase letters a-z", c.Role)
		}
	}
	if c.Address == "" {
		return fmt.Errorf("session: role %s: no address", c.Role)
	}
	if c.TTL < 0 {
		return fmt.Errorf("session: role %s: negative TTL %v", c.Role, c.TTL)
	}
	return nil
}

// Session is a registered process. It is safe for concurrent use.
type Session struct {
	store  kv.Store
	logger *slog.Logger
	id     int64
	role   string
	key    string // session/<role>-<id>
	lease  kv.LeaseID

	stop context.CancelFunc // ends the keep-alive
	kaWG sync.WaitGroup     // the keep-alive and watchdog goroutines
	done chan struct{}      // closed when the session ends

	// The pause watchdog (fresh.go): tick is time.Since(base) at its last
	// run, on the monotonic clock.
	ttl        time.Duration
	pauseLimit time.Duration
	base       time.Time
	tick       atomic.Int64

	upMu sync.Mutex // serialises update, so the newest Info is written last
	mu   sync.Mutex // guards info and err
	info Info
	err  error // nil while live; wraps ErrLost or is ErrClosed after

	closeOnce sync.Once
	closeErr  error
}

// Register allocates a server ID, publishes the process's session under
// a new lease and keeps the lease alive until Close or until it is lost.
// A nil logger discards.
func Register(ctx context.Context, store kv.Store, cfg Config, logger *slog.Logger) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	id, err := AllocIDMarked(ctx, store, cfg.Mark)
	if err != nil {
		return nil, fmt.Errorf("session: register %s: %w", cfg.Role, err)
	}
	ttl := int64(math.Ceil(cfg.TTL.Seconds()))
	lease, err := store.Grant(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("session: register %s-%d: %w", cfg.Role, id, err)
	}
	host, _ := os.Hostname()
	s := &Session{
		store:      store,
		logger:     logger.With("component", "session", "role", cfg.Role, "server_id", id),
		id:         id,
		role:       cfg.Role,
		key:        memberKey(cfg.Role, id),
		lease:      lease,
		done:       make(chan struct{}),
		ttl:        cfg.TTL,
		base:       time.Now(),
		pauseLimit: pauseLimit(cfg.TTL),
		info: Info{
			ServerID:     id,
			Role:         cfg.Role,
			Address:      cfg.Address,
			Version:      cfg.Version,
			StartTime:    time.Now().UTC().Truncate(time.Millisecond),
			LeaseID:      int64(lease),
			HostName:     host,
			ServerLabels: cfg.Labels,
		},
	}
	value, _ := json.Marshal(s.info)
	// The ID is fresh, so the key cannot exist; the condition guards
	// against a counter that was reset by hand.
	ok, err := store.Txn(ctx, []kv.Cond{{Key: s.key}}, []kv.Op{{Key: s.key, Value: value, Lease: lease}})
	if err == nil && !ok {
		err = fmt.Errorf("key %s already exists (was %s reset?)", s.key, idKey)
	}
	if err != nil {
		s.revoke()
		return nil, fmt.Errorf("session: register %s-%d: %w", cfg.Role, id, err)
	}
	kctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.kaWG.Add(2)
	go s.keepAlive(kctx)
	go s.watchdog(kctx, cfg.TTL)
	s.logger.Info("session registered", "address", cfg.Address, "ttl", cfg.TTL, "lease", fmt.Sprintf("%x", lease))
	return s, nil
}

// keepAlive renews the lease until Close; if the lease is lost it ends the
// session with ErrLost.
func (s *Session) keepAlive(ctx context.Context) {
	defer s.kaWG.Done()
	err := s.store.KeepAlive(ctx, s.lease)
	if ctx.Err() != nil {
		return // Close
	}
	if err == nil {
		err = errors.New("keep-alive ended")
	}
	s.end(fmt.Errorf("session %s: %w: %w", s.key, ErrLost, err))
	s.logger.Error("session lost: stop serving", "err", err)
}

// end records why the session ended and closes Done, once.
func (s *Session) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	s.err = err
	close(s.done)
}

// ID returns the server ID, unique in the cluster and never reused.
func (s *Session) ID() int64 { return s.id }

// Role returns the session's role.
func (s *Session) Role() string { return s.role }

// Key returns the session's key under the store's root path.
func (s *Session) Key() string { return s.key }

// Info returns what the session currently publishes.
func (s *Session) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// Done is closed when the session ends: its lease was lost, or Close.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is nil while the session lives; afterwards it wraps ErrLost when the
// lease was lost, or is ErrClosed after Close.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// update changes the published Info with f and rewrites the session key.
func (s *Session) update(ctx context.Context, f func(*Info)) error {
	s.upMu.Lock()
	defer s.upMu.Unlock()
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return err
	}
	f(&s.info)
	value, _ := json.Marshal(s.info)
	s.mu.Unlock()
	if err := s.store.PutWithLease(ctx, s.key, value, s.lease); err != nil {
		if errors.Is(err, kv.ErrLeaseLost) {
			s.end(fmt.Errorf("session %s: %w: %w", s.key, ErrLost, err))
		}
		return fmt.Errorf("session: update %s: %w", s.key, err)
	}
	return nil
}

// MarkStopping publishes that the process is shutting down (Milvus's
// GoingStop): watchers get an Updated event with Stopping set and should
// move work away from it before it closes.
func (s *Session) MarkStopping(ctx context.Context) error {
	return s.update(ctx, func(i *Info) { i.Stopping = true })
}

// Close stops the keep-alive and revokes the lease, which deletes the
// session's keys (and its election keys) at once. It is idempotent.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.kaWG.Wait()
		s.end(ErrClosed)
		s.closeErr = s.revoke()
		s.logger.Info("session closed")
	})
	return s.closeErr
}

// revoke revokes the lease; a lease already gone is not an error.
func (s *Session) revoke() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.store.Revoke(ctx, s.lease); err != nil && !errors.Is(err, kv.ErrLeaseLost) {
		return fmt.Errorf("session: revoke %s: %w", s.key, err)
	}
	return nil
}

// MarkCounter is the name of the server ID counter in a Mark
// (internal/identity's high-water mark).
const MarkCounter = "session"

// Mark keeps a copy of the server ID counter outside the meta store
// (internal/identity.Watermark, in the object store), so that server IDs
// are not handed out again after the meta store was wiped or restored from
// an old backup.
type Mark interface {
	// Floor is the value the counter must resume at or above: nonzero
	// when the meta store is behind the copy.
	Floor(counter string) uint64
	// Raise is called before the counter's new value v is persisted; it
	// returns once the copy is at least v.
	Raise(ctx context.Context, counter string, v uint64) error
}

// AllocID hands out a server ID from the counter at session/id: a
// compare-and-swap loop, so IDs are unique across the cluster and never
// reused, even after restarts. The first ID is 1.
func AllocID(ctx context.Context, store kv.Store) (int64, error) {
	return AllocIDMarked(ctx, store, nil)
}

// AllocIDMarked is AllocID with the counter mirrored by mark (nil: none):
// it resumes at or above mark's floor, and raises the mark before the
// counter moves past it.
func AllocIDMarked(ctx context.Context, store kv.Store, mark Mark) (int64, error) {
	for {
		var (
			id  int64 = 1
			rev int64 // 0: the counter does not exist yet
		)
		cur, err := store.Get(ctx, idKey)
		switch {
		case errors.Is(err, kv.ErrNotFound):
		case err != nil:
			return 0, fmt.Errorf("session: allocate server id: %w", err)
		default:
			if _, err := fmt.Sscan(string(cur.Value), &id); err != nil || id <= 0 {
				return 0, fmt.Errorf("session: allocate server id: bad counter %s = %q", idKey, cur.Value)
			}
			rev = cur.Revision
		}
		if mark != nil {
			if f := mark.Floor(MarkCounter); f > uint64(id) && f < math.MaxInt64 {
				id = int64(f)
			}
			if err := mark.Raise(ctx, MarkCounter, uint64(id)+1); err != nil {
				return 0, fmt.Errorf("session: allocate server id: %w", err)
			}
		}
		ok, err := store.Txn(ctx, []kv.Cond{{Key: idKey, Revision: rev}},
			[]kv.Op{{Key: idKey, Value: fmt.Appendf(nil, "%d", id+1)}})
		if err != nil {
			return 0, fmt.Errorf("session: allocate server id: %w", err)
		}
		if ok {
			return id, nil
		}
		// Another process took this ID: read the counter again.
	}
}

func memberPrefix(role string) string { return root + role + "-" }

func memberKey(role string, id int64) string { return fmt.Sprintf("%s%d", memberPrefix(role), id) }

func activeKey(role string) string { return root + role }

// parseMember returns the server ID of a member key of role, or false.
func parseMember(role, key string) (int64, bool) {
	rest, ok := strings.CutPrefix(key, memberPrefix(role))
	if !ok {
		return 0, false
	}
	var id int64
	if _, err := fmt.Sscan(rest, &id); err != nil || fmt.Sprint(id) != rest {
		return 0, false
	}
	return id, true
}
