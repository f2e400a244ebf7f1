package querycoord

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Automatic shard balance (Milvus's querycoord balance checker with
// queryCoord.autoBalance and autoBalanceChannel on): a query node that
// joins a replica serves nothing until shards are moved onto it, so the
// checker evens out each replica's shards per node. In every replica of a
// fully loaded collection it moves one shard from the node serving the most
// to the node serving the fewest while they differ by two or more, one
// move per replica per round.
//
// A move is a handoff that costs no read: the destination loads the shard
// while the source keeps serving it and stays its reported leader
// (Replicas, GetShardLeaders); only once the destination reports the
// collection loaded does the leader change and the source stop serving
// it. A proxy that still routes to the source (its leader cache lasts
// 3 s) is answered "not serving", retries the other replicas and
// refreshes its leaders within the same request.

// shardKey names one shard of one replica.
type shardKey struct {
	replica  int64
	vchannel string
}

// move is one planned shard handoff.
type move struct {
	r        *replica
	vchannel string
	from, to int64
}

// RunBalancer balances the shards every interval (Milvus's
// queryCoord.autoBalanceInterval, 3 s by default) until ctx ends.
func (s *Server) RunBalancer(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if n, err := s.BalanceShards(ctx); err != nil {
			s.logger.Warn("shard balance", "moved", n, "err", err)
		} else if n > 0 {
			s.logger.Info("shards balanced", "moved", n)
		}
	}
}

// BalanceShards runs one round of the balance checker: it plans at most one
// move per replica, hands each shard over and returns how many moved.
func (s *Server) BalanceShards(ctx context.Context) (int, error) {
	s.mu.Lock()
	moves := s.planMovesLocked()
	for _, m := range moves {
		m.r.Channels[m.vchannel] = m.to
		s.moving[shardKey{m.r.ID, m.vchannel}] = m.from
		s.addPendingLocked(nodeLoad{m.to, m.r.CollectionID})
	}
	var errList []error
	for _, r := range movedReplicas(moves) {
		if err := s.saveReplica(ctx, r); err != nil {
			errList = append(errList, err)
		}
	}
	if err := errors.Join(errList...); err != nil {
		s.abortMovesLocked(moves)
		s.mu.Unlock()
		return 0, err
	}
	if err := s.syncPendingLocked(ctx); err != nil {
		errList = append(errList, err)
	}
	s.mu.Unlock()
	done := 0
	for _, m := range moves {
		s.logger.Info("moving shard", "collection", m.r.CollectionID, "replica", m.r.ID, "channel", m.vchannel, "from", m.from, "to", m.to)
		err := s.waitNodeLoaded(ctx, m.to, m.r.CollectionID)
		s.mu.Lock()
		delete(s.moving, shardKey{m.r.ID, m.vchannel})
		if _, live := s.live[m.from]; live {
			s.addPendingLocked(nodeLoad{m.from, m.r.CollectionID})
		}
		s.mu.Unlock()
		if err != nil {
			errList = append(errList, fmt.Errorf("querycoord: move shard %s to node %d: %w", m.vchannel, m.to, err))
			continue
		}
		done++
	}
	s.mu.Lock()
	if err := s.syncPendingLocked(ctx); err != nil {
		errList = append(errList, err)
	}
	s.mu.Unlock()
	return done, errors.Join(errList...)
}

// planMovesLocked picks, in each replica of each fully loaded collection
// with no handoff under way and every shard served, a shard of the node
// serving the most to move to the one serving the fewest, when they differ
// by two or more.
func (s *Server) planMovesLocked() []move {
	var moves []move
	for _, id := range slices.Sorted(maps.Keys(s.replicas)) {
		if _, ok := s.loaded[id]; !ok || !s.full[id] {
			continue
		}
		for _, r := range s.replicas[id] {
			if len(r.Nodes) < 2 || s.handingOverLocked(r) {
				continue
			}
			count := map[int64]int{}
			for _, n := range r.Nodes {
				if _, live := s.live[n]; live {
					count[n] = 0
				}
			}
			complete := true
			for _, n := range r.Channels {
				if _, ok := count[n]; !ok {
					complete = false
					break
				}
				count[n]++
			}
			if !complete || len(count) < 2 {
				continue
			}
			nodes := slices.Sorted(maps.Keys(count))
			by := func(a, b int64) int { return cmp.Or(cmp.Compare(count[a], count[b]), cmp.Compare(a, b)) }
			small, big := slices.MinFunc(nodes, by), slices.MaxFunc(nodes, by)
			if count[big]-count[small] < 2 {
				continue
			}
			for _, vc := range slices.Sorted(maps.Keys(r.Channels)) {
				if r.Channels[vc] == big {
					moves = append(moves, move{r: r, vchannel: vc, from: big, to: small})
					break
				}
			}
		}
	}
	return moves
}

func (s *Server) handingOverLocked(r *replica) bool {
	for k := range s.moving {
		if k.replica == r.ID {
			return true
		}
	}
	return false
}

// abortMovesLocked undoes planned moves that could not be saved.
func (s *Server) abortMovesLocked(moves []move) {
	for _, m := range moves {
		m.r.Channels[m.vchannel] = m.from
		delete(s.moving, shardKey{m.r.ID, m.vchannel})
	}
}

func movedReplicas(moves []move) []*replica {
	var out []*replica
	for _, m := range moves {
		if !slices.Contains(out, m.r) {
			out = append(out, m.r)
		}
	}
	return out
}

// leaderLocked is the node a shard's readers should use: the handoff's
// source while the shard moves, else its assigned node.
func (s *Server) leaderLocked(r *replica, vchannel string) int64 {
	if from, ok := s.moving[shardKey{r.ID, vchannel}]; ok {
		if _, live := s.live[from]; live {
			return from
		}
	}
	return r.Channels[vchannel]
}
