package kv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultRootPath is the root prefix under which Milvago keeps its keys.
const DefaultRootPath = "milvago"

// EtcdConfig says how to reach an etcd cluster.
type EtcdConfig struct {
	// Endpoints are etcd client URLs: "http://host:2379", "https://...",
	// or "unix:///abs/path.sock".
	Endpoints []string
	// RootPath prefixes every key ("milvago" -> "milvago/<key>"). Two stores
	// with different roots never see each other's keys. Default DefaultRootPath.
	RootPath string
	// DialTimeout bounds the connectivity check in NewEtcd. Default 5s.
	DialTimeout time.Duration
	// Username and Password enable etcd authentication when set.
	Username, Password string
}

// Etcd is the Store over an etcd cluster (external, or embedded: see
// StartEmbedded). Revisions are etcd ModRevisions.
//
// etcd limits what one Txn may hold: at most max-txn-ops operations (128 by
// default on an external cluster, see EmbedConfig.MaxTxnOps) and never the
// same key twice; requests are capped at max-request-bytes (1.5 MiB default).
type Etcd struct {
	cli    *clientv3.Client
	root   string // ends with "/"
	logger *slog.Logger
	ownCli bool // Close closes cli
	// guard refuses writes on a nearly full disk (an embedded server's
	// store: embed_disk.go); nil for an external cluster.
	guard *diskGuard

	// ctx ends when the store closes; watches and keep-alives derive from it.
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once

	mu     sync.Mutex     // guards closed and wg.Add against Close
	closed bool           // set by Close
	wg     sync.WaitGroup // watch goroutines
}

var _ Store = (*Etcd)(nil)

// NewEtcd connects to the cluster in cfg and checks that it answers within
// cfg.DialTimeout. A nil logger discards.
func NewEtcd(ctx context.Context, cfg EtcdConfig, logger *slog.Logger) (*Etcd, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("kv: etcd: no endpoints")
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		Username:    cfg.Username,
		Password:    cfg.Password,
		Logger:      newZapLogger(logger, slog.LevelError, nil),
		Context:     context.WithoutCancel(ctx),
		// The server's max-request-bytes is the real limit (1.5 MiB on a
		// default external etcd, 8 MiB embedded); the client's own 2 MiB
		// default would cut the embedded server's below it.
		MaxCallSendMsgSize: 16 << 20,
		// Keep the connection checked so a dead server is noticed.
		DialKeepAliveTime:    30 * time.Second,
		DialKeepAliveTimeout: 10 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("kv: etcd client %v: %w", cfg.Endpoints, err)
	}
	s := newEtcd(cli, cfg.RootPath, logger)
	s.ownCli = true
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if _, err := cli.Get(pctx, s.root, clientv3.WithCountOnly()); err != nil {
		s.Close()
		return nil, fmt.Errorf("kv: etcd %v not reachable: %w", cfg.Endpoints, err)
	}
	return s, nil
}

func newEtcd(cli *clientv3.Client, root string, logger *slog.Logger) *Etcd {
	if root == "" {
		root = DefaultRootPath
	}
	root = strings.TrimSuffix(root, "/") + "/"
	ctx, cancel := context.WithCancel(context.Background())
	return &Etcd{
		cli:    cli,
		root:   root,
		logger: logger.With("component", "kv", "root", root),
		ctx:    ctx,
		cancel: cancel,
	}
}

// RootPath returns the prefix the store adds to every key, ending in "/".
func (s *Etcd) RootPath() string { return s.root }

// Client returns the underlying etcd client, for what the Store contract
// does not cover (sessions, elections, compaction). Keys read or written
// through it are not prefixed.
func (s *Etcd) Client() *clientv3.Client { return s.cli }

// Get implements Store.
func (s *Etcd) Get(ctx context.Context, key string) (KeyValue, error) {
	if err := s.check(ctx); err != nil {
		return KeyValue{}, fmt.Errorf("kv: get %q: %w", key, err)
	}
	resp, err := s.cli.Get(ctx, s.root+key)
	if err != nil {
		return KeyValue{}, fmt.Errorf("kv: get %q: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return KeyValue{}, fmt.Errorf("kv: get %q: %w", key, ErrNotFound)
	}
	return s.kv(resp.Kvs[0]), nil
}

// List implements Store. It reads all entries at one revision.
func (s *Etcd) List(ctx context.Context, prefix string) ([]KeyValue, error) {
	out, _, err := s.ListWithRevision(ctx, prefix)
	return out, err
}

// ListWithRevision implements Store: the revision is the response
// header's, the store revision the read was served at.
func (s *Etcd) ListWithRevision(ctx context.Context, prefix string) ([]KeyValue, int64, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, fmt.Errorf("kv: list %q: %w", prefix, err)
	}
	resp, err := s.cli.Get(ctx, s.root+prefix, clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, 0, fmt.Errorf("kv: list %q: %w", prefix, err)
	}
	out := make([]KeyValue, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = s.kv(kv)
	}
	return out, resp.Header.Revision, nil
}

