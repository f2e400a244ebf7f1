package datanode

import (
	"context"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/segment"
)

// collections resolves collections by ID (the root coordinator).
type collections interface {
	DescribeCollection(ctx context.Context, db, name string, id int64) (*model.Collection, error)
}

// A field added to a collection (AddCollectionField) appears in the log
// from some insert on: a segment buffered across the change holds rows
// without it and rows with it. alignBefore and alignAfter keep every
// field's chunks covering every buffered row by filling the rows that lack
// a field with what they read as (default or null), so the flushed binlog
// has one value per row. A field no buffered row has gets no binlog at all:
// the query node fills it when it loads the segment.

// fieldSchema returns field id of vs's collection, fetching the current
// definition when the one the channel was watched with lacks it.
func (p *pipeline) fieldSchema(ctx context.Context, vs *vstate, id int64) (*schemapb.FieldSchema, error) {
	if f := vs.coll.FieldByID(id); f != nil {
		return f, nil
	}
	if p.d.Collections == nil {
		return nil, bad(fmt.Errorf("datanode: %s: field %d is not in the schema", vs.name, id))
	}
	c, err := p.d.Collections.DescribeCollection(ctx, "", "", vs.coll.ID)
	if err != nil {
		return nil, fmt.Errorf("datanode: refresh schema of %s: %w", vs.name, err)
	}
	if c.UpdateTS >= vs.coll.UpdateTS {
		vs.coll = c
	}
	if f := vs.coll.FieldByID(id); f != nil {
		return f, nil
	}
	return nil, bad(fmt.Errorf("datanode: %s: field %d is not in the schema", vs.name, id))
}

// alignBefore gives every field of an insert that the buffer has not seen
// yet a first chunk covering the rows buffered before it.
func (p *pipeline) alignBefore(ctx context.Context, vs *vstate, buf *segBuffer, fieldIDs []int64) error {
	rows := len(buf.ts)
	for _, id := range fieldIDs {
		if _, seen := buf.cols[id]; seen || rows == 0 {
			continue
		}
		f, err := p.fieldSchema(ctx, vs, id)
		if err != nil {
			return err
		}
		fill, ok := segment.FillColumn(f, rows)
		if !ok {
			return bad(fmt.Errorf("datanode: segment %d: field %q has neither a default nor null", buf.id, f.GetName()))
		}
		buf.cols[id] = []column.Column{fill}
	}
	return nil
}

// alignAfter fills n rows of every buffered field an insert of n rows left out.
func (p *pipeline) alignAfter(ctx context.Context, vs *vstate, buf *segBuffer, fieldIDs []int64, n int) error {
	for id := range buf.cols {
		if containsID(fieldIDs, id) {
			continue
		}
		f, err := p.fieldSchema(ctx, vs, id)
		if err != nil {
			return err
		}
		fill, ok := segment.FillColumn(f, n)
		if !ok {
			return bad(fmt.Errorf("datanode: segment %d: insert lacks field %q, which has neither a default nor null", buf.id, f.GetName()))
		}
		buf.cols[id] = append(buf.cols[id], fill)
	}
	return nil
}

func containsID(list []int64, x int64) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}
