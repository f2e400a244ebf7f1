package datacoord

import (
	"context"
	"fmt"

	"github.com/milvago/milvago/internal/model"
)

// notifyFlushed tells every listener of segs (flushed, compacted,
// clustered or imported; what names which in the log). The segments'
// change is committed whatever a listener answers, so a listener's error
// (the query coordinator unreachable or restarting, a query node refusing
// the handoff) is not returned: the notice is sent again later
// (internal/notice), with the segment as it is then. A segment whose
// record is gone by then (dropped and collected) needs no notice.
func (s *Server) notifyFlushed(ctx context.Context, what string, segs ...*model.Segment) {
	s.mu.Lock()
	listeners := append([]Listener(nil), s.listeners...)
	s.mu.Unlock()
	for _, seg := range segs {
		for i, l := range listeners {
			snapshot := *seg
			err := l.SegmentFlushed(ctx, &snapshot)
			if err == nil {
				continue
			}
			s.logger.Warn("notify "+what+" segment, retrying", "segment", seg.ID, "err", err)
			id := seg.ID
			s.notices.Failed(fmt.Sprintf("datacoord listener %d: segment %d flushed", i, id), func(ctx context.Context) error {
				cur, ok, _ := s.Segment(ctx, id)
				if !ok {
					return nil
				}
				return l.SegmentFlushed(ctx, &cur)
			})
		}
	}
}
