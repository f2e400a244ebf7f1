package indexcoord

import (
	"context"
	"fmt"
	"time"

	"github.com/milvago/milvago/internal/model"
)

// defaultReconcileEvery is how often Run compares the flushed segments
// with the builds, as Milvus's data coordinator does once a minute
// (createIndexForSegmentLoop).
const defaultReconcileEvery = time.Minute

// reconcileRetry is how soon a reconciliation that failed (the data
// coordinator not reachable yet, typically at start) is tried again.
const reconcileRetry = 5 * time.Second

// reconcileLoop schedules the builds that SegmentFlushed never asked for:
// a flush or a compaction whose notice was lost (the data coordinator
// restarted between its commit and the notice, or this coordinator was
// not reachable). It runs once at start, then every ReconcileEvery, and
// sooner again after a failure. The comparison is in memory except for
// one segment listing per collection that has an index.
func (s *Server) reconcileLoop(ctx context.Context) {
	every := s.d.ReconcileEvery
	if every <= 0 {
		every = defaultReconcileEvery
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next := every
		if n, err := s.reconcile(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.Warn("index builds: compare flushed segments with builds", "err", err)
			next = min(every, reconcileRetry)
		} else if n > 0 {
			s.logger.Warn("index builds scheduled for flushed segments no notice announced", "builds", n)
		}
		t.Reset(next)
	}
}

// reconcile schedules a build of every index for every flushed segment
// of its collection that has none, and returns how many it scheduled.
func (s *Server) reconcile(ctx context.Context) (int, error) {
	s.mu.Lock()
	byCollection := map[int64][]*model.IndexDef{}
	for _, def := range s.defs {
		byCollection[def.CollectionID] = append(byCollection[def.CollectionID], def)
	}
	have := make(map[scheduleKey]bool, len(s.builds))
	for _, b := range s.builds {
		have[scheduleKey{b.IndexID, b.SegmentID}] = true
	}
	s.mu.Unlock()
	scheduled := 0
	for coll, defs := range byCollection {
		segs, err := s.d.Segments.Segments(ctx, coll, "")
		if err != nil {
			return scheduled, fmt.Errorf("indexcoord: segments of collection %d: %w", coll, err)
		}
		for _, seg := range segs {
			if seg.State != model.SegmentFlushed {
				continue
			}
			for _, def := range defs {
				if have[scheduleKey{def.ID, seg.ID}] {
					continue
				}
				if err := s.schedule(ctx, def, seg); err != nil {
					return scheduled, fmt.Errorf("indexcoord: schedule build of index %q for segment %d: %w", def.Name, seg.ID, err)
				}
				scheduled++
			}
		}
	}
	return scheduled, nil
}
