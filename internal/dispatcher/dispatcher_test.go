package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/msg"
)

const pch = "dml_0"

func vch(i int) string { return fmt.Sprintf("%s_%dv0", pch, i) }

// appender writes messages to a Memory log as the channel writer does:
// timestamps increase in log order.
type appender struct {
	t   *testing.T
	log logbroker.Log
	mu  sync.Mutex
	ts  uint64
	// byVC records each virtual channel's messages (ticks under "").
	byVC map[string][]logbroker.MessageID
	tsOf map[logbroker.MessageID]uint64
	last logbroker.MessageID
}

func newAppender(t *testing.T, l logbroker.Log) *appender {
	return &appender{t: t, log: l, byVC: map[string][]logbroker.MessageID{}, tsOf: map[logbroker.MessageID]uint64{}}
}

func (a *appender) append(kind msg.Kind, vc string) logbroker.MessageID {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ts++
	m := &msg.Message{Kind: kind, VChannel: vc, TS: a.ts}
	if kind == msg.KindSeal {
		m.Seal = &msg.Seal{CollectionID: 1, SegmentIDs: []int64{int64(a.ts)}}
	}
	payload, props, err := msg.Encode(m)
	if err != nil {
		a.t.Fatal(err)
	}
	id, err := a.log.Append(context.Background(), pch, payload, props)
	if err != nil {
		a.t.Fatal(err)
	}
	a.byVC[vc] = append(a.byVC[vc], id)
	a.tsOf[id] = a.ts
	a.last = id
	return id
}

// own returns vc's message IDs after `after`.
func (a *appender) own(vc string, after logbroker.MessageID) []logbroker.MessageID {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []logbroker.MessageID
	for _, id := range a.byVC[vc] {
		if id > after {
			out = append(out, id)
		}
	}
	return out
}

// consumed is what a subscriber saw: its own messages and the positions
// of the ticks it got.
type consumed struct {
	own  []logbroker.MessageID
	last logbroker.MessageID
}

// consume reads s until it returned a message at or past upTo, checking
// that IDs increase, that ticks carry the timestamp of their position, and
// that own messages are s's.
func consume(t *testing.T, a *appender, s *Subscription, vc string, upTo logbroker.MessageID) consumed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var c consumed
	c.last = s.last
	consumeInto(t, ctx, a, s, vc, upTo, &c)
	return c
}

// consumeInto is consume into c, until upTo or ctx ends (no error then).
func consumeInto(t *testing.T, ctx context.Context, a *appender, s *Subscription, vc string, upTo logbroker.MessageID, c *consumed) {
	t.Helper()
	for c.last < upTo {
		m, err := s.Next(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && upTo == math.MaxUint64 {
				return
			}
			t.Errorf("%s: next after %d (want %d): %v", vc, c.last, upTo, err)
			return
		}
		if m.ID <= c.last {
			t.Fatalf("%s: got %d after %d", vc, m.ID, c.last)
		}
		c.last = m.ID
		dm, err := msg.Decode(m.Payload, m.Properties)
		if err != nil {
			t.Fatal(err)
		}
		a.mu.Lock()
		wantTS := a.tsOf[m.ID]
		a.mu.Unlock()
		if dm.TS != wantTS {
			t.Fatalf("%s: message %d has ts %d, the log's has %d", vc, m.ID, dm.TS, wantTS)
		}
		switch {
		case dm.Kind == msg.KindTimeTick:
		case dm.VChannel == vc:
			c.own = append(c.own, m.ID)
		default:
			t.Errorf("%s: got a %s of %q", vc, dm.Kind, dm.VChannel)
			return
		}
	}
}

