package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/milvago/milvago/internal/config"
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
	"github.com/milvago/milvago/internal/metacache"
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
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/framed"
	"github.com/milvago/milvago/internal/rpc/pb"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
	"github.com/milvago/milvago/internal/session"
	"github.com/milvago/milvago/internal/shardroute"
	"github.com/milvago/milvago/internal/streaming"
	"github.com/milvago/milvago/internal/sysinfo"
)

// coordinatorsOf lists the coordinators a role runs.
var coordinatorsOf = map[string][]string{
	session.RoleMixCoord:   {session.RoleRootCoord, session.RoleDataCoord, session.RoleQueryCoord, session.RoleIndexCoord},
	session.RoleRootCoord:  {session.RoleRootCoord},
	session.RoleDataCoord:  {session.RoleDataCoord},
	session.RoleQueryCoord: {session.RoleQueryCoord},
	session.RoleIndexCoord: {session.RoleIndexCoord},
}

// RunRole runs one cluster role until ctx ends: it connects to the shared
// etcd, S3 and NATS, serves the role's internal gRPC services on its
// ROLE.port (the proxy: Milvus's API on proxy.port), announces itself in
// an etcd session and reaches the roles it depends on through theirs.
// Coordinators are active-standby: a second process of the same role waits
// until the active one's session ends.
func RunRole(ctx context.Context, role string, cfg *config.Config, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !slices.Contains(config.Roles(), role) {
		return fmt.Errorf("app: unknown role %q: want one of %s", role, strings.Join(config.Roles(), ", "))
	}
	n := &roleNode{role: role, cfg: cfg, logger: logger.With("role", role)}
	n.fence.role = role
	points, err := failpoint.Parse(os.Getenv(failpoint.EnvVar), n.logger)
	if err != nil {
		return fmt.Errorf("app: %s: %w", failpoint.EnvVar, err)
	}
	if points != nil {
		n.logger.Warn("failpoints armed: a testing aid, never for production", "failpoints", points.Names())
	}
	n.fence.points = points
	n.fence.logger = n.logger
	defer n.close()
	return n.run(ctx)
}

// roleNode is one cluster process.
type roleNode struct {
	role   string
	cfg    *config.Config
	logger *slog.Logger

	meta    *kv.Etcd
	objects objstore.Store
	log     logbroker.Log
	peers   sessionDiscovery
	sess    *session.Session // registered once the role serves (coordinators: before campaigning)
	conns   map[string]*grpc.ClientConn
	qnodes  *queryNodePool // per-node query node clients (querycoord, proxy)
	dnodes  *dataNodePool  // per-node data node clients (datacoord, proxy)
	inodes  *indexNodePool // index build dispatch (indexcoord)
	grpc    *grpc.Server
	reg     *prometheus.Registry
	ready   atomic.Bool
	addr    string // advertised gRPC address
	// serverID is the session's ID once registered (read by the GetMetrics
	// handlers, sysinfo.go).
	serverID atomic.Int64
	// fence stamps and checks every internal call (fencing.go).
	fence fence
	// qnode is a query node process's query node, whose growing segments
	// its component infos report (nil until built).
	qnode atomic.Pointer[querynode.Server]
	// qserver serves qnode: also its framed searches.
	qserver *workerrpc.QueryNodeServer
}

func (n *roleNode) close() {
	// Closing the session revokes its lease: peers see the process leave
	// at once instead of after the TTL.
	if n.sess != nil {
		if err := n.sess.Close(); err != nil {
			n.logger.Warn("close session", "err", err)
		}
	}
	for _, c := range n.conns {
		c.Close()
	}
	if n.qnodes != nil {
		n.qnodes.close()
	}
	if n.dnodes != nil {
		n.dnodes.close()
	}
	if n.inodes != nil {
		n.inodes.close()
	}
	if n.log != nil {
		if err := n.log.Close(); err != nil {
			n.logger.Warn("close log", "err", err)
		}
	}
	if n.objects != nil {
		n.objects.Close()
	}
	if n.meta != nil {
		if err := n.meta.Close(); err != nil {
			n.logger.Warn("close meta store", "err", err)
		}
	}
}

func (n *roleNode) needsLog() bool {
	// The proxy splits inserts to the broker's message size limit.
	return n.role == "streamingnode" || n.role == "datanode" || n.role == "querynode" || n.role == "proxy"
}

func (n *roleNode) needsObjects() bool {
	return n.role != "proxy" && n.role != "streamingnode"
}

// open connects to the shared storage the role uses and checks its
// cluster identity.
func (n *roleNode) open(ctx context.Context) error {
	var err error
	// app.openStores: the stores open slowly (the proxy's API already
	// answers "not ready").
	n.fence.points.Hit(ctx, "app.openStores", "role", n.role)
	if n.meta, n.objects, n.log, err = openClusterStores(ctx, n.cfg, n.needsObjects(), n.needsLog(), n.logger); err != nil {
		return err
	}
	n.peers = sessionDiscovery{store: n.meta}
	// Every role checks the stores it opened against the meta store's
	// cluster identity (and stamps those never stamped).
	metaName, logName, objName := clusterStores(n.cfg)
	st := identity.Stores{Meta: n.meta, MetaName: metaName, Hint: recoverHint("--config FILE")}
	if n.objects != nil {
		st.Objects, st.ObjectsName = n.objects, objName
	}
	if n.log != nil {
		st.Log, st.LogName = n.log, logName
	}
	return checkIdentity(ctx, st, n.logger)
}

