package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
	"github.com/milvago/milvago/internal/session"
)

// indexNodePool dispatches the index coordinator's builds over the live
// index nodes (Milvus's task scheduler picking a worker with free slots):
// each build goes to the node running the fewest, taking turns among
// equally busy ones, and the coordinator runs one build per live node at once
// (slots). A node that dies mid-build fails its call with
// ErrServiceUnavailable; the coordinator retries the build, which goes to
// a live node.
type indexNodePool struct {
	logger    *slog.Logger
	intercept grpc.UnaryClientInterceptor // the process's fence

	mu      sync.Mutex
	addrs   map[int64]string
	conns   map[nodeAddr]*grpc.ClientConn
	running map[int64]int // builds in flight per node
	turn    int           // rotates among the least busy nodes
}

func newIndexNodePool(logger *slog.Logger, intercept grpc.UnaryClientInterceptor) *indexNodePool {
	return &indexNodePool{logger: logger, intercept: intercept, addrs: map[int64]string{},
		conns: map[nodeAddr]*grpc.ClientConn{}, running: map[int64]int{}}
}

func (p *indexNodePool) set(ms []session.Info) {
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

// slots is the number of live index nodes (at least 1, so builds wait for
// one to come instead of stopping).
func (p *indexNodePool) slots() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(1, len(p.addrs))
}

// pick reserves the least busy live node.
func (p *indexNodePool) pick() (int64, *workerrpc.IndexNodeClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.addrs) == 0 {
		return 0, nil, fmt.Errorf("app: no index node: %w", errs.ErrServiceUnavailable)
	}
	ids := slices.Sorted(maps.Keys(p.addrs))
	least := p.running[slices.MinFunc(ids, func(a, b int64) int { return cmp.Compare(p.running[a], p.running[b]) })]
	ids = slices.DeleteFunc(ids, func(id int64) bool { return p.running[id] > least })
	id := ids[p.turn%len(ids)]
	p.turn++
	na := nodeAddr{id, p.addrs[id]}
	c, ok := p.conns[na]
	if !ok {
		intercept := []grpc.UnaryClientInterceptor{targeting(id)}
		if p.intercept != nil {
			intercept = append(intercept, p.intercept)
		}
		var err error
		c, err = grpc.NewClient(na.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20), grpc.MaxCallSendMsgSize(256<<20)),
			grpc.WithChainUnaryInterceptor(intercept...))
		if err != nil {
			return 0, nil, fmt.Errorf("app: index node %d at %s: %w", id, na.addr, err)
		}
		p.conns[na] = c
	}
	p.running[id]++
	return id, workerrpc.NewIndexNodeClient(c), nil
}

// Build runs a build on the least busy live index node.
func (p *indexNodePool) Build(ctx context.Context, task contract.BuildTask) (contract.BuildResult, error) {
	id, c, err := p.pick()
	if err != nil {
		return contract.BuildResult{}, err
	}
	defer func() {
		p.mu.Lock()
		if p.running[id]--; p.running[id] <= 0 {
			delete(p.running, id)
		}
		p.mu.Unlock()
	}()
	p.logger.Debug("index build dispatched", "build", task.BuildID, "node", id)
	return c.Build(ctx, task)
}

func (p *indexNodePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for na, c := range p.conns {
		c.Close()
		delete(p.conns, na)
	}
}

// watch keeps the pool current with the index node sessions.
func (p *indexNodePool) watch(ctx context.Context, peers roleWatcher) {
	for ms := range peers.WatchRole(ctx, session.RoleIndexNode) {
		p.set(ms)
	}
}
