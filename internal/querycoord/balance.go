package querycoord

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// QuerySegments lists the sealed segments of a loaded collection with the
// nodes serving them: a sealed segment is served by the node serving its
// shard in each replica (Milvago's shard leader holds its shard's sealed
// segments).
func (s *Server) QuerySegments(ctx context.Context, collectionID int64) ([]contract.QuerySegment, error) {
	s.mu.Lock()
	_, loaded := s.loaded[collectionID]
	byShard := map[string][]int64{}
	for _, r := range s.replicas[collectionID] {
		for vc, n := range r.Channels {
			if n != 0 && !slices.Contains(byShard[vc], n) {
				byShard[vc] = append(byShard[vc], n)
			}
		}
	}
	s.mu.Unlock()
	if !loaded {
		return nil, errs.CollectionNotLoaded(collectionID)
	}
	segs, err := s.d.Data.Segments(ctx, collectionID, "")
	if err != nil {
		return nil, fmt.Errorf("querycoord: segments of collection %d: %w", collectionID, err)
	}
	defs, err := s.d.Indexes.Indexes(ctx, collectionID)
	if err != nil {
		return nil, fmt.Errorf("querycoord: indexes of collection %d: %w", collectionID, err)
	}
	var out []contract.QuerySegment
	for _, seg := range segs {
		if seg.State != model.SegmentFlushed || len(byShard[seg.VChannel]) == 0 {
			continue
		}
		q := contract.QuerySegment{SegmentID: seg.ID, CollectionID: seg.CollectionID, PartitionID: seg.PartitionID, NumRows: seg.NumRows,
			MemSize: seg.SizeBytes, NodeIDs: slices.Sorted(slices.Values(byShard[seg.VChannel]))}
		idx, err := s.d.Indexes.SegmentIndexes(ctx, seg.ID)
		if err != nil {
			return nil, fmt.Errorf("querycoord: indexes of segment %d: %w", seg.ID, err)
		}
		for _, si := range idx {
			q.IndexID = si.IndexID
			for _, d := range defs {
				if d.ID == si.IndexID {
					q.IndexName = d.Name
				}
			}
		}
		out = append(out, q)
	}
	slices.SortFunc(out, func(a, b contract.QuerySegment) int { return cmp.Compare(a.SegmentID, b.SegmentID) })
	return out, nil
}

// LoadBalance moves sealed segments off a node to other nodes of its
// replica, with Milvus's checks. A shard's sealed segments live with its
// leader, so the shards holding them move: each to the destination node
// serving the fewest shards. The destination loads the shard before the
// source stops serving it, so reads keep working.
func (s *Server) LoadBalance(ctx context.Context, collectionID int64, src []int64, dst []int64, segmentIDs []int64) error {
	if len(src) != 1 {
		return errs.InvalidParameterValue("only 1 source node", fmt.Sprintf("%d source nodes", len(src)))
	}
	if st, err := s.State(ctx, collectionID); err != nil || !st.Loaded || st.Progress < 100 {
		return fmt.Errorf("can't balance segments of not fully loaded collection: %w", errs.CollectionNotFullyLoaded(collectionID))
	}
	node := src[0]
	s.mu.Lock()
	var r *replica
	for _, x := range s.replicas[collectionID] {
		if slices.Contains(x.Nodes, node) {
			r = x
		}
	}
	if r == nil {
		s.mu.Unlock()
		return errs.NodeNotFound(node, fmt.Sprintf("source node not found in any replica of collection %d", collectionID))
	}
	targets := dst
	if len(targets) == 0 {
		targets = r.Nodes
	}
	for _, d := range dst {
		if !slices.Contains(r.Nodes, d) {
			s.mu.Unlock()
			return errs.NodeNotFound(d, "destination node not found in the same replica")
		}
	}
	targets = slices.DeleteFunc(slices.Clone(targets), func(n int64) bool { return n == node })
	s.mu.Unlock()
	// The shards to move: those holding the named segments, or all the
	// source serves.
	var shards []string
	if len(segmentIDs) > 0 {
		segs, err := s.d.Data.Segments(ctx, collectionID, "")
		if err != nil {
			return fmt.Errorf("querycoord: segments of collection %d: %w", collectionID, err)
		}
		for _, id := range segmentIDs {
			i := slices.IndexFunc(segs, func(x model.Segment) bool { return x.ID == id && x.State == model.SegmentFlushed })
			if i < 0 || r.Channels[segs[i].VChannel] != node {
				return errs.SegmentNotFound(id, "segment not found in source node")
			}
			if !slices.Contains(shards, segs[i].VChannel) {
				shards = append(shards, segs[i].VChannel)
			}
		}
	}
	s.mu.Lock()
	if len(shards) == 0 {
		for vc, n := range r.Channels {
			if n == node {
				shards = append(shards, vc)
			}
		}
	}
	if len(targets) == 0 || len(shards) == 0 {
		s.mu.Unlock()
		return nil // nowhere to move, or nothing on the source
	}
	slices.Sort(shards)
	count := map[int64]int{}
	for _, n := range r.Channels {
		count[n]++
	}
	var moved []int64
	for _, vc := range shards {
		to := slices.MinFunc(targets, func(a, b int64) int { return cmp.Or(cmp.Compare(count[a], count[b]), cmp.Compare(a, b)) })
		r.Channels[vc] = to
		count[to]++
		s.addPendingLocked(nodeLoad{to, collectionID})
		if !slices.Contains(moved, to) {
			moved = append(moved, to)
		}
	}
	if err := s.saveReplica(ctx, r); err != nil {
		s.mu.Unlock()
		return err
	}
	err := s.syncPendingLocked(ctx)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("failed to balance segments: %w", err)
	}
	// Wait for the destinations to serve the shards, then stop the source's.
	for _, to := range moved {
		if err := s.waitNodeLoaded(ctx, to, collectionID); err != nil {
			return fmt.Errorf("failed to balance segments: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, live := s.live[node]; live {
		s.addPendingLocked(nodeLoad{node, collectionID})
	}
	return s.syncPendingLocked(ctx)
}

// waitNodeLoaded waits until a node reports a collection fully loaded.
func (s *Server) waitNodeLoaded(ctx context.Context, node, collectionID int64) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		qn, err := s.d.Nodes.Node(ctx, node)
		if err != nil {
			return err
		}
		p, _, err := qn.Progress(ctx, collectionID)
		if err == nil && p == 100 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("query node %d loading collection %d: %w", node, collectionID, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
