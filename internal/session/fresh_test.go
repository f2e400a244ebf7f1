package session

import (
	"errors"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kvtest"
)

// TestFreshAfterPause stands for a process stopped longer than half the
// TTL (SIGSTOP, a frozen VM): on the monotonic clock, the watchdog's last
// tick is far behind. Fresh refuses at once and ends the session, so the
// worker neither serves nor writes before its etcd client notices.
func TestFreshAfterPause(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	store := open(t, e, "pause")
	s := register(t, store, RoleDataNode, "d:1", ttl)
	if err := s.Fresh(); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	// A pause shorter than the limit is fine.
	s.tick.Store(int64(time.Since(s.base) - pauseLimit(ttl)/2))
	if err := s.Fresh(); err != nil {
		t.Fatalf("after a short pause: %v", err)
	}
	s.tick.Store(int64(time.Since(s.base) - pauseLimit(ttl) - time.Second))
	if err := s.Fresh(); !errors.Is(err, ErrLost) {
		t.Fatalf("after a long pause: %v, want ErrLost", err)
	}
	closed(t, s.Done(), "the session to end after the pause")
	if err := s.Fresh(); !errors.Is(err, ErrLost) {
		t.Fatalf("Fresh after the end: %v", err)
	}
}

// TestWatchdogEndsPausedSession: the watchdog notices the gap by itself.
func TestWatchdogEndsPausedSession(t *testing.T) {
	t.Parallel()
	e := kvtest.StartEmbedded(t)
	store := open(t, e, "watchdog")
	s := register(t, store, RoleQueryNode, "q:1", ttl)
	s.tick.Store(-int64(time.Hour))
	closed(t, s.Done(), "the watchdog to end the paused session")
	if !errors.Is(s.Err(), ErrLost) {
		t.Fatalf("Err = %v, want ErrLost", s.Err())
	}
}

func TestTerms(t *testing.T) {
	var ts Terms
	f := func(role string, term int64, ok bool) {
		t.Helper()
		err := ts.Admit(role, term)
		if ok != (err == nil) {
			t.Fatalf("Admit(%s, %d) = %v, want ok=%v", role, term, err, ok)
		}
		if err != nil && !errors.Is(err, errs.ErrNodeNotMatch) {
			t.Fatalf("Admit(%s, %d) = %v, want node not match", role, term, err)
		}
	}
	f(RoleQueryCoord, 10, true)
	f(RoleQueryCoord, 10, true) // the same leader again
	f(RoleDataCoord, 3, true)   // roles are fenced apart
	f(RoleQueryCoord, 12, true) // a new leader
	f(RoleQueryCoord, 10, false)
	f(RoleDataCoord, 2, false)
	if n := ts.Newest(RoleQueryCoord); n != 12 {
		t.Fatalf("newest %d", n)
	}
}
