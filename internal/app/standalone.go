// Package app is the composition root: it builds the component graph for a
// role and owns the components' lifecycles. Standalone composes every role
// in one process, wired by direct calls; nothing in it dials itself.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/datanode"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/failpoint"
	"github.com/milvago/milvago/internal/identity"
	"github.com/milvago/milvago/internal/idleslack"
	"github.com/milvago/milvago/internal/indexcoord"
	"github.com/milvago/milvago/internal/indexnode"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/memtrim"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/proxy"
	"github.com/milvago/milvago/internal/querycoord"
	"github.com/milvago/milvago/internal/querynode"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/rest"
	"github.com/milvago/milvago/internal/retention"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/session"
	"github.com/milvago/milvago/internal/streaming"
)

// StandaloneConfig configures `milvago standalone`.
type StandaloneConfig struct {
	DataDir     string
	Port        int // gRPC
	MetricsPort int // HTTP /healthz, /metrics
	// SyncAlways fsyncs every log append before acknowledging it (survives
	// power loss, slower). Off, a process crash still loses nothing.
	SyncAlways bool
	// EtcdSnapshotCount is the embedded etcd's snapshot-count
	// (milvago.etcd.snapshotCount); 0: etcd's default, 10000.
	EtcdSnapshotCount uint64
	// ClusterID is common.clusterID, which FlushAll answers.
	ClusterID int
	Data      datacoord.Config
	Root      rootcoord.Config
	// Retention truncates the log behind the checkpoints (zero: defaults).
	Retention retention.Config
	// MemTrim returns freed heap to the OS after large releases (zero:
	// defaults).
	MemTrim memtrim.Config
	// IdleTimerSlack is the timer slack of every thread once no request
	// arrived for a few seconds (milvago.idleTimerSlack; internal/idleslack);
	// zero: none.
	IdleTimerSlack time.Duration

	// LogMaxPayload is the embedded log's largest message in bytes (0:
	// logbroker.DefaultMaxPayload).
	LogMaxPayload int

	// Public is the API's bind address, TLS, pprof and limits (public.go).
	Public PublicAPI
	// Auth is common.security's authentication and authorization.
	Auth AuthConfig
	// Interim is the growing segments' interim index; nil keeps the
	// process's current setting (Milvus's defaults unless set).
	Interim *segment.InterimIndexConfig
	// Prune is the query node's segment pruning by a vector clustering
	// key's centroids; nil keeps Milvus's defaults (off).
	Prune *querynode.PruneConfig
	// LoadConcurrency is how many shards the query node loads at once
	// (milvago.queryNode.loadConcurrency); 0: 4 per CPU.
	LoadConcurrency int
	// Sync is when the data node syncs growing segments' buffers; nil:
	// datanode.DefaultSyncPolicy.
	Sync *datanode.SyncPolicy
}

// DefaultStandalone returns the defaults: ./milvago-data, 19530 and 9091.
func DefaultStandalone() StandaloneConfig {
	return StandaloneConfig{DataDir: "milvago-data", Port: 19530, MetricsPort: 9091, Data: datacoord.Default(), Root: rootcoord.Default()}
}

// Standalone is every role in one process.
type Standalone struct {
	cfg    StandaloneConfig
	logger *slog.Logger
	points *failpoint.Set // armed by MILVAGO_FAILPOINTS (nil: none)

	etcd    *kv.Embedded
	broker  *logbroker.Embedded
	objects objstore.Store

	root   *rootcoord.Server
	data   *datacoord.Server
	writer *streaming.Writer
	dnode  *datanode.Server
	icoord *indexcoord.Server
	ana    *indexcoord.Analyses // analyze tasks of vector clustering compactions
	qnode  *querynode.Server
	qcoord *querycoord.Server
	proxy  *proxy.Server
	rpc    *rpc.Server
	reg    *prometheus.Registry // the API port's metrics
	quota  *quota.Limiter
	center *quota.Center
	ready  atomic.Bool
	// early is the API's server started by StartStandalone, before the
	// stores were opened; nil: Serve starts it.
	early *earlyServe
}

