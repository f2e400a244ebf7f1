package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/resolver"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/session"
)

// Cluster roles find each other through internal/session: every process
// registers a lease-backed session (session/<role>-<serverID>), the active
// coordinator also holds its role's election key (session/<role>; a
// mixcoord holds the keys of the four coordinators it hosts), and clients
// follow those keys. This file is the discovery side: the live sessions
// that serve a role, as a stream of snapshots, and a gRPC resolver over it.

// roleWatcher streams the sessions that serve a role. It is what the gRPC
// resolver and the query coordinator's node tracking consume.
type roleWatcher interface {
	// WatchRole sends the sessions serving role, by server ID, first the
	// current ones and then after every change; a slow receiver gets the
	// newest snapshot only. The channel closes when ctx ends.
	WatchRole(ctx context.Context, role string) <-chan []session.Info
}

// electedRole reports whether role is served by one active process (its
// election key) rather than by every live member.
func electedRole(role string) bool {
	_, ok := coordinatorsOf[role]
	return ok
}

// sessionDiscovery implements roleWatcher over the sessions in the meta
// store: a coordinator role resolves to the holder of its election key
// (for rootcoord in a mixcoord deployment, the mixcoord), a worker role to
// its live members.
type sessionDiscovery struct{ store kv.Store }

func (d sessionDiscovery) WatchRole(ctx context.Context, role string) <-chan []session.Info {
	out := make(chan []session.Info, 1)
	go func() {
		defer close(out)
		live, rev, ok := d.initial(ctx, role)
		if !ok {
			return
		}
		send := func() bool {
			snap := slices.SortedFunc(maps.Values(live), func(a, b session.Info) int {
				return cmp.Compare(a.ServerID, b.ServerID)
			})
			// Replace a snapshot the receiver has not taken yet: only this
			// goroutine sends, so the send below never waits.
			select {
			case <-out:
			default:
			}
			select {
			case out <- snap:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if !send() {
			return
		}
		var events <-chan session.Event
		if electedRole(role) {
			events = session.WatchActive(ctx, d.store, role, rev)
		} else {
			events = session.Watch(ctx, d.store, role, rev)
		}
		for ev := range events {
			if electedRole(role) {
				// One election key: whatever changed, it replaces the
				// holder (a removal of a holder read by initial carries
				// no server ID).
				clear(live)
			}
			if ev.Type == session.Removed {
				delete(live, ev.Session.ServerID)
			} else {
				live[ev.Session.ServerID] = ev.Session
			}
			if !send() {
				return
			}
		}
	}()
	return out
}

// initial reads role's sessions and the revision to watch from, retrying
// until it succeeds or ctx ends.
func (d sessionDiscovery) initial(ctx context.Context, role string) (map[int64]session.Info, int64, bool) {
	type snapshot struct {
		live map[int64]session.Info
		rev  int64
	}
	snap, err := retry(ctx, slog.New(slog.DiscardHandler), "list "+role+" sessions", func() (snapshot, error) {
		live := map[int64]session.Info{}
		if electedRole(role) {
			info, rev, err := session.Active(ctx, d.store, role)
			switch {
			case err == nil:
				live[info.ServerID] = info
			case !errors.Is(err, session.ErrNoActive):
				return snapshot{}, err
			}
			return snapshot{live, rev}, nil
		}
		infos, rev, err := session.List(ctx, d.store, role)
		if err != nil {
			return snapshot{}, err
		}
		for _, info := range infos {
			live[info.ServerID] = info
		}
		return snapshot{live, rev}, nil
	})
	if err != nil {
		return nil, 0, false
	}
	return snap.live, snap.rev, true
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
// addresses of the sessions serving ROLE, kept current by a watch.
const sessionScheme = "milvago-session"

type sessionResolverBuilder struct {
	w   roleWatcher
	ctx context.Context
}

func (b *sessionResolverBuilder) Scheme() string { return sessionScheme }

func (b *sessionResolverBuilder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	role := strings.TrimPrefix(target.Endpoint(), "/")
	ctx, cancel := context.WithCancel(b.ctx)
	go func() {
		for infos := range b.w.WatchRole(ctx, role) {
			var addrs []resolver.Address
			for _, info := range infos {
				addrs = append(addrs, resolver.Address{Addr: info.Address})
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
