package datacoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/placement"
)

// Channel assignment: which data node consumes which physical channel.
//
// A cluster runs any number of data nodes. Each physical channel (pchannel)
// of the log is owned by one live data node, which consumes every virtual
// channel (vchannel) of every collection on it, as Milvus 2.6's streaming
// coordinator assigns pchannels to the nodes that flush them. Owners are
// kept in the meta store (data/channel/<pchannel>, and the collections
// being consumed under data/channel-collection/<id>), so a new data
// coordinator after a failover knows them, and those writes are fenced by
// its leadership like the rest of its state.
//
// A pchannel goes to the live data node owning the fewest; it moves only
// when its owner's session ends (killed, lost, or paused past its TTL):
// the new owner replays each vchannel from its checkpoint, which never
// passes the start of a segment that is not flushed, so nothing is lost.
// Nothing is written twice either: the data coordinator refuses every
// report (segment flushed, checkpoint, delta log, buffered rows) about a
// vchannel from a node that is not its pchannel's owner (CheckOwner,
// errs.ErrChannelMisrouted), so a node cut off and come back cannot
// publish a flush its successor also made. A joining node takes new
// pchannels and those of nodes that leave, and the balancer (balance.go)
// moves live pchannels onto it one at a time.

// DataNode is what channel assignment needs of one data node: start and
// stop consuming a collection's vchannels (the collection as given lists
// only the vchannels meant for that node).
type DataNode interface {
	Watch(ctx context.Context, c *model.Collection) error
	Unwatch(ctx context.Context, c *model.Collection) error
}

// DataNodes reaches a live data node by its server ID.
type DataNodes interface {
	DataNode(ctx context.Context, id int64) (DataNode, error)
}

// CollectionLister lists every live collection of every database (the
// root coordinator's catalog).
type CollectionLister func(ctx context.Context) ([]*model.Collection, error)

const (
	prefixChannelOwner      = "data/channel/"
	prefixChannelCollection = "data/channel-collection/"
)

// ChannelsDeps are the channel assignment's collaborators.
type ChannelsDeps struct {
	KV    kv.Store // fenced by the coordinator's leadership
	Nodes DataNodes
	// Collections lists the collections to consume when the coordinator
	// starts (new ones arrive through WatchCollection).
	Collections CollectionLister
	Logger      *slog.Logger
	// Metrics is where the refusals counter (RefusalsMetric) is
	// registered: the process's /metrics (nil: not exported).
	Metrics prometheus.Registerer
}

// Channels assigns pchannels to data nodes. It is safe for concurrent use.
type Channels struct {
	kv     kv.Store
	nodes  DataNodes
	colls  CollectionLister
	logger *slog.Logger
	// refused counts CheckOwner's refusals by report (RefusalsMetric).
	refused *prometheus.CounterVec

	// opMu serialises the operations that change assignments and send
	// commands, so two never interleave their Watch calls.
	opMu sync.Mutex

	mu          sync.Mutex                  // guards the maps below
	owner       map[string]int64            // pchannel → data node (0: none yet)
	collections map[int64]*model.Collection // consumed collections (nil: known by ID only, until listed)
	vchannels   map[string]string           // vchannel → pchannel
	live        map[int64]bool              // live data nodes
	recovered   bool                        // the first live set re-sent every assignment
	unsent      map[string]bool             // pchannels whose watches a failed move left unsent (balance.go)
}

type ownerRecord struct {
	Node int64 `json:"node"`
}

// NewChannels loads the assignments.
func NewChannels(ctx context.Context, d ChannelsDeps) (*Channels, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Channels{kv: d.KV, nodes: d.Nodes, colls: d.Collections, logger: d.Logger.With("component", "datacoord.channels"),
		owner: map[string]int64{}, collections: map[int64]*model.Collection{}, vchannels: map[string]string{}, live: map[int64]bool{},
		refused: newRefusals(d.Metrics)}
	owners, err := d.KV.List(ctx, prefixChannelOwner)
	if err != nil {
		return nil, fmt.Errorf("datacoord: load channel owners: %w", err)
	}
	for _, e := range owners {
		var r ownerRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return nil, fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		c.owner[strings.TrimPrefix(e.Key, prefixChannelOwner)] = r.Node
	}
	colls, err := d.KV.List(ctx, prefixChannelCollection)
	if err != nil {
		return nil, fmt.Errorf("datacoord: load consumed collections: %w", err)
	}
	for _, e := range colls {
		id, err := strconv.ParseInt(strings.TrimPrefix(e.Key, prefixChannelCollection), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		c.collections[id] = nil
		var vmap map[string]string
		if err := json.Unmarshal(e.Value, &vmap); err == nil {
			maps.Copy(c.vchannels, vmap)
		}
	}
	return c, nil
}

// Owner returns the data node owning pchannel (0: none).
func (c *Channels) Owner(pchannel string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.owner[pchannel]
}

// VChannelOwner returns the data node owning vchannel's pchannel (0:
// none), and whether vchannel belongs to a collection consumed here.
func (c *Channels) VChannelOwner(vchannel string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc, ok := c.vchannels[vchannel]
	if !ok {
		return 0, false
	}
	return c.owner[pc], true
}

// Assignments returns every pchannel's owner.
func (c *Channels) Assignments() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.owner)
}

