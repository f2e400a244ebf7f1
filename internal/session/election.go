package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/milvago/milvago/internal/kv"
)

// electionRoles returns the roles whose election keys an active process of
// role holds: a mixcoord holds the coordinators it hosts, as in Milvus.
func electionRoles(role string) []string {
	if role == RoleMixCoord {
		return []string{RoleMixCoord, RoleRootCoord, RoleDataCoord, RoleQueryCoord, RoleIndexCoord}
	}
	return []string{role}
}

// Leadership is a session's tenure as its role's active process. It ends
// when the session's lease is lost or the session closes (Err wraps
// ErrLost or is ErrClosed), when the election key is deleted or replaced
// behind its back (ErrDeposed), or on Resign (ErrResigned). A leadership
// that ended does not come back: the process stops acting as the active
// coordinator, and may Campaign again (with a live session) or exit.
type Leadership struct {
	s     *Session
	keys  []string // election keys; keys[0] is the session's own role
	token int64

	stop context.CancelFunc // ends the monitor
	wg   sync.WaitGroup     // the monitor goroutine
	done chan struct{}

	mu  sync.Mutex // guards err
	err error
}

// Campaign makes the session its role's active process: it returns when
// the session holds the election key, after waiting as a standby while
// another process holds it. While it waits, the session's Info says
// Standby. It fails when ctx ends or the session ends.
func (s *Session) Campaign(ctx context.Context) (*Leadership, error) {
	roles := electionRoles(s.role)
	keys := make([]string, len(roles))
	for i, r := range roles {
		keys[i] = activeKey(r)
	}
	if err := s.update(ctx, func(i *Info) { i.Standby, i.Active = true, false }); err != nil {
		return nil, fmt.Errorf("session: campaign %s: %w", s.role, err)
	}
	s.logger.Info("campaigning: standby")
	retry := minRetry
	for {
		if err := s.Err(); err != nil {
			return nil, fmt.Errorf("session: campaign %s: %w", s.role, err)
		}
		won, err := s.tryElect(ctx, keys)
		if err == nil && won {
			l, err := s.lead(ctx, keys)
			if l != nil || err != nil {
				return l, err
			}
			continue // the key vanished at once: the lease expired
		}
		if err == nil {
			err = s.waitVacant(ctx, keys)
		}
		if err != nil {
			if ctx.Err() != nil {
				s.update(context.WithoutCancel(ctx), func(i *Info) { i.Standby = false })
				return nil, fmt.Errorf("session: campaign %s: %w", s.role, ctx.Err())
			}
			if errors.Is(err, kv.ErrLeaseLost) {
				s.end(fmt.Errorf("session %s: %w: %w", s.key, ErrLost, err))
				continue
			}
			s.logger.Warn("campaign", "err", err)
			if !sleep(ctx, &retry) {
				continue // reported at the top of the loop or by ctx above
			}
		} else {
			retry = minRetry
		}
	}
}

// tryElect creates every election key, attached to the session's lease,
// if none exists.
func (s *Session) tryElect(ctx context.Context, keys []string) (bool, error) {
	info := s.Info()
	info.Standby, info.Active = false, true
	value, _ := json.Marshal(info)
	conds := make([]kv.Cond, len(keys))
	ops := make([]kv.Op, len(keys))
	for i, k := range keys {
		conds[i] = kv.Cond{Key: k}
		ops[i] = kv.Op{Key: k, Value: value, Lease: s.lease}
	}
	return s.store.Txn(ctx, conds, ops)
}

// waitVacant returns when an election key that blocked the session has
// been deleted (or was already gone).
func (s *Session) waitVacant(ctx context.Context, keys []string) error {
	for _, key := range keys {
		kvs, rev, err := s.store.ListWithRevision(ctx, key)
		if err != nil {
			return err
		}
		held := false
		for _, e := range kvs {
			if e.Key == key {
				held = true
				if info, err := decode(e); err == nil {
					s.logger.Info("standby: waiting for the active process", "key", key,
						"active_id", info.ServerID, "active_address", info.Address)
				}
			}
		}
		if !held {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch := s.store.Watch(wctx, key, rev)
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					return ctx.Err() // nil: the watch broke, try again
				}
				if ev.Key == key && ev.Type == kv.EventDelete {
					return nil
				}
			case <-s.done:
				return nil // Campaign reports the session's error
			}
		}
	}
	return nil
}

