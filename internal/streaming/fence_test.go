package streaming

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/msg"
)

// pausable holds a channel under one term and can hold one Check call
// after it decided: the writer is paused between its ownership check and
// its append (a GC pause, SIGSTOP), while its ownership moves on.
type pausable struct {
	term int64

	mu      sync.Mutex
	calls   int
	pauseAt int
	paused  chan struct{}
	resume  chan struct{}
}

func (p *pausable) Check(string) (int64, error) {
	p.mu.Lock()
	p.calls++
	hold := p.calls == p.pauseAt
	p.mu.Unlock()
	if hold {
		close(p.paused)
		<-p.resume
	}
	return p.term, nil
}

// pauseIn arms a pause at the n-th Check from now.
func (p *pausable) pauseIn(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pauseAt, p.paused, p.resume = p.calls+n, make(chan struct{}), make(chan struct{})
}

// unfenced hides the log's Fencing: the writer appends unconditionally,
// as on a log that cannot fence (Kafka).
type unfenced struct{ logbroker.Log }

// deletedPKs lists the first primary key of every delete in the channel.
func deletedPKs(t *testing.T, l logbroker.Log) string {
	t.Helper()
	var out []int64
	for _, m := range readAll(t, l, pch) {
		if m.m.Kind == msg.KindDelete {
			out = append(out, m.m.Delete.GetPrimaryKeys().GetIntId().GetData()[0])
		}
	}
	return fmt.Sprint(out)
}

// TestPausedWriterCannotLandAfterTheNextWriter pauses the old writer of a
// channel between its ownership check and its append, lets the next writer
// (a higher term) take the channel, and resumes it: its append lands only
// if the next writer has not appended yet, never after it, and a refused
// writer answers "channel misrouted" until it takes the channel again.
func TestPausedWriterCannotLandAfterTheNextWriter(t *testing.T) {
	vc := pch + "_1v0"
	for _, tc := range []struct {
		name        string
		resumeFirst bool // the old writer resumes before the next one's first append
		unfenced    bool
		want        string
		oldRefused  bool
	}{
		{name: "next writer first", want: "[1 200]", oldRefused: true},
		{name: "old writer resumes first", resumeFirst: true, want: "[1 100 200]"},
		// What the log fence closes: without it, the paused append lands
		// after the next writer's first.
		{name: "without the log fence", unfenced: true, want: "[1 200 100]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Default(), 1000)
			ctx := context.Background()
			var l logbroker.Log = e.log
			if tc.unfenced {
				l = unfenced{e.log}
			}
			own := &pausable{term: 1}
			old := New(Default(), Deps{Log: l, TSO: e.root, Segments: e.data, Owner: own})
			if _, err := old.AppendDelete(ctx, pch, deleteOf(1, vc, 1)); err != nil {
				t.Fatal(err)
			}
			own.pauseIn(2) // the check right before the append
			done := make(chan error, 1)
			go func() {
				_, err := old.AppendDelete(ctx, pch, deleteOf(1, vc, 100))
				done <- err
			}()
			select {
			case <-own.paused:
			case <-time.After(10 * time.Second):
				t.Fatal("the old writer never reached its append")
			}
			next := New(Default(), Deps{Log: l, TSO: e.root, Segments: e.data, Owner: term(2)})
			var oldErr error
			if tc.resumeFirst {
				close(own.resume)
				oldErr = <-done
			}
			if _, err := next.AppendDelete(ctx, pch, deleteOf(1, vc, 200)); err != nil {
				t.Fatalf("next writer: %v", err)
			}
			if !tc.resumeFirst {
				close(own.resume)
				oldErr = <-done
			}
			if tc.oldRefused != (oldErr != nil) {
				t.Fatalf("old writer's paused append: %v, refused want %v", oldErr, tc.oldRefused)
			}
			if oldErr != nil && !errors.Is(oldErr, errs.ErrChannelMisrouted) {
				t.Fatalf("old writer's paused append: %v, want channel misrouted", oldErr)
			}
			if got := deletedPKs(t, e.log); got != tc.want {
				t.Fatalf("deletes in the log: %s, want %s", got, tc.want)
			}
			if tc.unfenced {
				return
			}
			// The old writer (its etcd view still stale) is refused from
			// now on, by the log.
			if _, err := old.AppendDelete(ctx, pch, deleteOf(1, vc, 300)); !errors.Is(err, errs.ErrChannelMisrouted) {
				t.Fatalf("old writer after the next one appended: %v, want channel misrouted", err)
			}
			if _, err := next.AppendDelete(ctx, pch, deleteOf(1, vc, 400)); err != nil {
				t.Fatal(err)
			}
			if got, want := deletedPKs(t, e.log), tc.want[:len(tc.want)-1]+" 400]"; got != want {
				t.Fatalf("deletes in the log: %s, want %s", got, want)
			}
		})
	}
}
