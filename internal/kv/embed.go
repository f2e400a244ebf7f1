package kv

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// EmbedConfig configures an in-process etcd server.
type EmbedConfig struct {
	// Dir holds the server's data (member/wal, member/snap, the bbolt
	// backend) and, when the path is short enough, its unix sockets.
	// Required.
	Dir string
	// RootPath is the key prefix of the store Client returns.
	// Default DefaultRootPath.
	RootPath string
	// TickMs and ElectionMs are the raft heartbeat and election timeout.
	// Defaults 100 and 1000, as etcd. The minimum lease TTL is
	// ceil(1.5*ElectionMs) in whole seconds (2s by default).
	TickMs, ElectionMs uint
	// BackendBatchInterval is how often etcd commits its backend (bbolt)
	// transaction; 0 means etcd's default, 100 ms.
	BackendBatchInterval time.Duration
	// MaxTxnOps caps the operations in one Txn. Default 1024.
	MaxTxnOps uint
	// MaxRequestBytes caps one request. Default 8 MiB.
	MaxRequestBytes uint
	// CompactionRetention is how many revisions the server keeps for
	// watch-from-revision; older ones are compacted every few minutes.
	// Default 10000.
	CompactionRetention int
	// StartTimeout bounds start-up (replaying a large WAL can be slow).
	// Default 60s.
	StartTimeout time.Duration
	// Verbose forwards etcd's info logs; by default only warnings and errors.
	Verbose bool
	// QuotaBackendBytes is etcd's quota-backend-bytes: past it the server
	// raises its NOSPACE alarm and refuses writes (reads and deletes still
	// work). 0 means etcd's default (2 GiB). The alarm is disarmed by
	// itself once the backend fits again (embed_space.go).
	QuotaBackendBytes int64
	// SpaceCheck is how often a raised NOSPACE alarm is looked at. 0 means
	// 5 s.
	SpaceCheck time.Duration
	// SnapshotCount is etcd's snapshot-count: every this many applied
	// entries etcd writes a disk snapshot and releases the WAL before it.
	// Default etcd's, 10000. The disk guard keeps etcd from writing one on
	// a full disk (embed_snap.go).
	SnapshotCount uint64
	// DiskGuard refuses writes before the disk is full, which etcd does
	// not survive (embed_disk.go). On unless DiskGuard.Disabled.
	DiskGuard DiskGuard
}

// Embedded is an etcd server running in this process. It listens only on
// unix sockets in a 0700 directory, never on a TCP port.
//
// Durability: the server fsyncs its WAL before acknowledging a write, so an
// OS crash loses nothing a Put or Txn has returned for. UnsafeNoFsync must
// stay false.
type Embedded struct {
	lock     *os.File // flocked Dir/milvago-etcd.lock
	etcd     *embed.Etcd
	store    *Etcd
	endpoint string
	sockDir  string // removed by Close when not under Dir
	logger   *slog.Logger
	closing  *atomic.Bool  // set by Close: shutdown noise is logged at debug
	done     chan struct{} // closed when the error-watching goroutine ends
	once     sync.Once
	stop     context.CancelFunc // stops the space watcher (embed_space.go) and the disk guard
	spaceWG  sync.WaitGroup
	guard    *diskGuard // nil when disabled
}

