package querycoord

import (
	"context"
	"time"
)

// CheckInterval is how often RunChecker retries the assignments query
// nodes have not taken: Milvus's queryCoord.checkInterval (and its segment
// and channel checkers' intervals), 1 s.
const CheckInterval = time.Second

// RunChecker sends, every interval until ctx ends, each pending assignment
// (a load a query node failed or could not be reached for) to its node
// again, as Milvus's segment and channel checkers regenerate a failed load
// task at their next round. Without it a load that failed once on a node
// waited for the next balance round, and with queryCoord.autoBalance off,
// or in standalone (which runs no balancer), for ever: the collection
// stayed loading at 0%. Each failure is logged with its cause
// (syncPendingLocked). While nothing is pending it sleeps, with no timer:
// a new pending assignment (addPendingLocked) is tried interval later.
func (s *Server) RunChecker(ctx context.Context, interval time.Duration) error {
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		s.mu.Lock()
		idle := len(s.pending) == 0
		s.mu.Unlock()
		if idle {
			// Nothing to retry: sleep until something is (an idle server
			// had this loop wake it every second).
			select {
			case <-ctx.Done():
				return nil
			case <-s.pendingAdded:
			}
		}
		t.Reset(interval)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		s.mu.Lock()
		if len(s.pending) > 0 {
			_ = s.syncPendingLocked(ctx) // each failure is logged there
		}
		s.mu.Unlock()
	}
}

// addPendingLocked records an assignment its node has not taken, for
// RunChecker to send again.
func (s *Server) addPendingLocked(k nodeLoad) {
	s.pending[k] = true
	select {
	case s.pendingAdded <- struct{}{}:
	default: // RunChecker is already woken
	}
}
