package rpc

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/auth"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/idleslack"
	"github.com/milvago/milvago/internal/proxy"
	"github.com/milvago/milvago/internal/rpc/pb"
)

// Config says where to listen.
type Config struct {
	Addr        string // gRPC, e.g. ":19530"
	MetricsAddr string // HTTP /healthz and /metrics, e.g. ":9091"
	// MaxRecvBytes bounds one request (Milvus: 64 MiB).
	MaxRecvBytes int
	// REST, if set, serves Milvus's RESTful API v2 on Addr beside gRPC;
	// each connection goes to one or the other by its first bytes (mux.go).
	REST http.Handler
	// RESTLater serves the RESTful API on Addr with the handler Bind gives
	// (NewUnbound): until then its calls are answered code 1, not ready.
	RESTLater bool
	// TLS, if set, encrypts Addr (gRPC and REST): ServerTLS builds it from
	// common.security.tlsMode and tls.*. The metrics port stays plain.
	TLS *tls.Config
	// Pprof serves /debug/pprof on the metrics port (milvago.pprof.enabled).
	Pprof bool
	// Auth, if enabled, authenticates every gRPC call and checks its
	// privilege (internal/auth); the REST handler checks its own.
	Auth *auth.Guard
}

// Server serves the public API and the HTTP endpoints.
type Server struct {
	cfg     Config
	grpc    *grpc.Server
	http    *http.Server
	logger  *slog.Logger
	metrics *metrics
	ready   func() error
	lastCtx atomic.Int64 // unix nanos of the last logContext line
	// bound is what answers the calls the ready gate admits: nil until
	// Bind (a server built before the stores are open listens at once
	// and refuses every call "not ready" until then).
	bound atomic.Pointer[binding]
}

// binding is the service, RESTful handler and access guard a Server
// answers with once bound.
type binding struct {
	svc  *Service
	rest http.Handler // nil: no RESTful API
	auth *auth.Guard  // nil: no authentication
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	panics   prometheus.Counter
}

// New builds the servers bound to svc, cfg.REST and cfg.Auth; Run
// listens. ready reports whether the node can serve (for /healthz).
func New(cfg Config, svc *Service, reg *prometheus.Registry, ready func() error, logger *slog.Logger) *Server {
	s := NewUnbound(cfg, reg, ready, logger)
	s.Bind(svc, cfg.REST, cfg.Auth)
	return s
}

