package notice

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func start(t *testing.T, r *Retrier) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestFailedNoticeIsSentUntilTaken(t *testing.T) {
	r := New(quiet(), WithDelays(time.Millisecond, 4*time.Millisecond, time.Minute))
	start(t, r)
	var calls atomic.Int32
	send := func(context.Context) error {
		if calls.Add(1) < 3 {
			return errors.New("query coordinator unavailable")
		}
		return nil
	}
	r.Failed("segment 7", send)
	waitFor(t, "the notice to be taken", func() bool { return r.Pending() == 0 })
	if got := calls.Load(); got != 3 {
		t.Fatalf("sent %d times after the first failure, want 3 (two more failures, then taken)", got)
	}
	time.Sleep(20 * time.Millisecond)
	if got := calls.Load(); got != 3 {
		t.Fatalf("a taken notice was sent again: %d sends", got)
	}
}

func TestNewerNoticeReplacesPendingOne(t *testing.T) {
	r := New(quiet(), WithDelays(20*time.Millisecond, 20*time.Millisecond, time.Minute))
	start(t, r)
	var mu sync.Mutex
	var got []string
	record := func(v string) func(context.Context) error {
		return func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, v)
			return nil
		}
	}
	r.Failed("segment 7", record("old"))
	r.Failed("segment 7", record("new"))
	r.Failed("segment 8", record("other"))
	waitFor(t, "both keys taken", func() bool { return r.Pending() == 0 })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || !((got[0] == "new" && got[1] == "other") || (got[0] == "other" && got[1] == "new")) {
		t.Fatalf("sent %q, want the newer notice of segment 7 and the one of segment 8, once each", got)
	}
}

func TestNoticeGivenUpAfterMaxAge(t *testing.T) {
	r := New(quiet(), WithDelays(time.Millisecond, 2*time.Millisecond, 30*time.Millisecond))
	start(t, r)
	var calls atomic.Int32
	r.Failed("segment 9", func(context.Context) error {
		calls.Add(1)
		return errors.New("still down")
	})
	waitFor(t, "the notice to be given up", func() bool { return r.Pending() == 0 })
	n := calls.Load()
	if n < 2 {
		t.Fatalf("given up after %d sends, want several within its age", n)
	}
	time.Sleep(20 * time.Millisecond)
	if calls.Load() != n {
		t.Fatal("a notice given up was sent again")
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	r := New(quiet(), WithDelays(time.Hour, time.Hour, time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	r.Failed("segment 1", func(context.Context) error { return nil })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if r.Pending() != 1 {
		t.Fatal("a notice not yet due was sent or dropped")
	}
}
