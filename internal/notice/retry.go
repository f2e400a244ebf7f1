// Package notice redelivers a coordinator's notices that a listener could
// not take.
//
// The data and index coordinators tell the query coordinator of each
// flushed, compacted and indexed segment once, when it happens. A notice
// that fails (the query coordinator restarting or unreachable, a query
// node refusing the handoff) was only logged, and nothing sent it again: a
// compacted segment then stayed un-handed-off (its sources kept serving,
// results right, memory not freed) until the collection was loaded again.
// Milvus's query coordinator does not depend on notices (its target
// observer pulls every loaded collection's segments every few seconds);
// Milvago keeps its coordinators quiet when nothing changes, so it retries
// the notices that failed instead: a Retrier holds them in memory and
// sends each again with a doubling delay until it is taken, replaced by a
// newer notice of the same key, or too old. A restarted query coordinator
// plans every loaded collection afresh, so what is lost when the sender
// itself restarts is only a notice whose receiver did not restart.
package notice

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of a Retrier.
const (
	DefaultFirstDelay = 500 * time.Millisecond
	DefaultMaxDelay   = 30 * time.Second
	DefaultMaxAge     = 10 * time.Minute
)

// Retrier redelivers failed notices until Run's context ends. Its zero
// value is not usable: use New.
type Retrier struct {
	logger               *slog.Logger
	firstDelay, maxDelay time.Duration
	maxAge               time.Duration
	now                  func() time.Time
	wake                 chan struct{}
	mu                   sync.Mutex
	pending              map[string]*entry
}

type entry struct {
	send  func(context.Context) error
	first time.Time     // when the notice first failed
	next  time.Time     // when to send it again
	delay time.Duration // the wait after the next failure
	ver   int           // bumped when a newer notice replaces send
}

// Option changes a Retrier's defaults (tests).
type Option func(*Retrier)

// WithDelays sets the first delay, the longest delay and the age after
// which a notice is given up.
func WithDelays(first, max, maxAge time.Duration) Option {
	return func(r *Retrier) { r.firstDelay, r.maxDelay, r.maxAge = first, max, maxAge }
}

// New returns a Retrier that logs to logger.
func New(logger *slog.Logger, opts ...Option) *Retrier {
	r := &Retrier{logger: logger, firstDelay: DefaultFirstDelay, maxDelay: DefaultMaxDelay, maxAge: DefaultMaxAge,
		now: time.Now, wake: make(chan struct{}, 1), pending: map[string]*entry{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Failed queues send, whose first attempt failed (the caller logged why),
// to be sent again. key names what the notice is about (listener, event, segment): a
// later notice of the same key replaces a pending one, as only the latest
// state matters to the receiver.
func (r *Retrier) Failed(key string, send func(context.Context) error) {
	now := r.now()
	r.mu.Lock()
	e, ok := r.pending[key]
	if !ok {
		e = &entry{first: now, delay: r.firstDelay}
		r.pending[key] = e
	}
	e.send, e.next = send, now.Add(e.delay)
	e.ver++
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Pending reports how many notices wait to be sent again.
func (r *Retrier) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Run sends the queued notices again when they are due, until ctx ends.
// With nothing queued it sleeps without a timer.
func (r *Retrier) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		wait, any := r.sendDue(ctx)
		if ctx.Err() != nil {
			return
		}
		var fire <-chan time.Time
		if any {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
			timer.Stop()
		case <-fire:
		}
	}
}

// sendDue sends every due notice once and reports how long until the next
// one is due, and whether any is queued.
func (r *Retrier) sendDue(ctx context.Context) (time.Duration, bool) {
	now := r.now()
	type due struct {
		key string
		e   *entry
	}
	var ready []due
	r.mu.Lock()
	for k, e := range r.pending {
		if !e.next.After(now) {
			ready = append(ready, due{k, e})
		}
	}
	r.mu.Unlock()
	for _, d := range ready {
		r.mu.Lock()
		send, ver := d.e.send, d.e.ver
		r.mu.Unlock()
		err := send(ctx)
		if ctx.Err() != nil {
			return 0, false
		}
		r.settle(d.key, d.e, ver, err)
	}
	now = r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var next time.Time
	for _, e := range r.pending {
		if next.IsZero() || e.next.Before(next) {
			next = e.next
		}
	}
	if next.IsZero() {
		return 0, false
	}
	return max(next.Sub(now), 0), true
}

// settle records the outcome of sending version ver of e's notice: taken,
// failed again, or given up. A notice replaced while it was being sent
// stays for its new version.
func (r *Retrier) settle(key string, e *entry, ver int, err error) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending[key] != e {
		return
	}
	replaced := e.ver != ver
	switch {
	case err == nil && !replaced:
		delete(r.pending, key)
		r.logger.Info("notice delivered after a retry", "notice", key, "after", now.Sub(e.first).Round(time.Millisecond))
	case err == nil:
		e.next = now // its newer version is sent at once
	case now.Sub(e.first) >= r.maxAge:
		delete(r.pending, key)
		r.logger.Error("notice given up", "notice", key, "failing_for", now.Sub(e.first).Round(time.Second), "err", err)
	default:
		if !replaced {
			e.next = now.Add(e.delay)
			e.delay = min(2*e.delay, r.maxDelay)
		}
		r.logger.Warn("notice not taken, retrying", "notice", key, "in", e.next.Sub(now).Round(time.Millisecond), "err", err)
	}
}
