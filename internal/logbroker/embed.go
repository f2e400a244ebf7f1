package logbroker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"golang.org/x/sys/unix"
)

// DefaultSyncInterval is how often the embedded server fsyncs its file
// store unless EmbedConfig says otherwise. See the package documentation
// for what it bounds.
const DefaultSyncInterval = time.Second

// EmbedConfig configures an embedded NATS JetStream server.
type EmbedConfig struct {
	// Dir is the server's store directory (JetStream keeps its files under
	// Dir/jetstream). Required.
	Dir string
	// MaxPayload is the server's max_payload in bytes (headers included).
	// 0 means DefaultMaxPayload (8 MiB); at most 64 MiB.
	MaxPayload int
	// SyncAlways makes the file store fsync every append before it is
	// acknowledged: nothing acknowledged is lost even if the machine loses
	// power, at a large cost in throughput.
	SyncAlways bool
	// SyncInterval is how often the file store fsyncs when SyncAlways is
	// off: an OS crash or power loss can lose the acknowledged appends of
	// the last interval. A process crash (kill -9) loses nothing either
	// way. 0 means DefaultSyncInterval.
	SyncInterval time.Duration
	// StreamPrefix is NATSConfig.StreamPrefix.
	StreamPrefix string
	// ReadyTimeout bounds start-up when ctx has no deadline. 0 means 30 s.
	ReadyTimeout time.Duration
	// NoTail makes readers read every message back from the stream
	// instead of taking what was just appended from memory (tail.go).
	NoTail bool
}

// Validate reports a configuration error.
func (c EmbedConfig) Validate() error {
	if c.Dir == "" {
		return errors.New("logbroker: embedded nats: empty Dir")
	}
	if c.MaxPayload < 0 || c.MaxPayload > 64<<20 {
		return fmt.Errorf("logbroker: embedded nats: max payload %d not in [0, 64 MiB]", c.MaxPayload)
	}
	if c.MaxPayload != 0 && c.MaxPayload <= propsReserve {
		return fmt.Errorf("logbroker: embedded nats: max payload %d too small", c.MaxPayload)
	}
	if c.SyncInterval < 0 {
		return fmt.Errorf("logbroker: embedded nats: negative sync interval %v", c.SyncInterval)
	}
	return NATSConfig{StreamPrefix: c.StreamPrefix}.Validate()
}

// Embedded is an in-process NATS server with JetStream's file store under
// EmbedConfig.Dir and the NATS log connected to it. It listens on no port:
// the client talks to the server through an in-process pipe.
type Embedded struct {
	srv    *server.Server
	log    *NATS
	lock   *os.File // flocked Dir/milvago-nats.lock
	logger *slog.Logger
	stop   chan struct{} // ends followDisk

	closeOnce sync.Once
	stopOnce  sync.Once
}

// StartEmbedded starts an embedded server on cfg.Dir (recovering whatever an
// earlier server, crashed or not, left there) and connects a NATS log to
// it. A nil logger discards; the server's own logs go to logger at debug
// level (warnings and errors at their level).
func StartEmbedded(ctx context.Context, cfg EmbedConfig, logger *slog.Logger) (*Embedded, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	// nats-server does not lock its store: two servers on one directory
	// would corrupt it. The kernel drops the lock when the process dies.
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("logbroker: embedded nats: %w", err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("logbroker: embedded nats: %w", err)
	}
	e, err := startEmbedded(ctx, cfg, logger)
	if err != nil {
		lock.Close()
		return nil, err
	}
	e.lock = lock
	return e, nil
}

// lockDir takes an exclusive lock on dir for this open file.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "milvago-nats.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another embedded nats server", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

// inProcessPingInterval is how often the embedded server pings a client
// that sent it nothing, and its clients ping it not at all. Pings find a
// peer gone without closing its connection, which an in-process pipe
// cannot do (the server listens on no port), and each ping woke an idle
// server's client and server goroutines of the connection (33 of them in
// a standalone: a reader per physical channel for the query node and for
// the data node, each on a connection of its own, and the writer's).
const inProcessPingInterval = 24 * time.Hour

func startEmbedded(ctx context.Context, cfg EmbedConfig, logger *slog.Logger) (*Embedded, error) {
	opts := &server.Options{
		ServerName:   "milvago-embedded",
		DontListen:   true,
		NoSigs:       true,
		JetStream:    true,
		StoreDir:     cfg.Dir,
		MaxPayload:   int32(cfg.MaxPayload),
		SyncAlways:   cfg.SyncAlways,
		SyncInterval: cfg.SyncInterval,
		PingInterval: inProcessPingInterval,
	}
	// A set limit, which followDisk raises as the disk frees up.
	opts.JetStreamMaxStore = initialStoreLimit(cfg.Dir)
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("logbroker: embedded nats: %w", err)
	}
	slogger := logger.With("component", "nats-server")
	writeErr := newStoreFault()
	srv.SetLoggerV2(serverLogger{l: slogger, writeErr: writeErr}, slogger.Enabled(ctx, slog.LevelDebug), false, false)
	srv.Start()

	wait := cfg.ReadyTimeout
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("logbroker: embedded nats on %s: not ready after %v", cfg.Dir, wait)
	}
	// In-process connections, pinging nothing (inProcessPingInterval).
	connect := func(name string) (*nats.Conn, error) {
		return nats.Connect("", nats.InProcessServer(srv), nats.Name(name), nats.PingInterval(0))
	}
	nc, err := connect("milvago-embedded")
	if err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("logbroker: connect to embedded nats: %w", err)
	}
	dial := func() (*nats.Conn, error) {
		return connect("milvago-embedded-reader")
	}
	log, err := newNATS(ctx, nc, dial, NATSConfig{StreamPrefix: cfg.StreamPrefix, Replicas: 1}, logger)
	if err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	log.writeErr = writeErr
	if !cfg.NoTail {
		log.tail = newLocalTail(tailBudget, tailRetain)
	}
	log.streamDir = filepath.Join(cfg.Dir, server.JetStreamStoreDir, server.DEFAULT_GLOBAL_ACCOUNT, "streams", log.name)
	logger.Debug("embedded nats started", "dir", cfg.Dir, "sync_always", cfg.SyncAlways, "sync_interval", cfg.SyncInterval)
	e := &Embedded{srv: srv, log: log, logger: logger, stop: make(chan struct{})}
	go followDisk(srv, opts, cfg.Dir, writeErr, e.stop, logger)
	return e, nil
}

// Log returns the log served by the embedded server. Closing it leaves the
// server running; Embedded.Close closes both.
func (e *Embedded) Log() *NATS { return e.log }

// Server returns the embedded server, for tests and metrics.
func (e *Embedded) Server() *server.Server { return e.srv }

// Close closes the log, then shuts the server down and waits for it: every
// file is flushed and closed when Close returns.
func (e *Embedded) Close() error {
	e.stopOnce.Do(func() { close(e.stop) })
	err := e.log.Close()
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	e.closeOnce.Do(func() { e.lock.Close() }) // releases the flock
	return err
}

// serverLogger bridges nats-server's logger to slog: notices, debug and
// trace at debug level, warnings and errors at theirs.
// Errorf also notes a store write error (see reopenAfterWriteError).
type serverLogger struct {
	l        *slog.Logger
	writeErr *storeFault
}

func (s serverLogger) Noticef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLogger) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s serverLogger) Fatalf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if s.writeErr != nil && strings.Contains(msg, storeWriteError) {
		s.writeErr.Set()
	}
	s.l.Error(msg)
}
func (s serverLogger) Debugf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLogger) Tracef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