// Broker is the embedded log server, for diagnostics (internal/natscensus
// in the memory measurements); nil once Close has run.
func (s *Standalone) Broker() *logbroker.Embedded { return s.broker }

// earlyServe is the API's server serving since before the stores opened.
type earlyServe struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when its Serve returned
	err    error         // its Serve's result, once done
}

// serveEarly starts srv on grpcL and httpL until stop.
func serveEarly(srv *rpc.Server, grpcL, httpL net.Listener) *earlyServe {
	ctx, cancel := context.WithCancel(context.Background())
	e := &earlyServe{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		e.err = srv.Serve(ctx, grpcL, httpL)
	}()
	return e
}

// stop stops it (if it still serves) and returns its Serve's result.
func (e *earlyServe) stop() error {
	e.cancel()
	<-e.done
	return e.err
}

// run waits until ctx ends (then stops it) or it fails: an errgroup's
// member for the server's life.
func (e *earlyServe) run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return e.stop()
	case <-e.done:
		return e.err
	}
}

// ListenStandalone opens cfg's API and metrics ports (milvago.listen,
// proxy.port, common.metricsPort) for StartStandalone.
func ListenStandalone(cfg StandaloneConfig) (grpcL, httpL net.Listener, err error) {
	gl, err := net.Listen("tcp", net.JoinHostPort(cfg.Public.Listen, strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, nil, fmt.Errorf("app: listen on port %d: %w", cfg.Port, err)
	}
	hl, err := net.Listen("tcp", net.JoinHostPort(cfg.Public.Listen, strconv.Itoa(cfg.MetricsPort)))
	if err != nil {
		gl.Close()
		return nil, nil, fmt.Errorf("app: listen on port %d: %w", cfg.MetricsPort, err)
	}
	return gl, hl, nil
}

// StartStandalone serves the API on grpcL and httpL at once, then starts
// the embedded stores and builds every component as NewStandalone does:
// a client connecting while the stores open (seconds with thousands of
// collections) gets Milvus's "service not ready" (code 1, retriable),
// REST code 1 and /healthz 503 instead of a refused connection, as it
// does during the recovery Serve does next. Serve must be given the same
// listeners. On error the listeners are closed.
func StartStandalone(ctx context.Context, cfg StandaloneConfig, grpcL, httpL net.Listener, logger *slog.Logger) (*Standalone, error) {
	return newStandalone(ctx, cfg, grpcL, httpL, logger)
}

// NewStandalone starts the embedded meta store and log and builds every
// component. Run serves; Close releases what Run did not.
func NewStandalone(ctx context.Context, cfg StandaloneConfig, logger *slog.Logger) (s *Standalone, err error) {
	return newStandalone(ctx, cfg, nil, nil, logger)
}

// newStandalone builds a standalone; with listeners, its API serves them
// from the start (StartStandalone).
func newStandalone(ctx context.Context, cfg StandaloneConfig, grpcL, httpL net.Listener, logger *slog.Logger) (s *Standalone, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	st := &Standalone{cfg: cfg, logger: logger}
	s = st
	defer func() {
		if err != nil {
			if st.early != nil {
				st.early.stop()
			} else if grpcL != nil {
				grpcL.Close()
				httpL.Close()
			}
			st.closeStorage() // s is nil by now
		}
	}()
	points, err := failpoint.Parse(os.Getenv(failpoint.EnvVar), logger)
	if err != nil {
		return nil, fmt.Errorf("app: %s: %w", failpoint.EnvVar, err)
	}
	if points != nil {
		logger.Warn("failpoints armed: a testing aid, never for production", "failpoints", points.Names())
	}
	s.points = points
	// The API's server needs only the configuration: built first, it
	// answers "not ready" until build binds the service to it and Serve
	// has recovered the collections.
	tlsCfg, err := cfg.Public.serverTLS()
	if err != nil {
		return nil, err
	}
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		querynode.PruneMetrics())
	s.rpc = rpc.NewUnbound(rpc.Config{Addr: net.JoinHostPort(cfg.Public.Listen, strconv.Itoa(cfg.Port)), MetricsAddr: net.JoinHostPort(cfg.Public.Listen, strconv.Itoa(cfg.MetricsPort)),
		RESTLater: true, TLS: tlsCfg, Pprof: cfg.Public.Pprof, MaxRecvBytes: cfg.Public.maxRecvBytes()},
		s.reg, s.readyErr, logger)
	if grpcL != nil {
		s.early = serveEarly(s.rpc, grpcL, httpL)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("app: data dir: %w", err)
	}
	// app.openStores: the stores open slowly (a large meta store or log to
	// replay), while the API already answers "not ready".
	points.Hit(ctx, "app.openStores")
	start := time.Now()
	s.etcd, err = kv.StartEmbedded(ctx, embeddedEtcd(filepath.Join(cfg.DataDir, "etcd"), cfg.EtcdSnapshotCount), logger)
	if errors.Is(err, kv.ErrDiskTooSmall) || errors.Is(err, kv.ErrNoRoom) {
		return nil, fmt.Errorf("app: start embedded etcd: %w (the meta store is under milvago.dataDir, %s: give it a larger or emptier disk)", err, cfg.DataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("app: start embedded etcd: %w", err)
	}
	s.broker, err = logbroker.StartEmbedded(ctx, logbroker.EmbedConfig{Dir: filepath.Join(cfg.DataDir, "log"), SyncAlways: cfg.SyncAlways, MaxPayload: cfg.LogMaxPayload}, logger)
	if err != nil {
		return nil, fmt.Errorf("app: start embedded log: %w", err)
	}
	s.objects, err = objstore.NewLocal(filepath.Join(cfg.DataDir, "objects"))
	if err != nil {
		return nil, fmt.Errorf("app: object store: %w", err)
	}
	logger.Info("storage ready", "took", time.Since(start).Round(time.Millisecond))
	metaName, logName, objName := standaloneStores(cfg.DataDir)
	if err := checkIdentity(ctx, identity.Stores{Meta: s.etcd.Client(), MetaName: metaName, Log: s.broker.Log(), LogName: logName,
		Objects: s.objects, ObjectsName: objName, Hint: recoverHint("--data-dir " + cfg.DataDir)}, logger); err != nil {
		return nil, err
	}
	if err := s.build(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Standalone) build(ctx context.Context) error {
	meta := s.etcd.Client()
	log := s.broker.Log()
	h := &hooks{s: s}
	wm, err := identity.LoadWatermark(ctx, meta, s.objects, s.logger)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	if s.root, err = rootcoord.New(ctx, s.cfg.Root, rootcoord.Deps{KV: meta, Hooks: h, Logger: s.logger, Watermark: wm}); err != nil {
		return err
	}
	if s.data, err = datacoord.New(ctx, s.cfg.Data, datacoord.Deps{KV: meta, IDs: s.root, Objects: s.objects, Logger: s.logger}); err != nil {
		return err
	}
	// The embedded log has this one writer: no fence (streaming.Deps).
	s.writer = streaming.New(streaming.Default(), streaming.Deps{Log: log, TSO: s.root, Segments: s.data, Unfenced: true, Logger: s.logger})
	if s.cfg.Sync != nil {
		if err := s.cfg.Sync.Validate(); err != nil {
			return fmt.Errorf("dataNode.memory: %w", err)
		}
	}
	s.dnode = datanode.New(datanode.Deps{Log: log, Objects: s.objects, Coord: s.data, IDs: s.root, Collections: s.root, Imports: s.data, Sync: s.cfg.Sync,
		Points: s.points, Logger: s.logger})
	inode := indexnode.New(s.objects, s.logger)
	if s.icoord, err = indexcoord.New(ctx, indexcoord.Deps{KV: meta, IDs: s.root, Segments: s.data, Builder: inode, Logger: s.logger}); err != nil {
		return err
	}
	// Analyze tasks run on the same index node, as in a cluster.
	if s.ana, err = indexcoord.NewAnalyses(ctx, indexcoord.AnalysesDeps{KV: meta, Worker: inode, Logger: s.logger}); err != nil {
		return err
	}
	if s.cfg.Interim != nil {
		if err := s.cfg.Interim.Validate(); err != nil {
			return fmt.Errorf("queryNode.segcore.interimIndex: %w", err)
		}
	}
	s.qnode = querynode.New(querynode.Deps{Log: log, Objects: s.objects, Syncer: s.writer, Collections: s.root, IndexFaults: s.icoord,
		Interim: s.cfg.Interim, Prune: s.cfg.Prune, LoadConcurrency: s.cfg.LoadConcurrency, Logger: s.logger})
	s.reg.MustRegister(s.qnode.LoadMetrics())
	if s.qcoord, err = querycoord.New(ctx, querycoord.Deps{KV: meta, Data: s.data, Indexes: s.icoord,
		Nodes: querycoord.OneNode(standaloneQueryNode, s.qnode), IDs: s.root, Collections: s.root, Logger: s.logger}); err != nil {
		return err
	}
	// Flushed segments go to the query node first (served by brute force),
	// then to index builds; a finished build reloads the segment indexed.
	s.data.AddListener(s.qcoord)
	s.data.AddListener(s.icoord)
	s.icoord.AddListener(s.qcoord)
	s.data.Attach(s.dnode, s.root, s.icoord) // compaction runs on the data node; GC asks indexcoord
	s.data.AttachAnalyses(s.ana)
	h.wire()
	pcfg := proxy.Default()
	pcfg.MaxMessageBytes = log.MaxMessageBytes() - 64<<10
	pcfg.Limits = s.cfg.Public.proxyLimits()
	pcfg.Models = s.cfg.Public.Models
	pcfg.EnableVectorClusteringKey = s.cfg.Data.Compaction.Clustering.Key.EnableVectorKey
	pcfg.ClusterID = strconv.Itoa(s.cfg.ClusterID)
	// The quota center samples this process's memory as GetMetrics
	// reports it for the data and query node (the process holds every
	// collection), the data directory's disk and the stored binlogs; the
	// proxy's limiter takes its verdict, as a cluster proxy takes the root
	// coordinator's (quota_center.go).
	// GetMetrics reports the components under a server ID of this start,
	// as Milvus standalone's session ID (sysinfo.go).
	id, err := session.AllocIDMarked(ctx, meta, wm)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	addr := net.JoinHostPort(hostIP(), strconv.Itoa(s.cfg.Port))
	s.center = s.cfg.Public.quotaCenter(s.cfg.DataDir, nodeMemory{standaloneSystemInfo{id: id, addr: addr, diskPath: s.cfg.DataDir, query: s.qnode, proxy: true}},
		nil, storedSizes{s.root, s.data}, nil, s.logger)
	deps := proxy.Deps{Root: s.root, Data: s.data, Query: s.qcoord, Index: s.icoord, Writer: s.writer,
		PChannels: func(context.Context) ([]string, error) { return s.root.PChannels(), nil },
		Shards:    oneNodeShards{s.qnode, standaloneQueryNode}, Hooks: h, Imports: s.data, Failpoints: s.points, Logger: s.logger}
	if s.center != nil {
		s.quota = s.cfg.Public.limiter(s.center, quota.NewRequests(s.reg, func() int64 { return id }), s.logger)
		deps.QuotaMetrics = s.center
	}
	if s.quota != nil {
		deps.Quota = s.quota
	}
	s.proxy = proxy.New(pcfg, deps)
	acl, guard, err := openRBAC(ctx, meta, s.cfg.Auth, s.logger)
	if err != nil {
		return err
	}
	svc := rpc.NewService(s.proxy, "STANDALONE").WithReplicas(s.qcoord).WithResourceGroups(s.qcoord).WithRBAC(acl)
	svc.SetSystemInfo(standaloneSystemInfo{id: id, addr: addr, diskPath: s.cfg.DataDir, query: s.qnode})
	restH := rest.New(s.proxy, s.logger).WithResourceGroups(svc)
	restH.SetAuth(guard, svc)
	s.rpc.Bind(svc, restH, guard) // still not ready: Serve recovers first
	return nil
}

// standaloneQueryNode is the server ID of standalone's query node.
const standaloneQueryNode = 1

// oneNodeShards serves the proxy's shard reads from standalone's one
// query node, the leader of every shard loaded.
type oneNodeShards struct {
	*querynode.Server
	id int64
}

func (o oneNodeShards) Leader(context.Context, int64, string) (int64, error) { return o.id, nil }

// Search searches one shard on the query node; a refusal reads as Milvus's
// proxy reports a delegator's (errs.ShardRead), as the cluster's router
// reports it.
func (o oneNodeShards) Search(ctx context.Context, req *contract.SearchRequest) (*contract.SearchResult, error) {
	r, err := o.Server.Search(ctx, req)
	if err != nil {
		return nil, o.readError(ctx, true, req.VChannel, err)
	}
	return r, nil
}

// Query queries one shard on the query node, its refusal as Search's.
func (o oneNodeShards) Query(ctx context.Context, req *contract.QueryRequest) (*contract.QueryResult, error) {
	r, err := o.Server.Query(ctx, req)
	if err != nil {
		return nil, o.readError(ctx, false, req.VChannel, err)
	}
	return r, nil
}

func (o oneNodeShards) readError(ctx context.Context, search bool, vchannel string, err error) error {
	return errs.ShardRead(search, o.id, vchannel, ctx.Err() == nil, err)
}

func (s *Standalone) readyErr() error {
	if !s.ready.Load() {
		return errs.ServiceNotReady("standalone", standaloneQueryNode, commonpb.StateCode_Initializing.String())
	}
	return nil
}

// SetRequeryPolicies changes common.requery.searchPolicy and
// common.requery.hybridSearchPolicy while serving (refreshable in Milvus).
func (s *Standalone) SetRequeryPolicies(search, hybrid proxy.RequeryPolicy) {
	s.proxy.SetRequeryPolicies(search, hybrid)
}

// Run serves on the configured ports until ctx ends, then shuts down.
// (StartStandalone listens before the stores open; then call Serve.)
func (s *Standalone) Run(ctx context.Context) error {
	gl, hl, err := ListenStandalone(s.cfg)
	if err != nil {
		return err
	}
	return s.Serve(ctx, gl, hl)
}

// Serve serves on the given listeners until ctx ends, then shuts down and
// closes the embedded servers. A standalone from StartStandalone already
// serves its listeners: give Serve the same ones.
func (s *Standalone) Serve(ctx context.Context, grpcL, httpL net.Listener) error {
	defer s.closeStorage()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	// The API listens first: until the collections are recovered (a
	// minute or more with thousands loaded), calls are answered "service
	// not ready" (code 1, retriable) and /healthz 503, as Milvus's proxy
	// answers before it is healthy, instead of connections hanging.
	if e := s.early; e != nil {
		g.Go(func() error { return e.run(gctx) })
	} else {
		g.Go(func() error { return s.rpc.Serve(gctx, grpcL, httpL) })
	}
	fail := func(err error) error {
		cancel()
		g.Wait() // the API's server, and what had started, stopped
		return err
	}
	colls, err := s.allCollections(gctx)
	if err != nil {
		return fail(err)
	}
	for _, c := range colls {
		if err := s.dnode.Watch(gctx, c); err != nil {
			return fail(err)
		}
	}
	s.qnode.Start(gctx)
	g.Go(func() error { return s.writer.Run(gctx) })
	g.Go(func() error { return s.dnode.Run(gctx) })
	if err := s.data.SetImportExecutor(gctx, s.dnode); err != nil { // bulk import (docs/import.md)
		return fail(err)
	}
	g.Go(func() error { return s.qnode.Run(gctx) })
	g.Go(func() error { return s.qcoord.RunChecker(gctx, querycoord.CheckInterval) })
	g.Go(func() error { return s.icoord.Run(gctx) })
	g.Go(func() error { return s.ana.Run(gctx) })
	g.Go(func() error { return s.data.Run(gctx) }) // compaction triggers, garbage collection
	rcfg := s.cfg.Retention
	if rcfg == (retention.Config{}) {
		rcfg = retention.Default()
	}
	r, err := retention.New(rcfg, retention.Deps{Log: s.broker.Log(), Checkpoints: s.data, Collections: s.allCollections, PChannels: s.root.PChannels(), Logger: s.logger})
	if err != nil {
		return fail(fmt.Errorf("app: retention: %w", err))
	}
	g.Go(func() error { return r.Run(gctx) })
	g.Go(func() error { return memtrim.New(s.cfg.MemTrim, s.logger).Run(gctx) })
	g.Go(func() error { return idleslack.New(idleslack.Config{Slack: s.cfg.IdleTimerSlack}, s.logger).Run(gctx) })
	// The in-process query node is the only one: every replica's.
	if err := s.qcoord.SetNodes(gctx, []querycoord.NodeInfo{{ID: standaloneQueryNode, Addr: grpcL.Addr().String(),
		Labels: session.LabelsFromEnv(session.RoleQueryNode, os.Environ())}}); err != nil {
		return fail(err)
	}
	// Refuse writes from the first request if memory or disk is short.
	s.center.Sample(gctx)
	s.quota.Sample(gctx)
	g.Go(func() error { s.center.Run(gctx); return nil })
	g.Go(func() error { s.quota.Run(gctx); return nil })
	if err := s.qcoord.Recover(gctx); err != nil {
		return fail(err)
	}
	s.ready.Store(true)
	s.logger.Info("milvago standalone is ready", "grpc", grpcL.Addr().String(), "http", httpL.Addr().String(), "data", s.cfg.DataDir)
	err = g.Wait()
	s.ready.Store(false)
	return err
}

func (s *Standalone) allCollections(ctx context.Context) ([]*model.Collection, error) {
	return listCollections(ctx, s.root)
}

func (s *Standalone) closeStorage() {
	if s.broker != nil {
		if err := s.broker.Close(); err != nil {
			s.logger.Warn("close log", "err", err)
		}
		s.broker = nil
	}
	if s.etcd != nil {
		if err := s.etcd.Close(); err != nil {
			s.logger.Warn("close meta store", "err", err)
		}
		s.etcd = nil
	}
	if s.objects != nil {
		s.objects.Close()
		s.objects = nil
	}
}

// hooks fans collection DDL out to the components that must hear of it.
type hooks struct {
	s *Standalone
	*dropper
}

// wire sets the drop fan-out once every component exists (rootcoord, which
// calls it, is built first).
func (h *hooks) wire() {
	s := h.s
	h.dropper = &dropper{query: s.qcoord, data: s.data, index: s.icoord, objects: s.objects, logger: s.logger,
		unwatch: func(_ context.Context, c *model.Collection) error { s.dnode.Unwatch(c); return nil }}
}

func (h *hooks) CollectionCreated(ctx context.Context, c *model.Collection) error {
	return h.s.dnode.Watch(ctx, c)
}

// embeddedEtcd configures standalone's meta store for a quieter idle
// server: a single member with no leases needs no 100 ms raft tick
// (elections and heartbeats have no peer to reach); every tick woke the
// process twice doing nothing (docs/dispatcher.md, "Idle CPU"). Five ticks
// per election timeout, as before ten, keep the start-up election as fast
// (etcd fast-forwards all but one). Lease TTLs must stay at least
// 1.5 x ElectionMs (2 s), unchanged. The backend (bbolt) commits once a
// second instead of ten times, idle or not: what is acknowledged is in
// etcd's fsynced WAL before, and a restart replays the WAL past the last
// commit (a second of entries at most).
func embeddedEtcd(dir string, snapshotCount uint64) kv.EmbedConfig {
	return kv.EmbedConfig{Dir: dir, TickMs: 200, ElectionMs: 1000, BackendBatchInterval: time.Second, SnapshotCount: snapshotCount}
}