// CheckOwner refuses a report about vchannel from a data node that does
// not own its pchannel, and counts the refusal by report (RefusalsMetric).
// In-process calls (standalone: one data node) and channels of
// collections not assigned here pass.
func (c *Channels) CheckOwner(ctx context.Context, report Report, vchannel string) error {
	caller, ok := contract.CallerOf(ctx)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pc, ok := c.vchannels[vchannel]
	if !ok {
		return nil
	}
	if owner := c.owner[pc]; owner != caller {
		// Rare (a node cut off, paused or slow while its channel moved),
		// and what fencing is for: logged, so that it can be seen.
		c.logger.Warn("report refused: the caller does not own the channel", "report", string(report), "vchannel", vchannel,
			"caller", caller, "owner", owner)
		c.refused.WithLabelValues(string(report)).Inc()
		return errs.ChannelMisrouted(vchannel, caller, owner)
	}
	return nil
}

// WatchCollection has a new collection's vchannels consumed: each of its
// pchannels without a live owner is given to the live data node owning
// the fewest, and each owner is told to watch its vchannels. With no live
// data node yet, the collection waits for the first to join.
func (c *Channels) WatchCollection(ctx context.Context, coll *model.Collection) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if _, err := c.kv.Put(ctx, prefixChannelCollection+strconv.FormatInt(coll.ID, 10), vchannelMap(coll)); err != nil {
		return fmt.Errorf("datacoord: record consumed collection %d: %w", coll.ID, err)
	}
	c.mu.Lock()
	c.collections[coll.ID] = coll
	for i, vc := range coll.VChannels {
		c.vchannels[vc] = coll.PChannels[i]
	}
	c.mu.Unlock()
	if err := c.assignOrphansLocked(ctx); err != nil {
		return err
	}
	return c.sendLocked(ctx, func(pc string) bool { return slices.Contains(coll.PChannels, pc) }, []*model.Collection{coll})
}

// UnwatchCollection stops a dropped collection's consumption on its owners
// and forgets it.
func (c *Channels) UnwatchCollection(ctx context.Context, coll *model.Collection) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if err := c.kv.Delete(ctx, prefixChannelCollection+strconv.FormatInt(coll.ID, 10)); err != nil {
		return fmt.Errorf("datacoord: forget consumed collection %d: %w", coll.ID, err)
	}
	c.mu.Lock()
	delete(c.collections, coll.ID)
	for _, vc := range coll.VChannels {
		delete(c.vchannels, vc)
	}
	byNode := c.splitLocked(coll, func(string) bool { return true })
	c.mu.Unlock()
	var errList []error
	for node, part := range byNode {
		dn, err := c.nodes.DataNode(ctx, node)
		if err == nil {
			err = dn.Unwatch(ctx, part)
		}
		if err != nil && !errors.Is(err, errs.ErrNodeNotFound) {
			errList = append(errList, fmt.Errorf("datacoord: unwatch collection %d on data node %d: %w", coll.ID, node, err))
		}
	}
	return errors.Join(errList...)
}

// SetNodes records the live data nodes. The pchannels of nodes that left go
// to the live ones (each new owner watches their vchannels from their
// checkpoints); the first call after start re-sends every assignment, for
// data nodes that predate this coordinator.
func (c *Channels) SetNodes(ctx context.Context, ids []int64) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	c.live = map[int64]bool{}
	for _, id := range ids {
		c.live[id] = true
	}
	recovered := c.recovered
	c.mu.Unlock()
	if !recovered {
		if err := c.listLocked(ctx); err != nil {
			return err
		}
	}
	before := c.Assignments()
	if err := c.assignOrphansLocked(ctx); err != nil {
		return err
	}
	after := c.Assignments()
	moved := func(pc string) bool { return !recovered || before[pc] != after[pc] }
	c.mu.Lock()
	colls := slices.Collect(maps.Values(c.collections))
	c.mu.Unlock()
	if err := c.sendLocked(ctx, moved, colls); err != nil {
		// The retry (the caller's) re-sends everything: Watch is idempotent.
		c.mu.Lock()
		c.recovered = false
		c.mu.Unlock()
		return err
	}
	c.mu.Lock()
	c.recovered = true
	c.mu.Unlock()
	return nil
}

