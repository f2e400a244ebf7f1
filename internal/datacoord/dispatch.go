package datacoord

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// Dispatch of compactions and imports over the live data nodes (cluster
// mode), as Milvus's datacoord task scheduler picks a data node per task.
//
// A compaction goes to the data node owning its segments' pchannel (the
// node that flushed them and holds the channel's work, as Milvus plans a
// compaction on the channel's node), an import to the live data node
// running the fewest tasks. When the chosen node dies or is gone mid-task
// (the call fails as unavailable, or the node's session ended), the task
// is sent again to another live node. Both kinds are safe to run twice: a
// compaction writes its result under the target segment ID the
// coordinator allocated (a second run overwrites the same files), an
// import's segments exist only once the coordinator commits the result of
// the call that succeeded, and the coordinator commits a task's result
// once. So no segment is ever registered twice.

// DataWorker is what dispatch needs of one data node.
type DataWorker interface {
	Compact(ctx context.Context, t contract.CompactionTask) (contract.CompactionResult, error)
	ExecuteImport(ctx context.Context, job contract.ImportJob) ([]model.Segment, error)
}

// DataWorkers reaches the live data nodes.
type DataWorkers interface {
	// LiveDataNodes lists the server IDs of the live data nodes.
	LiveDataNodes() []int64
	// DataWorker returns live data node id (errs.ErrNodeNotFound when it
	// is not live).
	DataWorker(ctx context.Context, id int64) (DataWorker, error)
}

// Dispatcher sends compactions and imports to chosen live data nodes. It
// implements the data coordinator's compactor and importExecutor.
type Dispatcher struct {
	nodes    DataWorkers
	channels *Channels // owners of the pchannels; nil: least busy for compactions too
	logger   *slog.Logger

	// WaitForNode is how long a task waits for a live data node when
	// there is none (a cluster starting, or its only node restarting).
	WaitForNode time.Duration

	mu      sync.Mutex
	running map[int64]int // tasks in flight per node
	turn    int           // rotates among equally busy nodes
}

// NewDispatcher returns a dispatcher over nodes; channels (may be nil)
// names each pchannel's owner.
func NewDispatcher(nodes DataWorkers, channels *Channels, logger *slog.Logger) *Dispatcher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{nodes: nodes, channels: channels, logger: logger.With("component", "datacoord.dispatch"),
		WaitForNode: 30 * time.Second, running: map[int64]int{}}
}

// Compact runs t on the owner of its segments' pchannel, or on another
// live data node when the owner is gone.
func (d *Dispatcher) Compact(ctx context.Context, t contract.CompactionTask) (contract.CompactionResult, error) {
	var prefer func() int64
	if d.channels != nil && len(t.Segments) > 0 {
		vc := t.Segments[0].VChannel
		prefer = func() int64 { return d.channels.OwnerOfVChannel(vc) }
	}
	return dispatch(ctx, d, "compaction", t.PlanID, prefer, func(ctx context.Context, w DataWorker) (contract.CompactionResult, error) {
		return w.Compact(ctx, t)
	})
}

// ExecuteImport runs job on the live data node running the fewest tasks.
func (d *Dispatcher) ExecuteImport(ctx context.Context, job contract.ImportJob) ([]model.Segment, error) {
	return dispatch(ctx, d, "import", job.ID, nil, func(ctx context.Context, w DataWorker) ([]model.Segment, error) {
		return w.ExecuteImport(ctx, job)
	})
}

// retryable tells whether a task that failed with err may run on another
// node: the node died, is gone, or is another process now.
func retryable(err error) bool {
	return errors.Is(err, errs.ErrServiceUnavailable) || errors.Is(err, errs.ErrNodeNotFound) || errors.Is(err, errs.ErrNodeNotMatch)
}

// dispatch runs call on a chosen node, moving to another live node after a
// retryable failure; each node is tried once per task, and a task with no
// live node left waits for one up to d.WaitForNode.
func dispatch[T any](ctx context.Context, d *Dispatcher, kind string, id int64, prefer func() int64,
	call func(context.Context, DataWorker) (T, error)) (T, error) {
	var (
		zero    T
		tried   = map[int64]bool{}
		lastErr error
		waited  time.Time
	)
	for {
		node, ok := d.pick(prefer, tried)
		if !ok {
			if waited.IsZero() {
				waited = time.Now()
			}
			if time.Since(waited) > d.WaitForNode {
				if lastErr != nil {
					return zero, lastErr
				}
				return zero, fmt.Errorf("datacoord: %s %d: no live data node: %w", kind, id, errs.ErrServiceUnavailable)
			}
			// Nodes already tried may be gone; new ones may come.
			clear(tried)
			select {
			case <-ctx.Done():
				return zero, ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		tried[node] = true
		w, err := d.nodes.DataWorker(ctx, node)
		if err != nil {
			d.done(node)
			lastErr = err
			continue
		}
		d.logger.Info(kind+" dispatched", "id", id, "node", node)
		v, err := call(ctx, w)
		d.done(node)
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil || !retryable(err) {
			return zero, err
		}
		d.logger.Warn(kind+" failed on a data node; sending it to another", "id", id, "node", node, "err", err)
		lastErr = err
	}
}

// pick reserves a live node not in tried: prefer's node when it is live,
// else the least busy (taking turns among equals).
func (d *Dispatcher) pick(prefer func() int64, tried map[int64]bool) (int64, bool) {
	live := slices.DeleteFunc(d.nodes.LiveDataNodes(), func(id int64) bool { return tried[id] })
	if len(live) == 0 {
		return 0, false
	}
	slices.Sort(live)
	d.mu.Lock()
	defer d.mu.Unlock()
	var node int64
	if prefer != nil {
		if p := prefer(); p != 0 && slices.Contains(live, p) {
			node = p
		}
	}
	if node == 0 {
		least := d.running[slices.MinFunc(live, func(a, b int64) int { return cmp.Compare(d.running[a], d.running[b]) })]
		idle := slices.DeleteFunc(slices.Clone(live), func(id int64) bool { return d.running[id] > least })
		node = idle[d.turn%len(idle)]
		d.turn++
	}
	d.running[node]++
	return node, true
}

func (d *Dispatcher) done(node int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running[node]--; d.running[node] <= 0 {
		delete(d.running, node)
	}
}

// OwnerOfVChannel returns the data node owning vchannel's pchannel (0:
// none or unknown).
func (c *Channels) OwnerOfVChannel(vchannel string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc, ok := c.vchannels[vchannel]
	if !ok {
		return 0
	}
	if node := c.owner[pc]; c.live[node] {
		return node
	}
	return 0
}
