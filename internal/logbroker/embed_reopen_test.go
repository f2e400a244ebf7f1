package logbroker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// reopen reopens the embedded server's JetStream as the disk follower does
// (from any goroutine: it reports with t.Error)
// once a full disk has room again (the log's disk has room here: nothing
// is failed, so the follower itself leaves it alone).
func reopen(t *testing.T, e *Embedded, dir string) {
	t.Helper()
	v, err := e.srv.Varz(nil)
	if err != nil {
		t.Error(err)
		return
	}
	before := e.log.writeErr.generation()
	reopenAfterWriteError(e.srv, *v.JetStream.Config, dir, int64(v.JetStream.Stats.Store), e.log.writeErr, e.logger)
	if e.log.writeErr.generation() == before {
		t.Error("JetStream was not reopened")
	}
}

// TestEmbeddedReopenIsRiddenOut: an append, a Read and its first Next,
// and a Latest made while the embedded JetStream is reopened (after a full
// disk) wait for the reopen and go on without an error. Before, a Read's
// truncation-mark lookup made while JetStream had its account enabled
// again but not its stream recovered failed with "stream not found"
// (404), and an append published as it shut down was dropped unanswered
// (its caller waited for its deadline: appends resumed 3 s after the disk
// had room). The reopen is held at its start by a request under way (a
// reopen waits for those), so the operations all start during it.
func TestEmbeddedReopenIsRiddenOut(t *testing.T) {
	dir := t.TempDir()
	e, err := StartEmbedded(t.Context(), EmbedConfig{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	log, f := e.Log(), e.log.writeErr
	ctx := t.Context()
	first, err := log.Append(ctx, "ch", []byte("first"), nil)
	if err != nil {
		t.Fatal(err)
	}
	epoch, leave, err := f.enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reopened := make(chan struct{})
	go func() {
		defer close(reopened)
		reopen(t, e, dir)
	}()
	for !f.changedSince(epoch) {
		time.Sleep(time.Millisecond)
	}
	type result struct {
		op  string
		err error
	}
	results := make(chan result, 3)
	run := func(op string, do func(ctx context.Context) error) {
		go func() {
			octx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			err := do(octx)
			results <- result{op, err}
		}()
	}
	run("append", func(ctx context.Context) error {
		_, err := log.Append(ctx, "ch", []byte("second"), nil)
		return err
	})
	run("read", func(ctx context.Context) error {
		r, err := log.Read(ctx, "ch", 0)
		if err != nil {
			return err
		}
		defer r.Close()
		m, err := r.Next(ctx)
		if err == nil && m.ID != first {
			err = fmt.Errorf("read %d first, want %d", m.ID, first)
		}
		return err
	})
	run("latest", func(ctx context.Context) error {
		_, err := log.Latest(ctx, "ch")
		return err
	})
	select { // they wait while the reopen is held
	case r := <-results:
		t.Fatalf("%s ended while JetStream was being reopened: %v", r.op, r.err)
	case <-time.After(100 * time.Millisecond):
	}
	leave()
	<-reopened
	for range 3 {
		if r := <-results; r.err != nil {
			t.Errorf("%s during the reopen: %v", r.op, r.err)
		}
	}
	if last, err := log.Latest(ctx, "ch"); err != nil || last <= first {
		t.Errorf("latest after the reopen: %d, %v, want the append made during it", last, err)
	}
}

// TestEmbeddedRemovedStoreIsReported: a stream whose store was removed is
// not recovered by a reopen, and that is reported at once as a stream
// that is gone (naming its store), not ridden out as a reopen nor served
// as an empty channel.
func TestEmbeddedRemovedStoreIsReported(t *testing.T) {
	dir := t.TempDir()
	e, err := StartEmbedded(t.Context(), EmbedConfig{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	log := e.Log()
	ctx := t.Context()
	if _, err := log.Append(ctx, "ch", []byte("m"), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(log.streamDir); err != nil {
		t.Fatal(err)
	}
	reopen(t, e, dir)
	start := time.Now()
	_, err = log.Read(ctx, "ch", 0)
	if !errors.Is(err, jetstream.ErrStreamNotFound) || !strings.Contains(err.Error(), log.streamDir+" does not exist") {
		t.Fatalf("read of a removed stream: %v, want stream not found naming its missing store", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the missing stream was reported after %v, want at once", took)
	}
	if last, err := log.Latest(ctx, "ch"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("latest of a removed stream: %d, %v, want stream not found", last, err)
	}
}

// TestStoreFaultAdmit: an append is refused at once while the store is
// failed, waits while JetStream reopens, and goes on once it reopened;
// its wait ends with its context.
func TestStoreFaultAdmit(t *testing.T) {
	f := newStoreFault()
	f.Set()
	if _, _, err := f.admit(t.Context()); !errors.Is(err, ErrFull) {
		t.Fatalf("admit on a failed store: %v, want ErrFull", err)
	}
	f.BeginReopen(time.Second)
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := f.admit(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("admit while reopening, until a deadline: %v, want it to wait for the deadline", err)
	}
	admitted := make(chan error, 1)
	go func() {
		_, release, err := f.admit(t.Context())
		if err == nil {
			release()
		}
		admitted <- err
	}()
	select {
	case err := <-admitted:
		t.Fatalf("admitted while reopening: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	f.Reopened()
	if err := <-admitted; err != nil {
		t.Fatalf("admit after the reopen: %v", err)
	}
	// A write error while reopening: the reopened store is failed too.
	f.Set()
	f.BeginReopen(time.Second)
	f.Set()
	f.Reopened()
	if _, _, err := f.admit(t.Context()); !errors.Is(err, ErrFull) {
		t.Fatalf("admit after a reopen that failed a write: %v, want ErrFull", err)
	}
	// A reopen waits for the requests under way, and new ones wait for it.
	_, leave, err := f.enter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	begun := make(chan struct{})
	go func() {
		f.BeginReopen(10 * time.Second)
		close(begun)
	}()
	select {
	case <-begun:
		t.Fatal("a reopen began with a request under way")
	case <-time.After(50 * time.Millisecond):
	}
	leave()
	<-begun
	entered := make(chan error, 1)
	go func() {
		_, leave, err := f.enter(t.Context())
		if err == nil {
			leave()
		}
		entered <- err
	}()
	select {
	case err := <-entered:
		t.Fatalf("a request went on during a reopen: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	f.Reopened()
	if err := <-entered; err != nil {
		t.Fatal(err)
	}
	// A reopen that could not enable JetStream leaves the store failed.
	f.BeginReopen(time.Second)
	f.ReopenFailed()
	if _, _, err := f.admit(t.Context()); !errors.Is(err, ErrFull) {
		t.Fatalf("admit after a failed reopen: %v, want ErrFull", err)
	}
}
