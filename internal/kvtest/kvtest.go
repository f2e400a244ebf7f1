// Package kvtest holds the conformance suite every kv.Store implementation
// runs, and a fault-injecting wrapper for tests of code that uses a store.
package kvtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/kv"
)

// waitFor bounds every wait in the suite; nothing here should come close.
const waitFor = 20 * time.Second

// Run runs the conformance suite. newStore returns a store that sees no
// keys (a fresh store, or a fresh root path on a shared server); Run closes
// it at the end of each subtest. Subtests run in parallel.
//
// Lease tests grant 1-second TTLs and wait for expiry: a store whose
// minimum TTL is longer makes them slower, not wrong.
func Run(t *testing.T, newStore func(t *testing.T) kv.Store) {
	open := func(t *testing.T) kv.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	for _, tc := range []struct {
		name string
		f    func(t *testing.T, s kv.Store)
	}{
		{"GetPut", testGetPut},
		{"List", testList},
		{"ListWithRevision", testListWithRevision},
		{"Delete", testDelete},
		{"Txn", testTxn},
		{"TxnDeletePrefix", testTxnDeletePrefix},
		{"TxnDuplicateKey", testTxnDuplicateKey},
		{"Watch", testWatch},
		{"WatchFromRevision", testWatchFromRevision},
		{"WatchEnds", testWatchEnds},
		{"LeaseExpiry", testLeaseExpiry},
		{"LeaseLost", testLeaseLost},
		{"TxnLease", testTxnLease},
		{"ConcurrentCAS", testConcurrentCAS},
		{"Context", testContext},
		{"Closed", testClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.f(t, open(t))
		})
	}
	t.Run("Isolation", func(t *testing.T) {
		t.Parallel()
		a, b := open(t), open(t)
		mustPut(t, a, "shared/key", "a")
		if l, err := b.List(context.Background(), ""); err != nil || len(l) != 0 {
			t.Fatalf("a fresh store lists %v, %v", l, err)
		}
	})
}

func mustPut(t *testing.T, s kv.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Put(context.Background(), key, []byte(value))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return rev
}

func wantValue(t *testing.T, s kv.Store, key, want string) kv.KeyValue {
	t.Helper()
	got, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if string(got.Value) != want || got.Key != key {
		t.Fatalf("Get(%q) = %q=%q, want %q", key, got.Key, got.Value, want)
	}
	return got
}

func wantMissing(t *testing.T, s kv.Store, key string) {
	t.Helper()
	if _, err := s.Get(context.Background(), key); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("Get(%q): err = %v, want ErrNotFound", key, err)
	}
}

func testGetPut(t *testing.T, s kv.Store) {
	wantMissing(t, s, "a")
	r1 := mustPut(t, s, "a", "1")
	got := wantValue(t, s, "a", "1")
	if got.Revision != r1 {
		t.Fatalf("Get revision %d, Put returned %d", got.Revision, r1)
	}
	r2 := mustPut(t, s, "a", "2")
	if r2 <= r1 {
		t.Fatalf("revisions went from %d to %d", r1, r2)
	}
	if got := wantValue(t, s, "a", "2"); got.Revision != r2 {
		t.Fatalf("Get revision %d, want %d", got.Revision, r2)
	}
	// Empty and binary values, odd keys.
	mustPut(t, s, "empty", "")
	wantValue(t, s, "empty", "")
	bin := string([]byte{0, 1, 2, 0xff, 0xfe})
	mustPut(t, s, "bin/\x00\xff", bin)
	wantValue(t, s, "bin/\x00\xff", bin)
	// Values are the caller's after return.
	v := []byte("owned")
	if _, err := s.Put(context.Background(), "own", v); err != nil {
		t.Fatal(err)
	}
	copy(v, "XXXXX")
	g := wantValue(t, s, "own", "owned")
	copy(g.Value, "YYYYY")
	wantValue(t, s, "own", "owned")
	// A value of 1 MiB (etcd's default request limit is 1.5 MiB).
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	if _, err := s.Put(context.Background(), "big", big); err != nil {
		t.Fatalf("Put of 1 MiB: %v", err)
	}
	wantValue(t, s, "big", string(big))
}