// StartEmbedded starts an etcd server with its data in cfg.Dir and returns
// once it serves requests. Close stops it. A nil logger discards.
func StartEmbedded(ctx context.Context, cfg EmbedConfig, logger *slog.Logger) (*Embedded, error) {
	if cfg.Dir == "" {
		return nil, errors.New("kv: embedded etcd: no data directory")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "etcd")
	start := time.Now()
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("kv: embedded etcd: %w", err)
	}
	// etcd wants its data directory private (and warns otherwise).
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("kv: embedded etcd: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("kv: embedded etcd: %w", err)
	}
	// etcd removes a stale socket file before listening: without a lock, a
	// second server on the same Dir would unlink the first one's socket
	// before failing on its WAL lock.
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("kv: embedded etcd: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			lock.Close()
		}
	}()
	sockDir, err := socketDir(dir)
	if err != nil {
		return nil, fmt.Errorf("kv: embedded etcd: %w", err)
	}
	if cfg.TickMs == 0 {
		cfg.TickMs = 100
	}
	if cfg.ElectionMs == 0 {
		cfg.ElectionMs = 1000
	}
	if cfg.MaxTxnOps == 0 {
		cfg.MaxTxnOps = 1024
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = 8 << 20
	}
	if cfg.CompactionRetention == 0 {
		cfg.CompactionRetention = 10000
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}

	var guard *diskGuard
	if !cfg.DiskGuard.Disabled {
		if guard, err = newDiskGuard(cfg.DiskGuard, dir, cfg.SnapshotCount, logger); err != nil {
			return nil, fmt.Errorf("kv: embedded etcd: %w", err)
		}
	}

	clientURL := url.URL{Scheme: "unix", Path: filepath.Join(sockDir, "etcd-client.sock")}
	peerURL := url.URL{Scheme: "unix", Path: filepath.Join(sockDir, "etcd-peer.sock")}
	ec := embed.NewConfig()
	ec.Name = "milvago"
	ec.Dir = dir
	ec.ListenClientUrls = []url.URL{clientURL}
	ec.AdvertiseClientUrls = []url.URL{clientURL}
	// etcd listens on a peer URL's Host (the client listener uses Host+Path):
	// "unix:///abs.sock" would bind an autobound abstract socket that any
	// local process could reach. Put the path in Host for the listener.
	ec.ListenPeerUrls = []url.URL{{Scheme: "unix", Host: peerURL.Path}}
	ec.AdvertisePeerUrls = []url.URL{peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	ec.TickMs = cfg.TickMs
	ec.ElectionMs = cfg.ElectionMs
	ec.MaxTxnOps = cfg.MaxTxnOps
	if cfg.BackendBatchInterval > 0 {
		ec.BackendBatchInterval = cfg.BackendBatchInterval
	}
	ec.MaxRequestBytes = cfg.MaxRequestBytes
	ec.AutoCompactionMode = "revision"
	ec.AutoCompactionRetention = fmt.Sprint(cfg.CompactionRetention)
	ec.EnableGRPCGateway = false
	ec.UnsafeNoFsync = false // acknowledged writes survive an OS crash
	ec.QuotaBackendBytes = cfg.QuotaBackendBytes
	if cfg.SnapshotCount > 0 {
		ec.SnapshotCount = cfg.SnapshotCount
	}
	min := slog.LevelWarn
	if cfg.Verbose {
		min = slog.LevelInfo
	}
	closing := new(atomic.Bool)
	committed := new(atomic.Bool) // the backend committed once after ready
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(newObservedZapLogger(logger, min, func(e zapcore.Entry) slog.Level {
		// etcd reports its listeners closing as errors, and warns about
		// choices made on purpose here.
		if closing.Load() && e.Level < zapcore.DPanicLevel || benignEtcdWarnings[e.Message] ||
			!committed.Load() && uncommittedStartWarnings[e.Message] {
			return slog.LevelDebug
		}
		return slogLevel(e.Level)
	}, guard.etcdLogged))

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("kv: start embedded etcd in %s: %w", dir, err)
	}
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		closing.Store(true)
		e.Close()
		return nil, fmt.Errorf("kv: start embedded etcd in %s: %w", dir, err)
	case <-timer.C:
		closing.Store(true)
		if guard.holdsSnapshot() {
			ok = true // the lock stays with the server left running
			return nil, fmt.Errorf("kv: start embedded etcd in %s: not ready after %v: %w", dir, cfg.StartTimeout, ErrSnapshotHeld)
		}
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("kv: start embedded etcd in %s: not ready after %v", dir, cfg.StartTimeout)
	case <-ctx.Done():
		closing.Store(true)
		if guard.holdsSnapshot() {
			ok = true // the lock stays with the server left running
			return nil, fmt.Errorf("kv: start embedded etcd in %s: %w: %w", dir, ctx.Err(), ErrSnapshotHeld)
		}
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("kv: start embedded etcd in %s: %w", dir, ctx.Err())
	}
	// With a batch interval above etcd's 100 ms, the storage version
	// monitor, run as soon as the cluster version is set, can read a new
	// backend before its first commit and fail; it tries again every few
	// seconds. Commit now so that it then finds what it needs.
	e.Server.Backend().ForceCommit()
	committed.Store(true)
	ok = true
	guard.serve(e.Server.AppliedIndex, dir)
	m := &Embedded{
		lock:     lock,
		etcd:     e,
		endpoint: "unix://" + clientURL.Path,
		logger:   logger,
		closing:  closing,
		done:     make(chan struct{}),
		guard:    guard,
	}
	if sockDir != dir {
		m.sockDir = sockDir
	}
	go func() {
		defer close(m.done)
		for err := range e.Err() {
			if err != nil {
				logger.Error("embedded etcd failed", "err", err)
			}
		}
	}()
	m.store = m.NewStore(cfg.RootPath)
	bg, stop := context.WithCancel(context.Background())
	m.stop = stop
	m.watchSpace(bg, cfg)
	if guard != nil {
		if err := guard.keepHeadroom(); err != nil {
			logger.Warn("disk guard: allocate the backend's headroom", "path", guard.backend, "err", err)
		}
		every := cfg.DiskGuard.Check
		if every <= 0 {
			every = time.Second
		}
		m.spaceWG.Go(func() { guard.run(bg, every) })
	}
	logger.Info("embedded etcd ready", "dir", dir, "endpoint", m.endpoint, "took", time.Since(start))
	return m, nil
}

