package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/kvtest"
)

// waitFor bounds every wait; nothing should come close.
const waitFor = 20 * time.Second

// ttl is the lease TTL of sessions that must not expire in a test; the
// race detector on a loaded machine can delay a renewal by a second.
const ttl = 4 * time.Second

func open(t *testing.T, e *kv.Embedded, root string) kv.Store {
	t.Helper()
	s := e.NewStore(root)
	t.Cleanup(func() { s.Close() })
	return s
}

func register(t *testing.T, store kv.Store, role, addr string, ttl time.Duration) *Session {
	t.Helper()
	s, err := Register(t.Context(), store, Config{Role: role, Address: addr, Version: "2.6.0-test", TTL: ttl}, nil)
	if err != nil {
		t.Fatalf("Register %s %s: %v", role, addr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func closed[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitFor):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func next(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("watch closed")
		}
		return e
	case <-time.After(waitFor):
		t.Fatal("timed out waiting for a session event")
	}
	panic("unreachable")
}

func wantEvent(t *testing.T, ch <-chan Event, typ EventType, id int64, addr string) Event {
	t.Helper()
	e := next(t, ch)
	if e.Type != typ || e.Session.ServerID != id || e.Session.Address != addr || e.Revision <= 0 {
		t.Fatalf("event %s %+v at %d, want %s of server %d at %q", e.Type, e.Session, e.Revision, typ, id, addr)
	}
	return e
}

func TestRegisterAndDiscover(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	store := open(t, e, "discover")
	ctx := t.Context()
	q1 := register(t, store, RoleQueryNode, "10.0.0.1:21123", ttl)
	q2 := register(t, store, RoleQueryNode, "10.0.0.2:21123", ttl)
	p := register(t, store, RoleProxy, "10.0.0.3:19529", ttl)
	if q1.ID() == q2.ID() || q1.ID() == p.ID() || q2.ID() == p.ID() {
		t.Fatalf("server ids %d %d %d are not unique", q1.ID(), q2.ID(), p.ID())
	}
	if q1.Key() != fmt.Sprintf("session/querynode-%d", q1.ID()) {
		t.Fatalf("key %q", q1.Key())
	}
	got, rev, err := List(ctx, store, RoleQueryNode)
	if err != nil || rev <= 0 {
		t.Fatalf("List: %v at %d", err, rev)
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0], q1.Info()) || !reflect.DeepEqual(got[1], q2.Info()) {
		t.Fatalf("List(querynode) = %+v, want %+v and %+v", got, q1.Info(), q2.Info())
	}
	i := got[0]
	if i.Role != RoleQueryNode || i.Address != "10.0.0.1:21123" || i.Version != "2.6.0-test" ||
		i.StartTime.IsZero() || i.LeaseID == 0 || i.Active || i.Standby {
		t.Fatalf("published info %+v", i)
	}
	// The JSON is Milvus's field names.
	raw, err := store.Get(ctx, q1.Key())
	if err != nil || !strings.Contains(string(raw.Value), `"ServerName":"querynode"`) ||
		!strings.Contains(string(raw.Value), fmt.Sprintf(`"ServerID":%d`, q1.ID())) {
		t.Fatalf("session value %s, %v", raw.Value, err)
	}
	if got, _, err := List(ctx, store, RoleProxy); err != nil || len(got) != 1 || got[0].ServerID != p.ID() {
		t.Fatalf("List(proxy) = %+v, %v", got, err)
	}
	if got, _, err := List(ctx, store, RoleDataNode); err != nil || len(got) != 0 {
		t.Fatalf("List(datanode) = %+v, %v", got, err)
	}
	if _, _, err := Active(ctx, store, RoleQueryCoord); !errors.Is(err, ErrNoActive) {
		t.Fatalf("Active with no coordinator: %v", err)
	}
	// Close revokes at once.
	if err := q1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q1.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !errors.Is(q1.Err(), ErrClosed) {
		t.Fatalf("Err after Close = %v", q1.Err())
	}
	closed(t, q1.Done(), "Done after Close")
	if got, _, err := List(ctx, store, RoleQueryNode); err != nil || len(got) != 1 || got[0].ServerID != q2.ID() {
		t.Fatalf("List after Close = %+v, %v", got, err)
	}
	if q2.Err() != nil {
		t.Fatalf("live session: Err = %v", q2.Err())
	}

	for _, cfg := range []Config{{Address: "a:1"}, {Role: "query-node", Address: "a:1"}, {Role: "proxy"}, {Role: "proxy", Address: "a:1", TTL: -1}} {
		if _, err := Register(ctx, store, cfg, nil); err == nil {
			t.Errorf("Register(%+v) succeeded", cfg)
		}
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	store := open(t, e, "watch")
	ctx := t.Context()
	a := register(t, store, RoleDataNode, "a:1", ttl)

	// From revision 0: live sessions first, then changes.
	w := Watch(ctx, store, RoleDataNode, 0)
	wantEvent(t, w, Added, a.ID(), "a:1")
	b := register(t, store, RoleDataNode, "b:1", ttl)
	wantEvent(t, w, Added, b.ID(), "b:1")
	register(t, store, RoleIndexNode, "other-role:1", ttl) // not reported
	a.Close()
	wantEvent(t, w, Removed, a.ID(), "a:1") // with the Info seen before

	// List, then Watch from its revision: a join and a leave in between
	// are not missed.
	list, rev, err := List(ctx, store, RoleDataNode)
	if err != nil || len(list) != 1 || list[0].ServerID != b.ID() {
		t.Fatalf("List = %+v, %v", list, err)
	}
	c := register(t, store, RoleDataNode, "c:1", ttl)
	b.Close()
	w2 := Watch(ctx, store, RoleDataNode, rev)
	wantEvent(t, w2, Added, c.ID(), "c:1")
	e2 := next(t, w2) // b was live before rev: only its identity is known
	if e2.Type != Removed || e2.Session.ServerID != b.ID() || e2.Session.Role != RoleDataNode {
		t.Fatalf("event %+v, want removal of %d", e2, b.ID())
	}
	wantEvent(t, w, Added, c.ID(), "c:1")
	wantEvent(t, w, Removed, b.ID(), "b:1")

	// A process shutting down says so first.
	if err := c.MarkStopping(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := wantEvent(t, w, Updated, c.ID(), "c:1"); !ev.Session.Stopping {
		t.Fatalf("after MarkStopping: %+v", ev.Session)
	}

	// Updates (a coordinator turning standby) are reported too.
	wc := Watch(ctx, store, RoleQueryCoord, 0)
	q := register(t, store, RoleQueryCoord, "q:1", ttl)
	wantEvent(t, wc, Added, q.ID(), "q:1")
	lead, err := q.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev := wantEvent(t, wc, Updated, q.ID(), "q:1"); !ev.Session.Standby {
		t.Fatalf("campaigning session %+v is not standby", ev.Session)
	}
	if ev := wantEvent(t, wc, Updated, q.ID(), "q:1"); !ev.Session.Active || ev.Session.Standby {
		t.Fatalf("elected session %+v is not active", ev.Session)
	}
	_ = lead

	// The channel closes when ctx ends.
	cctx, cancel := context.WithCancel(ctx)
	w3 := Watch(cctx, store, RoleDataNode, 0)
	if ev := wantEvent(t, w3, Added, c.ID(), "c:1"); !ev.Session.Stopping {
		t.Fatalf("listed session %+v lost its Stopping flag", ev.Session)
	}
	cancel()
	for range w3 {
	}
}

// TestWatchRelists breaks a watch by compacting the store past its
// revision: the watch lists again and reports what changed meanwhile.
func TestWatchRelists(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	store := open(t, e, "relist")
	ctx := t.Context()
	a := register(t, store, RoleQueryNode, "a:1", ttl)
	_, rev, err := List(ctx, store, RoleQueryNode)
	if err != nil {
		t.Fatal(err)
	}
	b := register(t, store, RoleQueryNode, "b:1", ttl)
	a.Close()
	last, err := store.Put(ctx, "filler", nil)
	if err != nil {
		t.Fatal(err)
	}
	cli := e.Client().Client()
	if _, err := cli.Compact(ctx, last); err != nil {
		t.Fatalf("compact: %v", err)
	}
	w := Watch(ctx, store, RoleQueryNode, rev)
	// a was removed and b added after rev, but those revisions are gone:
	// the listing reports b (a was never seen by this watch, and is not
	// listed, so nothing is said about it).
	wantEvent(t, w, Added, b.ID(), "b:1")
	c := register(t, store, RoleQueryNode, "c:1", ttl)
	wantEvent(t, w, Added, c.ID(), "c:1")
}

func TestAllocIDConcurrent(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	ctx := t.Context()
	const workers, each = 8, 12
	var (
		mu  sync.Mutex
		ids []int64
		wg  sync.WaitGroup
	)
	errc := make(chan error, workers)
	for range workers {
		store := open(t, e, "ids") // one client per process, one counter
		wg.Go(func() {
			for range each {
				id, err := AllocID(ctx, store)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	slices.Sort(ids)
	for i, id := range ids {
		if id != int64(i+1) {
			t.Fatalf("ids %v: want 1..%d, each once", ids, workers*each)
		}
	}
	// Never reused: a later process continues the sequence.
	s := register(t, open(t, e, "ids"), RoleProxy, "p:1", ttl)
	if s.ID() != workers*each+1 {
		t.Fatalf("next id %d, want %d", s.ID(), workers*each+1)
	}
	// A counter that is not a number is reported, not overwritten.
	bad := open(t, e, "bad")
	if _, err := bad.Put(ctx, idKey, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := AllocID(ctx, bad); err == nil {
		t.Fatal("AllocID over a corrupt counter succeeded")
	}
}

func TestElectionHandOver(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	store := open(t, e, "elect")
	ctx := t.Context()
	a := register(t, store, RoleRootCoord, "a:1", ttl)
	b := register(t, store, RoleRootCoord, "b:1", ttl)

	act := WatchActive(ctx, store, RoleRootCoord, 0)
	la, err := a.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Info().Active || a.Info().Standby {
		t.Fatalf("active session info %+v", a.Info())
	}
	wantEvent(t, act, Added, a.ID(), "a:1")
	if info, _, err := Active(ctx, store, RoleRootCoord); err != nil || info.ServerID != a.ID() || !info.Active {
		t.Fatalf("Active = %+v, %v", info, err)
	}

	type result struct {
		l   *Leadership
		err error
	}
	bres := make(chan result, 1)
	go func() {
		l, err := b.Campaign(ctx)
		bres <- result{l, err}
	}()
	// b becomes a standby and stays one while a leads.
	waitUntil(t, "b standby", func() bool {
		l, _, _ := List(ctx, store, RoleRootCoord)
		return len(l) == 2 && l[1].Standby && !l[1].Active
	})
	select {
	case r := <-bres:
		t.Fatalf("second campaign returned while the first leads: %+v", r)
	default:
	}
	// a's fenced writes apply.
	if ok, err := store.Txn(ctx, []kv.Cond{la.Fence()}, []kv.Op{{Key: "meta/x", Value: []byte("a")}}); !ok || err != nil {
		t.Fatalf("fenced write of the leader = %v, %v", ok, err)
	}

	// a closes: b takes over, with a larger token; a's fence fails.
	a.Close()
	closed(t, la.Done(), "a's leadership to end")
	if !errors.Is(la.Err(), ErrClosed) {
		t.Fatalf("leadership Err after Close = %v", la.Err())
	}
	var r result
	select {
	case r = <-bres:
	case <-time.After(waitFor):
		t.Fatal("standby did not take over")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	lb := r.l
	if lb.Token() <= la.Token() {
		t.Fatalf("tokens %d then %d: not increasing", la.Token(), lb.Token())
	}
	wantEvent(t, act, Removed, a.ID(), "a:1")
	wantEvent(t, act, Added, b.ID(), "b:1")
	if ok, err := store.Txn(ctx, []kv.Cond{la.Fence()}, []kv.Op{{Key: "meta/x", Value: []byte("stale")}}); ok || err != nil {
		t.Fatalf("fenced write of a deposed leader = %v, %v; want refused", ok, err)
	}
	if ok, err := store.Txn(ctx, []kv.Cond{lb.Fence()}, []kv.Op{{Key: "meta/x", Value: []byte("b")}}); !ok || err != nil {
		t.Fatalf("fenced write of the new leader = %v, %v", ok, err)
	}

	// Resign hands over while the session stays registered.
	c := register(t, store, RoleRootCoord, "c:1", ttl)
	cres := make(chan result, 1)
	go func() {
		l, err := c.Campaign(ctx)
		cres <- result{l, err}
	}()
	waitUntil(t, "c standby", func() bool { return c.Info().Standby })
	if err := lb.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(lb.Err(), ErrResigned) || b.Err() != nil || b.Info().Active {
		t.Fatalf("after Resign: leadership %v, session %v, info %+v", lb.Err(), b.Err(), b.Info())
	}
	select {
	case r = <-cres:
	case <-time.After(waitFor):
		t.Fatal("standby did not take over after Resign")
	}
	if r.err != nil || r.l.Token() <= lb.Token() {
		t.Fatalf("campaign after Resign: %v, token %d after %d", r.err, r.l.Token(), lb.Token())
	}
	wantEvent(t, act, Removed, b.ID(), "b:1")
	wantEvent(t, act, Added, c.ID(), "c:1")

	// Deleting the election key behind the leader's back deposes it.
	if err := store.Delete(ctx, activeKey(RoleRootCoord)); err != nil {
		t.Fatal(err)
	}
	closed(t, r.l.Done(), "leadership to end when its key is deleted")
	if !errors.Is(r.l.Err(), ErrDeposed) || c.Err() != nil {
		t.Fatalf("deposed leadership: %v, session %v", r.l.Err(), c.Err())
	}

	// Campaign gives up when its ctx ends.
	d := register(t, store, RoleRootCoord, "d:1", ttl)
	if _, err := c.Campaign(ctx); err != nil { // c leads again
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := d.Campaign(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Campaign with an ended ctx: %v", err)
	}
	if d.Info().Standby {
		t.Fatal("session still standby after giving up")
	}
}

// TestNoTwoActives runs several campaigners for one role; each, once
// active, checks it is alone, writes under its fence and steps down.
func TestNoTwoActives(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	ctx := t.Context()
	const n = 5
	var (
		actives atomic.Int32
		mu      sync.Mutex
		tokens  []int64
		wg      sync.WaitGroup
	)
	errc := make(chan error, n)
	for i := range n {
		store := open(t, e, "alone")
		s := register(t, store, RoleDataCoord, fmt.Sprintf("dc%d:1", i), ttl)
		wg.Go(func() {
			l, err := s.Campaign(ctx)
			if err != nil {
				errc <- err
				return
			}
			if k := actives.Add(1); k != 1 {
				errc <- fmt.Errorf("%d actives at once", k)
			}
			ok, err := store.Txn(ctx, []kv.Cond{l.Fence()}, []kv.Op{{Key: "meta/owner", Value: fmt.Append(nil, s.ID())}})
			if !ok || err != nil {
				errc <- fmt.Errorf("fenced write of the active: %v, %v", ok, err)
			}
			mu.Lock()
			tokens = append(tokens, l.Token())
			mu.Unlock()
			actives.Add(-1)
			if i%2 == 0 {
				err = s.Close()
			} else {
				err = l.Resign(ctx)
			}
			if err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if len(tokens) != n || !slices.IsSorted(tokens) || len(slices.Compact(slices.Clone(tokens))) != n {
		t.Fatalf("tokens in order of tenure %v: want %d strictly increasing", tokens, n)
	}
}

func TestMixCoordHoldsItsCoordinators(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	store := open(t, e, "mix")
	ctx := t.Context()
	m := register(t, store, RoleMixCoord, "mix:1", ttl)
	lm, err := m.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{RoleMixCoord, RoleRootCoord, RoleDataCoord, RoleQueryCoord, RoleIndexCoord} {
		if info, _, err := Active(ctx, store, role); err != nil || info.ServerID != m.ID() || info.Address != "mix:1" {
			t.Fatalf("Active(%s) = %+v, %v", role, info, err)
		}
	}
	// A separate querycoord waits for the mixcoord to go.
	q := register(t, store, RoleQueryCoord, "q:1", ttl)
	qres := make(chan error, 1)
	go func() {
		_, err := q.Campaign(ctx)
		qres <- err
	}()
	waitUntil(t, "querycoord standby", func() bool { return q.Info().Standby })
	if err := lm.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-qres:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitFor):
		t.Fatal("querycoord did not take over from the mixcoord")
	}
	if info, _, err := Active(ctx, store, RoleQueryCoord); err != nil || info.ServerID != q.ID() {
		t.Fatalf("Active(querycoord) = %+v, %v", info, err)
	}
	if _, _, err := Active(ctx, store, RoleRootCoord); !errors.Is(err, ErrNoActive) {
		t.Fatalf("Active(rootcoord) after the mixcoord resigned: %v", err)
	}
}

// TestLeaseExpiry cuts a process off from etcd: its lease expires, peers
// see it leave, it learns it is lost, a standby takes over, and the cut-off
// leader's fenced write is refused once it can reach etcd again.
func TestLeaseExpiry(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	ctx := t.Context()
	near := open(t, e, "cut")
	link := newLink(t, strings.TrimPrefix(e.Endpoint(), "unix://"))
	far, err := kv.NewEtcd(ctx, kv.EtcdConfig{Endpoints: []string{"unix://" + link.path}, RootPath: "cut"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { far.Close() })

	a := register(t, far, RoleQueryCoord, "a:1", time.Second)
	la, err := a.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := register(t, near, RoleQueryCoord, "b:1", ttl)
	bres := make(chan *Leadership, 1)
	go func() {
		l, err := b.Campaign(ctx)
		if err != nil {
			t.Error(err)
		}
		bres <- l
	}()
	w := Watch(ctx, near, RoleQueryCoord, 0)
	wantEvent(t, w, Added, a.ID(), "a:1")
	wantEvent(t, w, Added, b.ID(), "b:1")

	link.cut()
	closed(t, a.Done(), "the cut-off session to be lost")
	if !errors.Is(a.Err(), ErrLost) {
		t.Fatalf("Err of the cut-off session = %v, want ErrLost", a.Err())
	}
	closed(t, la.Done(), "the cut-off leadership to end")
	if !errors.Is(la.Err(), ErrLost) {
		t.Fatalf("leadership Err = %v, want ErrLost", la.Err())
	}
	// Peers see it leave (skipping b's standby update).
	for {
		ev := next(t, w)
		if ev.Type == Removed {
			if ev.Session.ServerID != a.ID() || ev.Session.Address != "a:1" {
				t.Fatalf("removed %+v, want a", ev.Session)
			}
			break
		}
	}
	var lb *Leadership
	select {
	case lb = <-bres:
	case <-time.After(waitFor):
		t.Fatal("standby did not take over from the expired leader")
	}
	if lb == nil || lb.Token() <= la.Token() {
		t.Fatalf("new leadership %v after token %d", lb, la.Token())
	}

	// Reconnected, the old leader's fenced write is refused.
	link.heal()
	deadline := time.Now().Add(waitFor)
	for {
		ok, err := far.Txn(ctx, []kv.Cond{la.Fence()}, []kv.Op{{Key: "meta/x", Value: []byte("stale")}})
		if err == nil {
			if ok {
				t.Fatal("a deposed leader's fenced write applied")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconnection: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := near.Get(ctx, "meta/x"); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("meta/x: %v", err)
	}
	// A lost session cannot campaign again.
	if _, err := a.Campaign(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("Campaign of a lost session: %v", err)
	}
}

// TestRevokedLease revokes a session's lease from elsewhere (what etcd
// does when it expires): the session reports itself lost.
func TestRevokedLease(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	store := open(t, e, "revoke")
	s := register(t, store, RoleIndexNode, "i:1", 3*time.Second)
	if err := open(t, e, "revoke").Revoke(t.Context(), kv.LeaseID(s.Info().LeaseID)); err != nil {
		t.Fatal(err)
	}
	closed(t, s.Done(), "the session to notice its lease is gone")
	if !errors.Is(s.Err(), ErrLost) {
		t.Fatalf("Err = %v, want ErrLost", s.Err())
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close of a lost session: %v", err)
	}
}

func waitUntil(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// link is a unix-socket relay to etcd that a test can cut (close every
// connection and refuse new ones) and heal, to play a network partition.
type link struct {
	t      *testing.T
	path   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newLink(t *testing.T, target string) *link {
	l := &link{t: t, path: filepath.Join(t.TempDir(), "relay.sock"), target: target, conns: map[net.Conn]bool{}}
	l.heal()
	t.Cleanup(func() {
		l.cut()
		l.wg.Wait()
	})
	return l
}

func (l *link) heal() {
	ln, err := net.Listen("unix", l.path)
	if err != nil {
		l.t.Fatal(err)
	}
	l.mu.Lock()
	l.ln = ln
	l.mu.Unlock()
	l.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("unix", l.target)
			if err != nil {
				c.Close()
				continue
			}
			l.mu.Lock()
			l.conns[c], l.conns[u] = true, true
			l.mu.Unlock()
			for _, p := range [][2]net.Conn{{c, u}, {u, c}} {
				l.wg.Go(func() {
					io.Copy(p[0], p[1])
					p[0].Close()
					p[1].Close()
				})
			}
		}
	})
}

func (l *link) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
	for c := range l.conns {
		c.Close()
	}
	clear(l.conns)
}
