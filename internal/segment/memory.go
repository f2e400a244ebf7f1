package segment

import (
	"google.golang.org/protobuf/proto"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// MemoryBytes estimates the bytes the segment's rows and bookkeeping
// occupy: column data (memory-mapped or not), timestamps, delete slots and
// the primary-key index, and a growing segment's interim indexes. Sealed
// indexes report their own size.
func (c *core) MemoryBytes() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	total := int64(c.n)*8 + int64(len(c.deletedAt))*8
	for _, col := range c.cols {
		total += columnBytes(col)
	}
	switch {
	case c.sealed:
		total += int64(c.n) * 4 // pkSorted, once built
	case c.pkInts != nil:
		total += int64(c.pkInts.mapped()) * 24
	default:
		total += int64(c.pkStrs.mapped()) * 40
	}
	return total + c.interimBytes()
}

func columnBytes(col column.Column) int64 {
	switch v := col.(type) {
	case *column.Chunked: // a growing segment's vectors: the chunks allocated
		var w int
		switch p := v.Proto().(type) {
		case *column.FloatVector:
			w = 4 * p.Dim
		case *column.ByteVector:
			w = p.RowBytes()
		}
		return int64(v.CapRows()) * int64(w)
	case *column.FloatVector:
		return int64(len(v.Data)) * 4
	case *column.ByteVector:
		return int64(len(v.Data))
	case *column.SparseVector:
		var b int64
		for _, r := range v.Rows {
			b += int64(len(r)) + 24
		}
		return b
	case *column.Scalar[string]:
		var b int64
		for _, s := range v.Data {
			b += int64(len(s)) + 16
		}
		return b + int64(len(v.Valid))
	case *column.Scalar[[]byte]:
		var b int64
		for _, s := range v.Data {
			b += int64(len(s)) + 24
		}
		return b + int64(len(v.Valid))
	case *column.Scalar[*schemapb.ScalarField]:
		return int64(len(v.Data))*64 + int64(len(v.Valid))
	case *column.Scalar[*schemapb.VectorField]:
		var b int64
		for _, r := range v.Data {
			b += int64(proto.Size(r)) + 48
		}
		return b
	}
	width := int64(8)
	switch col.DataType() {
	case schemapb.DataType_Bool, schemapb.DataType_Int8:
		width = 1
	case schemapb.DataType_Int16:
		width = 2
	case schemapb.DataType_Int32, schemapb.DataType_Float:
		width = 4
	}
	return int64(col.Len()) * width // validity bytes of nullable columns left out
}