func testList(t *testing.T, s kv.Store) {
	ctx := context.Background()
	all := []string{"a", "a/1", "a/10", "a/2", "a/b/c", "a0", "ab", "b", "b/1"}
	revs := map[string]int64{}
	for _, i := range []int{5, 2, 8, 0, 7, 1, 4, 3, 6} {
		revs[all[i]] = mustPut(t, s, all[i], "v"+all[i])
	}
	f := func(prefix string, want ...string) {
		t.Helper()
		got, err := s.List(ctx, prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		keys := make([]string, len(got))
		for i, kv := range got {
			keys[i] = kv.Key
			if string(kv.Value) != "v"+kv.Key || kv.Revision != revs[kv.Key] {
				t.Fatalf("List(%q): %q = %q at %d, want %q at %d", prefix, kv.Key, kv.Value, kv.Revision, "v"+kv.Key, revs[kv.Key])
			}
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("List(%q) = %q, want %q", prefix, keys, want)
		}
	}
	f("", all...)
	f("a", "a", "a/1", "a/10", "a/2", "a/b/c", "a0", "ab")
	f("a/", "a/1", "a/10", "a/2", "a/b/c")
	f("a/1", "a/1", "a/10")
	f("a/b/", "a/b/c")
	f("b", "b", "b/1")
	f("c")
	f("a/b/c/")
}

func testListWithRevision(t *testing.T, s kv.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, rev, err := s.ListWithRevision(ctx, "lr/")
	if err != nil || len(l) != 0 || rev <= 0 {
		t.Fatalf("ListWithRevision of an empty prefix = %v, %d, %v; want no entries at a positive revision", l, rev, err)
	}
	// A change made right after an empty list is not missed by a watch
	// from the list's revision.
	r1 := mustPut(t, s, "lr/a", "1")
	if r1 <= rev {
		t.Fatalf("a put after ListWithRevision got revision %d <= %d", r1, rev)
	}
	wantEvent(t, s.Watch(ctx, "lr/", rev), kv.EventPut, "lr/a", "1", r1)
	// The revision is the store's, not the newest entry's.
	r2 := mustPut(t, s, "elsewhere", "x")
	l, rev, err = s.ListWithRevision(ctx, "lr/")
	if err != nil || len(l) != 1 || l[0].Key != "lr/a" || l[0].Revision != r1 || rev < r2 {
		t.Fatalf("ListWithRevision = %v, %d, %v; want lr/a at %d, revision >= %d", l, rev, err, r1, r2)
	}
}

func testDelete(t *testing.T, s kv.Store) {
	ctx := context.Background()
	mustPut(t, s, "d/1", "x")
	mustPut(t, s, "d/2", "y")
	for range 2 {
		if err := s.Delete(ctx, "d/1"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if err := s.Delete(ctx, "never"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	if err := s.Delete(ctx, "d/"); err != nil { // a prefix, not a key
		t.Fatal(err)
	}
	wantMissing(t, s, "d/1")
	wantValue(t, s, "d/2", "y")
	// A deleted key is created anew.
	r := mustPut(t, s, "d/1", "z")
	ok, err := s.Txn(ctx, []kv.Cond{{Key: "d/1", Revision: r}}, nil)
	if err != nil || !ok {
		t.Fatalf("Txn on the re-created key's revision = %v, %v", ok, err)
	}
}

func testTxn(t *testing.T, s kv.Store) {
	ctx := context.Background()
	txn := func(conds []kv.Cond, ops []kv.Op, want bool) {
		t.Helper()
		ok, err := s.Txn(ctx, conds, ops)
		if err != nil {
			t.Fatalf("Txn(%v, %v): %v", conds, ops, err)
		}
		if ok != want {
			t.Fatalf("Txn(%v, %v) = %v, want %v", conds, ops, ok, want)
		}
	}
	put := func(k, v string) kv.Op { return kv.Op{Key: k, Value: []byte(v)} }

	// Create only if absent.
	txn([]kv.Cond{{Key: "c", Revision: 0}}, []kv.Op{put("c", "1")}, true)
	txn([]kv.Cond{{Key: "c", Revision: 0}}, []kv.Op{put("c", "2")}, false)
	c := wantValue(t, s, "c", "1")

	// Compare-and-swap on the revision.
	txn([]kv.Cond{{Key: "c", Revision: c.Revision + 1000}}, []kv.Op{put("c", "3")}, false)
	txn([]kv.Cond{{Key: "c", Revision: c.Revision}}, []kv.Op{put("c", "3")}, true)
	txn([]kv.Cond{{Key: "c", Revision: c.Revision}}, []kv.Op{put("c", "4")}, false)
	c = wantValue(t, s, "c", "3")

	// A missing key has no revision to match.
	txn([]kv.Cond{{Key: "missing", Revision: c.Revision}}, []kv.Op{put("x", "1")}, false)
	wantMissing(t, s, "x")

	// All conditions must hold, and then every op applies at one revision.
	mustPut(t, s, "d", "1")
	d := wantValue(t, s, "d", "1")
	ops := []kv.Op{put("c", "5"), put("d", "5"), put("e", "5"), {Key: "never", Delete: true}}
	txn([]kv.Cond{{Key: "c", Revision: c.Revision}, {Key: "d", Revision: d.Revision - 1}, {Key: "e"}}, ops, false)
	wantValue(t, s, "c", "3")
	wantMissing(t, s, "e")
	txn([]kv.Cond{{Key: "c", Revision: c.Revision}, {Key: "d", Revision: d.Revision}, {Key: "e"}}, ops, true)
	c5, d5, e5 := wantValue(t, s, "c", "5"), wantValue(t, s, "d", "5"), wantValue(t, s, "e", "5")
	if c5.Revision != d5.Revision || d5.Revision != e5.Revision || c5.Revision <= d.Revision {
		t.Fatalf("txn revisions %d %d %d, want one revision above %d", c5.Revision, d5.Revision, e5.Revision, d.Revision)
	}

	// Deletes in a txn, and a txn with no conditions always applies.
	txn(nil, []kv.Op{{Key: "c", Delete: true}, put("f", "6")}, true)
	wantMissing(t, s, "c")
	wantValue(t, s, "f", "6")
	txn(nil, nil, true)

	// A condition on a key deleted and re-created does not match the old
	// revision.
	mustPut(t, s, "c", "again")
	txn([]kv.Cond{{Key: "c", Revision: c5.Revision}}, []kv.Op{put("c", "no")}, false)
}

func testTxnDeletePrefix(t *testing.T, s kv.Store) {
	ctx := context.Background()
	for _, k := range []string{"seg/1/a", "seg/1/b", "seg/10/a", "seg/2", "segx"} {
		mustPut(t, s, k, k)
	}
	ok, err := s.Txn(ctx, nil, []kv.Op{
		{Key: "seg/1/", Delete: true, DeletePrefix: true},
		{Key: "seg/2", Value: []byte("moved")},
	})
	if err != nil || !ok {
		t.Fatalf("Txn = %v, %v", ok, err)
	}
	l, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range l {
		keys = append(keys, kv.Key)
	}
	if want := []string{"seg/10/a", "seg/2", "segx"}; !slices.Equal(keys, want) {
		t.Fatalf("after delete-prefix txn: %q, want %q", keys, want)
	}
	wantValue(t, s, "seg/2", "moved")
	// Delete-prefix of nothing is fine.
	if ok, err := s.Txn(ctx, nil, []kv.Op{{Key: "none/", Delete: true, DeletePrefix: true}}); err != nil || !ok {
		t.Fatalf("Txn deleting an empty prefix = %v, %v", ok, err)
	}
}

// testTxnDuplicateKey pins etcd's rule, which fakes must not relax: a txn
// may not write one key twice.
func testTxnDuplicateKey(t *testing.T, s kv.Store) {
	ctx := context.Background()
	for _, ops := range [][]kv.Op{
		{{Key: "k", Value: []byte("1")}, {Key: "k", Value: []byte("2")}},
		{{Key: "k", Value: []byte("1")}, {Key: "k", Delete: true}},
		{{Key: "p/k", Value: []byte("1")}, {Key: "p/", Delete: true, DeletePrefix: true}},
	} {
		if ok, err := s.Txn(ctx, nil, ops); err == nil {
			t.Fatalf("Txn(%v) = %v, want an error", ops, ok)
		}
	}
	wantMissing(t, s, "k")
	wantMissing(t, s, "p/k")
}

// next receives one event or fails after waitFor.
func next(t *testing.T, ch <-chan kv.Event) kv.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return e
	case <-time.After(waitFor):
		t.Fatal("no watch event")
	}
	panic("unreachable")
}

func wantEvent(t *testing.T, ch <-chan kv.Event, typ kv.EventType, key, value string, rev int64) {
	t.Helper()
	e := next(t, ch)
	if e.Type != typ || e.Key != key || string(e.Value) != value || rev != 0 && e.Revision != rev {
		t.Fatalf("event %v %q=%q at %d, want %v %q=%q at %d", e.Type, e.Key, e.Value, e.Revision, typ, key, value, rev)
	}
}

// wantClosed waits for ch to close, draining it.
func wantClosed(t *testing.T, ch <-chan kv.Event) {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch channel not closed")
		}
	}
}

