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
// (syncPendingLocked).
func (s *Server) RunChecker(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
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
