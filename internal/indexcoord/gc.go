package indexcoord

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// Builds lists every build record, any state, by build ID; the build
// running now is reported InProgress (the data coordinator's garbage
// collection keeps its segment's files until it ends).
func (s *Server) Builds(ctx context.Context) ([]model.SegmentIndex, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]model.SegmentIndex, 0, len(s.builds))
	for _, b := range s.builds {
		c := *b
		if c.BuildID == s.running {
			c.State = commonpb.IndexState_InProgress
		} else if c.State == commonpb.IndexState_InProgress {
			c.State = commonpb.IndexState_Unissued // queued, not running
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BuildID < out[j].BuildID })
	return out, nil
}

// DropSegmentIndexes forgets the builds of segments that no longer exist
// (compacted away, dropped); the caller deletes their files. The build
// running now is kept.
func (s *Server) DropSegmentIndexes(ctx context.Context, segmentIDs []int64) error {
	gone := map[int64]bool{}
	for _, id := range segmentIDs {
		gone[id] = true
	}
	s.mu.Lock()
	var ops []kv.Op
	var ids []int64
	for id, b := range s.builds {
		if gone[b.SegmentID] && id != s.running {
			ops = append(ops, kv.Op{Key: prefixBuild + strconv.FormatInt(id, 10), Delete: true})
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	if len(ops) == 0 {
		return nil
	}
	if _, err := s.d.KV.Txn(ctx, nil, ops); err != nil {
		return fmt.Errorf("indexcoord: drop builds of dropped segments: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.builds, id)
	}
	return nil
}