// openClusterStores connects to the external etcd, and to the object store
// and the log when asked. On error it returns what it opened (the caller
// closes it).
func openClusterStores(ctx context.Context, c *config.Config, objects, log bool, logger *slog.Logger) (meta *kv.Etcd, obj objstore.Store, lg logbroker.Log, err error) {
	meta, err = kv.NewEtcd(ctx, kv.EtcdConfig{Endpoints: c.Etcd.Endpoints, RootPath: c.Etcd.RootPath,
		DialTimeout: time.Duration(c.Etcd.DialTimeoutMs) * time.Millisecond, Username: etcdUser(c), Password: etcdPassword(c)}, logger)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("app: etcd %v: %w", c.Etcd.Endpoints, err)
	}
	if objects {
		obj, err = objstore.NewS3(ctx, objstore.S3Config{Endpoint: c.Minio.Endpoint(), UseSSL: c.Minio.UseSSL, Region: c.Minio.Region,
			Bucket: c.Minio.BucketName, AccessKey: c.Minio.AccessKeyID, SecretKey: c.Minio.SecretAccessKey, RootPath: c.Minio.RootPath,
			CreateBucket: true}, logger)
		if err != nil {
			return meta, nil, nil, fmt.Errorf("app: object store %s: %w", c.Minio.Endpoint(), err)
		}
	}
	if log {
		switch c.MQ.Type {
		case config.MQNats:
			lg, err = logbroker.NewNATS(ctx, logbroker.NATSConfig{URL: c.Milvago.NatsMQ.URL, StreamPrefix: c.Milvago.NatsMQ.StreamPrefix,
				Replicas: c.Milvago.NatsMQ.Replicas}, logger)
			if err != nil {
				return meta, obj, nil, fmt.Errorf("app: log broker %s: %w", c.Milvago.NatsMQ.URL, err)
			}
		case config.MQKafka:
			if c.Kafka.SaslUsername != "" || c.Kafka.SSL.Enabled {
				return meta, obj, nil, fmt.Errorf("app: kafka.saslUsername / kafka.ssl.enabled: SASL and TLS towards Kafka are not supported in cluster mode yet")
			}
			lg, err = logbroker.NewKafka(ctx, logbroker.KafkaConfig{Brokers: c.Kafka.BrokerList}, logger)
			if err != nil {
				return meta, obj, nil, fmt.Errorf("app: log broker kafka %v: %w", c.Kafka.BrokerList, err)
			}
		default:
			return meta, obj, nil, fmt.Errorf("app: mq.type %q: cluster mode needs natsmq (milvago.natsmq.url) or kafka (kafka.brokerList)", c.MQ.Type)
		}
	}
	return meta, obj, lg, nil
}

func etcdUser(c *config.Config) string {
	if c.Etcd.Auth.Enabled {
		return c.Etcd.Auth.UserName
	}
	return ""
}

func etcdPassword(c *config.Config) string {
	if c.Etcd.Auth.Enabled {
		return c.Etcd.Auth.Password
	}
	return ""
}

// conn returns a connection to role's live session(s), kept current by a
// watch: a restarted peer is found at its new address.
func (n *roleNode) conn(ctx context.Context, role string) *grpc.ClientConn {
	if c, ok := n.conns[role]; ok {
		return c
	}
	opts := []grpc.DialOption{
		grpc.WithResolvers(&sessionResolverBuilder{w: n.peers, ctx: ctx}),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20), grpc.MaxCallSendMsgSize(256<<20)),
	}
	opts = append(opts, rpc.FlowControlDialOptions()...)
	intercept := []grpc.UnaryClientInterceptor{n.fence.client}
	if isCoordinator(role) {
		// Through a failover: the standby wins once the lost one's
		// session expires (one TTL), then registers its own.
		intercept = append(intercept, waitForCoordinator(2*time.Duration(n.cfg.Common.Session.TTL)*time.Second))
	}
	opts = append(opts, grpc.WithChainUnaryInterceptor(intercept...))
	c, err := grpc.NewClient(sessionScheme+":///"+role, opts...)
	if err != nil {
		panic(fmt.Sprintf("app: grpc client for %s: %v", role, err)) // only a malformed target fails here
	}
	n.conns[role] = c
	return c
}

// advertise returns the address peers dial for ep: its IP, or this host's
// first non-loopback IPv4 address (Milvus's default), with the bound port.
func advertise(ep config.Endpoint, l net.Listener) string {
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	if ep.IP != "" {
		return net.JoinHostPort(ep.IP, port)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return net.JoinHostPort(ipn.IP.String(), port)
		}
	}
	return net.JoinHostPort("127.0.0.1", port)
}

func (n *roleNode) run(ctx context.Context) error {
	n.reg = prometheus.NewRegistry()
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ep, err := n.cfg.RoleEndpoint(n.role)
	if err != nil {
		return err
	}
	if n.role != "proxy" {
		return n.runRole(ctx, ep)
	}
	// The proxy's API listens before the stores open: a client gets
	// "service not ready" (code 1) rather than a refused connection.
	front, err := n.listenProxy(ep)
	if err != nil {
		return err
	}
	defer front.early.stop()
	g, gctx := errgroup.WithContext(ctx)
	if err := n.openStores(ctx, g, gctx); err != nil {
		return err
	}
	return n.runProxy(gctx, g, ep, front)
}