func testWatch(t *testing.T, s kv.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustPut(t, s, "w/before", "x") // not seen: before the watch
	ch := s.Watch(ctx, "w/", 0)
	r1 := mustPut(t, s, "w/a", "1")
	mustPut(t, s, "other", "x") // outside the prefix
	r2 := mustPut(t, s, "w/a", "2")
	if err := s.Delete(ctx, "w/a"); err != nil {
		t.Fatal(err)
	}
	ok, err := s.Txn(ctx, nil, []kv.Op{{Key: "w/b", Value: []byte("3")}, {Key: "w/c", Value: []byte("4")}})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	ok, err = s.Txn(ctx, nil, []kv.Op{{Key: "w/", Delete: true, DeletePrefix: true}})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	wantEvent(t, ch, kv.EventPut, "w/a", "1", r1)
	wantEvent(t, ch, kv.EventPut, "w/a", "2", r2)
	del := next(t, ch)
	if del.Type != kv.EventDelete || del.Key != "w/a" || del.Revision <= r2 {
		t.Fatalf("event %+v, want delete of w/a after %d", del, r2)
	}
	b, c := next(t, ch), next(t, ch)
	if b.Key != "w/b" || c.Key != "w/c" || b.Revision != c.Revision || b.Revision <= del.Revision {
		t.Fatalf("txn events %+v %+v, want w/b and w/c at one revision", b, c)
	}
	var got []string
	for range 3 {
		d := next(t, ch)
		if d.Type != kv.EventDelete || d.Revision <= b.Revision {
			t.Fatalf("delete-prefix event %+v", d)
		}
		got = append(got, d.Key)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"w/b", "w/before", "w/c"}) {
		t.Fatalf("delete-prefix deleted %q", got)
	}
}