// Client returns the store over this server, with EmbedConfig.RootPath. It
// calls the server in-process (see NewStore). It is shared: Close of the
// Embedded closes it.
func (m *Embedded) Client() *Etcd { return m.store }

// NewStore returns another in-process store over this server, with its own
// root path. In-process means the etcd client calls the server's gRPC
// handlers directly: no socket, no encoding, so standalone never dials
// itself. Close it before the Embedded.
func (m *Embedded) NewStore(rootPath string) *Etcd {
	s := newEtcd(v3client.New(m.etcd.Server), rootPath, m.logger)
	s.ownCli = true
	s.guard = m.guard
	return s
}

// Endpoint returns the server's client URL ("unix:///..."), for NewEtcd
// and for tools such as etcdctl.
func (m *Embedded) Endpoint() string { return m.endpoint }

// ErrSnapshotHeld is returned (wrapped) by Close, and by StartEmbedded
// giving up on a server not ready, when the disk guard
// holds etcd's disk snapshot for lack of room (embed_snap.go): the server
// cannot stop before the snapshot is written, and writing it on a full
// disk would kill the process. Close then leaves the server (and its
// directory lock) as it is; the WAL holds every acknowledged write, so
// the process may exit.
var ErrSnapshotHeld = errors.New("etcd's snapshot is held for lack of disk space: the server was left running")

// Close closes the client store and stops the server, waiting for it.
func (m *Embedded) Close() error {
	var err error
	m.once.Do(func() {
		if m.stop != nil {
			m.stop()
			m.spaceWG.Wait()
		}
		if m.store != nil {
			err = m.store.Close()
		}
		m.closing.Store(true)
		stopped := make(chan struct{})
		go func() {
			m.etcd.Close() // waits for etcd's apply goroutine
			<-m.done
			close(stopped)
		}()
		if !m.waitStopped(stopped) {
			err = fmt.Errorf("kv: close embedded etcd in %s: %w", m.etcd.Config().Dir, ErrSnapshotHeld)
			m.logger.Error("embedded etcd not stopped", "err", err)
			return
		}
		if m.sockDir != "" {
			os.RemoveAll(m.sockDir)
		}
		m.lock.Close() // releases the flock
	})
	return err
}

// waitStopped waits for stopped, or returns false once the disk guard
// holds etcd's snapshot (etcd's stop waits for it).
func (m *Embedded) waitStopped(stopped <-chan struct{}) bool {
	if m.guard == nil {
		<-stopped
		return true
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stopped:
			return true
		case <-t.C:
			if m.guard.holdsSnapshot() {
				return false
			}
		}
	}
}

// benignEtcdWarnings are etcd warnings about choices made on purpose for
// the embedded server: clients and HTTP share one unix socket, and
// authentication (and so its token) is off.
var benignEtcdWarnings = map[string]bool{
	"Running http and grpc server on single port. This is not recommended for production.": true,
	"simple token is not cryptographically signed":                                         true,
}

// uncommittedStartWarnings are what etcd's storage version monitor logs
// when it reads a new backend not yet committed (no term, no conf state),
// which a batch interval above 100 ms allows before ready; StartEmbedded
// commits once when ready, after which these mean what they say.
var uncommittedStartWarnings = map[string]bool{
	"Failed to detect schema version":  true,
	"failed to update storage version": true,
}

// lockDir takes an exclusive lock on dir for this process.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "milvago-etcd.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another embedded etcd", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

// maxSockPath leaves room under the 108-byte sun_path limit of Linux.
const maxSockPath = 100

// socketDir returns where the server's sockets go: dataDir when its path is
// short enough, else a private directory under os.TempDir named after
// dataDir, so that a restart finds the same paths.
func socketDir(dataDir string) (string, error) {
	if len(dataDir)+len("/etcd-client.sock") <= maxSockPath {
		return dataDir, nil
	}
	h := fnv.New64a()
	h.Write([]byte(dataDir))
	d := filepath.Join(os.TempDir(), fmt.Sprintf("milvago-etcd-%x", h.Sum64()))
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", err
	}
	if len(d)+len("/etcd-client.sock") > maxSockPath {
		return "", fmt.Errorf("socket directory %s: path too long", d)
	}
	return d, nil
}
