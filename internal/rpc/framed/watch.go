package framed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// sweepEvery is how often the listener looks for calls that run long:
// a call running at two sweeps in a row (10 to 20 ms) has its connection
// read for the client's end of it, so the search of a proxy that left is
// canceled that long after it started at the latest. Shorter calls (the
// hop's floor is tens of µs) cost two atomic operations and no goroutine,
// timer or system call; each longer one a goroutine and a few µs.
const sweepEvery = 10 * time.Millisecond

// errClientGone is the cause of a call's context canceled because its
// client closed the connection (gRPC cancels a call whose stream ends).
var errClientGone = errors.New("framed: the client closed the connection during the call")

// The states of a watch, in the low bits of watch.state; the high bits
// count the connection's calls.
const (
	idle      = 0
	running   = 1 // a call runs, the connection is not read
	watched   = 2 // a call runs and read reads the connection
	stateMask = 3
)

// watch is what the sweep knows of one framed connection: whether a
// call runs on it, and since which sweep.
type watch struct {
	conn   net.Conn
	state  atomic.Uint64           // call number << 2 | idle, running or watched
	seen   uint64                  // state at the last sweep; the sweep's alone
	cancel context.CancelCauseFunc // the running call's; set before state says running
	done   chan struct{}           // one value per run of read

	// Set by read before it sends on done.
	gone  bool    // the read failed other than by disarm's deadline
	extra [1]byte // a byte the read got: the next request's first
	n     int
}

// sweepIdleAfter is how many sweeps in a row with no call running and none
// started make the sweep stop its ticker until the next call.
const sweepIdleAfter = 100

// sweep reads the connections of calls that run long, until the
// listener closes. After sweepIdleAfter sweeps with nothing to do it
// sleeps until callStarted wakes it: an idle listener costs no ticks.
func (l *Listener) sweep() {
	defer l.wg.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	last, quiet := l.started.Load(), 0
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		}
		busy := false
		l.watches.Range(func(k, _ any) bool {
			w := k.(*watch)
			v := w.state.Load()
			if v&stateMask != idle {
				busy = true
			}
			if v&stateMask == running && v == w.seen && w.state.CompareAndSwap(v, v&^stateMask|watched) {
				go w.read()
			}
			w.seen = v
			return true
		})
		if s := l.started.Load(); busy || s != last {
			last, quiet = s, 0
			continue
		}
		if quiet++; quiet < sweepIdleAfter {
			continue
		}
		// Sleep. A call armed after sleeping is set sends a wake; one armed
		// before it is seen in started, and the sweep goes on.
		t.Stop()
		l.sleeping.Store(true)
		if l.started.Load() == last || !l.sleeping.CompareAndSwap(true, false) {
			select {
			case <-l.done:
				return
			case <-l.wake:
			}
		}
		last, quiet = l.started.Load(), 0
		t.Reset(sweepEvery)
	}
}

// callStarted counts a call armed, and wakes the sweep if it sleeps.
func (l *Listener) callStarted() {
	l.started.Add(1)
	if l.sleeping.Load() && l.sleeping.CompareAndSwap(true, false) {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// arm records a call running on the connection, canceled by cancel; it
// returns the state disarm expects.
func (w *watch) arm(cancel context.CancelCauseFunc) uint64 {
	w.cancel = cancel
	v := (w.state.Load()>>2+1)<<2 | running
	w.state.Store(v)
	return v
}

// read waits for the client's end while a call runs: a read that fails
// (the client closed the connection, or the listener did) cancels it.
func (w *watch) read() {
	n, err := w.conn.Read(w.extra[:])
	w.n, w.gone = n, n == 0 && err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
	if w.gone {
		w.cancel(fmt.Errorf("%w: %w", errClientGone, err))
	}
	w.done <- struct{}{}
}

// disarm records the end of the call armed with state v: true if the
// client left during it; else the connection serves the next call, src
// getting a byte read took.
func (w *watch) disarm(v uint64, src *connReader) bool {
	if w.state.CompareAndSwap(v, v&^stateMask) {
		return false // never read (idle: the low bits cleared)
	}
	_ = w.conn.SetReadDeadline(time.Unix(1, 0)) // ends read if it still waits
	<-w.done
	_ = w.conn.SetReadDeadline(time.Time{})
	w.state.Store(v &^ stateMask)
	if w.n > 0 {
		src.pending = w.extra[:w.n]
	}
	return w.gone
}

// connReader reads a connection, after the byte its watch read.
type connReader struct {
	net.Conn
	pending []byte
}

func (c *connReader) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
