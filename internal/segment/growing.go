package segment

import (
	"fmt"
	"math"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
)

// maxRows bounds a segment so that offsets fit the int32 primary-key index.
const maxRows = math.MaxInt32

// growingChunkRows is the rows of one chunk of a growing segment's
// fixed-width vector column (column.Chunked): appending never copies the
// rows stored, where one slice grown by reallocation held the old and the
// new buffer during each copy (the largest part of an ingest's peak heap).
// The interim index adds one chunk of interimChunkRows at a step, the same
// rows; at dim 128 a chunk is 512 KiB, at 768 3 MiB, so that a segment's
// last, partly filled chunk wastes little.
const growingChunkRows = interimChunkRows

// Growing is an append-only in-memory segment fed by the log. Appends and
// reads may run concurrently: a read sees the rows published before it
// started.
type Growing struct {
	*core
	interimCfg InterimIndexConfig // what the interim indexes were made with (WithSchema)
}

var _ Segment = (*Growing)(nil)

// NewGrowing returns an empty growing segment for schema, with Milvus's
// default interim index.
func NewGrowing(id, partitionID int64, schema *schemapb.CollectionSchema) (*Growing, error) {
	return NewGrowingWithInterim(id, partitionID, schema, DefaultInterimIndexConfig())
}

// NewGrowingWithInterim returns an empty growing segment for schema whose
// vector fields get the interim index interim describes (validated by the
// caller: InterimIndexConfig.Validate).
func NewGrowingWithInterim(id, partitionID int64, schema *schemapb.CollectionSchema, interim InterimIndexConfig) (*Growing, error) {
	l, err := parseSchema(schema)
	if err != nil {
		return nil, err
	}
	c := newCore(id, partitionID, l, false)
	for _, fi := range l.order {
		col, err := column.New(fi.typ, fi.dim, fi.elemType)
		if err != nil {
			return nil, fmt.Errorf("segment %d: field %q: %w: %w", id, fi.schema.GetName(), err, errs.ErrCollectionIllegalSchema)
		}
		switch col.(type) {
		case *column.FloatVector, *column.ByteVector:
			col = column.NewChunked(col, growingChunkRows)
		}
		c.cols[fi.id] = col
	}
	c.interim = newInterimSet(l, interim)
	return &Growing{core: c, interimCfg: interim}, nil
}

// Append adds len(ts) rows. cols must hold every schema field with len(ts)
// rows of the field's type and dimension; the dynamic field may be left out
// (every row gets "{}") and so may a nullable field (every row is null).
// Append validates everything before publishing anything: on error no row
// is added. The segment keeps references to the values of cols (vector rows
// and strings are not copied): the caller must not modify them afterwards.
func (g *Growing) Append(ts []uint64, cols map[int64]column.Column) error {
	n := len(ts)
	if n == 0 {
		return nil
	}
	for id := range cols {
		if id == RowIDFieldID || id == TimestampFieldID {
			continue
		}
		if _, ok := g.fields[id]; !ok {
			return fmt.Errorf("segment %d: append: %w", g.id, errs.FieldNotFound(id, "not in the schema"))
		}
	}
	in := make(map[int64]column.Column, len(g.order))
	for _, fi := range g.order {
		col, ok := cols[fi.id]
		if !ok {
			if col, ok = fi.fillColumn(n); !ok {
				return fmt.Errorf("segment %d: append: %w", g.id, errs.FieldNotFound(fi.schema.GetName(), "missing from the insert"))
			}
		}
		if err := fi.checkColumn(col, n); err != nil {
			return fmt.Errorf("segment %d: append: %w", g.id, err)
		}
		in[fi.id] = col
	}
	var maxTs uint64
	for _, t := range ts {
		maxTs = max(maxTs, t)
	}

	defer g.kickInterim() // after the unlock below: builds run in the background
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n+n > maxRows {
		return fmt.Errorf("segment %d: append of %d rows to %d exceeds %d: %w", g.id, n, g.n, maxRows, errs.ErrParameterTooLarge)
	}
	lo := g.n
	for id, col := range in {
		g.cols[id].Append(col)
	}
	g.ts = append(g.ts, ts...)
	if g.deletedAt != nil {
		g.deletedAt = slices.Grow(g.deletedAt, n)[:lo+n]
		clear(g.deletedAt[lo:])
	}
	g.indexPK(in[g.pk.id], lo)
	g.maxTs = max(g.maxTs, maxTs)
	g.n += n
	return nil
}

// Columns returns a consistent snapshot of every row: insert timestamps and
// every schema field, capped so that later appends do not show through.
// The caller must not modify them.
func (g *Growing) Columns() (ts []uint64, cols map[int64]column.Column) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	cols = make(map[int64]column.Column, len(g.cols))
	for id := range g.cols {
		cols[id] = g.columnLocked(id, g.n)
	}
	return g.ts[:g.n:g.n], cols
}
