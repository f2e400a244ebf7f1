package querycoord

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// DefaultResourceGroup is the resource group every query node belongs to
// unless moved (Milvus's __default_resource_group).
const DefaultResourceGroup = "__default_resource_group"

const prefixReplica = "query/replica/"

// replica is one copy of a loaded collection (Milvus's querycoordv2
// meta.Replica): the query nodes it owns and, per shard, the one of them
// serving it (0: none alive; the replica is unhealthy meanwhile).
type replica struct {
	ID            int64            `json:"id"`
	CollectionID  int64            `json:"collection_id"`
	ResourceGroup string           `json:"resource_group"`
	Nodes         []int64          `json:"nodes"`
	Channels      map[string]int64 `json:"channels"`
	// RONodes are Milvus's read-only nodes: live nodes outside the
	// replica's resource group that keep serving its shards while it has
	// no node of its own there (a replica transferred to a group without
	// a free node waits for one, as in Milvus 2.6, instead of going dark).
	RONodes []int64 `json:"ro_nodes,omitempty"`
}

func replicaKey(r *replica) string {
	return prefixReplica + strconv.FormatInt(r.CollectionID, 10) + "/" + strconv.FormatInt(r.ID, 10)
}

// nodeLoad is one node's share of one collection.
type nodeLoad struct{ node, collection int64 }

// NodeInfo is a live query node: its server ID and gRPC address.
type NodeInfo struct {
	ID   int64
	Addr string
	// Labels are the node's server labels (Milvus's session ServerLabels),
	// which resource groups' node filters match.
	Labels map[string]string
}

func (s *Server) loadReplicas(ctx context.Context) error {
	list, err := s.d.KV.List(ctx, prefixReplica)
	if err != nil {
		return fmt.Errorf("querycoord: replicas: %w", err)
	}
	for _, e := range list {
		var r replica
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return fmt.Errorf("querycoord: decode %s: %w", e.Key, err)
		}
		if r.Channels == nil {
			r.Channels = map[string]int64{}
		}
		s.replicas[r.CollectionID] = append(s.replicas[r.CollectionID], &r)
	}
	for _, rs := range s.replicas {
		sortReplicas(rs)
	}
	return nil
}

func (s *Server) saveReplica(ctx context.Context, r *replica) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("querycoord: encode replica %d: %w", r.ID, err)
	}
	if _, err := s.d.KV.Put(ctx, replicaKey(r), b); err != nil {
		return fmt.Errorf("querycoord: save replica %d: %w", r.ID, err)
	}
	return nil
}

func (s *Server) dropReplicas(ctx context.Context, collectionID int64) error {
	for _, r := range s.replicas[collectionID] {
		if err := s.d.KV.Delete(ctx, replicaKey(r)); err != nil {
			return fmt.Errorf("querycoord: drop replica %d: %w", r.ID, err)
		}
	}
	delete(s.replicas, collectionID)
	delete(s.full, collectionID)
	for k := range s.pending {
		if k.collection == collectionID {
			delete(s.pending, k)
		}
	}
	return nil
}

// liveNodesLocked lists the live nodes in ascending ID order.
func (s *Server) liveNodesLocked() []int64 {
	return slices.Sorted(maps.Keys(s.live))
}

