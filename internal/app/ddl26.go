package app

import (
	"context"
	"fmt"

	"github.com/milvago/milvago/internal/model"
)

// CollectionSchemaChanged gives the query node and the data node a
// collection's new schema (a field added or altered) before the change is
// acknowledged, so reads can name the new field at once and the data node
// buffers and flushes under it.
func (h *hooks) CollectionSchemaChanged(ctx context.Context, c *model.Collection) error {
	if err := h.s.qnode.UpdateCollection(c); err != nil {
		return fmt.Errorf("app: schema change of collection %d: %w", c.ID, err)
	}
	h.s.dnode.UpdateCollection(c)
	return nil
}

// CollectionTruncated drops a truncated collection's flushed segments from
// the data coordinator (so plans and row counts forget them) and from the
// query node. Their files stay in the object store until the collection is
// dropped.
func (h *hooks) CollectionTruncated(ctx context.Context, c *model.Collection, segmentIDs []int64) error {
	if err := h.s.data.DropSegments(ctx, c.ID, segmentIDs); err != nil {
		return err
	}
	h.s.qnode.DropSegmentIDs(c.ID, segmentIDs)
	return nil
}
