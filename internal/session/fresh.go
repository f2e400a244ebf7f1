package session

import (
	"context"
	"fmt"
	"time"
)

// A paused process (SIGSTOP, a VM freeze, a long swap storm) cannot renew
// its lease, but while it is stopped it cannot notice either: when it
// resumes, its etcd client still believes the lease is live until its own
// deadline check runs, and requests already queued on its sockets would be
// served by a node whose work has meanwhile moved elsewhere. The watchdog
// closes that window with the monotonic clock, which keeps running while
// the process is stopped: it ticks every pauseTick, and a gap between two
// ticks longer than pauseLimit means the process was not running long
// enough for the lease to have expired (the last keep-alive went out up to
// a third of the TTL before the pause, so it can have expired after two
// thirds of the TTL). The session then ends with ErrLost, and Fresh fails
// at once, before the watchdog has even run.

// pauseLimit is the longest the process may have been stopped with its
// session still trusted: half the TTL, below the two thirds after which the
// lease can be gone.
func pauseLimit(ttl time.Duration) time.Duration { return ttl / 2 }

// pauseTick is how often the watchdog samples the clock.
func pauseTick(ttl time.Duration) time.Duration { return min(time.Second, ttl/8) }

// watchdog ends the session when the process was stopped for longer than
// pauseLimit. It runs until the session ends or ctx ends (Close).
func (s *Session) watchdog(ctx context.Context, ttl time.Duration) {
	defer s.kaWG.Done()
	t := time.NewTicker(pauseTick(ttl))
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Fresh(); err != nil {
				return
			}
			s.tick.Store(int64(time.Since(s.base)))
		}
	}
}

// Fresh reports whether the process may still act for its session: nil
// while the session is live and the process has not been stopped for
// longer than half the TTL since the watchdog last ran. A worker checks it
// before serving a command or a read and before each write it reports, so
// a node that was cut off (paused, or its lease lost) and comes back
// neither serves stale data nor writes twice: it refuses, and its session
// is ended, so the process stops and registers anew.
func (s *Session) Fresh() error {
	if err := s.Err(); err != nil {
		return err
	}
	gap := time.Duration(int64(time.Since(s.base)) - s.tick.Load())
	if gap > s.pauseLimit {
		err := fmt.Errorf("session %s: %w: the process was stopped for %v, longer than half the TTL %v", s.key, ErrLost,
			gap.Round(time.Millisecond), s.ttl)
		s.end(err)
		s.logger.Error("session presumed lost after a pause: stop serving", "gap", gap)
		return s.Err()
	}
	return nil
}