// openStores opens the role's stores and starts what every role runs
// beside its work: it returns freed memory to the OS when quiet and paces
// its heap, as standalone does (internal/memtrim).
func (n *roleNode) openStores(ctx context.Context, g *errgroup.Group, gctx context.Context) error {
	if err := n.open(ctx); err != nil {
		return err
	}
	n.conns = map[string]*grpc.ClientConn{}
	g.Go(func() error { return memtrim.New(memtrim.Config{}, n.logger).Run(gctx) })
	// Quiet, the kernel batches the process's timer wake-ups.
	g.Go(func() error {
		return idleslack.New(idleslack.Config{Slack: time.Duration(n.cfg.Tuning.MilvagoIdleTimerSlack) * time.Millisecond}, n.logger).Run(gctx)
	})
	return nil
}

// runRole runs a coordinator or worker role. Like the proxy, it listens
// before its stores open: /healthz answers 503 "starting", /metrics
// serves, and its gRPC port answers every call "service not ready" (code
// 1), rather than refusing connections, until its own server takes over.
func (n *roleNode) runRole(ctx context.Context, ep config.Endpoint) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	pl, err := net.Listen("tcp", net.JoinHostPort(ep.IP, strconv.Itoa(ep.Port)))
	if err != nil {
		return fmt.Errorf("app: listen on %s port %d: %w", n.role, ep.Port, err)
	}
	staged := newStagedListener(pl)
	early := serveNotReady(n.role, staged.early())
	served := false
	defer func() {
		early.stop()
		if !served {
			pl.Close()
		}
	}()
	if err := n.serveHTTP(gctx, g); err != nil {
		return err
	}
	n.addr = advertise(ep, pl)
	n.logger.Info("milvago role listens; opening its stores", "grpc", n.addr, "metrics", n.cfg.Common.MetricsPort)
	if err := n.openStores(ctx, g, gctx); err != nil {
		return err
	}
	// A coordinator tells every proxy to drop what a DDL changed before
	// it acknowledges the DDL (metacache.go).
	inv := newProxyInvalidator(n.meta, n.logger)
	defer inv.close()
	n.grpc = grpc.NewServer(append(append(rpc.FlowControlServerOptions(), rpc.MarkActivity()...), grpc.MaxRecvMsgSize(256<<20), grpc.MaxSendMsgSize(256<<20),
		grpc.ChainUnaryInterceptor(n.fence.server, inv.intercept), rpc.StreamWorkers())...)
	pb.RegisterNodeServer(n.grpc, nodeInfoServer{infos: func() []sysinfo.ComponentInfos {
		infos := localInfos(n.role, n.serverID.Load(), n.addr, n.cfg.Minio.BucketName, n.cfg.LocalStorage.Path, sysinfo.ClusterDeployMode)
		if q := n.qnode.Load(); q != nil {
			infos = withQuotaMetrics(infos, q)
		}
		return infos
	}})
	// Coordinators register and wait for their turn as standbys before
	// building (their state is in etcd, loaded by New), then serve, their
	// meta-store writes fenced by the leadership; workers build, serve and
	// register. Until the role's server serves, the early one answers.
	var hosted []string
	var lead *session.Leadership
	if coords, ok := coordinatorsOf[n.role]; ok {
		hosted = coords
		if err := n.register(gctx); err != nil {
			return err
		}
		if lead, err = n.sess.Campaign(gctx); err != nil {
			return fmt.Errorf("app: %w", err)
		}
		// Commands to workers carry the leadership's term from now on.
		n.fence.lead.Store(lead)
	}
	if err := n.build(gctx, g, hosted, lead); err != nil {
		return err
	}
	// New connections go to the role's server from here; the early
	// server's drain and reconnect to it.
	l := staged.handoff()
	served = true
	early.stop()
	if qs := n.qserver; qs != nil {
		// The proxies' searches come over framed connections on the same
		// port (internal/rpc/framed); gRPC serves the rest. Serve closes
		// the listener, and so the framed connections, when it stops.
		l = framed.Split(l, func(ctx context.Context, h framed.Header, payload []byte) []byte {
			idleslack.Mark()
			ctx, err := n.fence.admitFramed(ctx, h)
			if err != nil {
				return workerrpc.FramedRefusal(err)
			}
			out := qs.FramedSearch(ctx, payload)
			if err := n.fence.answerFramed(); err != nil {
				return workerrpc.FramedRefusal(err)
			}
			return out
		}, n.logger)
	}
	g.Go(func() error { return n.grpc.Serve(l) })
	if n.sess == nil {
		if err := n.register(gctx); err != nil {
			n.grpc.Stop()
			return err
		}
	}
	var deposed <-chan struct{}
	if lead != nil {
		deposed = lead.Done()
	}
	g.Go(func() error {
		var err error
		select {
		case <-gctx.Done():
		case <-deposed:
			err = lead.Err()
		case <-n.sess.Done():
			err = n.sess.Err()
		}
		n.ready.Store(false)
		n.grpc.GracefulStop()
		if gctx.Err() == nil {
			n.logger.Error("lost the session; stopping", "err", err)
			return fmt.Errorf("app: %w", err)
		}
		return nil
	})
	n.ready.Store(true)
	n.logger.Info("milvago role is ready", "grpc", n.addr)
	return g.Wait()
}