// NewUnbound builds the servers without the service, so that they can
// listen before the stores the service needs are open: every Milvus call
// is answered "service not ready" (code 1, as the ready gate answers),
// every RESTful one code 1 and /healthz 503 until Bind, and after it as
// long as ready fails. cfg.REST says only whether the RESTful API is
// served on Addr (as cfg.RESTLater; Bind gives the handler); cfg.Auth is
// ignored.
// ready must fail until Bind has returned.
func NewUnbound(cfg Config, reg *prometheus.Registry, ready func() error, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "milvago_proxy_requests_total", Help: "Public API requests by method and Milvus status code."}, []string{"method", "code"}),
		latency:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "milvago_proxy_request_duration_seconds", Help: "Public API request latency.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}, []string{"method"}),
		panics:   prometheus.NewCounter(prometheus.CounterOpts{Name: "milvago_proxy_panics_total", Help: "Requests that panicked and were recovered."}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.panics)
	}
	s := &Server{cfg: cfg, logger: logger.With("component", "rpc"), metrics: m, ready: ready}
	if cfg.MaxRecvBytes == 0 {
		cfg.MaxRecvBytes = 64 << 20
	}
	s.grpc = grpc.NewServer(append(append(keepaliveOptions(), FlowControlServerOptions()...),
		grpc.MaxRecvMsgSize(cfg.MaxRecvBytes+(1<<20)),
		grpc.MaxSendMsgSize(256<<20),
		grpc.ChainUnaryInterceptor(s.intercept, s.authorize),
		StreamWorkers(),
	)...)
	s.grpc.RegisterService(s.lateDesc(&milvuspb.MilvusService_ServiceDesc), nil)
	mux := http.NewServeMux()
	mux.Handle("/healthz", readOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if err := s.ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "OK")
	})))
	if reg != nil {
		mux.Handle("/metrics", readOnly(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	}
	if cfg.Pprof {
		// Profiles, on the metrics port only (not the public API port).
		addPprof(mux)
	}
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s
}

// Bind gives the server what answers the calls once ready admits them:
// the Milvus service, the RESTful handler (nil: none; with cfg.REST unset
// it is not served) and the access guard (nil or disabled: none). Call it
// once, before ready succeeds.
func (s *Server) Bind(svc *Service, rest http.Handler, guard *auth.Guard) {
	if o, ok := rest.(interface {
		SetObserver(func(path string, code int32, took time.Duration, panicked bool))
	}); ok {
		o.SetObserver(s.observeREST)
	}
	s.bound.Store(&binding{svc: svc, rest: rest, auth: guard})
}

// errUnbound answers a call that arrived before Bind.
func (s *Server) errUnbound() error {
	if err := s.ready(); err != nil {
		return asNotReady(err)
	}
	return fmt.Errorf("rpc: the service is not bound yet: %w", errs.ErrServiceNotReady)
}

// lateDesc is desc with every handler calling the bound service, so that
// the gRPC server can be built (and serve) before the service exists. A
// unary call that arrives before Bind is answered "not ready"; the ready
// gate (intercept) answers the ones after it until ready succeeds.
func (s *Server) lateDesc(desc *grpc.ServiceDesc) *grpc.ServiceDesc {
	d := *desc
	d.HandlerType = (*any)(nil)
	d.Methods = make([]grpc.MethodDesc, len(desc.Methods))
	for i, m := range desc.Methods {
		fullMethod := "/" + desc.ServiceName + "/" + m.MethodName
		h := m.Handler
		d.Methods[i] = grpc.MethodDesc{MethodName: m.MethodName, Handler: func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			b := s.bound.Load()
			if b == nil {
				return notReady(fullMethod, s.errUnbound())
			}
			return h(b.svc, ctx, dec, icpt)
		}}
	}
	d.Streams = make([]grpc.StreamDesc, len(desc.Streams))
	for i, st := range desc.Streams {
		h := st.Handler
		st.Handler = func(_ any, stream grpc.ServerStream) error {
			idleslack.Mark()
			b := s.bound.Load()
			if b == nil {
				return grpcstatus.Error(codes.Unavailable, s.errUnbound().Error())
			}
			return h(b.svc, stream)
		}
		d.Streams[i] = st
	}
	return &d
}

// authorize is the bound guard's interceptor; before Bind, only the ready
// gate's answers reach it, and anything else is refused.
func (s *Server) authorize(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	b := s.bound.Load()
	if b == nil {
		return nil, grpcstatus.Error(codes.Unavailable, s.errUnbound().Error())
	}
	return b.auth.UnaryInterceptor(ctx, req, info, handler)
}

// restHandler serves the bound RESTful handler; restNotReady answers
// before it is bound.
func (s *Server) restHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idleslack.Mark()
		b := s.bound.Load()
		if b == nil || b.rest == nil {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"code": errs.ErrServiceNotReady.Code, "message": s.errUnbound().Error()})
			return
		}
		b.rest.ServeHTTP(w, r)
	})
}

// MarkActivity are the options of an internal gRPC server that record
// each call as work of the process, so that it runs with the default
// timer slack (internal/idleslack); the public API's server does so in
// intercept. The polls of monitoring state every 3 s are not work: the
// coordinator's sampling of every node (GetComponentInfos, for the quota
// center) and each proxy's of its quota states (GetQuotaStates) would
// keep every role of an idle cluster busy.
func MarkActivity() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if !monitoringPoll(info.FullMethod) {
				idleslack.Mark()
			}
			return handler(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			idleslack.Mark()
			return handler(srv, markingStream{ss})
		}),
	}
}

// monitoringPoll reports whether method is one of the periodic polls of
// monitoring state that MarkActivity does not count as work.
func monitoringPoll(method string) bool {
	return method == pb.Node_GetComponentInfos_FullMethodName || method == pb.QuotaCenter_GetQuotaStates_FullMethodName
}

