package storage

import (
	"bytes"
	"hash/crc32"
	"io"

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
	f, ok := NewFloatVectorChunksFile(chunks)
	if !ok {
		return nil, false
	}
	b := bytes.NewBuffer(make([]byte, 0, f.Size()))
	if _, err := f.WriteTo(b); err != nil { // a bytes.Buffer does not fail
		return nil, false
	}
	return b.Bytes(), true
}

// FloatVectorChunksFile is the file EncodeFloatVectorChunks returns, as a
// stream (an io.WriterTo for a store that writes objects as they come):
// the checksum is computed by a first pass over the chunks, then the
// header and the vectors are written from the chunks themselves, so the
// file never exists in memory. NewFloatVectorChunksFile's ok is as
// EncodeFloatVectorChunks's.
type FloatVectorChunksFile struct {
	chunks  []column.Column
	h       header
	release func(i int)
}

// NewFloatVectorChunksFile checks chunks and checksums them.
func NewFloatVectorChunksFile(chunks []column.Column) (*FloatVectorChunksFile, bool) {
	return NewFloatVectorChunksFileReleasing(chunks, nil)
}

// NewFloatVectorChunksFileReleasing is NewFloatVectorChunksFile calling
// release(i) (when not nil) each time it is done reading chunk i, in the
// checksum pass and in every WriteTo: chunks that view memory-mapped files
// (a data node merging a segment's synced pieces) can be dropped from the
// resident set as they are passed, so that writing the file keeps one
// chunk resident at a time instead of all of them.
func NewFloatVectorChunksFileReleasing(chunks []column.Column, release func(i int)) (*FloatVectorChunksFile, bool) {
	if !littleEndian || len(chunks) == 0 {
		return nil, false
	}
	dim, values := 0, 0
	var crc uint32
	for i, c := range chunks {
		v, isFloat := c.(*column.FloatVector)
		if !isFloat || v.Valid != nil || v.Dim <= 0 || v.Dim > maxVectorDim || len(v.Data)%v.Dim != 0 || (dim != 0 && v.Dim != dim) {
			return nil, false
		}
		dim = v.Dim
		values += len(v.Data)
		crc = crc32.Update(crc, castagnoli, bytesOf(v.Data))
		if release != nil {
			release(i)
		}
	}
	size := 4 * values
	crc = crc32.Update(crc, castagnoli, make([]byte, align8(size)-size))
	h := header{magic: magicBinlog, dataType: int32(schemapb.DataType_FloatVector), rows: int64(values / dim), dim: int64(dim),
		payloadLen: uint64(align8(size)), payloadCRC: crc}
	return &FloatVectorChunksFile{chunks: chunks, h: h, release: release}, true
}

// Size is the file's length in bytes.
func (f *FloatVectorChunksFile) Size() int64 { return headerSize + int64(f.h.payloadLen) }

// WriteTo implements io.WriterTo; it may be called more than once.
func (f *FloatVectorChunksFile) WriteTo(w io.Writer) (int64, error) {
	var hb [headerSize]byte
	putHeader(hb[:], f.h)
	n, err := w.Write(hb[:])
	total := int64(n)
	if err != nil {
		return total, err
	}
	for i, c := range f.chunks {
		n, err := w.Write(bytesOf(c.(*column.FloatVector).Data))
		total += int64(n)
		if err != nil {
			return total, err
		}
		if f.release != nil {
			f.release(i)
		}
	}
	n, err = w.Write(make([]byte, f.Size()-total))
	return total + int64(n), err
}
