package segment

import (
	"context"
	"fmt"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
)

// Fetch implements Segment.
func (c *core) Fetch(ctx context.Context, offsets []int64, fieldIDs []int64) (map[int64]column.Column, error) {
	s := c.snapshot()
	idx := make([]int, len(offsets))
	for i, off := range offsets {
		if off < 0 || off >= int64(s.n) {
			return nil, fmt.Errorf("segment %d: fetch: %w", c.id, errs.InvalidParameter("offset %d out of range [0, %d)", off, s.n))
		}
		idx[i] = int(off)
	}
	out := make(map[int64]column.Column, len(fieldIDs))
	for _, id := range fieldIDs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if id == TimestampFieldID {
			out[id] = timestampColumn(s.ts, idx)
			continue
		}
		col, err := s.Column(id)
		if err != nil {
			return nil, fmt.Errorf("segment %d: fetch: %w", c.id, err)
		}
		out[id] = col.Take(idx)
	}
	return out, nil
}
