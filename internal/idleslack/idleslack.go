// Package idleslack lets the kernel batch the timer wake-ups of a server
// that has gone quiet.
//
// An idle Milvago process still wakes up every few tens of milliseconds:
// the embedded etcd (raft tick, watcher sync, batch commit, lessor) and
// the embedded NATS server (its access time service) run fixed 100-500 ms
// tickers that cannot be configured, and each wake-up of the Go runtime
// costs ~150 us of CPU (futex and epoll of the scheduler). Linux lets a
// thread's timed sleeps (epoll_wait, futex and nanosleep timeouts: the Go
// runtime's timer sleeps) fire up to its timer slack late
// (prctl PR_SET_TIMERSLACK), so timers of different phases that fall due
// within the slack run in one wake-up.
//
// A Controller sets a large slack on every thread of the process once no
// request has arrived for a few seconds (Config.Quiet), and puts the
// process's own slack back (read at start, normally the kernel's 50 us) as
// soon as one arrives: request handlers call Mark, which costs an atomic
// load while the process is busy. A request wakes the process through
// its socket (epoll) at once, never late; only timers are late by up to the
// slack, and only while nothing is asked of the server.
//
// While the slack is set the Controller itself sleeps on a channel, with no
// timer; while the server is busy it checks for quiet once a second.
//
// The slack is set on every thread by writing its /proc/TID/timerslack_ns
// (setter_linux.go), which stops nothing and works with or without cgo.
// Another thread's file needs CAP_SYS_NICE: without it the Controller does
// nothing and says so once. (prctl on every thread through
// syscall.AllThreadsSyscall needs no capability but stops the world, and
// the request that ends a quiet period then waits about the slack: see
// systemSetter.) A thread created while the slack changes inherits its
// creator's: the setter lists the threads again until no new one appears.
// The kernel also gives a new thread a "default" slack (what
// PR_SET_TIMERSLACK 0 restores) equal to its creator's slack at the time,
// so a thread created while the idle slack is set would keep it on a reset
// to 0: the Controller restores the value it read at start explicitly.
package idleslack

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Config says how large a slack to set and after how long without
// requests.
type Config struct {
	// Slack is the timer slack while idle (milvago.idleTimerSlack); zero
	// or less: the Controller does nothing.
	Slack time.Duration
	// Quiet is how long no request must arrive before the slack is set
	// (default 5 s).
	Quiet time.Duration
	// Check is how often a busy process looks for quiet (default 1 s).
	Check time.Duration
}

// Defaults of Config.
const (
	DefaultSlack = 200 * time.Millisecond
	DefaultQuiet = 5 * time.Second
	DefaultCheck = time.Second
)

// Setter changes the timer slack of every thread of the process.
type Setter interface {
	// Get returns the calling thread's slack (the process's, before any
	// Set).
	Get() (time.Duration, error)
	// Set sets every thread's slack.
	Set(time.Duration) error
}

