package app

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/errs"
)

// stagedListener lets a role accept connections on its gRPC port before
// the gRPC server that serves its services exists (a grpc.Server takes no
// service once it serves): one loop accepts on the port and hands each
// connection to the current stage, first an early server answering every
// call "not ready", then, from handoff on, the role's own server.
type stagedListener struct {
	l    net.Listener
	cur  atomic.Pointer[listenStage]
	done chan struct{} // the accept loop ended, with err
	err  error
}

// listenStage is the net.Listener one server of a stagedListener serves.
type listenStage struct {
	s      *stagedListener
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	last   bool // closing it closes the port
}

func newStagedListener(l net.Listener) *stagedListener {
	s := &stagedListener{l: l, done: make(chan struct{})}
	s.cur.Store(s.newStage(false))
	go s.accept()
	return s
}

func (s *stagedListener) newStage(last bool) *listenStage {
	return &listenStage{s: s, conns: make(chan net.Conn), closed: make(chan struct{}), last: last}
}

// early is the first stage.
func (s *stagedListener) early() net.Listener { return s.cur.Load() }

// handoff makes a last stage current and returns it: connections
// accepted from now on go to it. The caller then stops the early server
// (whose open connections drain and reconnect here); closing the last
// stage closes the port.
func (s *stagedListener) handoff() net.Listener {
	st := s.newStage(true)
	s.cur.Store(st)
	return st
}

func (s *stagedListener) accept() {
	defer close(s.done)
	for {
		c, err := s.l.Accept()
		if err != nil {
			s.err = err
			return
		}
		s.deliver(c)
	}
}

// deliver hands c to the current stage; if that stage closes meanwhile,
// to the one after it, or closes c when the last one did.
func (s *stagedListener) deliver(c net.Conn) {
	for {
		st := s.cur.Load()
		select {
		case st.conns <- c:
			return
		case <-st.closed:
			if st.last || s.cur.Load() == st {
				c.Close()
				return
			}
		}
	}
}

func (st *listenStage) Accept() (net.Conn, error) {
	select {
	case c := <-st.conns:
		return c, nil
	case <-st.closed:
		return nil, net.ErrClosed
	case <-st.s.done:
		return nil, st.s.err
	}
}

func (st *listenStage) Close() error {
	var err error
	st.once.Do(func() {
		close(st.closed)
		if st.last {
			err = st.s.l.Close()
		}
	})
	return err
}

func (st *listenStage) Addr() net.Addr { return st.s.l.Addr() }

// notReadyServer serves a role's gRPC port while its stores open,
// answering every call "service not ready" (Milvus's code 1, retriable),
// as the proxy's public API does: a peer that still dials the address of
// this process's previous incarnation gets an answer, not a refused
// connection.
type notReadyServer struct {
	srv  *grpc.Server
	done chan struct{}
	once sync.Once
}

func serveNotReady(role string, l net.Listener) *notReadyServer {
	s := &notReadyServer{done: make(chan struct{}), srv: grpc.NewServer(grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
		return refusal(errs.ServiceNotReady(role, 0, commonpb.StateCode_Initializing.String()))
	}))}
	go func() { defer close(s.done); s.srv.Serve(l) }()
	return s
}

// stop stops it: its connections get GOAWAY and reconnect (to the role's
// own server); one that does not close within 5 s is cut.
func (s *notReadyServer) stop() {
	s.once.Do(func() {
		t := time.AfterFunc(5*time.Second, s.srv.Stop)
		s.srv.GracefulStop()
		t.Stop()
		<-s.done
	})
}