func testWatchFromRevision(t *testing.T, s kv.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r1 := mustPut(t, s, "h/a", "1")
	r2 := mustPut(t, s, "h/b", "2")
	r3 := mustPut(t, s, "h/a", "3")
	// Changes after r1: the history, then live changes.
	ch := s.Watch(ctx, "h/", r1)
	wantEvent(t, ch, kv.EventPut, "h/b", "2", r2)
	wantEvent(t, ch, kv.EventPut, "h/a", "3", r3)
	r4 := mustPut(t, s, "h/c", "4")
	wantEvent(t, ch, kv.EventPut, "h/c", "4", r4)

	// From the latest revision: only what comes next.
	ch2 := s.Watch(ctx, "h/", r4)
	r5 := mustPut(t, s, "h/d", "5")
	wantEvent(t, ch2, kv.EventPut, "h/d", "5", r5)
	wantEvent(t, ch, kv.EventPut, "h/d", "5", r5)

	// A List revision followed by a Watch from it misses nothing.
	l, err := s.List(ctx, "h/")
	if err != nil {
		t.Fatal(err)
	}
	var top int64
	for _, kv := range l {
		top = max(top, kv.Revision)
	}
	if top != r5 {
		t.Fatalf("List max revision %d, want %d", top, r5)
	}
}

