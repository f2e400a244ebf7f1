package datacoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/placement"
)

// Channel balance: live pchannels move onto a data node that joined, as
// Milvus's channel balancer (datacoord's ChannelManager with its
// balance checker) moves channels to new nodes.
//
// Every ChannelBalanceInterval the data coordinator moves one pchannel from
// the live data node owning the most to the one owning the fewest, while
// they differ by two or more. A move is a hand-over in three steps, each
// safe if the coordinator stops after it:
//
//  1. The old owner unwatches the pchannel's vchannels: its pipeline stops
//     and its buffers (rows not yet flushed) are dropped. A report it was
//     already sending still counts: it is still the owner.
//  2. The new owner is recorded in the fenced meta store. From then on the
//     old owner's reports about the pchannel are refused (channel
//     misrouted, 507), so a flush it was finishing cannot be published.
//  3. The new owner watches the vchannels from their checkpoints, which
//     never pass the start of a segment that is not flushed: it rebuilds
//     exactly the buffers the old owner dropped, and skips the inserts of
//     segments already flushed. Nothing is lost or written twice.
//
// The log keeps every message behind the checkpoints (retention truncates
// only behind them), so the new owner can replay.

// ChannelBalanceInterval is how often the data coordinator looks for a
// pchannel to move (Milvus's dataCoord.channel.balanceInterval is 360 s
// and moves channels in bulk; one pchannel every few seconds gets a joining
// node working within a minute).
const ChannelBalanceInterval = 3 * time.Second

// moveTimeout bounds one move (a data node's Unwatch waits up to 10 s for
// its pipeline to stop).
const moveTimeout = 30 * time.Second

// RunBalancer moves pchannels onto the data nodes owning the fewest until
// ctx ends, one per interval.
func (c *Channels) RunBalancer(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := c.Balance(ctx); err != nil && ctx.Err() == nil {
			c.logger.Warn("channel balance", "err", err)
		}
	}
}

// Balance moves at most one pchannel from the live data node owning the
// most to the one owning the fewest, when they differ by two or more, and
// returns the pchannel moved ("" when balanced). It first re-sends the
// watches a failed move left unsent.
func (c *Channels) Balance(ctx context.Context) (string, error) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if err := c.resendLocked(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	if !c.recovered || len(c.live) < 2 {
		c.mu.Unlock()
		return "", nil
	}
	pc, src, dst, ok := placement.Move(c.owner, slices.Collect(maps.Keys(c.neededLocked())), c.live)
	c.mu.Unlock()
	if !ok {
		return "", nil
	}
	if err := c.moveLocked(ctx, pc, src, dst); err != nil {
		return "", err
	}
	return pc, nil
}

// neededLocked is the set of pchannels carrying a consumed collection.
// c.mu is held.
func (c *Channels) neededLocked() map[string]bool {
	needed := map[string]bool{}
	for _, pc := range c.vchannels {
		needed[pc] = true
	}
	return needed
}

// moveLocked hands pc over from src to dst (see the steps above). c.opMu
// is held.
func (c *Channels) moveLocked(ctx context.Context, pc string, src, dst int64) error {
	// A node that hangs (cut off) must not hold the assignment lock
	// until its session ends: node loss waits on it.
	ctx, cancel := context.WithTimeout(ctx, moveTimeout)
	defer cancel()
	start := time.Now()
	one := func(p string) bool { return p == pc }
	c.mu.Lock()
	colls := slices.Collect(maps.Values(c.collections))
	var parts []*model.Collection
	for _, coll := range colls {
		if coll == nil {
			continue
		}
		if part, ok := c.splitLocked(coll, one)[src]; ok {
			parts = append(parts, part)
		}
	}
	c.mu.Unlock()
	// 1. The old owner stops.
	dn, err := c.nodes.DataNode(ctx, src)
	if err != nil {
		return fmt.Errorf("datacoord: move %s off data node %d: %w", pc, src, err)
	}
	for _, part := range parts {
		if err := dn.Unwatch(ctx, part); err != nil {
			// Whatever it stopped is watched again (resendLocked), by
			// the owner, still src.
			c.markUnsent(pc)
			return fmt.Errorf("datacoord: move %s: unwatch collection %d on data node %d: %w", pc, part.ID, src, err)
		}
	}
	stopped := time.Since(start)
	// 2. The new owner is recorded: the old one's reports are refused.
	b, _ := json.Marshal(ownerRecord{Node: dst})
	if _, err := c.kv.Put(ctx, prefixChannelOwner+pc, b); err != nil {
		c.markUnsent(pc)
		return fmt.Errorf("datacoord: move %s to data node %d: %w", pc, dst, err)
	}
	c.mu.Lock()
	c.owner[pc] = dst
	c.mu.Unlock()
	// 3. The new owner replays from the checkpoints.
	if err := c.sendLocked(ctx, one, colls); err != nil {
		c.markUnsent(pc)
		return fmt.Errorf("datacoord: move %s: %w", pc, err)
	}
	c.logger.Info("pchannel moved", "pchannel", pc, "from", src, "to", dst,
		"stopped", stopped.Round(time.Millisecond), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// markUnsent has the next Balance re-send pc's watches to its owner.
func (c *Channels) markUnsent(pc string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unsent == nil {
		c.unsent = map[string]bool{}
	}
	c.unsent[pc] = true
}

// resendLocked tells the owners of the pchannels a failed move left
// unwatched to watch them (idempotent on a data node). c.opMu is held.
func (c *Channels) resendLocked(ctx context.Context) error {
	c.mu.Lock()
	pending := maps.Clone(c.unsent)
	colls := slices.Collect(maps.Values(c.collections))
	c.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	err := c.sendLocked(ctx, func(pc string) bool { return pending[pc] }, colls)
	if err != nil && !errors.Is(err, errs.ErrNodeNotFound) {
		return fmt.Errorf("datacoord: re-send watches: %w", err)
	}
	c.mu.Lock()
	for pc := range pending {
		delete(c.unsent, pc)
	}
	c.mu.Unlock()
	return nil
}
