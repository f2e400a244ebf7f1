package segment

import (
	"fmt"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/expr"
)

// Scalar indexes (INVERTED, BITMAP, STL_SORT, TRIE, NGRAM, JSON path
// indexes) of a sealed segment, built by the index nodes and attached by
// the query node after loading. The filter engine asks for them through
// expr.ScalarIndexes and uses them where its cost model prefers them.

// ScalarIndex is a loaded scalar index of one field (or JSON path).
type ScalarIndex interface {
	expr.ScalarIndex
	FieldID() int64
	// Path is the JSON path the index covers; nil for a non-JSON field.
	Path() []string
	// Len is the number of rows of the segment it was built on.
	Len() int
}

// AddScalarIndex attaches a scalar index. Call it before the segment is
// shared with readers (it is not synchronized with them).
func (s *Sealed) AddScalarIndex(idx ScalarIndex) error {
	c := s.core
	fi, ok := c.layout.fields[idx.FieldID()]
	if !ok {
		return fmt.Errorf("segment %d: scalar index on field %d, which is not in the schema: %w", c.id, idx.FieldID(), errs.ErrSegmentLoadFailed)
	}
	if isVectorType(fi.typ) {
		return fmt.Errorf("segment %d: scalar index on vector field %q: %w", c.id, fi.schema.GetName(), errs.ErrSegmentLoadFailed)
	}
	if (fi.typ == schemapb.DataType_JSON) != (idx.Path() != nil) {
		return fmt.Errorf("segment %d: scalar index on field %q: JSON path mismatch: %w", c.id, fi.schema.GetName(), errs.ErrSegmentLoadFailed)
	}
	if idx.Len() != c.n {
		return fmt.Errorf("segment %d: scalar index on field %q holds %d rows, segment %d: %w", c.id, fi.schema.GetName(), idx.Len(), c.n, errs.ErrSegmentLoadFailed)
	}
	c.scalar = append(c.scalar, idx)
	return nil
}

// ScalarIndexCount is the number of attached scalar indexes.
func (s *Sealed) ScalarIndexCount() int { return len(s.core.scalar) }

// ScalarIndex implements expr.ScalarIndexes for the rows present at the call.
func (s *snapshot) ScalarIndex(fieldID int64, path []string) expr.ScalarIndex {
	c := s.c
	if !c.sealed || s.n != c.n {
		return nil
	}
	for _, idx := range c.scalar {
		if idx.FieldID() == fieldID && slices.Equal(idx.Path(), path) && !isFlat(idx) {
			return idx
		}
	}
	// A JSON flat index on a prefix of the path.
	for _, idx := range c.scalar {
		f, ok := idx.(flatIndex)
		if !ok || !f.Flat() || idx.FieldID() != fieldID || path == nil {
			continue
		}
		if p := idx.Path(); len(p) <= len(path) && slices.Equal(p, path[:len(p)]) {
			if sub := f.Sub(path[len(p):]); sub != nil {
				return sub
			}
		}
	}
	return nil
}

// flatIndex is a JSON flat index (json_cast_type JSON): it serves every
// path below its own through Sub.
type flatIndex interface {
	Flat() bool
	Sub(rel []string) expr.ScalarIndex
}

func isFlat(idx ScalarIndex) bool {
	f, ok := idx.(flatIndex)
	return ok && f.Flat()
}

// ScalarIndex implements expr.ScalarIndexes.
func (c *core) ScalarIndex(fieldID int64, path []string) expr.ScalarIndex {
	return c.snapshot().ScalarIndex(fieldID, path)
}