// markingStream records every message a client sends on a stream.
type markingStream struct{ grpc.ServerStream }

func (m markingStream) RecvMsg(msg any) error {
	err := m.ServerStream.RecvMsg(msg)
	idleslack.Mark()
	return err
}

// intercept carries the database from metadata into the context, recovers
// panics into Internal errors and records metrics.
func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	idleslack.Mark() // the process is busy: no timer slack (an atomic load)
	start := time.Now()
	method := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if dbs := md.Get("dbname"); len(dbs) > 0 {
			ctx = proxy.WithDatabase(ctx, dbs[0])
		}
		if ids := md.Get("identifier"); len(ids) > 0 {
			ctx = proxy.WithClient(ctx, ids[0])
		}
	}
	if strings.HasPrefix(info.FullMethod, milvusServicePrefix) {
		if err := s.ready(); err != nil {
			return notReady(info.FullMethod, err)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			s.metrics.panics.Inc()
			s.logger.Error("request panicked", "method", method, "panic", r, "stack", string(debug.Stack()))
			resp, err = nil, grpcstatus.Errorf(codes.Internal, "internal error in %s: %v", method, r)
		}
		code := "ok"
		if st := statusCodeOf(resp); st != 0 {
			code = fmt.Sprint(st)
		}
		if err != nil {
			code = grpcstatus.Code(err).String()
		}
		s.metrics.requests.WithLabelValues(method, code).Inc()
		s.metrics.latency.WithLabelValues(method).Observe(time.Since(start).Seconds())
		s.logContext(method, resp)
	}()
	return handler(ctx, req)
}

// logContext logs the whole error of a response whose reason left its
// context out (errs.Reason: Milvus's text alone for a quota refusal), at
// most once a second: a full disk refuses every write.
func (s *Server) logContext(method string, resp any) {
	st := statusOf(resp)
	if st.GetDetail() == "" || st.GetDetail() == st.GetReason() {
		return
	}
	now, last := time.Now().UnixNano(), s.lastCtx.Load()
	if now-last < int64(time.Second) || !s.lastCtx.CompareAndSwap(last, now) {
		return
	}
	s.logger.Warn("request refused", "method", method, "code", st.GetCode(), "reason", st.GetReason(), "err", st.GetDetail())
}

// statusOf returns the Milvus status of a response: the response itself
// (a bare Status) or its Status field; nil if it has none.
func statusOf(resp any) *commonpb.Status {
	switch r := resp.(type) {
	case *commonpb.Status:
		return r
	case interface{ GetStatus() *commonpb.Status }:
		return r.GetStatus()
	}
	return nil
}

// statusCodeOf reads the Milvus code of a response (0 if it has no status).
func statusCodeOf(resp any) int32 { return statusOf(resp).GetCode() }

// Run listens until ctx ends, then stops gracefully.
func (s *Server) Run(ctx context.Context) error {
	gl, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("rpc: listen %s: %w", s.cfg.Addr, err)
	}
	hl, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		gl.Close()
		return fmt.Errorf("rpc: listen %s: %w", s.cfg.MetricsAddr, err)
	}
	return s.Serve(ctx, gl, hl)
}

// Serve serves on given listeners until ctx ends.
func (s *Server) Serve(ctx context.Context, grpcL, httpL net.Listener) error {
	s.logger.Info("serving", "grpc", grpcL.Addr().String(), "http", httpL.Addr().String())
	grpcL = tlsListener(grpcL, s.cfg.TLS)
	errc := make(chan error, 3)
	shutdownREST := func(context.Context) {}
	if s.cfg.REST != nil || s.cfg.RESTLater {
		grpcL, shutdownREST = s.serveREST(grpcL, s.restHandler(), errc)
	}
	go func() { errc <- s.grpc.Serve(grpcL) }()
	go func() {
		if err := s.http.Serve(httpL); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
			return
		}
		errc <- nil
	}()
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		s.grpc.Stop()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.http.Shutdown(shutdownCtx)
	shutdownREST(shutdownCtx)
	return first
}
