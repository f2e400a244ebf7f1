package kv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Memory is a Store in memory for tests of the code above it: revisions,
// transactions, watches from a revision and leases that expire behave as
// with etcd, minus durability. Its timers are ordinary Go timers, so a
// Memory created inside a testing/synctest bubble runs on the fake clock.
type Memory struct {
	mu        sync.Mutex // guards everything below except done
	rev       int64      // current store revision
	data      map[string]*memEntry
	history   []Event       // every change, in revision order, for Watch
	compacted int64         // history no longer holds revisions <= compacted
	changed   chan struct{} // closed and replaced on every change
	leases    map[LeaseID]*memLease
	nextLease LeaseID
	closed    bool

	done chan struct{} // closed by Close
	kick chan struct{} // wakes the lease reaper
	wg   sync.WaitGroup
}

type memEntry struct {
	value  []byte
	create int64
	mod    int64
	lease  LeaseID
}

type memLease struct {
	ttl    time.Duration
	expiry time.Time
	keys   map[string]struct{}
}

// memHistoryLimit bounds the watch history; older revisions are compacted
// in halves, and watches from them end, as with etcd's compaction.
const memHistoryLimit = 1 << 16

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store. Close stops its lease reaper.
func NewMemory() *Memory {
	m := &Memory{
		rev:       1, // as etcd: the first write has revision 2
		data:      map[string]*memEntry{},
		changed:   make(chan struct{}),
		leases:    map[LeaseID]*memLease{},
		nextLease: 0x6d76, // arbitrary, non-zero
		done:      make(chan struct{}),
		kick:      make(chan struct{}, 1),
	}
	m.wg.Add(1)
	go m.reap()
	return m
}

func (m *Memory) check(ctx context.Context) error {
	if m.closed {
		return ErrClosed
	}
	return ctx.Err()
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, key string) (KeyValue, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return KeyValue{}, fmt.Errorf("kv: get %q: %w", key, err)
	}
	e, ok := m.data[key]
	if !ok {
		return KeyValue{}, fmt.Errorf("kv: get %q: %w", key, ErrNotFound)
	}
	return KeyValue{Key: key, Value: slices.Clone(e.value), Revision: e.mod}, nil
}

// List implements Store.
func (m *Memory) List(ctx context.Context, prefix string) ([]KeyValue, error) {
	out, _, err := m.ListWithRevision(ctx, prefix)
	return out, err
}

// ListWithRevision implements Store.
func (m *Memory) ListWithRevision(ctx context.Context, prefix string) ([]KeyValue, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, 0, fmt.Errorf("kv: list %q: %w", prefix, err)
	}
	var out []KeyValue
	for k, e := range m.data {
		if strings.HasPrefix(k, prefix) {
			out = append(out, KeyValue{Key: k, Value: slices.Clone(e.value), Revision: e.mod})
		}
	}
	slices.SortFunc(out, func(a, b KeyValue) int { return strings.Compare(a.Key, b.Key) })
	return out, m.rev, nil
}

// Put implements Store.
func (m *Memory) Put(ctx context.Context, key string, value []byte) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return 0, fmt.Errorf("kv: put %q: %w", key, err)
	}
	m.rev++
	m.put(key, value, 0)
	m.notify()
	return m.rev, nil
}

// put writes key at m.rev, attached to lease (0: none). m.mu is held.
func (m *Memory) put(key string, value []byte, lease LeaseID) {
	e, ok := m.data[key]
	if !ok {
		e = &memEntry{create: m.rev}
		m.data[key] = e
	}
	if e.lease != 0 && e.lease != lease {
		if l := m.leases[e.lease]; l != nil {
			delete(l.keys, key)
		}
	}
	if lease != 0 {
		m.leases[lease].keys[key] = struct{}{}
	}
	e.value = slices.Clone(value)
	if e.value == nil {
		e.value = []byte{}
	}
	e.mod = m.rev
	e.lease = lease
	m.history = append(m.history, Event{Type: EventPut, KeyValue: KeyValue{Key: key, Value: e.value, Revision: m.rev}})
}

