package streaming

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

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
// as on a log that cannot fence (Kafka before docs/log-fencing.md's
// readers fence).
type unfenced struct{ logbroker.Log }

// TestPausedWriterCannotLandAfterTheNextWriter pauses the old writer of a
// channel between its ownership check and its append, lets the next writer
// (a higher term) take the channel, and resumes it: its append lands only
// if the next writer has not appended yet, never after it, and a refused
// writer answers "channel misrouted" until it takes the channel again.
//
// It runs on Memory (the same rules as NATS, checked under a lock) and on
// Kafka (kfake), where the refused append is stored but every reader skips
// it (docs/log-fencing.md).
func TestPausedWriterCannotLandAfterTheNextWriter(t *testing.T) {
	for _, backend := range []string{"memory", "kafka"} {
		t.Run(backend, func(t *testing.T) { testPausedWriter(t, backend) })
	}
}

// kafkaLog opens a Kafka log on an in-process kfake broker.
func kafkaLog(t *testing.T) logbroker.Log {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	l, err := logbroker.NewKafka(t.Context(), logbroker.KafkaConfig{Brokers: c.ListenAddrs()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// loggedDeletes lists the first primary key of every delete readers get
// from the channel, and the timestamp of the last message they get. The
// last stored record may be one readers skip (a fenced Kafka append):
// reading stops at the last message readers return (LastMessage), which
// needs no wait for a message that never comes.
func loggedDeletes(t *testing.T, l logbroker.Log) (string, uint64) {
	t.Helper()
	end, err := l.Latest(t.Context(), pch)
	if err != nil {
		t.Fatal(err)
	}
	if lm, ok := l.(logbroker.LastMessager); ok {
		m, found, err := lm.LastMessage(t.Context(), pch, end)
		if err != nil || !found {
			t.Fatalf("last message up to %d: found %v, %v", end, found, err)
		}
		end = m.ID
	}
	r, err := l.Read(t.Context(), pch, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []int64
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("read up to %d, deletes so far %v: %v", end, out, err)
		}
		dm, err := msg.Decode(m.Payload, m.Properties)
		if err != nil {
			t.Fatal(err)
		}
		if dm.Kind == msg.KindDelete {
			out = append(out, dm.Delete.GetPrimaryKeys().GetIntId().GetData()[0])
		}
		if m.ID >= end {
			return fmt.Sprint(out), dm.TS
		}
	}
}

func testPausedWriter(t *testing.T, backend string) {
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
			var base logbroker.Log = e.log
			if backend == "kafka" {
				base = kafkaLog(t)
			}
			l := base
			if tc.unfenced {
				l = unfenced{base}
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
			got, lastTS := loggedDeletes(t, base)
			if got != tc.want {
				t.Fatalf("deletes in the log: %s, want %s", got, tc.want)
			}
			if tc.unfenced {
				return
			}
			// A writer that takes the channel now starts from the
			// timestamp of the last message readers get, at once, even
			// when the last stored record is the refused one.
			latest, err := base.Latest(ctx, pch)
			if err != nil {
				t.Fatal(err)
			}
			third := New(Default(), Deps{Log: l, TSO: e.root, Segments: e.data, Owner: term(3)})
			if ts, err := third.lastTimestamp(ctx, pch, latest); err != nil || ts != lastTS {
				t.Fatalf("last timestamp at %d: %d, %v; want %d", latest, ts, err, lastTS)
			}
			// The old writer (its etcd view still stale) is refused from
			// now on, by the log.
			if _, err := old.AppendDelete(ctx, pch, deleteOf(1, vc, 300)); !errors.Is(err, errs.ErrChannelMisrouted) {
				t.Fatalf("old writer after the next one appended: %v, want channel misrouted", err)
			}
			if _, err := next.AppendDelete(ctx, pch, deleteOf(1, vc, 400)); err != nil {
				t.Fatal(err)
			}
			want := tc.want[:len(tc.want)-1] + " 400]"
			if got, _ := loggedDeletes(t, base); got != want {
				t.Fatalf("deletes in the log: %s, want %s", got, want)
			}
		})
	}
}