// Put implements Store.
func (s *Etcd) Put(ctx context.Context, key string, value []byte) (int64, error) {
	if err := s.checkWrite(ctx); err != nil {
		return 0, fmt.Errorf("kv: put %q: %w", key, err)
	}
	resp, err := s.cli.Put(ctx, s.root+key, string(value))
	if err != nil {
		return 0, fmt.Errorf("kv: put %q: %w", key, err)
	}
	return resp.Header.Revision, nil
}

// Delete implements Store.
func (s *Etcd) Delete(ctx context.Context, key string) error {
	if err := s.checkWrite(ctx); err != nil {
		return fmt.Errorf("kv: delete %q: %w", key, err)
	}
	if _, err := s.cli.Delete(ctx, s.root+key); err != nil {
		return fmt.Errorf("kv: delete %q: %w", key, err)
	}
	return nil
}

// Txn implements Store. A Cond with Revision 0 compares the key's
// CreateRevision with 0 (the key does not exist); otherwise it compares
// the key's ModRevision.
func (s *Etcd) Txn(ctx context.Context, conds []Cond, ops []Op) (bool, error) {
	check := s.checkWrite
	if len(ops) == 0 { // a read (see below)
		check = s.check
	}
	if err := check(ctx); err != nil {
		return false, fmt.Errorf("kv: txn: %w", err)
	}
	cmps := make([]clientv3.Cmp, len(conds))
	for i, c := range conds {
		if c.Revision == 0 {
			cmps[i] = clientv3.Compare(clientv3.CreateRevision(s.root+c.Key), "=", 0)
		} else {
			cmps[i] = clientv3.Compare(clientv3.ModRevision(s.root+c.Key), "=", c.Revision)
		}
	}
	thens := make([]clientv3.Op, len(ops))
	for i, op := range ops {
		switch {
		case op.Delete && op.DeletePrefix:
			thens[i] = clientv3.OpDelete(s.root+op.Key, clientv3.WithPrefix())
		case op.Delete:
			thens[i] = clientv3.OpDelete(s.root + op.Key)
		case op.Lease != 0:
			thens[i] = clientv3.OpPut(s.root+op.Key, string(op.Value), clientv3.WithLease(clientv3.LeaseID(op.Lease)))
		default:
			thens[i] = clientv3.OpPut(s.root+op.Key, string(op.Value))
		}
	}
	if len(thens) == 0 {
		// etcd serves a txn without ops as a serializable read from the
		// member the client happens to reach, which may not have applied
		// the caller's last write yet (seen on a 3-member cluster). A
		// linearizable count makes it a linearizable read.
		thens = append(thens, clientv3.OpGet(s.root, clientv3.WithCountOnly()))
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(thens...).Commit()
	if err != nil {
		return false, fmt.Errorf("kv: txn (%d conds, %d ops): %w", len(conds), len(ops), mapLeaseErr(err))
	}
	return resp.Succeeded, nil
}

// Watch implements Store. Besides ctx ending and Close, the channel also
// closes when etcd cancels the watch, notably when rev has been compacted
// away: a caller whose ctx is still live should then List and watch again.
//
// With rev 0, Watch first reads the current revision (a linearizable
// read) and watches from the next one: an etcd watch without a start
// revision starts at whatever the member that serves it has applied when
// the (asynchronous) watch request reaches it, which on a cluster can be
// before the caller's last write, and on any server after a write made
// just after Watch returned. If that read fails the channel closes.
func (s *Etcd) Watch(ctx context.Context, prefix string, rev int64) <-chan Event {
	out := make(chan Event)
	wctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	if rev <= 0 {
		resp, err := s.cli.Get(wctx, s.root+prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			if wctx.Err() == nil {
				s.logger.Warn("watch: read current revision", "prefix", prefix, "err", err)
			}
			stop()
			cancel()
			close(out)
			return out
		}
		rev = resp.Header.Revision
	}
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithRev(rev + 1)}
	// WithRequireLeader makes a watch on a partitioned member fail instead
	// of hanging silently.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		stop()
		cancel()
		close(out)
		return out
	}
	s.wg.Add(1)
	s.mu.Unlock()
	wch := s.cli.Watch(clientv3.WithRequireLeader(wctx), s.root+prefix, opts...)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		defer stop()
		for resp := range wch {
			if err := resp.Err(); err != nil {
				if wctx.Err() == nil {
					s.logger.Warn("watch ended", "prefix", prefix, "rev", rev, "err", err)
				}
				return
			}
			for _, ev := range resp.Events {
				e := Event{Type: EventPut, KeyValue: s.kv(ev.Kv)}
				if ev.Type == mvccpb.DELETE {
					e.Type = EventDelete
				}
				select {
				case out <- e:
				case <-wctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// Grant implements Store. etcd raises TTLs below its minimum (about
// 1.5 election timeouts, rounded up to whole seconds) to that minimum.
func (s *Etcd) Grant(ctx context.Context, ttlSeconds int64) (LeaseID, error) {
	if err := s.checkWrite(ctx); err != nil {
		return 0, fmt.Errorf("kv: grant lease: %w", err)
	}
	resp, err := s.cli.Grant(ctx, ttlSeconds)
	if err != nil {
		return 0, fmt.Errorf("kv: grant lease ttl %ds: %w", ttlSeconds, err)
	}
	return LeaseID(resp.ID), nil
}

// KeepAlive implements Store.
func (s *Etcd) KeepAlive(ctx context.Context, lease LeaseID) error {
	kctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	ch, err := s.cli.KeepAlive(kctx, clientv3.LeaseID(lease))
	if err != nil {
		return fmt.Errorf("kv: keep lease %x alive: %w", lease, mapLeaseErr(err))
	}
	for range ch {
		// Drain responses: the client warns when its queue fills.
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("kv: keep lease %x alive: %w", lease, err)
	}
	// The client closes the channel when the lease is gone, or when it
	// could not renew it before the TTL passed.
	return fmt.Errorf("kv: keep lease %x alive: %w", lease, ErrLeaseLost)
}

// PutWithLease implements Store.
func (s *Etcd) PutWithLease(ctx context.Context, key string, value []byte, lease LeaseID) error {
	if err := s.checkWrite(ctx); err != nil {
		return fmt.Errorf("kv: put %q with lease %x: %w", key, lease, err)
	}
	if _, err := s.cli.Put(ctx, s.root+key, string(value), clientv3.WithLease(clientv3.LeaseID(lease))); err != nil {
		return fmt.Errorf("kv: put %q with lease %x: %w", key, lease, mapLeaseErr(err))
	}
	return nil
}

// Revoke implements Store.
func (s *Etcd) Revoke(ctx context.Context, lease LeaseID) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("kv: revoke lease %x: %w", lease, err)
	}
	if _, err := s.cli.Revoke(ctx, clientv3.LeaseID(lease)); err != nil {
		return fmt.Errorf("kv: revoke lease %x: %w", lease, mapLeaseErr(err))
	}
	return nil
}

// Close stops the store's watches and keep-alives and, when NewEtcd made
// the client, closes it. Close is idempotent.
func (s *Etcd) Close() error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		if s.ownCli {
			err = s.cli.Close()
			// An in-process client (v3client) reports its own cancellation.
			if errors.Is(err, context.Canceled) {
				err = nil
			}
		}
	})
	if err != nil {
		return fmt.Errorf("kv: close: %w", err)
	}
	return nil
}

// check fails calls on a closed store, and calls whose ctx has already
// ended: the in-process client (Embedded) would otherwise still propose a
// write to raft, and apply it.
func (s *Etcd) check(ctx context.Context) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	return ctx.Err()
}

// checkWrite is check for a call that writes (etcd appends it to its WAL
// and commits it to its backend): the disk guard, if any, may refuse it.
// Revoke and KeepAlive are not checked: a keep-alive writes nothing, and a
// revoke (a graceful shutdown's) is tiny and frees keys.
func (s *Etcd) checkWrite(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if s.guard != nil {
		return s.guard.allow(ctx)
	}
	return nil
}

func (s *Etcd) kv(kv *mvccpb.KeyValue) KeyValue {
	return KeyValue{
		Key:      strings.TrimPrefix(string(kv.Key), s.root),
		Value:    kv.Value,
		Revision: kv.ModRevision,
	}
}

func mapLeaseErr(err error) error {
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("%w (%w)", ErrLeaseLost, err)
	}
	return err
}
