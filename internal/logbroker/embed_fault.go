package logbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// errStoreFailed ends an append in flight when the embedded server's store
// fails a write: the stream drops such appends unanswered, so without it
// the append (and every later one on its channel, queued behind it) would
// wait for its caller's deadline, or for ever. Its outcome is unknown, as
// for a timeout: the message may have been stored before the failure.
var errStoreFailed = errors.New("logbroker: the store failed a write (its disk is full): outcome unknown")

// storeFault holds while the embedded server's store has failed a write
// and is not reopened yet (set by the server's logger, cleared once
// reopenAfterWriteError has reopened JetStream). It also carries the
// refused appends' call for a disk check now (Refused) to the disk
// follower, and tells the log's callers when JetStream is being reopened
// (BeginReopen to Reopened or ReopenFailed): an append or an API request
// then waits for the reopen to end instead of meeting a JetStream that is
// shut down ("jetstream not enabled") or has not recovered its stream yet
// ("stream not found", 404).
type storeFault struct {
	mu     sync.Mutex
	failed bool
	ctx    context.Context // cancelled while failed
	cancel context.CancelFunc
	nudge  chan struct{} // buffered (1): a check is wanted
	// reopening holds from BeginReopen to Reopened or ReopenFailed;
	// settled is closed when it ends.
	reopening bool
	settled   chan struct{}
	// ended is cancelled when a reopen ends, then replaced: it cuts short
	// the API requests made before (watchEnd). A request that reached
	// JetStream as it shut down is dropped unanswered (the message get of
	// a truncation mark is), and would wait out its attempt's timeout.
	ended    context.Context
	endedNow context.CancelFunc
	// failedAgain: Set was called while reopening, so the store stays
	// failed after the reopen (checked again at the next disk check).
	failedAgain bool
	// inflight counts the API requests under way (enter to leave);
	// drained, while BeginReopen waits for them to end, is closed when
	// the last one does.
	inflight int
	drained  chan struct{}
	// epoch counts the reopens' starts and ends: an answer to a request
	// made at epoch e may come from a JetStream shut down or half open if
	// the epoch moved since (changedSince).
	epoch uint64
	// reopened is cancelled (cause errReopened) when JetStream is
	// reopened, then replaced: readers open a new consumer (watchReopen).
	reopened     context.Context
	reopenCancel context.CancelCauseFunc
	reopens      uint64 // how many times; a reader's consumer is from one
}

// errReopened ends a reader's wait when JetStream was reopened.
var errReopened = errors.New("logbroker: the embedded log was reopened")

func newStoreFault() *storeFault {
	f := &storeFault{nudge: make(chan struct{}, 1)}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.reopened, f.reopenCancel = context.WithCancelCause(context.Background())
	f.ended, f.endedNow = context.WithCancel(context.Background())
	return f
}

// Refused notes an append refused for want of room (the store failed, or
// its limit was reached): the disk follower checks the disk at once
// rather than at its next tick, so appends resume as soon as space is
// freed. It never blocks; calls while a check is pending merge.
func (f *storeFault) Refused() {
	if f == nil {
		return
	}
	select {
	case f.nudge <- struct{}{}:
	default:
	}
}

// refusals is where Refused's calls arrive.
func (f *storeFault) refusals() <-chan struct{} { return f.nudge }

// Set marks the store failed and ends the appends waiting (watch). Set
// while reopening, it keeps the store failed once the reopen ends.
func (f *storeFault) Set() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
	f.cancel()
	if f.reopening {
		f.failedAgain = true
	}
}

// Load reports whether the store has failed a write and is not reopened.
func (f *storeFault) Load() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// BeginReopen notes that JetStream is about to be shut down and enabled
// again. The store stays failed until Reopened: an append admitted then
// would reach the failed stream (which drops it unanswered) or no stream
// at all. New API requests wait (enter); BeginReopen waits up to drain for
// those under way to end: JetStream drops a request it gets as it shuts
// down, and nats-server's own reopen is not safe against requests that
// arrive while it sets its API up again (a data race on its request queue,
// go test -race).
func (f *storeFault) BeginReopen(drain time.Duration) {
	f.mu.Lock()
	f.reopening, f.failedAgain = true, false
	f.settled = make(chan struct{})
	f.epoch++
	var drained chan struct{}
	if f.inflight > 0 {
		f.drained = make(chan struct{})
		drained = f.drained
	}
	f.mu.Unlock()
	if drained == nil {
		return
	}
	t := time.NewTimer(drain)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
	}
}

// Reopened notes that JetStream was reopened: every stream is recovered
// from its files (EnableJetStream returns after that), every consumer is
// gone. The appends and requests waiting go on.
func (f *storeFault) Reopened() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed && !f.failedAgain {
		f.failed = false
		f.ctx, f.cancel = context.WithCancel(context.Background())
	}
	f.endReopen()
	f.reopens++
	f.reopenCancel(errReopened)
	f.reopened, f.reopenCancel = context.WithCancelCause(context.Background())
}