func testWatchEnds(t *testing.T, s kv.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := s.Watch(ctx, "e/", 0)
	idle := s.Watch(ctx, "idle/", 0)
	mustPut(t, s, "e/1", "x")
	wantEvent(t, ch, kv.EventPut, "e/1", "x", 0)
	cancel()
	wantClosed(t, ch)
	wantClosed(t, idle)

	// A watch whose context is already done closes at once.
	wantClosed(t, s.Watch(ctx, "e/", 0))

	// Close ends watches too (Close is idempotent; Run closes again).
	live := s.Watch(context.Background(), "e/", 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantClosed(t, live)
}

func testLeaseExpiry(t *testing.T, s kv.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The kept lease's TTL is 2 s and its keep-alive starts at once: with
	// 1 s, a keep-alive goroutine descheduled for 0.7 s on a loaded CI
	// machine (-race, load 40 on 2 cores) let it expire before the dropped
	// one. The test still waits past the kept lease's own TTL below.
	kept, err := s.Grant(ctx, 2)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	keptAt := time.Now()
	kaCtx, stopKA := context.WithCancel(ctx)
	kaDone := make(chan error, 1)
	go func() { kaDone <- s.KeepAlive(kaCtx, kept) }()
	dropped, err := s.Grant(ctx, 1)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	if kept == dropped {
		t.Fatalf("two leases with id %x", kept)
	}
	watch := s.Watch(ctx, "session/", 0)
	if err := s.PutWithLease(ctx, "session/kept", []byte("k"), kept); err != nil {
		t.Fatalf("PutWithLease: %v", err)
	}
	if err := s.PutWithLease(ctx, "session/dropped", []byte("d"), dropped); err != nil {
		t.Fatalf("PutWithLease: %v", err)
	}
	mustPut(t, s, "session/plain", "p")
	wantValue(t, s, "session/kept", "k")

	for range 3 {
		next(t, watch) // the three puts
	}
	// The dropped lease expires: its key goes, with a delete event.
	wantEvent(t, watch, kv.EventDelete, "session/dropped", "", 0)
	wantMissing(t, s, "session/dropped")
	// Past the kept lease's own TTL: its key is there only by KeepAlive.
	time.Sleep(time.Until(keptAt.Add(2500 * time.Millisecond)))
	wantValue(t, s, "session/kept", "k")
	wantValue(t, s, "session/plain", "p")
	if err := s.PutWithLease(ctx, "session/late", []byte("x"), dropped); !errors.Is(err, kv.ErrLeaseLost) {
		t.Fatalf("PutWithLease on an expired lease: err = %v, want ErrLeaseLost", err)
	}
	if err := s.KeepAlive(ctx, dropped); !errors.Is(err, kv.ErrLeaseLost) {
		t.Fatalf("KeepAlive of an expired lease: err = %v, want ErrLeaseLost", err)
	}

	// Stop keeping it alive: KeepAlive returns nil and the key expires.
	stopKA()
	select {
	case err := <-kaDone:
		if err != nil {
			t.Fatalf("KeepAlive after its context ended: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("KeepAlive did not return when its context ended")
	}
	wantEvent(t, watch, kv.EventDelete, "session/kept", "", 0)
	wantMissing(t, s, "session/kept")
	wantValue(t, s, "session/plain", "p")
}

func testLeaseLost(t *testing.T, s kv.Store) {
	r := s
	ctx := context.Background()
	// KeepAlive renews every third of the TTL: a short TTL makes it notice
	// the revocation soon.
	lease, err := s.Grant(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutWithLease(ctx, "l/k", []byte("v"), lease); err != nil {
		t.Fatal(err)
	}
	kaDone := make(chan error, 1)
	go func() { kaDone <- s.KeepAlive(ctx, lease) }()
	if err := r.Revoke(ctx, lease); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	wantMissing(t, s, "l/k")
	select {
	case err := <-kaDone:
		if !errors.Is(err, kv.ErrLeaseLost) {
			t.Fatalf("KeepAlive of a revoked lease: err = %v, want ErrLeaseLost", err)
		}
	case <-time.After(waitFor):
		t.Fatal("KeepAlive did not notice the revoked lease")
	}
	// A put without a lease detaches the key from it.
	lease2, err := s.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutWithLease(ctx, "l/k2", []byte("v"), lease2); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "l/k2", "detached")
	if err := r.Revoke(ctx, lease2); err != nil {
		t.Fatal(err)
	}
	wantValue(t, s, "l/k2", "detached")
}

func testTxnLease(t *testing.T, s kv.Store) {
	ctx := context.Background()
	lease, err := s.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	create := func(key string, lease kv.LeaseID) (bool, error) {
		return s.Txn(ctx, []kv.Cond{{Key: key}}, []kv.Op{{Key: key, Value: []byte("leader"), Lease: lease}})
	}
	if ok, err := create("tl/k", lease); !ok || err != nil {
		t.Fatalf("Txn creating a key with a lease = %v, %v", ok, err)
	}
	if ok, err := create("tl/k", lease); ok || err != nil {
		t.Fatalf("Txn creating an existing key = %v, %v; want false, nil", ok, err)
	}
	wantValue(t, s, "tl/k", "leader")
	if err := s.Revoke(ctx, lease); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, s, "tl/k")
	if ok, err := create("tl/k", lease); ok || !errors.Is(err, kv.ErrLeaseLost) {
		t.Fatalf("Txn putting with a revoked lease = %v, %v; want ErrLeaseLost", ok, err)
	}
	wantMissing(t, s, "tl/k")
	// The lease is checked only on the branch taken: a failed condition
	// is not an error.
	mustPut(t, s, "tl/k", "plain")
	if ok, err := create("tl/k", lease); ok || err != nil {
		t.Fatalf("Txn with a failed condition and a revoked lease = %v, %v; want false, nil", ok, err)
	}
	if err := s.Revoke(ctx, lease); !errors.Is(err, kv.ErrLeaseLost) {
		t.Fatalf("Revoke of a revoked lease: %v, want ErrLeaseLost", err)
	}
}

func testConcurrentCAS(t *testing.T, s kv.Store) {
	ctx := context.Background()
	const workers, increments = 8, 8
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range increments {
				if err := increment(ctx, s, "counter"); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	wantValue(t, s, "counter", strconv.Itoa(workers*increments))
}

// increment adds one to the decimal counter at key with compare-and-swap.
func increment(ctx context.Context, s kv.Store, key string) error {
	for {
		var n int
		cond := kv.Cond{Key: key}
		cur, err := s.Get(ctx, key)
		switch {
		case errors.Is(err, kv.ErrNotFound):
		case err != nil:
			return err
		default:
			if n, err = strconv.Atoi(string(cur.Value)); err != nil {
				return fmt.Errorf("counter %q: %w", cur.Value, err)
			}
			cond.Revision = cur.Revision
		}
		ok, err := s.Txn(ctx, []kv.Cond{cond}, []kv.Op{{Key: key, Value: []byte(strconv.Itoa(n + 1))}})
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
}

func testContext(t *testing.T, s kv.Store) {
	mustPut(t, s, "x", "1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", op, err)
		}
	}
	_, err := s.Get(ctx, "x")
	check("Get", err)
	_, err = s.List(ctx, "")
	check("List", err)
	_, err = s.Put(ctx, "x", []byte("2"))
	check("Put", err)
	check("Delete", s.Delete(ctx, "x"))
	_, err = s.Txn(ctx, nil, []kv.Op{{Key: "x", Value: []byte("3")}})
	check("Txn", err)
	_, err = s.Grant(ctx, 5)
	check("Grant", err)
	wantValue(t, s, "x", "1")

	dctx, dcancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer dcancel()
	<-dctx.Done()
	if _, err := s.Get(dctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get past its deadline: err = %v, want context.DeadlineExceeded", err)
	}
}

func testClosed(t *testing.T, s kv.Store) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), "x"); err == nil {
		t.Fatal("Get after Close succeeded")
	}
	wantClosed(t, s.Watch(context.Background(), "", 0))
}
