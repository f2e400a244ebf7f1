package app

import (
	"context"
	"log/slog"

	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/session"
)

// followProxies keeps lim's share of every rate limit at one over the
// live proxies, as their sessions say (Milvus's QuotaCenter divides the
// rates by its proxy clients, which follow the same sessions): a proxy
// that joins, leaves or loses its lease changes the others' shares as
// soon as the watch reports it, rather than at their next fetch from the
// quota center. Until the first snapshot, the limiter refuses every
// request a rate applies to (quota.Limiter.AwaitProxies): without it the
// share is unknown, and neither the center's count (it may predate this
// proxy's session, or the center may be unreachable) nor the whole rate
// keeps the cluster within its limits. It waits for that snapshot at most
// until start ends and returns the loop that follows the rest until ctx
// ends. A snapshot without this proxy's own session
// (not yet visible) still counts the others; an empty one is ignored.
func followProxies(ctx, start context.Context, w roleWatcher, lim *quota.Limiter, logger *slog.Logger) (follow func()) {
	lim.AwaitProxies()
	snaps := w.WatchRole(ctx, session.RoleProxy)
	select {
	case snap, ok := <-snaps:
		if ok {
			lim.SetProxies(len(snap))
		}
	case <-start.Done():
		logger.Warn("proxy sessions not listed in time: requests under a rate limit are refused until they are")
	}
	return func() {
		for snap := range snaps {
			lim.SetProxies(len(snap))
		}
	}
}
