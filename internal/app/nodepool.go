package app

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/session"
)

// nodeAddr is a worker node process: its server ID at its address.
type nodeAddr struct {
	id   int64
	addr string
}

// nodePool is what the data, index and query node pools share: the live
// nodes of one role by their sessions' addresses (not the role's
// round-robin resolver), and a gRPC connection per node process (server ID
// and address), closed when the node's session ends. Each connection
// addresses its calls to its server ID (fencing.go), so a new process
// behind a dead one's address refuses what was meant for its predecessor.
// C is the role's client over a connection.
type nodePool[C any] struct {
	role      string // session role, e.g. session.RoleDataNode
	name      string // for errors and logs, e.g. "data node"
	logger    *slog.Logger
	intercept grpc.UnaryClientInterceptor // the process's fence
	wrap      func(grpc.ClientConnInterface) C
	dropped   func(nodeAddr) // if set: called for each connection closed

	mu    sync.Mutex
	addrs map[int64]string // live node → address
	conns map[nodeAddr]*grpc.ClientConn
}

func newNodePool[C any](role, name string, logger *slog.Logger, intercept grpc.UnaryClientInterceptor, wrap func(grpc.ClientConnInterface) C) *nodePool[C] {
	return &nodePool[C]{role: role, name: name, logger: logger, intercept: intercept, wrap: wrap,
		addrs: map[int64]string{}, conns: map[nodeAddr]*grpc.ClientConn{}}
}

// set records the live nodes and closes the connections of the others.
func (p *nodePool[C]) set(ms []session.Info) {
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
			if p.dropped != nil {
				p.dropped(na)
			}
		}
	}
}

// live returns the live nodes' addresses by server ID.
func (p *nodePool[C]) live() map[int64]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.addrs)
}

// clientLocked returns a client of node id at addr, dialing it if needed;
// p.mu must be held.
func (p *nodePool[C]) clientLocked(id int64, addr string) (C, error) {
	na := nodeAddr{id, addr}
	c, ok := p.conns[na]
	if !ok {
		intercept := []grpc.UnaryClientInterceptor{targeting(id)}
		if p.intercept != nil {
			intercept = append(intercept, p.intercept)
		}
		var err error
		c, err = grpc.NewClient(addr, append(rpc.FlowControlDialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20), grpc.MaxCallSendMsgSize(256<<20)),
			grpc.WithChainUnaryInterceptor(intercept...))...)
		if err != nil {
			var zero C
			return zero, fmt.Errorf("app: %s %d at %s: %w", p.name, id, addr, err)
		}
		p.conns[na] = c
	}
	return p.wrap(c), nil
}

// client returns a client of node id at addr.
func (p *nodePool[C]) client(id int64, addr string) (C, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clientLocked(id, addr)
}

// liveClient returns a client of live node id, or ErrNodeNotFound.
func (p *nodePool[C]) liveClient(id int64) (C, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr, ok := p.addrs[id]
	if !ok {
		var zero C
		return zero, errs.NodeNotFound(id, "no live session")
	}
	return p.clientLocked(id, addr)
}

func (p *nodePool[C]) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for na, c := range p.conns {
		c.Close()
		delete(p.conns, na)
		if p.dropped != nil {
			p.dropped(na)
		}
	}
}

// watch keeps the pool current with the role's sessions, calling changed
// (if not nil) with each new set; a failed changed is called again each
// second with the latest set until it succeeds.
func (p *nodePool[C]) watch(ctx context.Context, peers roleWatcher, changed func([]session.Info) error) {
	events := peers.WatchRole(ctx, p.role)
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
			p.logger.Warn(p.name+"s changed; applying failed, retrying", "err", err)
			retry = time.After(time.Second)
			continue
		}
		pending = false
	}
}