func newDispatcher(t *testing.T, cfg Config, l log) *Dispatcher {
	t.Helper()
	d, err := New(cfg, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// subscribe subscribes vc of pch from start; the subscription closes when
// the test ends.
func subscribe(t *testing.T, d *Dispatcher, pch, vc string, start logbroker.MessageID) *Subscription {
	t.Helper()
	s, err := d.Subscribe(context.Background(), pch, vc, start)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func equalIDs(a, b []logbroker.MessageID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSharedReader: many subscriptions of one physical channel share one
// reader, each gets exactly its own messages, and the reader stops with
// the last subscription.
func TestSharedReader(t *testing.T) {
	l := logbroker.NewMemory(logbroker.MemoryConfig{})
	a := newAppender(t, l)
	d := newDispatcher(t, Default(), l)
	ctx := context.Background()
	const n = 200
	subs := make([]*Subscription, n)
	for i := range subs {
		var err error
		if subs[i], err = d.Subscribe(ctx, pch, vch(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	if shared, catchUp := d.Readers(); shared != 1 || catchUp != 0 {
		t.Fatalf("readers: %d shared, %d catching up; want 1, 0", shared, catchUp)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		if r.IntN(10) == 0 {
			a.append(msg.KindTimeTick, "")
		} else {
			a.append(msg.KindSeal, vch(r.IntN(n)))
		}
	}
	a.append(msg.KindTimeTick, "")
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Go(func() {
			got := consume(t, a, s, vch(i), a.last)
			if want := a.own(vch(i), 0); !equalIDs(got.own, want) {
				t.Errorf("%s: got %v, want %v", vch(i), got.own, want)
			}
		})
	}
	wg.Wait()
	for _, s := range subs {
		s.Close()
	}
	if shared, _ := d.Readers(); shared != 0 {
		t.Fatalf("%d shared readers after every subscription closed", shared)
	}
}

// TestSubscribeAnywhere subscribes at random positions (behind the shared
// reader: caught up by a reader of its own; ahead: joined at once) while
// the channel is written, and checks every subscription against the log.
func TestSubscribeAnywhere(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			l := logbroker.NewMemory(logbroker.MemoryConfig{})
			a := newAppender(t, l)
			cfg := Default()
			cfg.MaxCatchUp, cfg.QueueLen = 2, 2
			d := newDispatcher(t, cfg, l)
			r := rand.New(rand.NewPCG(seed, 7))
			const vcs, subs, msgs = 8, 40, 3000
			var written atomic.Int64
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := range msgs {
					if i%7 == 0 {
						a.append(msg.KindTimeTick, "")
					} else {
						a.append(msg.KindSeal, vch(i%vcs))
					}
					written.Add(1)
					if i%50 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			})
			// Every subscription is read from the start, as a shard reads
			// its own (a subscription nobody reads holds its channel up).
			final := make(chan logbroker.MessageID)
			var cw sync.WaitGroup
			for i := range subs {
				// Positions anywhere in what is written so far.
				for written.Load() < int64(i*msgs/subs) {
					time.Sleep(time.Millisecond)
				}
				a.mu.Lock()
				last := a.last
				a.mu.Unlock()
				after := logbroker.MessageID(r.Uint64N(uint64(last) + 1))
				vc := vch(r.IntN(vcs))
				s, err := d.Subscribe(context.Background(), pch, vc, after)
				if err != nil {
					t.Fatal(err)
				}
				cw.Go(func() {
					defer s.Close()
					got := consumed{last: after}
					var upTo logbroker.MessageID
					for done := false; !done; {
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
						consumeInto(t, ctx, a, s, vc, math.MaxUint64, &got)
						cancel()
						select {
						case upTo = <-final:
							done = true
						default:
						}
					}
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					consumeInto(t, ctx, a, s, vc, upTo, &got)
					if want := a.own(vc, after); !equalIDs(got.own, want) {
						t.Errorf("%s after %d: got %v, want %v", vc, after, got.own, want)
					}
				})
			}
			wg.Wait()
			last := a.append(msg.KindTimeTick, "")
			for range subs {
				final <- last
			}
			cw.Wait()
			waitNoReaders(t, d)
		})
	}
}

// TestNoLossAcrossJoin reads every subscription from its start to the
// end in one go, so a message lost or repeated at a join shows.
func TestNoLossAcrossJoin(t *testing.T) {
	l := logbroker.NewMemory(logbroker.MemoryConfig{})
	a := newAppender(t, l)
	cfg := Default()
	cfg.QueueLen = 1
	d := newDispatcher(t, cfg, l)
	for i := range 500 {
		a.append(msg.KindSeal, vch(i%3))
	}
	first, err := d.Subscribe(context.Background(), pch, vch(0), a.last)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() { // keeps the shared reader moving, with ticks as the writer writes them
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%10 == 9 {
				a.append(msg.KindTimeTick, "")
			} else {
				a.append(msg.KindSeal, vch(2))
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			_, _ = first.Next(ctx)
			cancel()
		}
	})
	for i := range 20 {
		vc := vch(i % 3)
		after := logbroker.MessageID(i * 20)
		s, err := d.Subscribe(context.Background(), pch, vc, after)
		if err != nil {
			t.Fatal(err)
		}
		a.mu.Lock()
		upTo := a.last
		a.mu.Unlock()
		got := consume(t, a, s, vc, upTo)
		s.Close()
		if want := a.own(vc, after); !equalIDs(got.own, want[:len(got.own)]) || len(got.own) < len(a.own(vc, after))-len(a.own(vc, upTo)) {
			t.Fatalf("%s after %d: got %d messages, want %d", vc, after, len(got.own), len(want)-len(a.own(vc, upTo)))
		}
	}
	close(stop)
	wg.Wait()
}

// TestTruncated: a shared reader that finds the log truncated past its
// position ends every subscription with ErrTruncated; the next Subscribe
// starts a new one.
func TestTruncated(t *testing.T) {
	l := logbroker.NewMemory(logbroker.MemoryConfig{})
	a := newAppender(t, l)
	gate := make(chan struct{})
	d := newDispatcher(t, Default(), &gatedLog{Log: l, gate: gate})
	ctx := context.Background()
	for range 10 {
		a.append(msg.KindSeal, vch(1))
	}
	s1, err := d.Subscribe(ctx, pch, vch(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := d.Subscribe(ctx, pch, vch(2), 0)
	if err != nil {
		t.Fatal(err)
	}
	// The shared reader, held at position 0, is passed by a truncation.
	if err := l.Truncate(ctx, pch, 5); err != nil {
		t.Fatal(err)
	}
	close(gate)
	for _, s := range []*Subscription{s1, s2} {
		drainToTruncation(t, ctx, s)
		s.Close()
	}
	s3, err := d.Subscribe(ctx, pch, vch(1), 5)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	a.append(msg.KindTimeTick, "")
	got := consume(t, a, s3, vch(1), a.last)
	if want := a.own(vch(1), 5); !equalIDs(got.own, want) {
		t.Fatalf("after the restart: got %v, want %v", got.own, want)
	}
	if _, err := d.Subscribe(ctx, pch, vch(1), 3); !errors.Is(err, logbroker.ErrTruncated) {
		t.Fatalf("subscribe below the truncation point: %v, want ErrTruncated", err)
	}
}

// TestTruncatedEndsOnlyThosePassed: a truncation that passes a lagging
// shared reader ends only the subscriptions it passed; one that joined
// beyond the truncated messages (a shard resuming from a recent
// checkpoint) reads on, exactly its messages, from a reader past them.
func TestTruncatedEndsOnlyThosePassed(t *testing.T) {
	l := logbroker.NewMemory(logbroker.MemoryConfig{})
	a := newAppender(t, l)
	gate := make(chan struct{})
	d := newDispatcher(t, Default(), &gatedLog{Log: l, gate: gate})
	ctx := context.Background()
	var ids []logbroker.MessageID
	for i := range 12 {
		ids = append(ids, a.append(msg.KindSeal, vch(1+i%2)))
	}
	// The shared reader starts at 0 and is held there; s2 and s3 join it
	// after positions it has not reached.
	s1 := subscribe(t, d, pch, vch(1), 0)
	s2 := subscribe(t, d, pch, vch(2), ids[7])
	s3 := subscribe(t, d, pch, vch(1), ids[2])
	if shared, catchUp := d.Readers(); shared != 1 || catchUp != 0 {
		t.Fatalf("readers: %d shared, %d catching up; want 1, 0", shared, catchUp)
	}
	if err := l.Truncate(ctx, pch, ids[4]); err != nil {
		t.Fatal(err)
	}
	close(gate)
	for _, s := range []*Subscription{s1, s3} {
		drainToTruncation(t, ctx, s)
	}
	for range 6 {
		a.append(msg.KindSeal, vch(1+rand.IntN(2)))
	}
	a.append(msg.KindTimeTick, "")
	got := consume(t, a, s2, vch(2), a.last)
	if want := a.own(vch(2), ids[7]); !equalIDs(got.own, want) {
		t.Fatalf("subscription beyond the truncation: got %v, want %v", got.own, want)
	}
	if shared, _ := d.Readers(); shared != 1 {
		t.Fatalf("%d shared readers, want 1", shared)
	}
}

// gatedLog's readers read nothing until gate is closed.
type gatedLog struct {
	logbroker.Log
	gate chan struct{}
}

func (g *gatedLog) Read(ctx context.Context, channel string, after logbroker.MessageID) (logbroker.Reader, error) {
	r, err := g.Log.Read(ctx, channel, after)
	if err != nil {
		return nil, err
	}
	return &gatedReader{Reader: r, gate: g.gate}, nil
}

type gatedReader struct {
	logbroker.Reader
	gate chan struct{}
}

func (r *gatedReader) Next(ctx context.Context) (logbroker.Message, error) {
	select {
	case <-r.gate:
	case <-ctx.Done():
		return logbroker.Message{}, ctx.Err()
	}
	return r.Reader.Next(ctx)
}

// flakyLog fails every reader's Next once after a few messages.
type flakyLog struct {
	logbroker.Log
	reads atomic.Int32
}

func (f *flakyLog) Read(ctx context.Context, channel string, after logbroker.MessageID) (logbroker.Reader, error) {
	if f.reads.Add(1)%3 == 0 {
		return nil, errors.New("transient: no responders")
	}
	r, err := f.Log.Read(ctx, channel, after)
	if err != nil {
		return nil, err
	}
	return &flakyReader{Reader: r}, nil
}

type flakyReader struct {
	logbroker.Reader
	n int
}

func (r *flakyReader) Next(ctx context.Context) (logbroker.Message, error) {
	r.n++
	if r.n%17 == 0 {
		return logbroker.Message{}, errors.New("transient: connection reset")
	}
	return r.Reader.Next(ctx)
}

// TestTransientErrors: readers failing with transient errors are reopened
// at their position; subscribers see every message once.
func TestTransientErrors(t *testing.T) {
	mem := logbroker.NewMemory(logbroker.MemoryConfig{})
	a := newAppender(t, mem)
	cfg := Default()
	cfg.RetryDelay = time.Millisecond
	fl := &flakyLog{Log: mem}
	fl.reads.Store(1) // the first Read succeeds
	d := newDispatcher(t, cfg, fl)
	for i := range 300 {
		a.append(msg.KindSeal, vch(i%4))
	}
	var subs []*Subscription
	for i := range 4 {
		s, err := d.Subscribe(context.Background(), pch, vch(i), logbroker.MessageID(i*50))
		for err != nil { // a Subscribe that opens a reader sees the failure
			s, err = d.Subscribe(context.Background(), pch, vch(i), logbroker.MessageID(i*50))
		}
		subs = append(subs, s)
	}
	for range 300 {
		a.append(msg.KindSeal, vch(1))
	}
	a.append(msg.KindTimeTick, "")
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Go(func() {
			defer s.Close()
			got := consume(t, a, s, vch(i), a.last)
			if want := a.own(vch(i), logbroker.MessageID(i*50)); !equalIDs(got.own, want) {
				t.Errorf("%s: got %d messages, want %d", vch(i), len(got.own), len(want))
			}
		})
	}
	wg.Wait()
}

// TestClose: Close of a subscription or of the dispatcher ends a blocked
// Next with ErrClosed.
func TestClose(t *testing.T) {
	l := logbroker.NewMemory(logbroker.MemoryConfig{})
	d, err := New(Default(), l, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s1, err := d.Subscribe(ctx, pch, vch(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := d.Subscribe(ctx, pch, vch(2), 0)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { _, err := s1.Next(ctx); errc <- err }()
	go func() { _, err := s2.Next(ctx); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	s1.Close()
	if err := <-errc; !errors.Is(err, logbroker.ErrClosed) {
		t.Fatalf("next after the subscription closed: %v", err)
	}
	d.Close()
	if err := <-errc; !errors.Is(err, logbroker.ErrClosed) {
		t.Fatalf("next after the dispatcher closed: %v", err)
	}
	if _, err := d.Subscribe(ctx, pch, vch(3), 0); !errors.Is(err, logbroker.ErrClosed) {
		t.Fatalf("subscribe after close: %v", err)
	}
}

// TestTicksWithoutOwnMessages: a subscription whose virtual channel is
// quiet still sees time move, through real and synthetic ticks.
func TestTicksWithoutOwnMessages(t *testing.T) {
	l := logbroker.NewMemory(logbroker.MemoryConfig{})
	a := newAppender(t, l)
	d := newDispatcher(t, Default(), l)
	ctx := context.Background()
	quiet, err := d.Subscribe(ctx, pch, vch(9), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	for range 5 {
		a.append(msg.KindSeal, vch(1))
	}
	// No tick yet: the shared reader's position moves without waking the
	// quiet subscriber, which sees it as soon as it asks.
	time.Sleep(50 * time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := quiet.Next(cctx)
	if err != nil {
		t.Fatal(err)
	}
	if dm, _ := msg.Decode(m.Payload, m.Properties); dm.Kind != msg.KindTimeTick || m.ID != a.last || dm.TS != a.tsOf[a.last] {
		t.Fatalf("got %s at %d ts %d, want a tick at %d ts %d", dm.Kind, m.ID, dm.TS, a.last, a.tsOf[a.last])
	}
	tick := a.append(msg.KindTimeTick, "")
	if m, err = quiet.Next(cctx); err != nil || m.ID != tick {
		t.Fatalf("next: %d, %v; want the tick %d", m.ID, err, tick)
	}
}

// waitNoReaders waits until every reader is gone: a catch-up reader stops
// on its own goroutine a moment after its subscription is closed.
func waitNoReaders(t *testing.T, d *Dispatcher) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		shared, catchUp := d.Readers()
		if shared == 0 && catchUp == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readers left: %d shared, %d catching up", shared, catchUp)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drainToTruncation reads s until it ends, which must be with ErrTruncated
// within 10 s.
func drainToTruncation(t *testing.T, ctx context.Context, s *Subscription) {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, err = s.Next(cctx)
	}
	if !errors.Is(err, logbroker.ErrTruncated) {
		t.Fatalf("%s after the truncation: %v, want ErrTruncated", s.vchannel, err)
	}
}

// TestJoinWhileResuming: a subscription that joins the shared reader
// while the reader, passed by a truncation, opens a new reader for the
// subscriptions beyond it (at a later start than the new one's) is not
// ended with ErrTruncated: its start is still in the log, and it gets its
// messages after it, as the others beyond the truncation do.
func TestJoinWhileResuming(t *testing.T) {
	l := logbroker.NewMemory(logbroker.MemoryConfig{})
	a := newAppender(t, l)
	gate := make(chan struct{})
	var ids []logbroker.MessageID
	for i := range 12 {
		ids = append(ids, a.append(msg.KindSeal, vch(1+i%2)))
	}
	held := &heldResume{gatedLog: gatedLog{Log: l, gate: gate}, at: ids[7], entered: make(chan struct{}), release: make(chan struct{})}
	d := newDispatcher(t, Default(), held)
	ctx := context.Background()
	// The shared reader starts at 0 and is held there; s2 joins it after
	// ids[7], beyond the truncation to come.
	s1 := subscribe(t, d, pch, vch(1), 0)
	s2 := subscribe(t, d, pch, vch(2), ids[7])
	if err := l.Truncate(ctx, pch, ids[4]); err != nil {
		t.Fatal(err)
	}
	close(gate)
	// The reader is passed by the truncation and opens a reader after
	// ids[7] for s2; meanwhile s3 joins after ids[5], which the log holds.
	<-held.entered
	s3 := subscribe(t, d, pch, vch(2), ids[5])
	close(held.release)
	drainToTruncation(t, ctx, s1)
	for range 6 {
		a.append(msg.KindSeal, vch(1+rand.IntN(2)))
	}
	a.append(msg.KindTimeTick, "")
	if got, want := consume(t, a, s3, vch(2), a.last), a.own(vch(2), ids[5]); !equalIDs(got.own, want) {
		t.Fatalf("subscription that joined while the reader resumed: got %v, want %v", got.own, want)
	}
	if got, want := consume(t, a, s2, vch(2), a.last), a.own(vch(2), ids[7]); !equalIDs(got.own, want) {
		t.Fatalf("subscription beyond the truncation: got %v, want %v", got.own, want)
	}
}

// heldResume holds the first Read after at (the shared reader resuming
// past a truncation) until release is closed, once it said so (entered).
type heldResume struct {
	gatedLog
	at      logbroker.MessageID
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (h *heldResume) Read(ctx context.Context, channel string, after logbroker.MessageID) (logbroker.Reader, error) {
	if after == h.at {
		h.once.Do(func() {
			close(h.entered)
			<-h.release
		})
	}
	return h.gatedLog.Read(ctx, channel, after)
}