// spawnLocked creates n replicas of c over the live nodes, as Milvus's
// SpawnReplicas: each replica owns distinct nodes (the nodes are dealt
// round robin), and each shard goes to the least loaded node of each
// replica. With fewer live nodes than replicas it fails with Milvus's
// error unless lenient (a recovery, where unhealthy replicas wait for
// nodes). The replicas go to the resource groups rgs as Milvus's
// AssignReplica places them: none, all in the default group; one, all in
// it; else one replica in each.
func (s *Server) spawnLocked(ctx context.Context, c *model.Collection, n int32, lenient bool, rgs ...string) error {
	groupOf, err := s.assignReplicasLocked(rgs, n, lenient)
	if err != nil {
		return err
	}
	first, err := s.d.IDs.AllocID(ctx, int64(n))
	if err != nil {
		return fmt.Errorf("querycoord: allocate replica IDs: %w", err)
	}
	rs := make([]*replica, n)
	byGroup := map[string][]*replica{}
	for i := range rs {
		rs[i] = &replica{ID: first + int64(i), CollectionID: c.ID, ResourceGroup: groupOf[i], Channels: map[string]int64{}}
		byGroup[groupOf[i]] = append(byGroup[groupOf[i]], rs[i])
	}
	for g, grs := range byGroup {
		for i, node := range s.rgNodesLocked(g) {
			r := grs[i%len(grs)]
			r.Nodes = append(r.Nodes, node)
		}
	}
	for _, r := range rs {
		for _, vc := range c.VChannels {
			r.Channels[vc] = 0
		}
		s.assignLocked(r)
	}
	for _, r := range rs {
		if err := s.saveReplica(ctx, r); err != nil {
			return err
		}
	}
	s.replicas[c.ID] = rs
	return nil
}

// assignLocked gives every unserved shard of r to the node of r serving
// the fewest shards of r (then of all collections), marking the loads
// pending. It reports whether anything changed.
func (s *Server) assignLocked(r *replica) bool {
	if len(r.Nodes) == 0 {
		return false
	}
	global := map[int64]int{}
	for _, rs := range s.replicas {
		for _, o := range rs {
			for _, n := range o.Channels {
				global[n]++
			}
		}
	}
	changed := false
	for _, vc := range slices.Sorted(maps.Keys(r.Channels)) {
		if r.Channels[vc] != 0 {
			continue
		}
		local := map[int64]int{}
		for _, n := range r.Channels {
			local[n]++
		}
		best := slices.MinFunc(r.Nodes, func(a, b int64) int {
			return cmp.Or(cmp.Compare(local[a], local[b]), cmp.Compare(global[a], global[b]), cmp.Compare(a, b))
		})
		r.Channels[vc] = best
		global[best]++
		s.addPendingLocked(nodeLoad{best, r.CollectionID})
		changed = true
	}
	return changed
}

// SetNodes tells the query coordinator which query nodes are alive (the
// session watch in cluster mode; the in-process node in standalone). A
// node that left loses its shards to the other nodes of its replicas; a
// node that joined goes to the replica of each loaded collection with
// the fewest nodes and serves the shards nobody serves (Milvus's replica
// and channel observers).
func (s *Server) SetNodes(ctx context.Context, nodes []NodeInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = map[int64]string{}
	s.labels = map[int64]map[string]string{}
	for _, n := range nodes {
		s.live[n.ID] = n.Addr
		s.labels[n.ID] = n.Labels
	}
	var errList []error
	// A collection loaded without replicas (state from before replicas, or
	// a load interrupted before they were saved) gets them now.
	for id, li := range s.loaded {
		if len(s.replicas[id]) > 0 {
			continue
		}
		c, err := s.d.Collections.DescribeCollection(ctx, "", "", id)
		if err != nil {
			s.logger.Warn("loaded collection is gone", "collection", id, "err", err)
			continue
		}
		if err := s.spawnLocked(ctx, c, max(li.Replicas, 1), true); err != nil {
			errList = append(errList, err)
		}
	}
	if err := s.applyNodesLocked(ctx); err != nil {
		errList = append(errList, err)
	}
	return errors.Join(errList...)
}

// Recover re-sends every assignment to its node: after a restart of the
// coordinator (its nodes may be new, or may have lost what they served)
// or of a node. Loading an assignment a node already serves is a no-op.
func (s *Server) Recover(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, rs := range s.replicas {
		for _, r := range rs {
			for _, n := range r.Channels {
				if n != 0 {
					s.addPendingLocked(nodeLoad{n, id})
				}
			}
		}
	}
	if err := s.syncPendingLocked(ctx); err != nil {
		return fmt.Errorf("querycoord: recover: %w", err)
	}
	return nil
}

