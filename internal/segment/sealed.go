package segment

import (
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

// Sealed is an immutable segment: its rows are fixed at construction and
// only deletes change what reads see. Its columns may alias memory-mapped
// files: nothing here ever writes to them.
type Sealed struct {
	*core
}

var _ Segment = (*Sealed)(nil)

// NewSealed returns a sealed segment over ts and cols (one column per
// schema field, len(ts) rows each; the dynamic field and nullable fields may
// be left out as in Growing.Append). indexes maps vector field IDs to built
// indexes whose row i is segment row i; a field without an index is
// searched by brute force. The segment keeps references to everything it
// is given; the caller must not modify any of it.
func NewSealed(id, partitionID int64, schema *schemapb.CollectionSchema, ts []uint64, cols map[int64]column.Column, indexes map[int64]index.Index) (*Sealed, error) {
	l, err := parseSchema(schema)
	if err != nil {
		return nil, err
	}
	n := len(ts)
	if n > maxRows {
		return nil, fmt.Errorf("segment %d: %d rows exceed %d: %w", id, n, maxRows, errs.ErrSegmentLoadFailed)
	}
	c := newCore(id, partitionID, l, true)
	for cid := range cols {
		if _, ok := l.fields[cid]; !ok && cid != RowIDFieldID && cid != TimestampFieldID {
			return nil, fmt.Errorf("segment %d: %w: %w", id, errs.FieldNotFound(cid, "not in the schema"), errs.ErrSegmentLoadFailed)
		}
	}
	for _, fi := range l.order {
		col, ok := cols[fi.id]
		if !ok {
			if col, ok = fi.fillColumn(n); !ok {
				return nil, fmt.Errorf("segment %d: %w: %w", id, errs.FieldNotFound(fi.schema.GetName(), "missing"), errs.ErrSegmentLoadFailed)
			}
		}
		if err := fi.checkColumn(col, n); err != nil {
			return nil, fmt.Errorf("segment %d: %w: %w", id, err, errs.ErrSegmentLoadFailed)
		}
		c.cols[fi.id] = col
	}
	for fid, idx := range indexes {
		fi, ok := l.fields[fid]
		if !ok || (!isVectorType(fi.typ) && fi.typ != schemapb.DataType_ArrayOfVector) {
			return nil, fmt.Errorf("segment %d: index on field %d, which is not a vector field: %w", id, fid, errs.ErrSegmentLoadFailed)
		}
		if idx == nil {
			continue
		}
		if fi.nullable {
			var err error
			if idx, err = newValidRowsIndex(idx, c.cols[fid], n); err != nil {
				return nil, fmt.Errorf("segment %d: index on field %q: %w: %w", id, fi.schema.GetName(), err, errs.ErrSegmentLoadFailed)
			}
		}
		if idx.Len() != n {
			return nil, fmt.Errorf("segment %d: index on field %q holds %d rows, segment %d: %w", id, fi.schema.GetName(), idx.Len(), n, errs.ErrSegmentLoadFailed)
		}
		if c.indexes == nil {
			c.indexes = map[int64]index.Index{}
		}
		c.indexes[fid] = idx
	}
	c.ts = ts[:n:n]
	c.n = n
	for _, t := range ts {
		c.maxTs = max(c.maxTs, t)
	}
	return &Sealed{core: c}, nil
}

// SetStats records the min and max of a field, for pruning: a filter that
// implements Pruner and rules the range out skips the segment. The values
// are handed to the filter as given.
func (s *Sealed) SetStats(fieldID int64, min, max any) {
	s.stats.set(fieldID, min, max)
}

// HasIndex reports whether field fieldID is searched through an index.
func (s *Sealed) HasIndex(fieldID int64) bool { return s.indexes[fieldID] != nil }
