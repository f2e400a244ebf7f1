package framed

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Handler answers one call: the payload of its answer frame.
type Handler func(ctx context.Context, h Header, payload []byte) []byte

// sniffTimeout bounds how long a new connection may take to send the
// bytes that tell a framed connection from a gRPC one.
const sniffTimeout = 10 * time.Second

// Listener serves framed connections and passes every other connection
// of the listener it wraps on through Accept.
type Listener struct {
	root    net.Listener
	handle  Handler
	logger  *slog.Logger
	conns   chan net.Conn
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	mu      sync.Mutex
	serving map[net.Conn]struct{} // framed or not yet classified; closed by Close
	watches sync.Map              // *watch of each framed connection: swept

	// The sweep stops its ticker after a second with no call, so an idle
	// query node spends nothing on it; the next call wakes it.
	started  atomic.Uint64 // calls armed, ever
	sleeping atomic.Bool   // the sweep waits on wake
	wake     chan struct{} // one token: a call began while the sweep slept
}

// Split serves framed connections of root with handle and returns the
// listener of root's other connections. Closing it closes root and every
// framed connection.
func Split(root net.Listener, handle Handler, logger *slog.Logger) *Listener {
	l := &Listener{root: root, handle: handle, logger: logger, conns: make(chan net.Conn),
		done: make(chan struct{}), serving: map[net.Conn]struct{}{}, wake: make(chan struct{}, 1)}
	l.wg.Add(2)
	go l.run()
	go l.sweep()
	return l
}

func (l *Listener) run() {
	defer l.wg.Done()
	for {
		conn, err := l.root.Accept()
		if err != nil {
			l.Close()
			return
		}
		if !l.track(conn) {
			conn.Close()
			return
		}
		l.wg.Add(1)
		go l.classify(conn)
	}
}

// track records a connection to close with the listener; false once closed.
func (l *Listener) track(conn net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.serving == nil {
		return false
	}
	l.serving[conn] = struct{}{}
	return true
}

func (l *Listener) untrack(conn net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.serving, conn)
}

// classify reads a new connection's first bytes: a framed connection is
// served here, any other handed to Accept with those bytes put back.
func (l *Listener) classify(conn net.Conn) {
	defer l.wg.Done()
	head := make([]byte, len(Magic))
	_ = conn.SetReadDeadline(time.Now().Add(sniffTimeout))
	n, err := io.ReadFull(conn, head)
	_ = conn.SetReadDeadline(time.Time{})
	if err == nil && string(head) == Magic {
		l.serve(conn)
		return
	}
	l.untrack(conn)
	if err != nil && n == 0 {
		conn.Close()
		return
	}
	select {
	case l.conns <- &prefixedConn{Conn: conn, r: io.MultiReader(bytes.NewReader(head[:n]), conn)}:
	case <-l.done:
		conn.Close()
	}
}

// serve answers the calls of one framed connection, each on this
// goroutine, until the connection fails or the listener closes.
func (l *Listener) serve(conn net.Conn) {
	defer func() {
		l.untrack(conn)
		conn.Close()
	}()
	src := &connReader{Conn: conn}
	r := bufio.NewReaderSize(src, 32<<10)
	w := &watch{conn: conn, done: make(chan struct{}, 1)}
	l.watches.Store(w, struct{}{})
	defer l.watches.Delete(w)
	var body, out []byte
	for {
		var err error
		if body, err = readFrame(r, body); err != nil {
			if err != io.EOF {
				l.logger.Debug("framed: read a request", "remote", conn.RemoteAddr().String(), "error", err)
			}
			return
		}
		h, payload, err := parseRequest(body)
		if err != nil {
			l.logger.Warn("framed: malformed request", "remote", conn.RemoteAddr().String(), "error", err)
			return
		}
		base, cancel := context.WithCancelCause(context.Background())
		ctx, cancelD := base, context.CancelFunc(func() {})
		if h.Deadline != 0 {
			ctx, cancelD = context.WithDeadline(base, time.Unix(0, h.Deadline))
		}
		// A client sends nothing while its call runs, so the connection
		// is read during a call that runs long (sweep), for the client's
		// end of it; a pipelined request already buffered is left alone.
		var v uint64
		watched := r.Buffered() == 0
		if watched {
			v = w.arm(cancel)
			l.callStarted()
		}
		ans := l.handle(ctx, h, payload)
		gone := watched && w.disarm(v, src)
		cancelD()
		cancel(nil)
		if gone {
			l.logger.Debug("framed: the client left during a call", "remote", conn.RemoteAddr().String(), "error", context.Cause(base))
			return
		}
		out = appendAnswer(out[:0], ans)
		if _, err := conn.Write(out); err != nil {
			l.logger.Debug("framed: write an answer", "remote", conn.RemoteAddr().String(), "error", err)
			return
		}
	}
}

// Accept returns the next connection that is not a framed one.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes every framed connection.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.root.Close()
		l.mu.Lock()
		for c := range l.serving {
			c.Close()
		}
		l.serving = nil
		l.mu.Unlock()
	})
	return err
}

// Wait returns once every goroutine of the listener has ended (after Close).
func (l *Listener) Wait() { l.wg.Wait() }

// Addr is the wrapped listener's address.
func (l *Listener) Addr() net.Addr { return l.root.Addr() }

// prefixedConn is a connection whose first bytes were already read.
type prefixedConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