// register publishes the process's session under its role.
func (n *roleNode) register(ctx context.Context) error {
	cfg := session.Config{Role: n.role, Address: n.addr, Version: rpc.Version,
		TTL: time.Duration(n.cfg.Common.Session.TTL) * time.Second, Labels: session.LabelsFromEnv(n.role, os.Environ())}
	if n.objects != nil {
		// Server IDs under the object store's high-water mark, as the
		// root coordinator's IDs: a wiped meta store does not reuse them.
		// Roles without the object store (proxy, streaming node) take the
		// counter as it is; `milvago recover meta` moves it above the mark.
		wm, err := identity.LoadWatermark(ctx, n.meta, n.objects, n.logger)
		if err != nil {
			return fmt.Errorf("app: %w", err)
		}
		cfg.Mark = wm
	}
	var err error
	n.sess, err = session.Register(ctx, n.meta, cfg, n.logger)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	n.serverID.Store(n.sess.ID())
	n.fence.sess.Store(n.sess)
	return nil
}

// serveHTTP serves /healthz and /metrics on common.metricsPort, and
// /debug/pprof with milvago.pprof.enabled.
func (n *roleNode) serveHTTP(ctx context.Context, g *errgroup.Group) error {
	hl, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(n.cfg.Common.MetricsPort)))
	if err != nil {
		return fmt.Errorf("app: listen on metrics port %d: %w", n.cfg.Common.MetricsPort, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !n.ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("OK"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{}))
	if n.cfg.Milvago.Pprof {
		rpc.AddPprof(mux)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(hl); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	return nil
}

// The clients of the other roles; each dials the role's sessions.
func (n *roleNode) rootClient(ctx context.Context) *coordrpc.RootCoordClient {
	return coordrpc.NewRootCoordClient(n.conn(ctx, "rootcoord"))
}

func (n *roleNode) dataClient(ctx context.Context) *coordrpc.DataCoordClient {
	return coordrpc.NewDataCoordClient(n.conn(ctx, "datacoord"))
}

func (n *roleNode) queryClient(ctx context.Context) *coordrpc.QueryCoordClient {
	return coordrpc.NewQueryCoordClient(n.conn(ctx, "querycoord"))
}

func (n *roleNode) indexClient(ctx context.Context) *coordrpc.IndexCoordClient {
	return coordrpc.NewIndexCoordClient(n.conn(ctx, "indexcoord"))
}

// build makes the role's components and registers their services.
func (n *roleNode) build(ctx context.Context, g *errgroup.Group, hosted []string, lead *session.Leadership) error {
	switch n.role {
	case "streamingnode":
		return n.buildStreaming(ctx, g)
	case "datanode":
		return n.buildDataNode(ctx, g)
	case "querynode":
		interim := interimFromConfig(n.cfg)
		if err := interim.Validate(); err != nil {
			return fmt.Errorf("queryNode.segcore.interimIndex: %w", err)
		}
		prune := pruneFromConfig(n.cfg)
		qnode := querynode.New(querynode.Deps{Log: n.log, Objects: n.objects, Syncer: n.streamingClient(ctx, g),
			Collections: n.rootClient(ctx), IndexFaults: n.indexClient(ctx), Interim: &interim, Prune: &prune,
			LoadConcurrency: n.cfg.Tuning.MilvagoQueryNodeLoadConcurrency, Logger: n.logger})
		qnode.Start(ctx)
		n.qnode.Store(qnode)
		n.reg.MustRegister(querynode.PruneMetrics(), qnode.LoadMetrics())
		n.qserver = workerrpc.RegisterQueryNode(n.grpc, qnode, n.queryClient(ctx))
		g.Go(func() error { return qnode.Run(ctx) })
		return nil
	case "indexnode":
		workerrpc.RegisterIndexNode(n.grpc, indexnode.New(n.objects, n.logger))
		return nil
	}
	return n.buildCoordinators(ctx, g, hosted, newFencedStore(n.meta, lead))
}

func (n *roleNode) buildStreaming(ctx context.Context, g *errgroup.Group) error {
	root, data := n.rootClient(ctx), n.dataClient(ctx)
	w, own := n.newStreamingWriter(ctx, g, streaming.Deps{Log: n.log, TSO: root, Segments: data, Logger: n.logger})
	workerrpc.RegisterStreamingNode(n.grpc, w)
	g.Go(func() error { return w.Run(ctx) })
	// Retention truncates the log behind the data coordinator's
	// checkpoints; each pchannel's is run by its current writer only.
	g.Go(func() error {
		pchannels, err := retry(ctx, n.logger, "list physical channels", func() ([]string, error) { return root.PChannels(ctx) })
		if err != nil {
			return nil // ctx ended
		}
		r, err := retention.New(retentionFromConfig(n.cfg), retention.Deps{Log: n.log, Checkpoints: data,
			Collections: func(ctx context.Context) ([]*model.Collection, error) { return listCollections(ctx, root) },
			PChannels:   pchannels, Logger: n.logger,
			Owns: func(pc string) bool { _, err := own.Check(pc); return err == nil }})
		if err != nil {
			return fmt.Errorf("app: retention: %w", err)
		}
		return r.Run(ctx)
	})
	return nil
}

func (n *roleNode) buildDataNode(ctx context.Context, g *errgroup.Group) error {
	root := n.rootClient(ctx)
	sync := syncFromConfig(n.cfg)
	if err := sync.Validate(); err != nil {
		return fmt.Errorf("dataNode.memory: %w", err)
	}
	dnode := datanode.New(datanode.Deps{Log: n.log, Objects: n.objects, Coord: n.dataClient(ctx), IDs: root, Collections: root,
		Imports: coordrpc.NewImportsClient(n.conn(ctx, "datacoord")), Sync: &sync, Points: n.fence.points, Logger: n.logger})
	workerrpc.RegisterDataNode(n.grpc, dnode)
	workerrpc.RegisterImports(n.grpc, dnode) // bulk import (docs/import.md)
	// The data coordinator tells the node which channels to consume
	// (datacoord/channels.go): the owner of each pchannel, several nodes
	// sharing the work.
	g.Go(func() error { return dnode.Run(ctx) })
	return nil
}

// retry calls f until it succeeds or ctx ends, backing off up to 2s.
func retry[T any](ctx context.Context, logger *slog.Logger, what string, f func() (T, error)) (T, error) {
	delay := 100 * time.Millisecond
	for {
		v, err := f()
		if err == nil {
			return v, nil
		}
		logger.Warn(what+": retrying", "err", err)
		if !sleepCtx(ctx, delay) {
			return v, ctx.Err()
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// listCollections lists every collection of every database.
func listCollections(ctx context.Context, root catalog) ([]*model.Collection, error) {
	dbs, err := root.ListDatabases(ctx)
	if err != nil {
		return nil, err
	}
	var out []*model.Collection
	for _, db := range dbs {
		colls, err := root.ListCollections(ctx, db.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, colls...)
	}
	return out, nil
}

// catalog lists databases and their collections: the root coordinator,
// in process (standalone) or its client (cluster).
type catalog interface {
	ListDatabases(ctx context.Context) ([]contract.Database, error)
	ListCollections(ctx context.Context, db string) ([]*model.Collection, error)
}

// buildCoordinators builds the hosted coordinators, reaching the others
// through their clients, and serves them. meta is the meta store fenced by
// the process's leadership.
func (n *roleNode) buildCoordinators(ctx context.Context, g *errgroup.Group, hosted []string, meta kv.Store) error {
	has := func(r string) bool { return slices.Contains(hosted, r) }
	var (
		root   *rootcoord.Server
		data   *datacoord.Server
		icoord *indexcoord.Server
		qcoord *querycoord.Server
		err    error
	)
	// The interfaces each coordinator needs of the others: the local
	// component when hosted here, else its client.
	var rootAPI rootAPI = n.rootClient(ctx)
	drop := &dropper{objects: n.objects, logger: n.logger}
	var channels interface {
		UnwatchCollection(ctx context.Context, c *model.Collection) error
	} = coordrpc.NewDataChannelsClient(n.conn(ctx, "datacoord"))
	if has("rootcoord") {
		wm, err := identity.LoadWatermark(ctx, meta, n.objects, n.logger)
		if err != nil {
			return fmt.Errorf("app: %w", err)
		}
		if root, err = rootcoord.New(ctx, rootFromConfig(n.cfg, rootcoord.Default()), rootcoord.Deps{KV: meta, Hooks: drop, Logger: n.logger, Watermark: wm}); err != nil {
			return err
		}
		rootAPI = root
		coordrpc.RegisterRootCoord(n.grpc, root)
		if err := n.runStreamingCoord(ctx, g, meta, root.PChannels()); err != nil {
			return err
		}
	}
	var dataAPI dataAPI = n.dataClient(ctx)
	var dispatcher *datacoord.Dispatcher
	var localChans *datacoord.Channels
	if has("datacoord") {
		if data, err = datacoord.New(ctx, dataFromConfig(n.cfg), datacoord.Deps{KV: meta, IDs: rootAPI, Objects: n.objects, Logger: n.logger}); err != nil {
			return err
		}
		dataAPI = data
		coordrpc.RegisterDataCoord(n.grpc, data)
		// Channel assignment: which data node consumes which pchannel.
		var cat catalog = n.rootClient(ctx)
		if root != nil {
			cat = root
		}
		pool := n.dataNodes()
		chans, err := datacoord.NewChannels(ctx, datacoord.ChannelsDeps{KV: meta, Nodes: pool,
			Collections: func(ctx context.Context) ([]*model.Collection, error) { return listCollections(ctx, cat) }, Logger: n.logger,
			Metrics: n.reg})
		if err != nil {
			return err
		}
		data.SetChannels(chans)
		channels, localChans = chans, chans
		coordrpc.RegisterDataChannels(n.grpc, chans)
		g.Go(func() error {
			pool.watch(ctx, n.peers, func(ids []int64) error {
				n.logger.Info("data nodes changed", "nodes", len(ids))
				return chans.SetNodes(ctx, ids)
			})
			return nil
		})
		// Live pchannels move onto data nodes that join (datacoord/balance.go).
		g.Go(func() error { chans.RunBalancer(ctx, datacoord.ChannelBalanceInterval); return nil })
		coordrpc.RegisterImports(n.grpc, data)
		// Compactions and import jobs run on chosen live data nodes
		// (datacoord/dispatch.go); imports read files from the
		// deployment's object store (docs/import.md).
		dispatcher = datacoord.NewDispatcher(pool, chans, n.logger)
		if err := data.SetImportExecutor(ctx, dispatcher); err != nil {
			return err
		}
	}
	var indexAPI indexAPI = n.indexClient(ctx)
	var ana *indexcoord.Analyses
	var anaAPI analyzeAPI = coordrpc.NewAnalyzeCoordClient(n.conn(ctx, "indexcoord"))
	if has("indexcoord") {
		// Builds spread over the live index nodes, one at a time on each.
		builders := newIndexNodePool(n.logger, n.fence.client)
		n.inodes = builders
		g.Go(func() error { builders.watch(ctx, n.peers); return nil })
		if icoord, err = indexcoord.New(ctx, indexcoord.Deps{KV: meta, IDs: rootAPI, Segments: dataAPI, Builder: builders,
			Slots: builders.slots, Logger: n.logger}); err != nil {
			return err
		}
		indexAPI = icoord
		coordrpc.RegisterIndexCoord(n.grpc, icoord)
		g.Go(func() error { return icoord.Run(ctx) })
		// Analyze tasks share the index nodes with the builds.
		if ana, err = indexcoord.NewAnalyses(ctx, indexcoord.AnalysesDeps{KV: meta, Worker: builders, Slots: builders.slots,
			Logger: n.logger}); err != nil {
			return err
		}
		anaAPI = ana
		coordrpc.RegisterAnalyzeCoord(n.grpc, ana)
		g.Go(func() error { return ana.Run(ctx) })
	}
	var queryAPI queryAPI = n.queryClient(ctx)
	if has("querycoord") {
		pool := n.queryNodes()
		if qcoord, err = querycoord.New(ctx, querycoord.Deps{KV: meta, Data: dataAPI, Indexes: indexAPI, Nodes: pool,
			IDs: rootAPI, Collections: rootAPI, Logger: n.logger}); err != nil {
			return err
		}
		queryAPI = qcoord
		coordrpc.RegisterQueryCoord(n.grpc, qcoord)
		coordrpc.RegisterReplicas(n.grpc, qcoord)
		coordrpc.RegisterResourceGroups(n.grpc, qcoord)
		g.Go(func() error { return n.trackQueryNodes(ctx, pool, qcoord) })
		// Loads a query node failed are retried every second, as Milvus's checkers.
		g.Go(func() error { return qcoord.RunChecker(ctx, querycoord.CheckInterval) })
		// The balance checker moves shards onto query nodes that joined
		// (queryCoord.autoBalance, autoBalanceChannel, autoBalanceInterval).
		if b := n.cfg.ShardBalance; b.QueryCoordAutoBalance && b.QueryCoordAutoBalanceChannel {
			g.Go(func() error {
				return qcoord.RunBalancer(ctx, time.Duration(b.QueryCoordAutoBalanceInterval)*time.Millisecond)
			})
		}
	}
	drop.query, drop.data, drop.index, drop.unwatch = queryAPI, dataAPI, indexAPI, channels.UnwatchCollection
	// Flushed segments go to the query coordinator (served brute force
	// first) and to index builds; a finished build reloads the segment.
	if has("datacoord") {
		data.AddListener(queryAPI)
		data.AddListener(indexAPI)
		// Compactions run on the data node; garbage collection asks the
		// index coordinator which index files are live.
		data.Attach(dispatcher, rootAPI, indexAPI)
		// Vector clustering plans wait for their analyze tasks.
		data.AttachAnalyses(anaAPI)
		g.Go(func() error { return data.Run(ctx) })
	}
	if has("indexcoord") {
		icoord.AddListener(queryAPI)
	}
	if has("rootcoord") {
		n.startQuotaCenter(ctx, g, root, data, qcoord, localChans)
	}
	return nil
}

// trackQueryNodes tells the query coordinator the live query nodes as
// their sessions come and go: a node that left (its lease expired or was
// revoked) has its shards moved to the other nodes of its replicas, a node
// that joined is dealt to the replicas. The first set also re-sends every
// assignment, for nodes that predate this coordinator.
func (n *roleNode) trackQueryNodes(ctx context.Context, pool *queryNodePool, qcoord *querycoord.Server) error {
	recovered := false
	pool.watch(ctx, n.peers, func(ms []session.Info) error {
		n.logger.Info("query nodes changed", "nodes", len(ms))
		if err := qcoord.SetNodes(ctx, nodeInfos(ms)); err != nil {
			return err
		}
		if !recovered {
			if err := qcoord.Recover(ctx); err != nil {
				return err
			}
			recovered = true
		}
		return nil
	})
	return nil
}

// dataNodes returns the process's pool of per-node data node clients.
func (n *roleNode) dataNodes() *dataNodePool {
	if n.dnodes == nil {
		n.dnodes = newDataNodePool(n.logger, n.fence.client)
	}
	return n.dnodes
}

// queryNodes returns the process's pool of per-node query node clients.
func (n *roleNode) queryNodes() *queryNodePool {
	if n.qnodes == nil {
		n.qnodes = newQueryNodePool(n.logger, n.fence.client, n.fence.caller, n.cfg.Milvago.RPC.FramedSearch)
	}
	return n.qnodes
}

// proxyFront is the proxy's public API, serving (not ready) from before
// the stores open.
type proxyFront struct {
	srv    *rpc.Server
	gl, hl net.Listener
	early  *earlyServe
}

// listenProxy opens the proxy's public API and metrics ports and serves
// them unbound: every call is answered "not ready" until runProxy binds
// the service and the proxy is ready.
func (n *roleNode) listenProxy(ep config.Endpoint) (*proxyFront, error) {
	pub := publicFromConfig(n.cfg)
	host := ep.IP
	if pub.Listen != "" {
		host = pub.Listen
	}
	tlsCfg, err := pub.serverTLS()
	if err != nil {
		return nil, err
	}
	gl, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(ep.Port)))
	if err != nil {
		return nil, fmt.Errorf("app: listen on proxy port %d: %w", ep.Port, err)
	}
	hl, err := net.Listen("tcp", net.JoinHostPort(pub.Listen, strconv.Itoa(n.cfg.Common.MetricsPort)))
	if err != nil {
		gl.Close()
		return nil, fmt.Errorf("app: listen on metrics port %d: %w", n.cfg.Common.MetricsPort, err)
	}
	srv := rpc.NewUnbound(rpc.Config{Addr: gl.Addr().String(), MetricsAddr: hl.Addr().String(), RESTLater: true,
		TLS: tlsCfg, Pprof: pub.Pprof, MaxRecvBytes: pub.maxRecvBytes()}, n.reg, n.readyErr, n.logger)
	return &proxyFront{srv: srv, gl: gl, hl: hl, early: serveEarly(srv, gl, hl)}, nil
}

// runProxy serves Milvus's API on proxy.port over the coordinators' and
// workers' clients, binding the service to front.
func (n *roleNode) runProxy(ctx context.Context, g *errgroup.Group, ep config.Endpoint, front *proxyFront) error {
	pub := publicFromConfig(n.cfg)
	gl := front.gl
	// The coordinators reach the proxy on proxy.internalPort, as in Milvus:
	// plain gRPC without the public port's TLS and user authentication,
	// serving cache invalidation and component infos. Its session
	// advertises this address.
	il, err := net.Listen("tcp", net.JoinHostPort(ep.IP, strconv.Itoa(n.cfg.Proxy.InternalPort)))
	if err != nil {
		return fmt.Errorf("app: listen on proxy internal port %d: %w", n.cfg.Proxy.InternalPort, err)
	}
	n.addr = advertise(ep, il)
	dn := n.dataNodes()
	g.Go(func() error { dn.watch(ctx, n.peers, nil); return nil })
	pool := n.queryNodes()
	g.Go(func() error { pool.watch(ctx, n.peers, nil); return nil })
	replicas := coordrpc.NewReplicasClient(n.conn(ctx, "querycoord"))
	router := shardroute.New(shardroute.Default(), replicas, pool, n.logger)
	pcfg := proxy.Default()
	pcfg.MaxMessageBytes = n.log.MaxMessageBytes() - 64<<10
	pcfg.Limits = pub.proxyLimits()
	pcfg.Models = pub.Models
	pcfg.EnableVectorClusteringKey = n.cfg.VectorClustering.CommonEnableVectorClusteringKey
	pcfg.ClusterID = strconv.Itoa(n.cfg.Common.ClusterID)
	// The proxy reads collection metadata through its cache, which the
	// coordinators invalidate (metacache.go).
	root, query, index := n.rootClient(ctx), n.queryClient(ctx), n.indexClient(ctx)
	mc := metacache.New(metacache.Sources{Root: root, Query: query, Index: index}, n.logger)
	deps := proxy.Deps{Root: cachedRoot{root, mc, metacache.NewTSO(root)}, Data: n.dataClient(ctx),
		Query: cachedQuery{query, mc}, Index: cachedIndex{index, mc},
		Writer: n.streamingClient(ctx, g), Shards: router, PChannels: root.PChannels,
		Hooks:   proxyHooks{dn: dn, channels: coordrpc.NewDataChannelsClient(n.conn(ctx, "datacoord")), qn: pool, data: n.dataClient(ctx)},
		Imports: coordrpc.NewImportsClient(n.conn(ctx, "datacoord")), Failpoints: n.fence.points, Logger: n.logger}
	si := &clusterSystemInfo{meta: n.meta, logger: n.logger, conns: map[string]*grpc.ClientConn{}, self: func() sysinfo.ComponentInfos {
		return localInfos(session.RoleProxy, n.serverID.Load(), n.addr, "", n.cfg.LocalStorage.Path, sysinfo.ClusterDeployMode)[0]
	}}
	defer si.close()
	// The write protection's verdict comes from the quota center next to
	// the root coordinator (quota_center.go), which alone samples the
	// workers' memory and the stored sizes.
	center := coordrpc.NewQuotaCenterClient(n.conn(ctx, "rootcoord"))
	deps.QuotaMetrics = center
	// Each proxy counts its own decisions under its server ID (known once
	// its session registers, before it admits a request).
	lim := pub.limiter(center, quota.NewRequests(n.reg, n.serverID.Load), n.logger)
	if lim != nil {
		deps.Quota = lim
	}
	p := proxy.New(pcfg, deps)
	acl, guard, err := openRBAC(ctx, n.meta, AuthFromConfig(n.cfg), n.logger)
	if err != nil {
		il.Close()
		return err
	}
	// Grants made through another proxy reach this one by a watch.
	g.Go(func() error { return acl.Run(ctx) })
	svc := rpc.NewService(p, "PROXY").WithReplicas(replicas).
		WithResourceGroups(coordrpc.NewResourceGroupsClient(n.conn(ctx, "querycoord"))).WithRBAC(acl)
	svc.SetSystemInfo(si)
	restH := rest.New(p, n.logger).WithResourceGroups(svc)
	restH.SetAuth(guard, svc)
	front.srv.Bind(svc, restH, guard) // still not ready: registered first
	g.Go(func() error { return front.early.run(ctx) })
	internal := grpc.NewServer(rpc.MarkActivity()...)
	pb.RegisterProxyServer(internal, proxyCacheServer{mc: mc})
	pb.RegisterNodeServer(internal, nodeInfoServer{infos: func() []sysinfo.ComponentInfos { return []sysinfo.ComponentInfos{si.self()} }})
	g.Go(func() error { return internal.Serve(il) })
	g.Go(func() error { <-ctx.Done(); internal.Stop(); return nil })
	if err := n.register(ctx); err != nil {
		return err
	}
	mc.Reset() // only now do the coordinators invalidate this proxy
	if lim != nil {
		// Every rate is the cluster's, divided among the live proxies the
		// quota center counts: ask it once this proxy's session is
		// published, so that the first requests are already held to this
		// proxy's share. A center that cannot be reached leaves the whole
		// configured rates until it answers (Milvus's proxies start from
		// the configuration too); the start waits for it at most 5 s.
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		lim.Sample(sctx)
		// The proxies' sessions are followed from here on: the share
		// changes as proxies join and leave, not at the next fetch.
		follow := followProxies(ctx, sctx, n.peers, lim, n.logger)
		cancel()
		g.Go(func() error { follow(); return nil })
		g.Go(func() error { lim.Run(ctx); return nil })
	}
	n.ready.Store(true)
	n.logger.Info("milvago proxy is ready", "grpc", gl.Addr().String(), "internal", n.addr)
	g.Go(func() error {
		select {
		case <-ctx.Done():
			return nil
		case <-n.sess.Done():
			n.ready.Store(false)
			n.logger.Error("lost the session; stopping", "err", n.sess.Err())
			return fmt.Errorf("app: %w", n.sess.Err())
		}
	})
	return g.Wait()
}

func (n *roleNode) readyErr() error {
	if !n.ready.Load() {
		return errs.ServiceNotReady(n.role, n.serverID.Load(), commonpb.StateCode_Initializing.String())
	}
	return nil
}

// proxyHooks fans the proxy's collection DDL out to the other roles (the
// cluster counterpart of standalone's hooks): the data node consumes a new
// collection, the query node serves a changed schema before the change is
// acknowledged, and a truncated collection's segments leave the data
// coordinator and the query node.
type proxyHooks struct {
	dn       *dataNodePool
	channels *coordrpc.DataChannelsClient
	qn       *queryNodePool
	data     *coordrpc.DataCoordClient
}

// CollectionCreated has the data coordinator assign the new collection's
// channels to the data nodes.
func (h proxyHooks) CollectionCreated(ctx context.Context, c *model.Collection) error {
	return h.channels.WatchCollection(ctx, c)
}

// CollectionSchemaChanged hands the query node and the data node the new
// definition before the change is acknowledged. (Both also resolve a field
// they lack from the root coordinator, their Deps.Collections, for a
// node that starts or fails over meanwhile.)
func (h proxyHooks) CollectionSchemaChanged(ctx context.Context, c *model.Collection) error {
	if err := h.qn.eachQueryNode(ctx, "schema change", c, func(qn *workerrpc.QueryNodeClient) error { return qn.UpdateCollection(ctx, c) }); err != nil {
		return err
	}
	if err := h.dn.UpdateCollection(ctx, c); err != nil {
		return err
	}
	return nil
}

func (h proxyHooks) CollectionTruncated(ctx context.Context, c *model.Collection, segmentIDs []int64) error {
	if err := h.data.DropSegments(ctx, c.ID, segmentIDs); err != nil {
		return err
	}
	return h.qn.eachQueryNode(ctx, "truncate", c, func(qn *workerrpc.QueryNodeClient) error { return qn.DropSegmentIDs(ctx, c.ID, segmentIDs) })
}

// What the coordinators need of each other (the union of their consumer
// interfaces): satisfied by the local component and by its client.
type (
	rootAPI interface {
		AllocID(ctx context.Context, count int64) (int64, error)
		DescribeCollection(ctx context.Context, db, name string, id int64) (*model.Collection, error)
	}
	dataAPI interface {
		GetCheckpoint(ctx context.Context, vchannel string) (contract.Checkpoint, error)
		Segments(ctx context.Context, collection int64, vchannel string) ([]model.Segment, error)
		Segment(ctx context.Context, id int64) (model.Segment, bool, error)
		DeltaLogs(ctx context.Context, vchannel string) ([]model.DeltaLog, error)
		DropCollection(ctx context.Context, c *model.Collection) error
		DropPartition(ctx context.Context, collection, partition int64) error
	}
	indexAPI interface {
		Indexes(ctx context.Context, collectionID int64) ([]model.IndexDef, error)
		SegmentIndexes(ctx context.Context, segmentID int64) ([]model.SegmentIndex, error)
		SegmentFlushed(ctx context.Context, seg *model.Segment) error
		DropCollection(ctx context.Context, collectionID int64) error
		Builds(ctx context.Context) ([]model.SegmentIndex, error)
		DropSegmentIndexes(ctx context.Context, segmentIDs []int64) error
	}
	analyzeAPI interface {
		CreateAnalysis(ctx context.Context, t model.AnalyzeTask) error
		Analysis(ctx context.Context, id int64) (model.AnalyzeTask, bool, error)
		ListAnalyses(ctx context.Context) ([]model.AnalyzeTask, error)
		DropAnalyses(ctx context.Context, ids []int64) error
	}
	queryAPI interface {
		ReleaseCollection(ctx context.Context, collectionID int64) error
		PartitionDropped(ctx context.Context, c *model.Collection, partitionID int64) error
		SegmentFlushed(ctx context.Context, seg *model.Segment) error
		IndexBuilt(ctx context.Context, collectionID, segmentID int64) error
		IndexChanged(ctx context.Context, collectionID int64) error
	}
)