// lead completes the election: it reads the token, marks the session
// active and starts watching the election key. It returns nil, nil if the
// key is no longer the session's.
func (s *Session) lead(ctx context.Context, keys []string) (*Leadership, error) {
	kvs, rev, err := s.store.ListWithRevision(ctx, keys[0])
	if err != nil {
		return nil, fmt.Errorf("session: campaign %s: %w", s.role, err)
	}
	var token int64
	for _, e := range kvs {
		if e.Key != keys[0] {
			continue
		}
		if info, err := decode(e); err == nil && info.ServerID == s.id {
			token = e.Revision
		}
	}
	if token == 0 {
		return nil, nil // lost between the transaction and the read
	}
	mctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l := &Leadership{s: s, keys: keys, token: token, stop: stop, done: make(chan struct{})}
	if err := s.update(ctx, func(i *Info) { i.Standby, i.Active = false, true }); err != nil {
		s.logger.Warn("mark session active", "err", err)
	}
	s.logger.Info("active", "key", keys[0], "token", token)
	l.wg.Add(1)
	go l.monitor(mctx, rev)
	return l, nil
}

// monitor ends the leadership when the session ends or the election key
// stops being the one this session created.
func (l *Leadership) monitor(ctx context.Context, rev int64) {
	defer l.wg.Done()
	key := l.keys[0]
	retry := minRetry
	for {
		// The etcd client's Watch blocks until its stream is set up, which
		// a cut link delays indefinitely: the session's end cancels it.
		wctx, cancel := l.untilSessionEnds(ctx)
		ch := l.s.store.Watch(wctx, key, rev)
		err := func() error {
			for {
				select {
				case ev, ok := <-ch:
					if !ok {
						return nil
					}
					if ev.Key == key {
						what := "overwritten"
						if ev.Type == kv.EventDelete {
							what = "deleted"
						}
						return fmt.Errorf("session: %s: election key %s %s at revision %d: %w",
							l.s.key, key, what, ev.Revision, ErrDeposed)
					}
				case <-l.s.done:
					return l.s.Err()
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}()
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				l.end(err)
				if errors.Is(err, ErrClosed) {
					// The process closed its own session: a stop, said at
					// info (at warn, each restart's filled the roles' log
					// tails a failed test prints).
					l.s.logger.Info("no longer active", "err", err)
				} else {
					l.s.logger.Warn("no longer active", "err", err)
				}
			}
			return
		}
		// The watch broke: check the key is still ours, then watch again.
		for {
			kvs, r, err := l.listKey(ctx, key)
			if err == nil {
				still := false
				for _, e := range kvs {
					still = still || e.Key == key && e.Revision == l.token
				}
				if !still {
					l.end(fmt.Errorf("session: %s: election key %s changed: %w", l.s.key, key, ErrDeposed))
					return
				}
				rev = r
				break
			}
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, kv.ErrClosed) {
				l.end(fmt.Errorf("session: %s: %w: %w", l.s.key, ErrLost, err))
				return
			}
			select {
			case <-l.s.done:
				l.end(l.s.Err())
				return
			default:
			}
			if !sleep(ctx, &retry) {
				return
			}
		}
	}
}

// listKey reads the election key, giving up as soon as the session ends:
// a read against an unreachable etcd would otherwise block until the link
// comes back, long after the lease (and so the leadership) is gone.
func (l *Leadership) listKey(ctx context.Context, key string) ([]kv.KeyValue, int64, error) {
	lctx, cancel := l.untilSessionEnds(ctx)
	defer cancel()
	return l.s.store.ListWithRevision(lctx, key)
}

// untilSessionEnds returns a context that is also cancelled when the
// session ends.
func (l *Leadership) untilSessionEnds(ctx context.Context) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-l.s.done:
			cancel()
		case <-cctx.Done():
		}
	}()
	return cctx, cancel
}

func (l *Leadership) end(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	l.err = err
	close(l.done)
}

// Token is the fencing token: the election key's revision, larger for
// every later leader. See the package documentation for its use.
func (l *Leadership) Token() int64 { return l.token }

// Fence is the condition to add to a meta-store Txn so that it applies
// only while this leadership holds.
func (l *Leadership) Fence() kv.Cond { return kv.Cond{Key: l.keys[0], Revision: l.token} }

// Done is closed when the leadership ends.
func (l *Leadership) Done() <-chan struct{} { return l.done }

// Err is nil while the leadership holds, then says why it ended.
func (l *Leadership) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Resign gives the role up while the session stays registered: it deletes
// the election keys if they are still this leadership's, so a standby
// takes over at once.
func (l *Leadership) Resign(ctx context.Context) error {
	l.end(fmt.Errorf("session: %s: %w", l.s.key, ErrResigned))
	l.stop()
	l.wg.Wait()
	ops := make([]kv.Op, len(l.keys))
	for i, k := range l.keys {
		ops[i] = kv.Op{Key: k, Delete: true}
	}
	if l.token != 0 {
		if _, err := l.s.store.Txn(ctx, []kv.Cond{l.Fence()}, ops); err != nil {
			return fmt.Errorf("session: resign %s: %w", l.keys[0], err)
		}
	}
	if err := l.s.update(ctx, func(i *Info) { i.Active = false }); err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrLost) {
		return fmt.Errorf("session: resign %s: %w", l.keys[0], err)
	}
	l.s.logger.Info("resigned", "key", l.keys[0])
	return nil
}