// listLocked makes the consumed collections the catalog's: those created
// while no data coordinator ran are added, dropped ones forgotten.
func (c *Channels) listLocked(ctx context.Context) error {
	colls, err := c.colls(ctx)
	if err != nil {
		return fmt.Errorf("datacoord: list collections to consume: %w", err)
	}
	live := map[int64]*model.Collection{}
	for _, coll := range colls {
		live[coll.ID] = coll
	}
	c.mu.Lock()
	var gone []int64
	for id := range c.collections {
		if live[id] == nil {
			gone = append(gone, id)
		}
	}
	var added []*model.Collection
	for id, coll := range live {
		if _, ok := c.collections[id]; !ok {
			added = append(added, coll)
		}
	}
	c.mu.Unlock()
	ops := make([]kv.Op, 0, len(gone)+len(added))
	for _, id := range gone {
		ops = append(ops, kv.Op{Key: prefixChannelCollection + strconv.FormatInt(id, 10), Delete: true})
	}
	for _, coll := range added {
		ops = append(ops, kv.Op{Key: prefixChannelCollection + strconv.FormatInt(coll.ID, 10), Value: vchannelMap(coll)})
	}
	if len(ops) > 0 {
		if _, err := c.kv.Txn(ctx, nil, ops); err != nil {
			return fmt.Errorf("datacoord: record consumed collections: %w", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.collections = live
	c.vchannels = map[string]string{}
	for _, coll := range live {
		for i, vc := range coll.VChannels {
			c.vchannels[vc] = coll.PChannels[i]
		}
	}
	return nil
}

// vchannelMap is the persisted record of a consumed collection: its
// vchannels' pchannels, for CheckOwner right after a restart.
func vchannelMap(coll *model.Collection) []byte {
	m := map[string]string{}
	for i, vc := range coll.VChannels {
		m[vc] = coll.PChannels[i]
	}
	b, _ := json.Marshal(m)
	return b
}

// assignOrphansLocked gives every pchannel of a consumed collection whose
// owner is not live to the live node owning the fewest (ties: the lowest
// ID), and persists the new owners.
func (c *Channels) assignOrphansLocked(ctx context.Context) error {
	c.mu.Lock()
	if len(c.live) == 0 {
		c.mu.Unlock()
		return nil
	}
	needed := slices.Collect(maps.Values(c.vchannels))
	next := placement.AssignOrphans(c.owner, needed, c.live)
	c.mu.Unlock()
	if len(next) == 0 {
		return nil
	}
	ops := make([]kv.Op, 0, len(next))
	for pc, node := range next {
		b, _ := json.Marshal(ownerRecord{Node: node})
		ops = append(ops, kv.Op{Key: prefixChannelOwner + pc, Value: b})
	}
	if _, err := c.kv.Txn(ctx, nil, ops); err != nil {
		return fmt.Errorf("datacoord: assign channels: %w", err)
	}
	c.mu.Lock()
	for pc, node := range next {
		c.logger.Info("pchannel assigned", "pchannel", pc, "node", node, "from", c.owner[pc])
		c.owner[pc] = node
	}
	c.mu.Unlock()
	return nil
}

// splitLocked returns, per live owner, coll restricted to its vchannels on
// the pchannels pick selects. c.mu is held.
func (c *Channels) splitLocked(coll *model.Collection, pick func(string) bool) map[int64]*model.Collection {
	out := map[int64]*model.Collection{}
	for i, vc := range coll.VChannels {
		pc := coll.PChannels[i]
		node := c.owner[pc]
		if node == 0 || !pick(pc) {
			continue
		}
		part, ok := out[node]
		if !ok {
			cp := *coll
			cp.VChannels, cp.PChannels = nil, nil
			part = &cp
			out[node] = part
		}
		part.VChannels = append(part.VChannels, vc)
		part.PChannels = append(part.PChannels, pc)
	}
	return out
}

// sendLocked tells each live owner to watch the vchannels of colls on the
// pchannels pick selects. Watch is idempotent on a data node.
func (c *Channels) sendLocked(ctx context.Context, pick func(string) bool, colls []*model.Collection) error {
	type cmd struct {
		node int64
		coll *model.Collection
	}
	var cmds []cmd
	c.mu.Lock()
	for _, coll := range colls {
		if coll == nil {
			continue
		}
		for node, part := range c.splitLocked(coll, pick) {
			if c.live[node] {
				cmds = append(cmds, cmd{node, part})
			}
		}
	}
	c.mu.Unlock()
	var errList []error
	for _, x := range cmds {
		dn, err := c.nodes.DataNode(ctx, x.node)
		if err == nil {
			err = dn.Watch(ctx, x.coll)
		}
		if err != nil {
			errList = append(errList, fmt.Errorf("datacoord: watch collection %d on data node %d: %w", x.coll.ID, x.node, err))
			continue
		}
		c.logger.Debug("data node watches", "node", x.node, "collection", x.coll.ID, "vchannels", x.coll.VChannels)
	}
	return errors.Join(errList...)
}

// SetChannels makes the data coordinator refuse data node reports about
// channels the reporting node does not own (cluster mode).
func (s *Server) SetChannels(c *Channels) { s.channels.Store(c) }

// checkOwner is Channels.CheckOwner when channels are assigned. s.mu may
// be held: Channels never calls back into the Server.
func (s *Server) checkOwner(ctx context.Context, report Report, vchannel string) error {
	c := s.channels.Load()
	if c == nil {
		return nil
	}
	return c.CheckOwner(ctx, report, vchannel)
}
