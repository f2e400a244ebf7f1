package logbroker

import (
	"context"
	"errors"
	"sync"
)

// errStoreFailed ends an append in flight when the embedded server's store
// fails a write: the stream drops such appends unanswered, so without it
// the append (and every later one on its channel, queued behind it) would
// wait for its caller's deadline, or for ever. Its outcome is unknown, as
// for a timeout: the message may have been stored before the failure.
var errStoreFailed = errors.New("logbroker: the store failed a write (its disk is full): outcome unknown")

// storeFault holds while the embedded server's store has failed a write
// and is not reopened yet (set by the server's logger, cleared by
// reopenAfterWriteError). It also carries the refused appends' call for a
// disk check now (Refused) to the disk follower.
type storeFault struct {
	mu     sync.Mutex
	failed bool
	ctx    context.Context // cancelled while failed
	cancel context.CancelFunc
	nudge  chan struct{} // buffered (1): a check is wanted
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

// Set marks the store failed and ends the appends waiting (watch).
func (f *storeFault) Set() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
	f.cancel()
}

// Clear marks the store reopened.
func (f *storeFault) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed {
		f.failed = false
		f.ctx, f.cancel = context.WithCancel(context.Background())
	}
}

// Load reports whether the store has failed a write.
func (f *storeFault) Load() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
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

// Reopened notes that JetStream was reopened: every consumer is gone.
func (f *storeFault) Reopened() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reopens++
	f.reopenCancel(errReopened)
	f.reopened, f.reopenCancel = context.WithCancelCause(context.Background())
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
