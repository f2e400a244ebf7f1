package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/querycoord"
	"github.com/milvago/milvago/internal/rpc/framed"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
	"github.com/milvago/milvago/internal/session"
	"github.com/milvago/milvago/internal/shardroute"
)

// queryNodePool reaches each live query node by its session's address:
// the query coordinator's Nodes and the proxy's shard router dialer. The
// shard router's clients search over framed connections
// (internal/rpc/framed) unless milvago.rpc.framedSearch is false, one
// pool of them per node process beside its gRPC connection, made and
// closed with it (under nodePool.mu: a framed client never outlives the
// gRPC connection of its node process).
type queryNodePool struct {
	*nodePool[*workerrpc.QueryNodeClient]
	caller func() (int64, error) // the fence's stamp of framed calls
	// framedSearch is milvago.rpc.framedSearch: false, searches go over gRPC.
	framedSearch bool

	fmu    sync.Mutex
	framed map[nodeAddr]*framed.Client
}

func newQueryNodePool(logger *slog.Logger, intercept grpc.UnaryClientInterceptor, caller func() (int64, error), framedSearch bool) *queryNodePool {
	p := &queryNodePool{nodePool: newNodePool(session.RoleQueryNode, "query node", logger, intercept, workerrpc.NewQueryNodeClient),
		caller: caller, framedSearch: framedSearch, framed: map[nodeAddr]*framed.Client{}}
	p.dropped = p.dropFramed
	return p
}

// framedClient returns the framed client of node id at addr; nodePool.mu
// must be held (the gRPC connection and the framed client are made and
// dropped together under it).
func (p *queryNodePool) framedClient(id int64, addr string) *framed.Client {
	p.fmu.Lock()
	defer p.fmu.Unlock()
	na := nodeAddr{id, addr}
	c, ok := p.framed[na]
	if !ok {
		c = framed.NewClient(addr, id)
		p.framed[na] = c
	}
	return c
}

// dropFramed closes the framed client of a node whose connection closed.
func (p *queryNodePool) dropFramed(na nodeAddr) {
	p.fmu.Lock()
	defer p.fmu.Unlock()
	if c, ok := p.framed[na]; ok {
		c.Close()
		delete(p.framed, na)
	}
}

// Node reaches a live node by ID (querycoord.Nodes).
func (p *queryNodePool) Node(_ context.Context, id int64) (querycoord.QueryNode, error) {
	c, err := p.liveClient(id)
	if err != nil {
		return nil, err // an untyped nil, not a nil *QueryNodeClient
	}
	return c, nil
}

// Dial reaches a node at the address the query coordinator gave (the
// shard router's dialer).
func (p *queryNodePool) Dial(_ context.Context, id int64, addr string) (shardroute.Reader, error) {
	if addr == "" {
		return nil, errs.ErrNodeNotAvailable
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.clientLocked(id, addr)
	if err != nil {
		return nil, err
	}
	if !p.framedSearch {
		return c, nil
	}
	return c.WithFramed(p.framedClient(id, addr), p.caller), nil
}

// all returns a client of every live node.
func (p *queryNodePool) all() (map[int64]*workerrpc.QueryNodeClient, error) {
	out := map[int64]*workerrpc.QueryNodeClient{}
	for id, addr := range p.live() {
		c, err := p.client(id, addr)
		if err != nil {
			return nil, err
		}
		out[id] = c
	}
	return out, nil
}

func nodeInfos(ms []session.Info) []querycoord.NodeInfo {
	out := make([]querycoord.NodeInfo, 0, len(ms))
	for _, m := range ms {
		out = append(out, querycoord.NodeInfo{ID: m.ServerID, Addr: m.Address, Labels: m.ServerLabels})
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
