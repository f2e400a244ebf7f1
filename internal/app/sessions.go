package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/resolver"

	"github.com/milvago/milvago/internal/kv"
)

// Sessions are how cluster roles find each other: every process keeps a
// lease-backed key "session/<role>/<serverID>" holding its address, so
// that a process that stops heart-beating vanishes after the lease TTL.
// Coordinators are active-standby: the active one also holds the single
// key "session/<role>" (created only if absent), and a standby waits for
// that key to go before taking it.
//
// This is the small interface the roles program against; internal/session
// (branch deploy) is meant to replace the implementation below.
type sessions interface {
	// Register announces this process as a member of role at addr and
	// keeps the lease alive until ctx ends (then revokes it).
	Register(ctx context.Context, role, addr string) (serverID int64, err error)
	// Campaign blocks until this process holds role's active key (or ctx
	// ends), and returns a channel closed if it loses it (or ctx ends).
	Campaign(ctx context.Context, role, addr string) (lost <-chan struct{}, err error)
	// Members lists role's live members.
	Members(ctx context.Context, role string) ([]member, error)
	// Watch streams role's member lists after every change, starting with
	// the current one.
	Watch(ctx context.Context, role string) <-chan []member
}

// member is one live session.
type member struct {
	ServerID int64  `json:"server_id"`
	Role     string `json:"role"`
	Address  string `json:"address"`
}

const sessionPrefix = "session/"

// sessionTTL is the lease TTL: how long a killed process stays listed.
const sessionTTL = 5

// kvSessions implements sessions over the meta store (etcd).
type kvSessions struct {
	kv     kv.Store
	logger *slog.Logger

	mu    sync.Mutex
	lease kv.LeaseID // one lease for every key of this process
	// lost is closed when the lease is lost (not when ctx ends): every key
	// of the process is gone, and peers have moved its work.
	lost     chan struct{}
	lostOnce sync.Once
}

func newSessions(store kv.Store, logger *slog.Logger) *kvSessions {
	return &kvSessions{kv: store, logger: logger, lost: make(chan struct{})}
}

// Lost is closed when the process's lease is lost.
func (s *kvSessions) Lost() <-chan struct{} { return s.lost }

// leaseFor grants the process lease once and keeps it alive until ctx
// ends, then revokes it; when it is lost instead, Lost closes.
func (s *kvSessions) leaseFor(ctx context.Context) (kv.LeaseID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lease != 0 {
		return s.lease, nil
	}
	id, err := s.kv.Grant(ctx, sessionTTL)
	if err != nil {
		return 0, fmt.Errorf("session: grant lease: %w", err)
	}
	s.lease = id
	go func() {
		err := s.kv.KeepAlive(ctx, id)
		if err != nil {
			s.logger.Error("session lease lost", "err", err)
			s.lostOnce.Do(func() { close(s.lost) })
			return
		}
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.kv.Revoke(rctx, id); err != nil {
			s.logger.Debug("revoke session lease", "err", err)
		}
	}()
	return id, nil
}

func (s *kvSessions) Register(ctx context.Context, role, addr string) (int64, error) {
	lease, err := s.leaseFor(ctx)
	if err != nil {
		return 0, err
	}
	m := member{ServerID: int64(lease), Role: role, Address: addr}
	b, _ := json.Marshal(m)
	if err := s.kv.PutWithLease(ctx, fmt.Sprintf("%s%s/%d", sessionPrefix, role, m.ServerID), b, lease); err != nil {
		return 0, fmt.Errorf("session: register %s: %w", role, err)
	}
	return m.ServerID, nil
}