// OneNode is the node set of a single in-process query node (standalone).
func OneNode(id int64, n QueryNode) Nodes { return oneNode{id: id, n: n} }

type oneNode struct {
	id int64
	n  QueryNode
}

func (o oneNode) Node(_ context.Context, id int64) (QueryNode, error) {
	if id != o.id {
		return nil, errs.NodeNotFound(id)
	}
	return o.n, nil
}

// rebalanceLocked drops from a collection's replicas the nodes that died
// or left their resource group, deals each group's nodes that no replica
// of the collection owns to its replicas in that group with the fewest
// nodes, and reassigns the shards left without a node.
func (s *Server) rebalanceLocked(rs []*replica) bool {
	changed := false
	owned := map[int64]bool{}
	for _, r := range rs {
		group := s.rgNodesLocked(r.ResourceGroup)
		var kept, outside []int64
		for _, n := range slices.Concat(r.Nodes, r.RONodes) {
			_, live := s.live[n]
			switch {
			case live && slices.Contains(group, n):
				kept = append(kept, n)
			case live:
				outside = append(outside, n)
			}
		}
		// With no node of its group, the replica keeps its live nodes
		// from elsewhere as read-only nodes (Milvus's RO nodes stay until
		// their shards can move to a node of the replica's group).
		var ro []int64
		if len(kept) == 0 {
			ro = outside
		}
		slices.Sort(ro)
		if !slices.Equal(kept, r.Nodes) || !slices.Equal(ro, r.RONodes) {
			changed = true
		}
		r.Nodes, r.RONodes = kept, ro
		for _, n := range slices.Concat(kept, ro) {
			owned[n] = true
		}
		for vc, n := range r.Channels {
			if n != 0 && !slices.Contains(r.Nodes, n) && !slices.Contains(r.RONodes, n) {
				r.unassign(vc, s)
				changed = true
			}
		}
	}
	for _, g := range slices.Sorted(maps.Keys(s.rgs)) {
		var in []*replica
		for _, r := range rs {
			if r.ResourceGroup == g {
				in = append(in, r)
			}
		}
		if len(in) == 0 {
			continue
		}
		for _, n := range s.rgNodesLocked(g) {
			if owned[n] {
				continue
			}
			r := slices.MinFunc(in, func(a, b *replica) int {
				return cmp.Or(cmp.Compare(len(a.Nodes), len(b.Nodes)), cmp.Compare(a.ID, b.ID))
			})
			r.Nodes = append(r.Nodes, n)
			slices.Sort(r.Nodes)
			owned[n] = true
			changed = true
		}
		// Even out the group's replicas (one that lost its nodes takes
		// one from the biggest): a moved node's shards in its old replica
		// go to that replica's other nodes.
		for {
			small := slices.MinFunc(in, func(a, b *replica) int {
				return cmp.Or(cmp.Compare(len(a.Nodes), len(b.Nodes)), cmp.Compare(a.ID, b.ID))
			})
			big := slices.MaxFunc(in, func(a, b *replica) int {
				return cmp.Or(cmp.Compare(len(a.Nodes), len(b.Nodes)), cmp.Compare(b.ID, a.ID))
			})
			if len(big.Nodes)-len(small.Nodes) < 2 {
				break
			}
			n := big.Nodes[len(big.Nodes)-1]
			big.Nodes = big.Nodes[:len(big.Nodes)-1]
			for vc, m := range big.Channels {
				if m == n {
					big.unassign(vc, s)
				}
			}
			small.Nodes = append(small.Nodes, n)
			slices.Sort(small.Nodes)
			changed = true
		}
	}
	// A replica that got nodes of its group lets its read-only nodes go:
	// their shards move to its own nodes, and the freed nodes may serve
	// the other replicas of their group (a second pass).
	released := false
	for _, r := range rs {
		if len(r.Nodes) == 0 || len(r.RONodes) == 0 {
			continue
		}
		for vc, n := range r.Channels {
			if slices.Contains(r.RONodes, n) {
				r.unassign(vc, s)
			}
		}
		r.RONodes = nil
		released, changed = true, true
	}
	for _, r := range rs {
		if s.assignLocked(r) {
			changed = true
		}
	}
	if released {
		s.rebalanceLocked(rs)
	}
	return changed
}

