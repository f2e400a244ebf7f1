package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/querycoord"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
	"github.com/milvago/milvago/internal/session"
	"github.com/milvago/milvago/internal/shardroute"
)

// queryNodePool reaches each live query node by its session's address
// (not the role's round-robin resolver): the query coordinator's Nodes and
// the proxy's shard router dialer. A connection is kept per address and
// closed when its node's session ends.
//
// A connection is per node (server ID and address) and addresses its calls
// to that server ID (fencing.go), so a new process behind a dead one's
// address refuses what was meant for its predecessor.
type queryNodePool struct {
	logger    *slog.Logger
	intercept grpc.UnaryClientInterceptor // the process's fence

	mu    sync.Mutex
	addrs map[int64]string // live node → address
	conns map[nodeAddr]*grpc.ClientConn
}

// nodeAddr is a query node process: its server ID at its address.
type nodeAddr struct {
	id   int64
	addr string
}

func newQueryNodePool(logger *slog.Logger, intercept grpc.UnaryClientInterceptor) *queryNodePool {
	return &queryNodePool{logger: logger, intercept: intercept, addrs: map[int64]string{}, conns: map[nodeAddr]*grpc.ClientConn{}}
}

// set records the live nodes and closes the connections of the others.
func (p *queryNodePool) set(ms []session.Info) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addrs = map[int64]string{}
	live := map[nodeAddr]bool{}
	for _, m := range ms {
		p.addrs[m.ServerID] = m.Address
		live[nodeAddr{m.ServerID, m.Address}] = true
	}
	for na, c := range p.conns {
		if !live[na] {
			c.Close()
			delete(p.conns, na)
		}
	}
}

func (p *queryNodePool) client(id int64, addr string) (*workerrpc.QueryNodeClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	na := nodeAddr{id, addr}
	c, ok := p.conns[na]
	if !ok {
		intercept := []grpc.UnaryClientInterceptor{targeting(id)}
		if p.intercept != nil {
			intercept = append(intercept, p.intercept)
		}
		var err error
		c, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20), grpc.MaxCallSendMsgSize(256<<20)),
			grpc.WithChainUnaryInterceptor(intercept...))
		if err != nil {
			return nil, fmt.Errorf("app: query node %d at %s: %w", id, addr, err)
		}
		p.conns[na] = c
	}
	return workerrpc.NewQueryNodeClient(c), nil
}

// Node reaches a live node by ID (querycoord.Nodes).
func (p *queryNodePool) Node(_ context.Context, id int64) (querycoord.QueryNode, error) {
	p.mu.Lock()
	addr, ok := p.addrs[id]
	p.mu.Unlock()
	if !ok {
		return nil, errs.NodeNotFound(id, "no live session")
	}
	return p.client(id, addr)
}

// Dial reaches a node at the address the query coordinator gave (the
// shard router's dialer).
func (p *queryNodePool) Dial(_ context.Context, id int64, addr string) (shardroute.Reader, error) {
	if addr == "" {
		return nil, errs.ErrNodeNotAvailable
	}
	return p.client(id, addr)
}

// all returns a client of every live node.
func (p *queryNodePool) all() (map[int64]*workerrpc.QueryNodeClient, error) {
	p.mu.Lock()
	addrs := maps.Clone(p.addrs)
	p.mu.Unlock()
	out := map[int64]*workerrpc.QueryNodeClient{}
	for id, addr := range addrs {
		c, err := p.client(id, addr)
		if err != nil {
			return nil, err
		}
		out[id] = c
	}
	return out, nil
}

func (p *queryNodePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for na, c := range p.conns {
		c.Close()
		delete(p.conns, na)
	}
}

// watch keeps the pool current with the query node sessions, calling
// changed (if not nil) with each new set; a failed changed is called
// again each second with the latest set until it succeeds.
func (p *queryNodePool) watch(ctx context.Context, peers roleWatcher, changed func([]session.Info) error) {
	events := peers.WatchRole(ctx, session.RoleQueryNode)
	var (
		latest  []session.Info
		pending bool
		retry   <-chan time.Time
	)
	for {
		select {
		case <-ctx.Done():
			return
		case ms, ok := <-events:
			if !ok {
				return
			}
			p.set(ms)
			latest, pending = ms, true
		case <-retry:
		}
		retry = nil
		if !pending || changed == nil {
			continue
		}
		if err := changed(latest); err != nil {
			p.logger.Warn("query nodes changed; applying failed, retrying", "err", err)
			retry = time.After(time.Second)
			continue
		}
		pending = false
	}
}

func nodeInfos(ms []session.Info) []querycoord.NodeInfo {
	out := make([]querycoord.NodeInfo, 0, len(ms))
	for _, m := range ms {
		out = append(out, querycoord.NodeInfo{ID: m.ServerID, Addr: m.Address})
	}
	slices.SortFunc(out, func(a, b querycoord.NodeInfo) int { return int(a.ID - b.ID) })
	return out
}

// eachQueryNode runs f on every live query node. A node that cannot be
// reached is skipped with a warning (its session is ending: the query
// coordinator moves its shards, and the node that takes them resolves the
// collection from the root coordinator); any other failure is returned.
func (p *queryNodePool) eachQueryNode(ctx context.Context, what string, coll *model.Collection, f func(*workerrpc.QueryNodeClient) error) error {
	nodes, err := p.all()
	if err != nil {
		return err
	}
	var errList []error
	for id, c := range nodes {
		if err := f(c); err != nil {
			if errors.Is(err, errs.ErrServiceUnavailable) {
				p.logger.Warn(what+": query node unreachable", "node", id, "collection", coll.ID, "err", err)
				continue
			}
			errList = append(errList, fmt.Errorf("app: %s of collection %d on query node %d: %w", what, coll.ID, id, err))
		}
	}
	return errors.Join(errList...)
}