// del deletes key at m.rev, reporting whether it existed. m.mu is held.
func (m *Memory) del(key string) bool {
	e, ok := m.data[key]
	if !ok {
		return false
	}
	if e.lease != 0 {
		if l := m.leases[e.lease]; l != nil {
			delete(l.keys, key)
		}
	}
	delete(m.data, key)
	m.history = append(m.history, Event{Type: EventDelete, KeyValue: KeyValue{Key: key, Revision: m.rev}})
	return true
}

// notify wakes watchers and trims the history. m.mu is held.
func (m *Memory) notify() {
	if len(m.history) > memHistoryLimit {
		drop := len(m.history) / 2
		// Never split one revision.
		for drop < len(m.history) && m.history[drop].Revision == m.history[drop-1].Revision {
			drop++
		}
		m.compacted = m.history[drop-1].Revision
		m.history = slices.Clone(m.history[drop:])
	}
	close(m.changed)
	m.changed = make(chan struct{})
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return fmt.Errorf("kv: delete %q: %w", key, err)
	}
	if _, ok := m.data[key]; !ok {
		return nil
	}
	m.rev++
	m.del(key)
	m.notify()
	return nil
}

// errDuplicateKey mirrors etcd's rejection of a Txn that writes a key twice.
var errDuplicateKey = errors.New("duplicate key given in txn request")

// Txn implements Store. Like etcd, it rejects ops that write the same key
// twice (a put inside a deleted prefix counts).
func (m *Memory) Txn(ctx context.Context, conds []Cond, ops []Op) (bool, error) {
	if err := checkTxnOps(ops); err != nil {
		return false, fmt.Errorf("kv: txn (%d conds, %d ops): %w", len(conds), len(ops), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return false, fmt.Errorf("kv: txn (%d conds, %d ops): %w", len(conds), len(ops), err)
	}
	for _, c := range conds {
		e, ok := m.data[c.Key]
		if c.Revision == 0 && ok || c.Revision != 0 && (!ok || e.mod != c.Revision) {
			return false, nil
		}
	}
	for _, op := range ops {
		if !op.Delete && op.Lease != 0 && m.leases[op.Lease] == nil {
			return false, fmt.Errorf("kv: txn put %q with lease %x: %w", op.Key, op.Lease, ErrLeaseLost)
		}
	}
	m.rev++
	changed := false
	for _, op := range ops {
		switch {
		case op.Delete && op.DeletePrefix:
			var keys []string
			for k := range m.data {
				if strings.HasPrefix(k, op.Key) {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				changed = m.del(k) || changed
			}
		case op.Delete:
			changed = m.del(op.Key) || changed
		default:
			m.put(op.Key, op.Value, op.Lease)
			changed = true
		}
	}
	if !changed {
		m.rev-- // as etcd: a txn that changes nothing keeps the revision
		return true, nil
	}
	m.notify()
	return true, nil
}

func checkTxnOps(ops []Op) error {
	puts := map[string]bool{}
	for _, op := range ops {
		if !op.Delete {
			if puts[op.Key] {
				return fmt.Errorf("%w: %q", errDuplicateKey, op.Key)
			}
			puts[op.Key] = true
		}
	}
	for _, op := range ops {
		if !op.Delete {
			continue
		}
		for k := range puts {
			if k == op.Key || op.DeletePrefix && strings.HasPrefix(k, op.Key) {
				return fmt.Errorf("%w: %q", errDuplicateKey, k)
			}
		}
	}
	return nil
}

// Watch implements Store. With rev 0 it delivers every change made after
// Watch returns. When rev has been compacted away the channel closes.
func (m *Memory) Watch(ctx context.Context, prefix string, rev int64) <-chan Event {
	out := make(chan Event)
	m.mu.Lock()
	defer m.mu.Unlock()
	next := rev + 1
	if rev <= 0 {
		next = m.rev + 1
	}
	if m.closed || ctx.Err() != nil || next <= m.compacted {
		close(out)
		return out
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(out)
		for {
			m.mu.Lock()
			if next <= m.compacted {
				m.mu.Unlock()
				return
			}
			i := sort.Search(len(m.history), func(i int) bool { return m.history[i].Revision >= next })
			var evs []Event
			for _, e := range m.history[i:] {
				if strings.HasPrefix(e.Key, prefix) {
					e.Value = slices.Clone(e.Value)
					evs = append(evs, e)
				}
			}
			if m.rev >= next {
				next = m.rev + 1
			}
			changed, closed := m.changed, m.closed
			m.mu.Unlock()
			for _, e := range evs {
				select {
				case out <- e:
				case <-ctx.Done():
					return
				case <-m.done:
					return
				}
			}
			if closed {
				return
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			case <-m.done:
				return
			}
		}
	}()
	return out
}

// Grant implements Store. TTLs below one second are raised to one second.
func (m *Memory) Grant(ctx context.Context, ttlSeconds int64) (LeaseID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return 0, fmt.Errorf("kv: grant lease ttl %ds: %w", ttlSeconds, err)
	}
	ttl := time.Duration(max(ttlSeconds, 1)) * time.Second
	m.nextLease++
	id := m.nextLease
	m.leases[id] = &memLease{ttl: ttl, expiry: time.Now().Add(ttl), keys: map[string]struct{}{}}
	m.wakeReaper()
	return id, nil
}

func (m *Memory) wakeReaper() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// refresh extends lease by its TTL from now.
func (m *Memory) refresh(id LeaseID) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	l := m.leases[id]
	if l == nil {
		return 0, ErrLeaseLost
	}
	l.expiry = time.Now().Add(l.ttl)
	return l.ttl, nil
}

