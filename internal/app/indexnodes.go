package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"google.golang.org/grpc"

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
	*nodePool[*workerrpc.IndexNodeClient]

	// guarded by nodePool.mu
	running map[int64]int // builds in flight per node
	turn    int           // rotates among the least busy nodes
}

func newIndexNodePool(logger *slog.Logger, intercept grpc.UnaryClientInterceptor) *indexNodePool {
	return &indexNodePool{nodePool: newNodePool(session.RoleIndexNode, "index node", logger, intercept, workerrpc.NewIndexNodeClient),
		running: map[int64]int{}}
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
	c, err := p.clientLocked(id, p.addrs[id])
	if err != nil {
		return 0, nil, err
	}
	p.running[id]++
	return id, c, nil
}

// done releases a node pick reserved.
func (p *indexNodePool) done(id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running[id]--; p.running[id] <= 0 {
		delete(p.running, id)
	}
}

// Build runs a build on the least busy live index node.
func (p *indexNodePool) Build(ctx context.Context, task contract.BuildTask) (contract.BuildResult, error) {
	id, c, err := p.pick()
	if err != nil {
		return contract.BuildResult{}, err
	}
	defer p.done(id)
	p.logger.Debug("index build dispatched", "build", task.BuildID, "node", id)
	return c.Build(ctx, task)
}

// Analyze runs an analyze task on the least busy live index node, which
// builds and analyze tasks share.
func (p *indexNodePool) Analyze(ctx context.Context, task contract.AnalyzeTask) (contract.AnalyzeResult, error) {
	id, c, err := p.pick()
	if err != nil {
		return contract.AnalyzeResult{}, err
	}
	defer p.done(id)
	p.logger.Info("analyze task dispatched", "task", task.TaskID, "node", id)
	return c.Analyze(ctx, task)
}

// watch keeps the pool current with the index node sessions.
func (p *indexNodePool) watch(ctx context.Context, peers roleWatcher) {
	p.nodePool.watch(ctx, peers, nil)
}
