package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
	"github.com/milvago/milvago/internal/session"
)

// dataNodePool reaches each live data node by its session's address: the
// data coordinator's channel assignment commands the owner of each
// pchannel, and the proxy hands a changed schema to every data node. A
// connection is per node (server ID and address) and addresses its calls
// to that server ID (fencing.go).
type dataNodePool struct {
	logger    *slog.Logger
	intercept grpc.UnaryClientInterceptor // the process's fence

	mu    sync.Mutex
	addrs map[int64]string
	conns map[nodeAddr]*grpc.ClientConn
}

func newDataNodePool(logger *slog.Logger, intercept grpc.UnaryClientInterceptor) *dataNodePool {
	return &dataNodePool{logger: logger, intercept: intercept, addrs: map[int64]string{}, conns: map[nodeAddr]*grpc.ClientConn{}}
}

func (p *dataNodePool) set(ms []session.Info) {
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

func (p *dataNodePool) client(id int64) (*workerrpc.DataNodeClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr, ok := p.addrs[id]
	if !ok {
		return nil, errs.NodeNotFound(id, "no live session")
	}
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
			return nil, fmt.Errorf("app: data node %d at %s: %w", id, addr, err)
		}
		p.conns[na] = c
	}
	return workerrpc.NewDataNodeClient(c), nil
}

// DataNode implements datacoord.DataNodes.
func (p *dataNodePool) DataNode(_ context.Context, id int64) (datacoord.DataNode, error) {
	return p.client(id)
}

// UpdateCollection hands every live data node a collection's new
// definition; one that cannot be reached is skipped (it resolves the
// definition from the root coordinator when it needs it).
func (p *dataNodePool) UpdateCollection(ctx context.Context, c *model.Collection) error {
	p.mu.Lock()
	ids := maps.Keys(p.addrs)
	p.mu.Unlock()
	var errList []error
	for id := range ids {
		dn, err := p.client(id)
		if err == nil {
			err = dn.UpdateCollection(ctx, c)
		}
		if err != nil {
			if errors.Is(err, errs.ErrServiceUnavailable) || errors.Is(err, errs.ErrNodeNotFound) {
				p.logger.Warn("schema change: data node unreachable", "node", id, "collection", c.ID, "err", err)
				continue
			}
			errList = append(errList, fmt.Errorf("app: schema change of collection %d on data node %d: %w", c.ID, id, err))
		}
	}
	return errors.Join(errList...)
}

func (p *dataNodePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for na, c := range p.conns {
		c.Close()
		delete(p.conns, na)
	}
}

// watch keeps the pool current with the data node sessions, calling
// changed (if not nil) with each new set of server IDs; a failed changed
// is called again each second with the latest set until it succeeds.
func (p *dataNodePool) watch(ctx context.Context, peers roleWatcher, changed func([]int64) error) {
	events := peers.WatchRole(ctx, session.RoleDataNode)
	var (
		latest  []int64
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
			latest = latest[:0:0]
			for _, m := range ms {
				latest = append(latest, m.ServerID)
			}
			pending = true
		case <-retry:
		}
		retry = nil
		if !pending || changed == nil {
			continue
		}
		if err := changed(latest); err != nil {
			p.logger.Warn("data nodes changed; applying failed, retrying", "err", err)
			retry = time.After(time.Second)
			continue
		}
		pending = false
	}
}