// KeepAlive implements Store, refreshing the lease every third of its TTL.
func (m *Memory) KeepAlive(ctx context.Context, lease LeaseID) error {
	ttl, err := m.refresh(lease)
	if err != nil {
		return fmt.Errorf("kv: keep lease %x alive: %w", lease, err)
	}
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.done:
			return fmt.Errorf("kv: keep lease %x alive: %w", lease, ErrClosed)
		case <-t.C:
			if _, err := m.refresh(lease); err != nil {
				return fmt.Errorf("kv: keep lease %x alive: %w", lease, err)
			}
		}
	}
}

// PutWithLease implements Store.
func (m *Memory) PutWithLease(ctx context.Context, key string, value []byte, lease LeaseID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return fmt.Errorf("kv: put %q with lease %x: %w", key, lease, err)
	}
	if m.leases[lease] == nil {
		return fmt.Errorf("kv: put %q with lease %x: %w", key, lease, ErrLeaseLost)
	}
	m.rev++
	m.put(key, value, lease)
	m.notify()
	return nil
}

// Revoke implements Store.
func (m *Memory) Revoke(ctx context.Context, lease LeaseID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return fmt.Errorf("kv: revoke lease %x: %w", lease, err)
	}
	if m.leases[lease] == nil {
		return fmt.Errorf("kv: revoke lease %x: %w", lease, ErrLeaseLost)
	}
	m.expire(lease)
	return nil
}

// expire deletes lease and its keys at one new revision. m.mu is held.
func (m *Memory) expire(id LeaseID) {
	l := m.leases[id]
	delete(m.leases, id)
	if len(l.keys) == 0 {
		return
	}
	keys := make([]string, 0, len(l.keys))
	for k := range l.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m.rev++
	for _, k := range keys {
		m.del(k)
	}
	m.notify()
}

// reap expires leases when their time comes.
func (m *Memory) reap() {
	defer m.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		m.mu.Lock()
		now := time.Now()
		var next time.Time
		for id, l := range m.leases {
			if !l.expiry.After(now) {
				m.expire(id)
			} else if next.IsZero() || l.expiry.Before(next) {
				next = l.expiry
			}
		}
		m.mu.Unlock()
		wait := time.Hour
		if !next.IsZero() {
			wait = next.Sub(now)
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-m.kick:
		case <-m.done:
			return
		}
	}
}

// Close implements Store: it ends watches, keep-alives and the lease
// reaper, and waits for them. Close is idempotent.
func (m *Memory) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}
