package rpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// http2Preface is what every HTTP/2 client (gRPC included) sends first.
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// sniffTimeout bounds how long a new connection may take to send enough
// bytes to be classified.
const sniffTimeout = 10 * time.Second

// splitter serves gRPC and HTTP/1 on one listener, as Milvus serves its
// RESTful API on the gRPC port: it peeks at the first bytes of each
// accepted connection; the HTTP/2 client preface goes to the grpc
// listener, anything else to the http one. (An HTTP/2 prior-knowledge REST
// client would therefore reach gRPC; REST clients speak HTTP/1.1.)
type splitter struct {
	root   net.Listener
	grpc   *subListener
	http   *subListener
	logger *slog.Logger

	wg        sync.WaitGroup // the accept loop and the sniffing goroutines
	closeOnce sync.Once
	done      chan struct{}

	mu       sync.Mutex            // guards sniffing
	sniffing map[net.Conn]struct{} // connections not yet classified; closed by close
}

func newSplitter(root net.Listener, logger *slog.Logger) *splitter {
	s := &splitter{root: root, logger: logger, done: make(chan struct{}), sniffing: map[net.Conn]struct{}{}}
	s.grpc = &subListener{s: s, conns: make(chan net.Conn)}
	s.http = &subListener{s: s, conns: make(chan net.Conn)}
	return s
}

// start accepts in the background until the root listener fails or the
// splitter is closed.
func (s *splitter) start() {
	s.wg.Add(1)
	go s.run()
}

func (s *splitter) run() {
	defer s.wg.Done()
	for {
		conn, err := s.root.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.close(err)
			return
		}
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			conn.Close()
			return
		default:
		}
		s.sniffing[conn] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.dispatch(conn)
		}()
	}
}

// dispatch classifies one connection and hands it to its listener.
func (s *splitter) dispatch(conn net.Conn) {
	conn.SetReadDeadline(time.Now().Add(sniffTimeout))
	buf := make([]byte, 0, len(http2Preface))
	isGRPC := false
	for {
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if !bytes.HasPrefix([]byte(http2Preface), buf) {
			break // not HTTP/2: the http server answers (or rejects) it
		}
		if len(buf) == len(http2Preface) {
			isGRPC = true
			break
		}
		if err != nil {
			s.logger.Debug("connection closed before it could be classified", "remote", conn.RemoteAddr().String(), "err", err)
			s.mu.Lock()
			delete(s.sniffing, conn)
			s.mu.Unlock()
			conn.Close()
			return
		}
	}
	conn.SetReadDeadline(time.Time{})
	s.mu.Lock()
	delete(s.sniffing, conn)
	s.mu.Unlock()
	pc := &peekedConn{Conn: conn, r: io.MultiReader(bytes.NewReader(buf), conn)}
	target := s.http
	if isGRPC {
		target = s.grpc
	}
	select {
	case target.conns <- pc:
	case <-s.done:
		conn.Close()
	}
}

// close stops accepting; the sub-listeners' Accept then fail with err.
func (s *splitter) close(err error) {
	s.closeOnce.Do(func() {
		if err == nil {
			err = net.ErrClosed
		}
		s.grpc.err, s.http.err = err, err
		s.mu.Lock()
		close(s.done)
		for c := range s.sniffing {
			c.Close() // unblocks its dispatch
		}
		s.mu.Unlock()
		s.root.Close()
	})
}

// Close closes the root listener and waits for the accept loop and the
// connections still being classified.
func (s *splitter) Close() error {
	s.close(nil)
	s.wg.Wait()
	return nil
}

// subListener is one side of a splitter.
type subListener struct {
	s     *splitter
	conns chan net.Conn
	err   error // set before s.done is closed
}

func (l *subListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.s.done:
		return nil, l.err
	}
}

// Close closes the whole splitter: the gRPC and HTTP servers stop together.
func (l *subListener) Close() error {
	l.s.close(nil)
	return nil
}

func (l *subListener) Addr() net.Addr { return l.s.root.Addr() }

// peekedConn replays the bytes read to classify a connection.
type peekedConn struct {
	net.Conn
	r io.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// serveREST splits l between gRPC and the REST handler h: it serves h on
// the HTTP side (reporting a failure on errc) and returns the listener for
// gRPC and a function that shuts the REST side down.
func (s *Server) serveREST(l net.Listener, h http.Handler, errc chan<- error) (grpcL net.Listener, shutdown func(context.Context)) {
	h = restNotReady(h, s.ready)
	sp := newSplitter(l, s.logger)
	sp.start()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug)}
	s.logger.Info("serving the RESTful API on the gRPC port", "addr", l.Addr().String())
	go func() {
		err := srv.Serve(sp.http)
		if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
			err = nil
		}
		errc <- err
	}()
	return sp.grpc, func(ctx context.Context) {
		srv.Shutdown(ctx)
		sp.Close()
	}
}

// observeREST records a REST request in the public API's metrics, with
// method "rest" + its path (e.g. "rest/entities/search").
func (s *Server) observeREST(path string, code int32, took time.Duration, panicked bool) {
	method := "rest" + path
	label := "ok"
	if code != 0 {
		label = strconv.Itoa(int(code))
	}
	if panicked {
		s.metrics.panics.Inc()
	}
	s.metrics.requests.WithLabelValues(method, label).Inc()
	s.metrics.latency.WithLabelValues(method).Observe(took.Seconds())
}

// CloseWrite lets net/http half-close a TCP connection after an error
// answer, as it does on an unwrapped *net.TCPConn.
func (c *peekedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