// Clock is the time a Controller reads; tests replace it.
type Clock interface {
	Now() time.Time
	// NewTicker returns a channel receiving every d and a stop function.
	NewTicker(d time.Duration) (<-chan time.Time, func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// Activity records that a request arrived; a Controller reads it. The
// zero value is not usable: use NewActivity.
type Activity struct {
	busy     atomic.Bool // a request arrived since the Controller last looked
	sleeping atomic.Bool // the idle slack is set: the next Mark wakes the Controller
	wake     chan struct{}
}

// NewActivity returns an Activity no request has marked.
func NewActivity() *Activity { return &Activity{wake: make(chan struct{}, 1)} }

// Mark records a request. It costs an atomic load while the process is
// busy, and wakes the Controller, which restores the timer slack on
// another goroutine, on the first request after a quiet period.
func (a *Activity) Mark() {
	if !a.busy.Load() {
		a.busy.Store(true)
	}
	// Read after busy is stored: the Controller stores sleeping before it
	// reads busy a last time, so one of the two sees the other.
	if a.sleeping.Load() && a.sleeping.CompareAndSwap(true, false) {
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// process is the Activity of this process: the request handlers of every
// server in it (gRPC, REST, framed search) Mark it, and the process's
// Controller watches it. The timer slack is per process, so is this.
var process = NewActivity()

// Mark records a request to this process (see Activity.Mark).
func Mark() { process.Mark() }

// Process returns the Activity that Mark records.
func Process() *Activity { return process }

// Controller sets the idle slack; see the package documentation.
type Controller struct {
	cfg    Config
	act    *Activity
	set    Setter
	clock  Clock
	logger *slog.Logger
}

// New returns a Controller of this process (its Activity, the real
// setter and clock).
func New(cfg Config, logger *slog.Logger) *Controller {
	return NewWith(cfg, process, newSystemSetter(), realClock{}, logger)
}

// NewWith returns a Controller watching act and changing the slack through
// set, on clock's time; zero fields of cfg but Slack take their defaults.
func NewWith(cfg Config, act *Activity, set Setter, clock Clock, logger *slog.Logger) *Controller {
	if cfg.Quiet <= 0 {
		cfg.Quiet = DefaultQuiet
	}
	if cfg.Check <= 0 {
		cfg.Check = DefaultCheck
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Controller{cfg: cfg, act: act, set: set, clock: clock, logger: logger.With("component", "idleslack")}
}

// capabilityHint says how to give the process CAP_SYS_NICE: a binary
// with the file capability gives it to a non-root user's process (tried:
// `runuser -u nobody` then runs with CapEff 0x800000 and every thread
// takes the idle slack); a container needs it granted.
const capabilityHint = "give the process CAP_SYS_NICE to run its idle timers in fewer wake-ups: " +
	"sudo setcap cap_sys_nice+ep <milvago binary> (again after each build), or docker run --cap-add SYS_NICE"

// ErrUnsupported is returned by the setter where the slack of all threads
// cannot be set (not Linux, or no CAP_SYS_NICE).
var ErrUnsupported = errors.New("idleslack: the timer slack of all threads cannot be set here")

// Run sets and restores the slack until ctx ends, then restores it. It
// returns nil at once when the slack is disabled or cannot be set.
func (c *Controller) Run(ctx context.Context) error {
	if c.cfg.Slack <= 0 {
		c.logger.Debug("idle timer slack disabled")
		return nil
	}
	busySlack, err := c.set.Get()
	if err != nil {
		c.logger.Info("idle timer slack not available", "error", err)
		return nil
	}
	if busySlack >= c.cfg.Slack {
		c.logger.Info("idle timer slack not used: the process's own slack is as large", "slack", busySlack, "idle", c.cfg.Slack)
		return nil
	}
	c.logger.Debug("idle timer slack", "idle", c.cfg.Slack, "busy", busySlack, "after", c.cfg.Quiet)
	last := c.clock.Now() // the last time a request was seen
	for {
		tick, stop := c.clock.NewTicker(c.cfg.Check)
		idle, err := c.waitQuiet(ctx, tick, &last)
		stop()
		if err != nil || !idle {
			return err
		}
		if err := c.set.Set(c.cfg.Slack); err != nil {
			c.act.sleeping.Store(false)
			if errors.Is(err, ErrUnsupported) {
				c.logger.Info("idle timer slack not available", "error", err, "hint", capabilityHint)
				return nil
			}
			c.logger.Warn("idle timer slack: set", "error", err)
			return nil
		}
		c.logger.Debug("idle: timer slack set", "slack", c.cfg.Slack)
		// Sleep without a timer until a request (or the end).
		select {
		case <-c.act.wake:
		case <-ctx.Done():
		}
		c.act.sleeping.Store(false)
		if err := c.set.Set(busySlack); err != nil {
			c.logger.Warn("idle timer slack: restore", "error", err)
			return nil
		}
		c.logger.Debug("busy: timer slack restored", "slack", busySlack)
		if ctx.Err() != nil {
			return nil
		}
		last = c.clock.Now()
	}
}

// waitQuiet checks on every tick whether a request arrived, until none
// has for cfg.Quiet: then it arms the Activity's wake-up and reports true.
// It reports false when ctx ends.
func (c *Controller) waitQuiet(ctx context.Context, tick <-chan time.Time, last *time.Time) (bool, error) {
	// Drop a wake-up left by a Mark that raced the last restore.
	select {
	case <-c.act.wake:
	default:
	}
	for {
		var now time.Time
		select {
		case <-ctx.Done():
			return false, nil
		case now = <-tick:
		}
		if c.act.busy.Swap(false) {
			*last = now
			continue
		}
		if now.Sub(*last) < c.cfg.Quiet {
			continue
		}
		c.act.sleeping.Store(true)
		if c.act.busy.Load() {
			// A request arrived meanwhile: stay busy. If its Mark saw
			// sleeping first, it sends the wake-up: take it.
			if !c.act.sleeping.CompareAndSwap(true, false) {
				<-c.act.wake
			}
			*last = now
			continue
		}
		return true, nil
	}
}
