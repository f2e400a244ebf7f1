package querycoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// LoadCollection starts loading a collection (partitions nil: all of it)
// in replicas copies, each on its own query nodes.
func (s *Server) LoadCollection(ctx context.Context, c *model.Collection, partitions []int64, replicas int32, rgs ...string) error {
	if err := s.checkIndexes(ctx, c); err != nil {
		return err
	}
	if replicas <= 0 {
		replicas = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	li := &loadInfo{CollectionID: c.ID, Partitions: partitions, Replicas: replicas}
	old, loaded := s.loaded[c.ID]
	if loaded {
		cp := *old
		old = &cp
		if cur := len(s.replicas[c.ID]); cur > 0 && cur != int(replicas) {
			if partitions != nil {
				return errs.InvalidParameterValue(cur, replicas, "can't change the replica number for loaded partitions")
			}
			// Loading a loaded collection with another replica number
			// changes its load configuration, as in Milvus 2.6.
			if err := s.resizeLocked(ctx, c, replicas); err != nil {
				return err
			}
			old.Replicas = replicas
		}
		// Loading again with resource groups moves the replicas there.
		if len(rgs) > 0 && partitions == nil {
			if err := s.reassignGroupsLocked(ctx, c.ID, replicas, rgs); err != nil {
				return err
			}
		}
		if old.Partitions == nil { // the whole collection is already loaded
			b, _ := json.Marshal(old)
			if _, err := s.d.KV.Put(ctx, prefixLoad+strconv.FormatInt(c.ID, 10), b); err != nil {
				return fmt.Errorf("querycoord: save load state: %w", err)
			}
			s.loaded[c.ID] = old
			return s.syncPendingLocked(ctx)
		}
		if partitions != nil {
			li.Partitions = union(old.Partitions, partitions)
		}
	}
	if !loaded || len(s.replicas[c.ID]) == 0 {
		if err := s.spawnLocked(ctx, c, replicas, false, rgs...); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(li)
	if _, err := s.d.KV.Put(ctx, prefixLoad+strconv.FormatInt(c.ID, 10), b); err != nil {
		return fmt.Errorf("querycoord: save load state: %w", err)
	}
	s.loaded[c.ID] = li
	var errList []error
	for _, n := range s.nodesOfLocked(c.ID) {
		if err := s.loadOnNodeLocked(ctx, c, li.Partitions, n); err != nil {
			// Retried by the balance checker's next round (syncPendingLocked).
			s.logLoadRetry(ctx, c.ID, n, err)
			s.addPendingLocked(nodeLoad{n, c.ID})
			errList = append(errList, err)
			continue
		}
		delete(s.pending, nodeLoad{n, c.ID})
	}
	return errors.Join(errList...)
}

// ReleaseCollection stops serving a collection on every node.
func (s *Server) ReleaseCollection(ctx context.Context, collectionID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.d.KV.Delete(ctx, prefixLoad+strconv.FormatInt(collectionID, 10)); err != nil {
		return fmt.Errorf("querycoord: release: %w", err)
	}
	delete(s.loaded, collectionID)
	if err := s.dropReplicas(ctx, collectionID); err != nil {
		return err
	}
	// Every live node, not only the replicas': a node that lost the
	// collection's shards in a move may still hold some.
	for _, n := range s.liveNodesLocked() {
		qn, err := s.d.Nodes.Node(ctx, n)
		if err == nil {
			err = qn.ReleaseCollection(ctx, collectionID)
		}
		if err != nil {
			s.logger.Warn("release collection on a query node", "collection", collectionID, "node", n, "err", err)
		}
	}
	return nil
}

// ReleasePartitions stops serving some partitions; releasing every loaded
// partition releases the collection.
func (s *Server) ReleasePartitions(ctx context.Context, c *model.Collection, partitions []int64) error {
	if len(partitions) == 0 { // Milvus's querycoordv2 services.go:337-342, before the load state
		return errs.InvalidParameterValue("any partition", "empty partition list")
	}
	s.mu.Lock()
	li, ok := s.loaded[c.ID]
	if !ok {
		s.mu.Unlock()
		return nil
	}
	current := li.Partitions
	if current == nil {
		for _, p := range c.Partitions {
			current = append(current, p.ID)
		}
	}
	var kept []int64
	for _, p := range current {
		if !contains(partitions, p) {
			kept = append(kept, p)
		}
	}
	s.mu.Unlock()
	if len(kept) == 0 {
		return s.ReleaseCollection(ctx, c.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := &loadInfo{CollectionID: c.ID, Partitions: kept, Replicas: li.Replicas}
	b, _ := json.Marshal(next)
	if _, err := s.d.KV.Put(ctx, prefixLoad+strconv.FormatInt(c.ID, 10), b); err != nil {
		return fmt.Errorf("querycoord: save load state: %w", err)
	}
	s.loaded[c.ID] = next
	var errList []error
	for _, n := range s.nodesOfLocked(c.ID) {
		qn, err := s.d.Nodes.Node(ctx, n)
		if err == nil {
			err = qn.LoadCollection(ctx, c, kept, nil)
		}
		if err != nil {
			errList = append(errList, fmt.Errorf("querycoord: release partitions on query node %d: %w", n, err))
		}
	}
	return errors.Join(errList...)
}

// State reports a collection's load state. While loading, progress is
// that of the least loaded replica (loaded: every replica serves every
// shard, as Milvus); once loaded, that of the best replica, so a node's
// death, which leaves the other replicas serving, does not unload it.
func (s *Server) State(ctx context.Context, collectionID int64) (contract.LoadState, error) {
	s.mu.Lock()
	li, ok := s.loaded[collectionID]
	var rs []replica
	for _, r := range s.replicas[collectionID] {
		rs = append(rs, *r)
	}
	full := s.full[collectionID]
	s.mu.Unlock()
	if !ok {
		return contract.LoadState{}, nil
	}
	st := contract.LoadState{Loaded: true, Partitions: li.Partitions, Replicas: li.Replicas}
	if len(rs) == 0 {
		return st, nil
	}
	nodeProgress := map[int64]int64{}
	var lastErr error
	var lastErrNode int64
	var failure error
	progressOf := func(node int64) int64 {
		if p, ok := nodeProgress[node]; ok {
			return p
		}
		var p int64
		qn, err := s.d.Nodes.Node(ctx, node)
		if err == nil {
			// A node that does not answer (a host gone without closing its
			// connections) must not hold up the load state every read asks.
			pctx, cancel := context.WithTimeout(ctx, progressTimeout)
			var has bool
			if p, has, err = qn.Progress(pctx, collectionID); err == nil && !has {
				p = 0
			}
			cancel()
		}
		if err != nil {
			if errors.Is(err, errs.ErrSegmentLoadFailed) {
				// The node answered: a segment cannot load (a corrupt or
				// missing file). Loading continues; the state says why.
				failure = err
			} else {
				lastErr, lastErrNode = err, node
			}
			p = 0
		}
		nodeProgress[node] = p
		return p
	}
	lo, hi := int64(100), int64(0)
	for _, r := range rs {
		rp := int64(100)
		for _, n := range r.Channels {
			if n == 0 {
				rp = 0
				break
			}
			rp = min(rp, progressOf(n))
		}
		if len(r.Channels) == 0 {
			rp = 0
		}
		lo, hi = min(lo, rp), max(hi, rp)
	}
	if full {
		st.Progress = hi
	} else {
		st.Progress = lo
		if lo == 100 {
			s.mu.Lock()
			if _, still := s.loaded[collectionID]; still {
				s.full[collectionID] = true
			}
			s.mu.Unlock()
		}
	}
	if failure != nil && st.Progress < 100 {
		st.Failure = failure
		s.logger.Debug("collection cannot finish loading", "collection", collectionID, "err", failure)
	}
	if lastErr != nil {
		// A node that cannot answer counts as not loaded: its replica is
		// unhealthy until the node's session ends and its shards move.
		// Said at warn once a minute per node (clients poll the state):
		// else a load stuck at 0% left nothing in the log.
		if s.progressWarn.Allow(lastErrNode) {
			s.logger.Warn("cannot read a query node's load progress", "collection", collectionID, "node", lastErrNode, "err", lastErr)
		} else {
			s.logger.Debug("load progress of a query node", "collection", collectionID, "node", lastErrNode, "err", lastErr)
		}
	}
	return st, nil
}

// everyMinute lets one warning a minute through for each key.
type everyMinute struct {
	mu   sync.Mutex
	last map[int64]time.Time
}

// Allow reports whether key's warning may be logged now.
func (e *everyMinute) Allow(key int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if t, ok := e.last[key]; ok && now.Sub(t) < time.Minute {
		return false
	}
	if e.last == nil {
		e.last = map[int64]time.Time{}
	}
	e.last[key] = now
	return true
}

// progressTimeout bounds one node's answer to State.
const progressTimeout = 2 * time.Second

// handoff tells every node serving the segment's shard, in every replica,
// to serve a flushed (or newly indexed) segment of a loaded collection.
func (s *Server) handoff(ctx context.Context, collectionID int64, seg model.Segment) error {
	s.mu.Lock()
	_, loaded := s.loaded[collectionID]
	var nodes []int64
	for _, r := range s.replicas[collectionID] {
		if n := r.Channels[seg.VChannel]; n != 0 && !contains(nodes, n) {
			nodes = append(nodes, n)
		}
	}
	s.mu.Unlock()
	if !loaded || len(nodes) == 0 {
		return nil
	}
	idx, err := s.d.Indexes.SegmentIndexes(ctx, seg.ID)
	if err != nil {
		return fmt.Errorf("querycoord: hand off segment %d: %w", seg.ID, err)
	}
	var errList []error
	for _, n := range nodes {
		qn, err := s.d.Nodes.Node(ctx, n)
		if err == nil {
			err = qn.SyncSegment(ctx, collectionID, contract.SegmentPlan{Segment: seg, Indexes: idx})
		}
		if err != nil {
			errList = append(errList, fmt.Errorf("querycoord: hand off segment %d to query node %d: %w", seg.ID, n, err))
		}
	}
	return errors.Join(errList...)
}

// PartitionDropped stops serving a dropped partition's segments on every
// node serving the collection.
func (s *Server) PartitionDropped(ctx context.Context, c *model.Collection, partitionID int64) error {
	s.mu.Lock()
	nodes := s.nodesOfLocked(c.ID)
	s.mu.Unlock()
	var errList []error
	for _, n := range nodes {
		qn, err := s.d.Nodes.Node(ctx, n)
		if err == nil {
			err = qn.DropSegments(ctx, c.ID, partitionID)
		}
		if err != nil {
			errList = append(errList, fmt.Errorf("querycoord: drop segments of partition %d on query node %d: %w", partitionID, n, err))
		}
	}
	return errors.Join(errList...)
}

// ServingNodes lists the live nodes serving any shard of a collection (the
// nodes a schema change or a truncation must reach).
func (s *Server) ServingNodes(collectionID int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodesOfLocked(collectionID)
}

// resizeLocked changes a loaded collection's number of replicas: new
// replicas take nodes from the group's others (evened out), dropped ones
// (the newest) give theirs back, and nodes stop serving what they lost.
func (s *Server) resizeLocked(ctx context.Context, c *model.Collection, n int32) error {
	rs := s.replicas[c.ID]
	if int(n) > len(rs) {
		if nodes := s.rgNodesLocked(DefaultResourceGroup); int(n) > len(nodes) {
			return fmt.Errorf("failed to spawn replica for collection: %w", errs.ResourceGroupNodeNotEnough(DefaultResourceGroup, len(nodes), int(n)))
		}
		first, err := s.d.IDs.AllocID(ctx, int64(int(n)-len(rs)))
		if err != nil {
			return fmt.Errorf("querycoord: allocate replica IDs: %w", err)
		}
		for i := range int(n) - len(rs) {
			r := &replica{ID: first + int64(i), CollectionID: c.ID, ResourceGroup: DefaultResourceGroup, Channels: map[string]int64{}}
			for _, vc := range c.VChannels {
				r.Channels[vc] = 0
			}
			rs = append(rs, r)
		}
	} else {
		for _, r := range rs[n:] {
			for vc := range r.Channels {
				r.unassign(vc, s)
			}
			if err := s.d.KV.Delete(ctx, replicaKey(r)); err != nil {
				return fmt.Errorf("querycoord: drop replica %d: %w", r.ID, err)
			}
		}
		rs = rs[:n]
	}
	s.replicas[c.ID] = rs
	s.rebalanceLocked(rs)
	for _, r := range rs {
		if err := s.saveReplica(ctx, r); err != nil {
			return err
		}
	}
	delete(s.full, c.ID)
	return nil
}
