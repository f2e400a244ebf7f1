package framed

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestSweepSleepsWhenIdle: a listener with no calls stops its sweep's
// ticker (an idle query node spends no CPU on it), and a call after the
// sleep wakes it and is still watched: a slow one is canceled when its
// client leaves.
func TestSweepSleepsWhenIdle(t *testing.T) {
	root, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, canceled := make(chan struct{}, 1), make(chan struct{})
	l := Split(root, func(ctx context.Context, h Header, payload []byte) []byte {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			close(canceled)
		case <-time.After(30 * time.Second):
		}
		return payload
	}, slog.New(slog.DiscardHandler))
	defer l.Close()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
		}
	}
	waitFor("the sweep did not sleep with no calls", l.sleeping.Load)
	c := NewClient(root.Addr().String(), 0)
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Call(ctx, 0, []byte("slow")); errc <- err }()
	<-started
	waitFor("a call did not wake the sweep", func() bool { return !l.sleeping.Load() })
	time.Sleep(3 * sweepEvery) // watched: running at two sweeps
	cancel()                   // the client closes its connection
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client's call: %v", err)
	}
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow call was not canceled after its client left")
	}
	waitFor("the sweep did not sleep again after the call", l.sleeping.Load)
}