// unassign takes a shard from its node; a node still alive is told
// (pending) to stop serving what it no longer serves.
func (r *replica) unassign(vchannel string, s *Server) {
	n := r.Channels[vchannel]
	r.Channels[vchannel] = 0
	if _, ok := s.live[n]; ok && n != 0 {
		s.addPendingLocked(nodeLoad{n, r.CollectionID})
	}
}

// syncPendingLocked sends each pending assignment to its node: the plans
// of the shards the node serves in any replica of the collection.
func (s *Server) syncPendingLocked(ctx context.Context) error {
	var errList []error
	colls := map[int64]*model.Collection{}
	for _, k := range slices.SortedFunc(maps.Keys(s.pending), func(a, b nodeLoad) int {
		return cmp.Or(cmp.Compare(a.collection, b.collection), cmp.Compare(a.node, b.node))
	}) {
		li, ok := s.loaded[k.collection]
		if _, live := s.live[k.node]; !ok || !live {
			delete(s.pending, k)
			continue
		}
		c, ok := colls[k.collection]
		if !ok {
			var err error
			if c, err = s.d.Collections.DescribeCollection(ctx, "", "", k.collection); err != nil {
				if !errors.Is(err, errs.ErrCollectionNotFound) {
					// The root coordinator did not answer (restarting):
					// the assignment stays pending and is retried.
					s.logger.Warn("describe loaded collection failed, retrying", "collection", k.collection, "err", err)
					errList = append(errList, fmt.Errorf("querycoord: describe loaded collection %d: %w", k.collection, err))
					continue
				}
				s.logger.Warn("loaded collection is gone", "collection", k.collection, "err", err)
				delete(s.pending, k)
				continue
			}
			colls[k.collection] = c
		}
		if err := s.loadOnNodeLocked(ctx, c, li.Partitions, k.node); err != nil {
			s.logLoadRetry(ctx, k.collection, k.node, err)
			errList = append(errList, err)
			continue
		}
		delete(s.pending, k)
	}
	return errors.Join(errList...)
}

// logLoadRetry reports a load on a query node that the next round
// retries. A load cut short because its own request was cancelled (the
// client gave up, the coordinator is stopping) is not a node's failure:
// it is said at info level, so that warnings mean a node refused.
func (s *Server) logLoadRetry(ctx context.Context, collection, node int64, err error) {
	if ctx.Err() != nil {
		s.logger.Info("load on query node interrupted, retrying", "collection", collection, "node", node, "err", err)
		return
	}
	s.logger.Warn("load on query node failed, retrying", "collection", collection, "node", node, "err", err)
}

// loadOnNodeLocked plans the shards node serves of c and has it serve
// them, and only them.
func (s *Server) loadOnNodeLocked(ctx context.Context, c *model.Collection, partitions []int64, node int64) error {
	var plans []contract.ChannelPlan
	for i, vc := range c.VChannels {
		if !s.servesLocked(c.ID, vc, node) {
			continue
		}
		p, err := s.channelPlan(ctx, c, i)
		if err != nil {
			return err
		}
		plans = append(plans, p)
	}
	qn, err := s.d.Nodes.Node(ctx, node)
	if err != nil {
		return fmt.Errorf("querycoord: query node %d: %w", node, err)
	}
	if len(plans) == 0 {
		// The node serves no shard of c any more (moved off it).
		if err := qn.ReleaseCollection(ctx, c.ID); err != nil {
			return fmt.Errorf("querycoord: release collection %d on query node %d: %w", c.ID, node, err)
		}
		return nil
	}
	if err := qn.LoadCollection(ctx, c, partitions, plans); err != nil {
		return fmt.Errorf("querycoord: load collection %d on query node %d: %w", c.ID, node, err)
	}
	return nil
}

