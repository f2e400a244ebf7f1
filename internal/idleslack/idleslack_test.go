package idleslack

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSetter records the slacks set, in order, on a channel.
type fakeSetter struct {
	busy   time.Duration
	getErr error
	sets   chan time.Duration
}

func newFakeSetter() *fakeSetter {
	return &fakeSetter{busy: 50 * time.Microsecond, sets: make(chan time.Duration, 100)}
}

func (f *fakeSetter) Get() (time.Duration, error) { return f.busy, f.getErr }
func (f *fakeSetter) Set(d time.Duration) error   { f.sets <- d; return nil }

// fakeClock's time moves only when tick sends a tick.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	c       chan time.Time
	tickers atomic.Int32 // NewTicker calls
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1000, 0), c: make(chan time.Time)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTicker(time.Duration) (<-chan time.Time, func()) {
	f.tickers.Add(1)
	return f.c, func() {}
}

// waitTickers waits until the Controller made its n-th ticker: it has
// read the time its quiet period starts at.
func (f *fakeClock) waitTickers(t *testing.T, n int32) {
	t.Helper()
	waitFor(t, func() bool { return f.tickers.Load() >= n })
}

// tick advances the time by d and delivers a tick (blocking until the
// Controller takes it).
func (f *fakeClock) tick(t *testing.T, d time.Duration) {
	t.Helper()
	f.mu.Lock()
	f.now = f.now.Add(d)
	now := f.now
	f.mu.Unlock()
	select {
	case f.c <- now:
	case <-time.After(5 * time.Second):
		t.Fatal("the controller does not take a tick")
	}
}

func expectSet(t *testing.T, f *fakeSetter, want time.Duration) {
	t.Helper()
	select {
	case got := <-f.sets:
		if got != want {
			t.Fatalf("set %v, want %v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no set, want %v", want)
	}
}

func expectNoSet(t *testing.T, f *fakeSetter) {
	t.Helper()
	select {
	case got := <-f.sets:
		t.Fatalf("unexpected set %v", got)
	case <-time.After(20 * time.Millisecond):
	}
}

func start(t *testing.T, cfg Config, act *Activity, set Setter, clock Clock) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	c := NewWith(cfg, act, set, clock, nil)
	go func() { errc <- c.Run(ctx) }()
	if f, ok := clock.(*fakeClock); ok {
		f.waitTickers(t, 1)
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(5 * time.Second):
				err = errors.New("Run did not return")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func TestQuietSetsTheSlackAndARequestRestoresIt(t *testing.T) {
	act, set, clock := NewActivity(), newFakeSetter(), newFakeClock()
	stop := start(t, Config{Slack: 200 * time.Millisecond, Quiet: 5 * time.Second, Check: time.Second}, act, set, clock)
	for range 4 {
		clock.tick(t, time.Second)
	}
	expectNoSet(t, set) // 4 s quiet: not yet
	clock.tick(t, time.Second)
	expectSet(t, set, 200*time.Millisecond)

	// A request restores the process's own slack without a tick.
	act.Mark()
	expectSet(t, set, 50*time.Microsecond)
	clock.waitTickers(t, 2)

	// Busy again: a full quiet period before the next set.
	act.Mark()
	clock.tick(t, time.Second)
	for range 4 {
		clock.tick(t, time.Second)
	}
	expectNoSet(t, set)
	clock.tick(t, time.Second)
	expectSet(t, set, 200*time.Millisecond)

	// The end restores the slack.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	expectSet(t, set, 50*time.Microsecond)
	expectNoSet(t, set)
}

func TestSteadyRequestsNeverSetTheSlack(t *testing.T) {
	act, set, clock := NewActivity(), newFakeSetter(), newFakeClock()
	start(t, Config{Slack: 100 * time.Millisecond, Quiet: 3 * time.Second, Check: time.Second}, act, set, clock)
	for range 20 {
		act.Mark()
		clock.tick(t, 2*time.Second) // one request every 2 s, quiet is 3 s
	}
	expectNoSet(t, set)
}

func TestNoFlappingOnManyRequests(t *testing.T) {
	act, set, clock := NewActivity(), newFakeSetter(), newFakeClock()
	start(t, Config{Slack: 100 * time.Millisecond, Quiet: 2 * time.Second, Check: time.Second}, act, set, clock)
	clock.tick(t, 2*time.Second)
	expectSet(t, set, 100*time.Millisecond)
	// A burst of requests restores once.
	for range 1000 {
		act.Mark()
	}
	expectSet(t, set, 50*time.Microsecond)
	expectNoSet(t, set)
}

func TestDisabledOrUnavailableDoesNothing(t *testing.T) {
	for name, tc := range map[string]struct {
		slack  time.Duration
		getErr error
		busy   time.Duration
	}{
		"disabled":        {slack: 0},
		"unsupported":     {slack: time.Second, getErr: ErrUnsupported},
		"already large":   {slack: time.Millisecond, busy: 2 * time.Millisecond},
		"negative config": {slack: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			set := newFakeSetter()
			set.getErr = tc.getErr
			if tc.busy != 0 {
				set.busy = tc.busy
			}
			c := NewWith(Config{Slack: tc.slack}, NewActivity(), set, newFakeClock(), nil)
			done := make(chan error, 1)
			go func() { done <- c.Run(context.Background()) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run does not return")
			}
			expectNoSet(t, set)
		})
	}
}

// unsupportedSetter reads the slack but cannot set it (a binary with cgo).
type unsupportedSetter struct{ calls atomic.Int32 }

func (*unsupportedSetter) Get() (time.Duration, error) { return 50 * time.Microsecond, nil }
func (u *unsupportedSetter) Set(time.Duration) error {
	u.calls.Add(1)
	return ErrUnsupported
}

func TestSetUnsupportedStops(t *testing.T) {
	clock, set := newFakeClock(), &unsupportedSetter{}
	c := NewWith(Config{Slack: time.Second, Quiet: time.Second}, NewActivity(), set, clock, nil)
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	clock.waitTickers(t, 1)
	clock.tick(t, time.Second)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run does not return")
	}
	if n := set.calls.Load(); n != 1 {
		t.Fatalf("%d sets, want 1", n)
	}
}

