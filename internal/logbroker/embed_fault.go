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
// reopenAfterWriteError).
type storeFault struct {
	mu     sync.Mutex
	failed bool
	ctx    context.Context // cancelled while failed
	cancel context.CancelFunc
}

func newStoreFault() *storeFault {
	f := &storeFault{}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

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