func (s *Server) servesLocked(collectionID int64, vchannel string, node int64) bool {
	for _, r := range s.replicas[collectionID] {
		if r.Channels[vchannel] == node || s.moving[shardKey{r.ID, vchannel}] == node {
			return true
		}
	}
	return false
}

// nodesOfLocked lists the nodes serving any shard of a collection.
func (s *Server) nodesOfLocked(collectionID int64) []int64 {
	set := map[int64]bool{}
	for _, r := range s.replicas[collectionID] {
		for _, n := range r.Channels {
			if n != 0 {
				set[n] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Replicas describes a loaded collection's replicas with their shard
// leaders (Milvus's GetReplicas and GetShardLeaders).
func (s *Server) Replicas(ctx context.Context, collectionID int64) ([]contract.Replica, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.loaded[collectionID]; !ok {
		return nil, errs.CollectionNotLoaded(collectionID)
	}
	out := make([]contract.Replica, 0, len(s.replicas[collectionID]))
	for _, r := range s.replicas[collectionID] {
		// Milvus's fillReplicaInfo: NodeIds are the read-write and
		// read-only nodes; NumOutboundNode counts the read-only ones by the
		// other resource group they belong to.
		cr := contract.Replica{ID: r.ID, CollectionID: r.CollectionID, ResourceGroup: r.ResourceGroup,
			Nodes: slices.Sorted(slices.Values(slices.Concat(r.Nodes, r.RONodes))), Outbound: map[string]int32{}}
		for _, n := range r.RONodes {
			if g := s.groupOfLocked(n); g != "" && g != r.ResourceGroup {
				cr.Outbound[g]++
			}
		}
		for _, vc := range slices.Sorted(maps.Keys(r.Channels)) {
			n := s.leaderLocked(r, vc)
			cr.Shards = append(cr.Shards, contract.ShardReplica{VChannel: vc, NodeID: n, Addr: s.live[n]})
		}
		out = append(out, cr)
	}
	return out, nil
}

func describeReplicas(rs []*replica) string {
	b, _ := json.Marshal(rs)
	return string(b)
}

// assignReplicasLocked is Milvus's AssignReplica: the resource group of
// each of n replicas. Unless lenient, each group must exist and have a node
// per replica it gets.
func (s *Server) assignReplicasLocked(rgs []string, n int32, lenient bool) ([]string, error) {
	if len(rgs) > 1 && len(rgs) != int(n) {
		return nil, errs.InvalidParameter("replica=[%d] resource group=[%s], resource group num can only be 0, 1 or same as replica number", n, strings.Join(rgs, ","))
	}
	out := make([]string, n)
	for i := range out {
		switch len(rgs) {
		case 0:
			out[i] = DefaultResourceGroup
		case 1:
			out[i] = rgs[0]
		default:
			out[i] = rgs[i]
		}
	}
	if lenient {
		return out, nil
	}
	need := map[string]int{}
	for _, g := range out {
		need[g]++
	}
	for _, g := range slices.Sorted(maps.Keys(need)) {
		if _, ok := s.rgs[g]; !ok {
			return nil, fmt.Errorf("failed to spawn replica for collection: %w", rgNotFound(g))
		}
		if nodes := s.rgNodesLocked(g); need[g] > len(nodes) {
			return nil, fmt.Errorf("failed to spawn replica for collection: %w", errs.ResourceGroupNodeNotEnough(g, len(nodes), need[g]))
		}
	}
	return out, nil
}
