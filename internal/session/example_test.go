package session_test

import (
	"context"
	"log/slog"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/session"
)

// A coordinator process: register, wait to become active, serve while
// active, and stop when the leadership ends.
func ExampleSession_Campaign() {
	ctx := context.Background()
	var store kv.Store // kv.NewEtcd(ctx, kv.EtcdConfig{Endpoints: ..., RootPath: "milvago"}, logger)
	logger := slog.Default()

	sess, err := session.Register(ctx, store, session.Config{
		Role: session.RoleQueryCoord, Address: "10.0.0.7:19531", Version: "0.1.0",
	}, logger)
	if err != nil {
		logger.Error("register", "err", err)
		return
	}
	defer sess.Close() // revokes the lease: a standby takes over at once

	lead, err := sess.Campaign(ctx) // blocks while another querycoord is active
	if err != nil {
		logger.Error("campaign", "err", err)
		return
	}
	// Every meta-store write of the active coordinator carries the fence,
	// so a deposed coordinator's late write is refused.
	ok, err := store.Txn(ctx, []kv.Cond{lead.Fence()}, []kv.Op{{Key: "querycoord/loaded/42", Value: []byte("...")}})
	if err == nil && !ok {
		logger.Warn("no longer active")
	}
	<-lead.Done() // lease lost, deposed or closed: stop acting as the active one
	logger.Error("leadership ended", "err", lead.Err())
}

// A proxy following the query nodes: list once, then apply the changes.
func ExampleWatch() {
	ctx := context.Background()
	var store kv.Store
	nodes := map[int64]session.Info{}
	for ev := range session.Watch(ctx, store, session.RoleQueryNode, 0) {
		switch ev.Type {
		case session.Added, session.Updated:
			nodes[ev.Session.ServerID] = ev.Session // dial ev.Session.Address
		case session.Removed:
			delete(nodes, ev.Session.ServerID) // its shards move elsewhere
		}
	}
}
