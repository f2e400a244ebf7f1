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
		out[id] = owned(col.Take(idx))
	}
	return out, nil
}

// owned gives c's variable-length rows memory of their own. A sealed
// segment's JSON, geometry and sparse rows alias its memory-mapped binlogs
// (Take copies only their slice headers), and the mapping is closed once
// the segment has left the shard and no read holds it, while fetched rows
// travel on in results: in process the proxy marshals them after the read
// has released the segment, and a row still pointing into the file would
// fault there.
func owned(c column.Column) column.Column {
	switch c := c.(type) {
	case *column.Scalar[[]byte]:
		c.Data = copyRows(c.Data)
	case *column.SparseVector:
		c.Rows = copyRows(c.Rows)
	}
	return c
}

// copyRows copies rows into one new allocation, in place; nil rows stay nil.
func copyRows(rows [][]byte) [][]byte {
	n := 0
	for _, r := range rows {
		n += len(r)
	}
	arena := make([]byte, 0, n)
	for i, r := range rows {
		if r == nil {
			continue
		}
		start := len(arena)
		arena = append(arena, r...)
		rows[i] = arena[start:len(arena):len(arena)]
	}
	return rows
}
