package segment

import (
	"fmt"
	"maps"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// FillColumn returns n rows of what a row that lacks field f reads as: its
// default value, "{}" for the dynamic field, or null if it is nullable. It
// reports false when the field has none of these (a row cannot lack it).
func FillColumn(f *schemapb.FieldSchema, n int) (column.Column, bool) {
	fi := &fieldInfo{schema: f, id: f.GetFieldID(), typ: f.GetDataType(), elemType: f.GetElementType(),
		nullable: f.GetNullable(), dynamic: f.GetIsDynamic()}
	if column.IsVector(fi.typ) && fi.typ != schemapb.DataType_SparseFloatVector {
		dim, err := vectorDim(f)
		if err != nil {
			return nil, false
		}
		fi.dim = dim
	}
	return fi.fillColumn(n)
}

// WithSchema returns a growing segment holding the same rows, insert
// timestamps and deletes under schema, a later version of the segment's
// schema (a field added: the rows read it as FillColumn says). The caller
// must stop appending to and deleting from g, and use the copy instead.
func (g *Growing) WithSchema(schema *schemapb.CollectionSchema) (*Growing, error) {
	ts, cols := g.Columns()
	// The copy keeps g's interim index configuration and the index types
	// it was told, so that its interim indexes build as g's did.
	var types map[int64]string
	if g.interim != nil {
		g.interim.typesMu.Lock()
		types = maps.Clone(g.interim.types)
		g.interim.typesMu.Unlock()
	}
	ng, err := NewGrowingWithInterim(g.id, g.partitionID, schema, g.interimCfg)
	if err != nil {
		return nil, err
	}
	for field, typ := range types {
		ng.SetIndexType(field, typ)
	}
	if err := ng.Append(ts, cols); err != nil {
		return nil, fmt.Errorf("segment %d: change schema: %w", g.id, err)
	}
	g.copyDeletes(ng.core, len(ts))
	return ng, nil
}

// WithSchema returns a sealed segment over the same columns, indexes,
// statistics and deletes under schema, a later version of the segment's
// schema. The copy shares s's memory: s's backing files must stay mapped
// while the copy is in use.
func (s *Sealed) WithSchema(schema *schemapb.CollectionSchema) (*Sealed, error) {
	cols := maps.Clone(s.cols)
	ns, err := NewSealed(s.id, s.partitionID, schema, s.ts, cols, s.indexes)
	if err != nil {
		return nil, fmt.Errorf("segment %d: change schema: %w", s.id, err)
	}
	s.stats.mu.RLock()
	for id, mm := range s.stats.m {
		ns.SetStats(id, mm[0], mm[1])
	}
	s.stats.mu.RUnlock()
	ns.indexMinAllowed = s.indexMinAllowed
	// The interim indexes (built, or building, over the same rows) go
	// with the copy: a schema change only adds fields.
	ns.interim = s.interim
	for _, idx := range s.scalar {
		// An index of a field the new schema lacks is dropped: it only
		// ever saved time.
		_ = ns.AddScalarIndex(idx)
	}
	s.copyDeletes(ns.core, len(s.ts))
	return ns, nil
}

// copyDeletes gives dst, a fresh copy of c's first n rows, c's deletes.
func (c *core) copyDeletes(dst *core, n int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.deletedAt == nil {
		return
	}
	dst.mu.Lock()
	defer dst.mu.Unlock()
	dst.deletedAt = slices.Clone(c.deletedAt[:n])
	dst.numDeleted = c.numDeleted
	dst.maxDelTs = c.maxDelTs
	dst.delVersion = c.delVersion + 1
}
