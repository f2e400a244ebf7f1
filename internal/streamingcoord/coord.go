package streamingcoord

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/placement"
)

// BalanceInterval is how often the coordinator moves one pchannel from the
// busiest streaming node to the idlest (as the data coordinator's channel
// balancer; a hand-over takes milliseconds).
const BalanceInterval = 3 * time.Second

// Deps are the coordinator's collaborators.
type Deps struct {
	KV        kv.Store // fenced by the coordinator's leadership
	PChannels []string // every physical channel of the log
	Logger    *slog.Logger
}

// Coord assigns pchannels to streaming nodes. It is safe for concurrent use.
type Coord struct {
	kv        kv.Store
	pchannels []string
	logger    *slog.Logger

	opMu sync.Mutex // serialises the operations that change assignments

	mu     sync.Mutex // guards the fields below
	assign map[string]Assignment
	live   map[int64]bool
}

// New loads the assignments.
func New(ctx context.Context, d Deps) (*Coord, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Coord{kv: d.KV, pchannels: slices.Clone(d.PChannels), logger: d.Logger.With("component", "streamingcoord"),
		assign: map[string]Assignment{}, live: map[int64]bool{}}
	es, err := d.KV.List(ctx, PrefixAssignment)
	if err != nil {
		return nil, fmt.Errorf("streamingcoord: load assignments: %w", err)
	}
	for _, e := range es {
		pc, a, err := decodeAssignment(e.Key, e.Value)
		if err != nil {
			return nil, err
		}
		c.assign[pc] = a
	}
	return c, nil
}

// Assignments returns every pchannel's writer.
func (c *Coord) Assignments() map[string]Assignment {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.assign)
}

// owners is the pchannel → node view of the assignments; c.mu is held.
func (c *Coord) ownersLocked() map[string]int64 {
	out := make(map[string]int64, len(c.assign))
	for pc, a := range c.assign {
		out[pc] = a.Node
	}
	return out
}

// SetNodes records the live streaming nodes and gives the pchannels of
// nodes that left (and those never assigned) to the live ones.
func (c *Coord) SetNodes(ctx context.Context, ids []int64) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	c.live = map[int64]bool{}
	for _, id := range ids {
		c.live[id] = true
	}
	next := placement.AssignOrphans(c.ownersLocked(), c.pchannels, c.live)
	c.mu.Unlock()
	return c.reassignLocked(ctx, next, "writer gone")
}

// Balance moves at most one pchannel from the live streaming node writing
// the most to the one writing the fewest, when they differ by two or more,
// and returns it ("" when balanced).
func (c *Coord) Balance(ctx context.Context) (string, error) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	pc, _, dst, ok := placement.Move(c.ownersLocked(), c.pchannels, c.live)
	c.mu.Unlock()
	if !ok {
		return "", nil
	}
	if err := c.reassignLocked(ctx, map[string]int64{pc: dst}, "balance"); err != nil {
		return "", err
	}
	return pc, nil
}

// RunBalancer balances every interval until ctx ends.
func (c *Coord) RunBalancer(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := c.Balance(ctx); err != nil && ctx.Err() == nil {
			c.logger.Warn("streaming channel balance", "err", err)
		}
	}
}

// reassignLocked records next's writers, each under a new term with the
// current writer as the one that must stop first. c.opMu is held.
func (c *Coord) reassignLocked(ctx context.Context, next map[string]int64, why string) error {
	if len(next) == 0 {
		return nil
	}
	rel, err := c.releases(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	updated := map[string]Assignment{}
	ops := make([]kv.Op, 0, len(next))
	for _, pc := range slices.Sorted(maps.Keys(next)) {
		old := c.assign[pc]
		// The writer that may still be appending: the current one, or,
		// if it never started (its predecessor has not released the
		// pchannel and lives), that predecessor.
		from := old.Node
		if old.From != 0 && old.From != old.Node && rel[pc] < old.Term && c.live[old.From] {
			from = old.From
		}
		a := Assignment{Node: next[pc], Term: old.Term + 1, From: from}
		b, _ := json.Marshal(a)
		ops = append(ops, kv.Op{Key: PrefixAssignment + pc, Value: b})
		updated[pc] = a
	}
	c.mu.Unlock()
	if _, err := c.kv.Txn(ctx, nil, ops); err != nil {
		return fmt.Errorf("streamingcoord: assign pchannels: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for pc, a := range updated {
		c.assign[pc] = a
		c.logger.Info("pchannel writer assigned", "pchannel", pc, "node", a.Node, "term", a.Term, "from", a.From, "why", why)
	}
	return nil
}

// releases reads the terms up to which each pchannel's writers stopped.
func (c *Coord) releases(ctx context.Context) (map[string]int64, error) {
	es, err := c.kv.List(ctx, PrefixReleased)
	if err != nil {
		return nil, fmt.Errorf("streamingcoord: load releases: %w", err)
	}
	out := map[string]int64{}
	for _, e := range es {
		var r released
		if err := json.Unmarshal(e.Value, &r); err == nil {
			out[strings.TrimPrefix(e.Key, PrefixReleased)] = r.Term
		}
	}
	return out, nil
}
