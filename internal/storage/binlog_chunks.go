package storage

import (
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// EncodeFloatVectorChunks returns EncodeColumn(column.Concat(chunks)) byte
// for byte, without building the concatenation: a data node flushing a
// segment holds its vectors once (its insert batches) plus the file, not
// twice plus the file. ok is false, and nothing is encoded, unless every
// chunk is a non-nullable FloatVector of one valid dimension; the caller
// then concatenates.
func EncodeFloatVectorChunks(chunks []column.Column) (file []byte, ok bool) {
	if !littleEndian || len(chunks) == 0 {
		return nil, false
	}
	dim, values := 0, 0
	for _, c := range chunks {
		v, isFloat := c.(*column.FloatVector)
		if !isFloat || v.Valid != nil || v.Dim <= 0 || v.Dim > maxVectorDim || len(v.Data)%v.Dim != 0 || (dim != 0 && v.Dim != dim) {
			return nil, false
		}
		dim = v.Dim
		values += len(v.Data)
	}
	h := header{magic: magicBinlog, dataType: int32(schemapb.DataType_FloatVector), rows: int64(values / dim), dim: int64(dim)}
	w := newWriter(nil, align8(4*values))
	// What section does for one slice, over the chunks in turn: the
	// running checksum does not depend on where the bytes were split.
	w.sum()
	for _, c := range chunks {
		for p := bytesOf(c.(*column.FloatVector).Data); len(p) > 0; {
			n := min(len(p), crcChunk)
			w.b = append(w.b, p[:n]...)
			w.sum()
			p = p[n:]
		}
	}
	w.pad()
	return w.finish(h), true
}