// stateSetter checks that sets alternate between the idle and the busy
// slack.
type stateSetter struct {
	mu       sync.Mutex
	cur      time.Duration
	busy     time.Duration
	switches int
	bad      error
}

func (s *stateSetter) Get() (time.Duration, error) { return s.busy, nil }
func (s *stateSetter) Set(d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d == s.cur && s.bad == nil {
		s.bad = errors.New("the same slack set twice in a row: " + d.String())
	}
	s.cur = d
	s.switches++
	return nil
}

func (s *stateSetter) state() (time.Duration, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur, s.switches, s.bad
}

// TestRacingRequests marks from many goroutines while the Controller
// switches on the real clock: the sets alternate, a request is never
// left with the idle slack, and quiet sets it.
func TestRacingRequests(t *testing.T) {
	act := NewActivity()
	set := &stateSetter{busy: 50 * time.Microsecond, cur: 50 * time.Microsecond}
	stop := start(t, Config{Slack: 100 * time.Millisecond, Quiet: 2 * time.Millisecond, Check: time.Millisecond}, act, set, realClock{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				act.Mark()
				if (i+g)%50 == 0 {
					time.Sleep(5 * time.Millisecond) // let it go quiet now and then
				}
			}
		})
	}
	wg.Wait()
	// A last request: the busy slack must be back promptly.
	act.Mark()
	waitFor(t, func() bool { cur, _, _ := set.state(); return cur == 50*time.Microsecond || act.busy.Load() == false })
	// Quiet: the idle slack.
	waitFor(t, func() bool { cur, _, _ := set.state(); return cur == 100*time.Millisecond })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	cur, n, bad := set.state()
	if bad != nil {
		t.Fatal(bad)
	}
	if cur != 50*time.Microsecond {
		t.Fatalf("slack %v after the end, want the busy one", cur)
	}
	t.Logf("%d switches", n)
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkMarkBusy is the cost a request pays while the process is busy.
func BenchmarkMarkBusy(b *testing.B) {
	act := NewActivity()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			act.Mark()
		}
	})
}