func (s *kvSessions) Campaign(ctx context.Context, role, addr string) (<-chan struct{}, error) {
	lease, err := s.leaseFor(ctx)
	if err != nil {
		return nil, err
	}
	lost, cancel := context.WithCancelCause(context.Background())
	context.AfterFunc(ctx, func() { cancel(ctx.Err()) })
	go func() {
		select {
		case <-s.lost:
			cancel(errors.New("session lease lost"))
		case <-lost.Done():
		}
	}()
	key := sessionPrefix + role
	b, _ := json.Marshal(member{ServerID: int64(lease), Role: role, Address: addr})
	for {
		_, rev, err := s.kv.ListWithRevision(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("session: campaign %s: %w", role, err)
		}
		ok, err := s.kv.Txn(ctx, []kv.Cond{{Key: key, Revision: 0}}, []kv.Op{{Key: key, Value: b, Lease: lease}})
		if err != nil {
			return nil, fmt.Errorf("session: campaign %s: %w", role, err)
		}
		if ok {
			s.logger.Info("became active", "role", role, "server", int64(lease))
			go s.watchLoss(ctx, key, lease, cancel)
			return lost.Done(), nil
		}
		s.logger.Info("standing by: another process is active", "role", role)
		if err := s.waitGone(ctx, key, rev); err != nil {
			return nil, err
		}
	}
}

// waitGone returns once key is deleted (or ctx ends, with its error).
func (s *kvSessions) waitGone(ctx context.Context, key string, rev int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for ev := range s.kv.Watch(wctx, key, rev) {
		if ev.Key == key && ev.Type == kv.EventDelete {
			return nil
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil // the watch broke: try the campaign again
}

// watchLoss cancels when the active key stops being ours.
func (s *kvSessions) watchLoss(ctx context.Context, key string, lease kv.LeaseID, cancel context.CancelCauseFunc) {
	for ev := range s.kv.Watch(ctx, key, 0) {
		if ev.Key != key {
			continue
		}
		if ev.Type == kv.EventDelete {
			cancel(errors.New("active session deleted"))
			return
		}
		var m member
		if json.Unmarshal(ev.Value, &m) == nil && m.ServerID != int64(lease) {
			cancel(errors.New("another process took the active session"))
			return
		}
	}
}

func (s *kvSessions) Members(ctx context.Context, role string) ([]member, error) {
	ms, _, err := s.members(ctx, role)
	return ms, err
}

func (s *kvSessions) members(ctx context.Context, role string) ([]member, int64, error) {
	kvs, rev, err := s.kv.ListWithRevision(ctx, sessionPrefix+role+"/")
	if err != nil {
		return nil, 0, fmt.Errorf("session: list %s: %w", role, err)
	}
	var out []member
	for _, e := range kvs {
		var m member
		if err := json.Unmarshal(e.Value, &m); err != nil {
			s.logger.Warn("bad session", "key", e.Key, "err", err)
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ServerID < out[j].ServerID })
	return out, rev, nil
}

func (s *kvSessions) Watch(ctx context.Context, role string) <-chan []member {
	out := make(chan []member, 1)
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			ms, rev, err := s.members(ctx, role)
			if err != nil {
				if !sleepCtx(ctx, time.Second) {
					return
				}
				continue
			}
			select {
			case out <- ms:
			case <-ctx.Done():
				return
			}
			for range s.kv.Watch(ctx, sessionPrefix+role+"/", rev) {
				ms, _, err := s.members(ctx, role)
				if err != nil {
					break
				}
				select {
				case out <- ms:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ---- gRPC resolution of a role through its sessions ----

// sessionScheme is the gRPC target scheme "milvago-session:///ROLE": the
// addresses of ROLE's live sessions, kept current by a watch.
const sessionScheme = "milvago-session"

type sessionResolverBuilder struct {
	s   sessions
	ctx context.Context
}

func (b *sessionResolverBuilder) Scheme() string { return sessionScheme }

func (b *sessionResolverBuilder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	role := strings.TrimPrefix(target.Endpoint(), "/")
	ctx, cancel := context.WithCancel(b.ctx)
	go func() {
		for ms := range b.s.Watch(ctx, role) {
			var addrs []resolver.Address
			for _, m := range ms {
				addrs = append(addrs, resolver.Address{Addr: m.Address})
			}
			if len(addrs) == 0 {
				cc.ReportError(fmt.Errorf("no live %s session", role))
				continue
			}
			if err := cc.UpdateState(resolver.State{Addresses: addrs}); err != nil {
				cc.ReportError(err)
			}
		}
	}()
	return &sessionResolver{cancel: cancel}, nil
}

type sessionResolver struct{ cancel context.CancelFunc }

func (r *sessionResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (r *sessionResolver) Close()                                { r.cancel() }