// ReopenFailed notes that JetStream could not be enabled again: the store
// stays failed (appends are refused with ErrFull) until a later reopen.
func (f *storeFault) ReopenFailed() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
	f.cancel()
	f.endReopen()
}

func (f *storeFault) endReopen() {
	if f.reopening {
		f.reopening = false
		close(f.settled)
		f.epoch++
		f.endedNow()
		f.ended, f.endedNow = context.WithCancel(context.Background())
	}
}

// admit lets an append be published. While JetStream reopens it waits for
// the reopen to end (or ctx); while the store is failed it refuses the
// append with ErrFull at once. Otherwise it returns ctx as watch does.
// Nothing is published to a JetStream being reopened, so no append is
// lost unanswered in it (one was, and its caller waited for its deadline:
// appends resumed 3 s after the disk had room).
func (f *storeFault) admit(ctx context.Context) (context.Context, func(), error) {
	if f == nil {
		return ctx, func() {}, nil
	}
	for {
		f.mu.Lock()
		reopening, settled, failed := f.reopening, f.settled, f.failed
		f.mu.Unlock()
		switch {
		case reopening:
			select {
			case <-settled:
				continue
			case <-ctx.Done():
				return nil, nil, fmt.Errorf("waiting for the log's store to reopen: %w", ctx.Err())
			}
		case failed:
			f.Refused()
			return nil, nil, fmt.Errorf("the store failed a write (its disk is full) and reopens once the disk has room: %w", ErrFull)
		}
		// Under way until released: a reopen waits for it (enter).
		_, leave, err := f.enter(ctx)
		if err != nil {
			return nil, nil, err
		}
		pctx, release := f.watch(ctx)
		return pctx, func() { release(); leave() }, nil
	}
}

// settle waits while JetStream reopens (ctx bounding the wait) and
// returns the epoch to pass to changedSince. A nil f returns at once.
func (f *storeFault) settle(ctx context.Context) (uint64, error) {
	epoch, leave, err := f.enter(ctx)
	if err == nil {
		leave()
	}
	return epoch, err
}

// enter is settle for an API request: the request is under way until
// leave is called, and a reopen waits for it to end (BeginReopen).
func (f *storeFault) enter(ctx context.Context) (uint64, func(), error) {
	if f == nil {
		return 0, func() {}, nil
	}
	for {
		f.mu.Lock()
		reopening, settled, epoch := f.reopening, f.settled, f.epoch
		if !reopening {
			f.inflight++
			f.mu.Unlock()
			return epoch, f.leave, nil
		}
		f.mu.Unlock()
		select {
		case <-settled:
		case <-ctx.Done():
			return 0, nil, fmt.Errorf("waiting for the log's store to reopen: %w", ctx.Err())
		}
	}
}

func (f *storeFault) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inflight--
	if f.inflight == 0 && f.drained != nil {
		close(f.drained)
		f.drained = nil
	}
}

// watchEnd returns ctx, cancelled if a reopen ends (the request made
// with it may have been dropped unanswered), and a func to release it.
func (f *storeFault) watchEnd(ctx context.Context) (context.Context, func()) {
	if f == nil {
		return ctx, func() {}
	}
	f.mu.Lock()
	ended := f.ended
	f.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(ended, cancel)
	return ctx, func() { stop(); cancel() }
}

// changedSince reports whether a reopen began, ended or is under way
// since settle returned epoch: an answer meanwhile may be JetStream's
// while shut down or half open, not the stream's.
func (f *storeFault) changedSince(epoch uint64) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reopening || f.epoch != epoch
}

// watch returns ctx, cancelled (cause errStoreFailed) if the store fails
// a write, and a func to release it. No goroutine waits meanwhile.
func (f *storeFault) watch(ctx context.Context) (context.Context, func()) {
	if f == nil {
		return ctx, func() {}
	}
	f.mu.Lock()
	failed := f.ctx
	f.mu.Unlock()
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(failed, func() { cancel(errStoreFailed) })
	return ctx, func() { stop(); cancel(nil) }
}

// faultErr is err, or errStoreFailed when ctx was ended by watch.
func faultErr(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errStoreFailed) {
		return errStoreFailed
	}
	return err
}

// generation is how many times JetStream was reopened (0 for nil).
func (f *storeFault) generation() uint64 {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reopens
}

// watchReopen returns ctx, cancelled (cause errReopened) once JetStream
// was reopened after generation gen (already if it was), and a func to
// release it. No goroutine waits meanwhile.
func (f *storeFault) watchReopen(ctx context.Context, gen uint64) (context.Context, func()) {
	if f == nil {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	f.mu.Lock()
	reopened, now := f.reopened, f.reopens
	f.mu.Unlock()
	if now != gen {
		cancel(errReopened)
		return ctx, func() {}
	}
	stop := context.AfterFunc(reopened, func() { cancel(errReopened) })
	return ctx, func() { stop(); cancel(nil) }
}
