package app

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/session"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// next returns the next snapshot, failing after a while.
func next(t *testing.T, ch <-chan []session.Info) []session.Info {
	t.Helper()
	select {
	case infos, ok := <-ch:
		if !ok {
			t.Fatal("watch closed")
		}
		return infos
	case <-time.After(10 * time.Second):
		t.Fatal("no snapshot")
	}
	return nil
}

// nextWith waits for a snapshot that has exactly the given server IDs.
func nextWith(t *testing.T, ch <-chan []session.Info, ids ...int64) []session.Info {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		infos := next(t, ch)
		if len(infos) != len(ids) {
			continue
		}
		same := true
		for i := range infos {
			same = same && infos[i].ServerID == ids[i]
		}
		if same {
			return infos
		}
	}
	t.Fatalf("no snapshot with servers %v", ids)
	return nil
}

func register(t *testing.T, store kv.Store, role, addr string) *session.Session {
	t.Helper()
	s, err := session.Register(context.Background(), store, session.Config{Role: role, Address: addr, TTL: 5 * time.Second}, discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestWatchRoleFollowsWorkers(t *testing.T) {
	store := kv.NewMemory()
	defer store.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := register(t, store, session.RoleQueryNode, "127.0.0.1:1001")
	register(t, store, session.RoleDataNode, "127.0.0.1:2001") // another role: not listed
	updates := sessionDiscovery{store: store}.WatchRole(ctx, session.RoleQueryNode)
	infos := next(t, updates)
	if len(infos) != 1 || infos[0].ServerID != a.ID() || infos[0].Address != "127.0.0.1:1001" {
		t.Fatalf("initial snapshot %+v", infos)
	}
	b := register(t, store, session.RoleQueryNode, "127.0.0.1:1002")
	infos = nextWith(t, updates, a.ID(), b.ID())
	if infos[1].Address != "127.0.0.1:1002" {
		t.Fatalf("snapshot after register %+v", infos)
	}
	// A closed session revokes its lease: it leaves at once.
	a.Close()
	nextWith(t, updates, b.ID())
	b.Close()
	nextWith(t, updates)
}

// A coordinator role resolves to its active process only: for rootcoord,
// the mixcoord holding rootcoord's election key, and to the standby after
// a hand-over.
func TestWatchRoleFollowsActiveCoordinator(t *testing.T) {
	store := kv.NewMemory()
	defer store.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	updates := sessionDiscovery{store: store}.WatchRole(ctx, session.RoleRootCoord)
	if infos := next(t, updates); len(infos) != 0 {
		t.Fatalf("active rootcoord before any campaign: %+v", infos)
	}
	a := register(t, store, session.RoleMixCoord, "127.0.0.1:3001")
	if _, err := a.Campaign(ctx); err != nil {
		t.Fatal(err)
	}
	infos := nextWith(t, updates, a.ID())
	if infos[0].Address != "127.0.0.1:3001" || infos[0].Role != session.RoleMixCoord {
		t.Fatalf("active rootcoord %+v", infos)
	}
	b := register(t, store, session.RoleMixCoord, "127.0.0.1:3002")
	won := make(chan *session.Leadership, 1)
	go func() {
		lead, err := b.Campaign(ctx)
		if err != nil {
			t.Error(err)
		}
		won <- lead
	}()
	select {
	case <-won:
		t.Fatal("the standby won while the active one lives")
	case <-time.After(200 * time.Millisecond):
	}
	a.Close()
	nextWith(t, updates, b.ID())
	if lead := <-won; lead == nil || lead.Token() == 0 {
		t.Fatalf("standby leadership %+v", lead)
	}

	// A watch that found the active process by its first read sees it go.
	later := sessionDiscovery{store: store}.WatchRole(ctx, session.RoleQueryCoord)
	nextWith(t, later, b.ID())
	b.Close()
	nextWith(t, later)
}

// A deposed coordinator's writes through the fenced store are refused;
// the new leader's pass.
func TestFencedStoreRefusesDeposedLeader(t *testing.T) {
	store := kv.NewMemory()
	defer store.Close()
	ctx := context.Background()
	a := register(t, store, session.RoleMixCoord, "127.0.0.1:3001")
	leadA, err := a.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	metaA := newFencedStore(store, leadA)
	if _, err := metaA.Put(ctx, "root/x", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if ok, err := metaA.Txn(ctx, []kv.Cond{{Key: "root/y"}}, []kv.Op{{Key: "root/y", Value: []byte("a")}}); err != nil || !ok {
		t.Fatalf("Txn = %v, %v", ok, err)
	}
	// The caller's own failed condition is a false, not an error.
	if ok, err := metaA.Txn(ctx, []kv.Cond{{Key: "root/y"}}, []kv.Op{{Key: "root/y", Value: []byte("a2")}}); err != nil || ok {
		t.Fatalf("Txn on an existing key = %v, %v", ok, err)
	}

	// A's election key goes (its lease expired, simulated by deleting the
	// keys) and B takes over while A has not noticed yet.
	if _, err := store.Txn(ctx, nil, []kv.Op{{Key: "session/mix", Delete: true, DeletePrefix: true}}); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"rootcoord", "datacoord", "querycoord", "indexcoord"} {
		if err := store.Delete(ctx, "session/"+role); err != nil {
			t.Fatal(err)
		}
	}
	b := register(t, store, session.RoleMixCoord, "127.0.0.1:3002")
	leadB, err := b.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if leadB.Token() <= leadA.Token() {
		t.Fatalf("token %d after %d", leadB.Token(), leadA.Token())
	}
	checks := map[string]error{}
	_, checks["Put"] = metaA.Put(ctx, "root/x", []byte("late"))
	checks["Delete"] = metaA.Delete(ctx, "root/x")
	_, checks["Txn"] = metaA.Txn(ctx, nil, []kv.Op{{Key: "root/x", Value: []byte("late")}})
	for op, err := range checks {
		if !errors.Is(err, session.ErrDeposed) {
			t.Errorf("deposed %s: %v, want ErrDeposed", op, err)
		}
	}
	if got, err := store.Get(ctx, "root/x"); err != nil || string(got.Value) != "a" {
		t.Fatalf("root/x = %q, %v: the deposed leader wrote", got.Value, err)
	}
	if _, err := newFencedStore(store, leadB).Put(ctx, "root/x", []byte("b")); err != nil {
		t.Fatal(err)
	}
}
