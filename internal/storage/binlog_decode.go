package storage

import (
	"unsafe"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
)

// maxVectorDim bounds the dimension a binlog may declare (Milvus allows
// 32768; the margin keeps old files readable if the limit is raised).
const maxVectorDim = 1 << 20

// DecodeColumn decodes an insert binlog written by EncodeColumn. It checks
// the header and payload checksums and every length and offset, returning an
// error wrapping ErrCorrupt for malformed input.
//
// Fixed-width values, validity flags, JSON, Geometry and sparse rows alias
// data (see the package comment): the caller must keep data alive and
// unmodified while the column is in use. Strings and Array rows are copied.
func DecodeColumn(data []byte) (column.Column, error) {
	return DecodeColumnPaging(data, nil)
}

// DecodeColumnPaging is DecodeColumn for a memory-mapped binlog: its
// checksum pass calls read(n) (when not nil) each time it has read
// data[:n] (see checksumPaging), so the caller can drop those pages from
// the resident set as the pass goes; the decode itself reads little but
// the header, and what it reads faults back in.
func DecodeColumnPaging(data []byte, read func(upTo int)) (column.Column, error) {
	r, h, dt, nullable, err := openBinlog(data, read)
	if err != nil {
		return nil, err
	}
	c, err := decodeBody(r, h, dt, nullable)
	if err != nil {
		return nil, err
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return c, nil
}

// openBinlog checks an insert binlog's header (and, through
// readHeaderPaging, its checksums) and returns a reader at its body.
func openBinlog(data []byte, read func(upTo int)) (*reader, header, schemapb.DataType, bool, error) {
	if !littleEndian {
		return nil, header{}, 0, false, errBigEndian
	}
	h, err := readHeaderPaging(data, magicBinlog, read)
	if err != nil {
		return nil, header{}, 0, false, err
	}
	dt := schemapb.DataType(h.dataType)
	if _, ok := schemapb.DataType_name[h.dataType]; !ok {
		return nil, header{}, 0, false, corruptf("binlog: unknown data type %d", h.dataType)
	}
	r := &reader{b: data, off: headerSize, what: "binlog " + dt.String()}
	if h.rows > int64(len(data)) {
		return nil, header{}, 0, false, corruptf("%s: %d rows cannot fit in %d bytes", r.what, h.rows, len(data))
	}
	if h.flags&^flagNullable != 0 {
		return nil, header{}, 0, false, corruptf("%s: unknown flags %#x", r.what, h.flags)
	}
	nullable := h.flags&flagNullable != 0
	if dt != schemapb.DataType_Array && dt != schemapb.DataType_ArrayOfVector && h.elemType != 0 {
		return nil, header{}, 0, false, corruptf("%s: element type %d on a non-Array column", r.what, h.elemType)
	}
	if !column.IsVector(dt) && h.dim != 0 {
		return nil, header{}, 0, false, corruptf("%s: dim %d on a scalar column", r.what, h.dim)
	}
	return r, h, dt, nullable, nil
}

func decodeBody(r *reader, h header, dt schemapb.DataType, nullable bool) (column.Column, error) {
	n := h.rows
	switch dt {
	case schemapb.DataType_Bool:
		s := &column.Scalar[bool]{Type: dt}
		if err := readValidity(r, s, n, nullable); err != nil {
			return nil, err
		}
		p, err := r.section(n, "values")
		if err != nil {
			return nil, err
		}
		if s.Data, err = bools(p, r.what, "value"); err != nil {
			return nil, err
		}
		return s, nil
	case schemapb.DataType_Int8:
		return decodeFixed[int8](r, dt, n, nullable)
	case schemapb.DataType_Int16:
		return decodeFixed[int16](r, dt, n, nullable)
	case schemapb.DataType_Int32:
		return decodeFixed[int32](r, dt, n, nullable)
	case schemapb.DataType_Int64, schemapb.DataType_Timestamptz:
		return decodeFixed[int64](r, dt, n, nullable)
	case schemapb.DataType_Float:
		return decodeFixed[float32](r, dt, n, nullable)
	case schemapb.DataType_Double:
		return decodeFixed[float64](r, dt, n, nullable)
	case schemapb.DataType_String, schemapb.DataType_VarChar, schemapb.DataType_Text:
		return decodeStrings(r, dt, n, nullable)
	case schemapb.DataType_JSON, schemapb.DataType_Geometry:
		s := &column.Scalar[[]byte]{Type: dt}
		if err := readValidity(r, s, n, nullable); err != nil {
			return nil, err
		}
		rows, err := readBlobs(r, n, "values")
		if err != nil {
			return nil, err
		}
		s.Data = rows
		return s, nil
	case schemapb.DataType_Array:
		return decodeArray(r, h, n, nullable)
	case schemapb.DataType_ArrayOfVector:
		return decodeVectorArray(r, h, n, nullable)
	case schemapb.DataType_FloatVector:
		if h.dim <= 0 || h.dim > maxVectorDim {
			return nil, corruptf("%s: dim %d out of range", r.what, h.dim)
		}
		valid, err := readVectorValidity(r, n, nullable)
		if err != nil {
			return nil, err
		}
		p, err := r.section(n*h.dim*4, "vectors")
		if err != nil {
			return nil, err
		}
		return &column.FloatVector{Dim: int(h.dim), Data: view[float32](p, int(n*h.dim)), Valid: valid}, nil
	case schemapb.DataType_BinaryVector, schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector, schemapb.DataType_Int8Vector:
		if h.dim <= 0 || h.dim > maxVectorDim || (dt == schemapb.DataType_BinaryVector && h.dim%8 != 0) {
			return nil, corruptf("%s: dim %d out of range", r.what, h.dim)
		}
		valid, err := readVectorValidity(r, n, nullable)
		if err != nil {
			return nil, err
		}
		w := int64(column.VectorRowBytes(dt, int(h.dim)))
		p, err := r.section(n*w, "vectors")
		if err != nil {
			return nil, err
		}
		if len(p) == 0 {
			p = nil
		}
		return &column.ByteVector{Type: dt, Dim: int(h.dim), Data: p, Valid: valid}, nil
	case schemapb.DataType_SparseFloatVector:
		if h.dim < 0 {
			return nil, corruptf("%s: negative dim %d", r.what, h.dim)
		}
		valid, err := readVectorValidity(r, n, nullable)
		if err != nil {
			return nil, err
		}
		rows, err := readBlobs(r, n, "rows")
		if err != nil {
			return nil, err
		}
		for i, row := range rows {
			if len(row)%8 != 0 {
				return nil, corruptf("%s: row %d has %d bytes, not whole (index, value) pairs", r.what, i, len(row))
			}
		}
		return &column.SparseVector{Dim: h.dim, Rows: rows, Valid: valid}, nil
	}
	return nil, corruptf("%s: data type cannot be stored in a binlog", r.what)
}

func readValidity[T any](r *reader, s *column.Scalar[T], n int64, nullable bool) error {
	if !nullable {
		return nil
	}
	p, err := r.section(n, "validity")
	if err != nil {
		return err
	}
	s.Valid, err = bools(p, r.what, "validity")
	if s.Valid == nil && err == nil {
		s.Valid = []bool{}
	}
	return err
}

// readVectorValidity reads the validity section of a nullable vector column.
func readVectorValidity(r *reader, n int64, nullable bool) ([]bool, error) {
	s := &column.Scalar[bool]{}
	err := readValidity(r, s, n, nullable)
	return s.Valid, err
}

func decodeFixed[T int8 | int16 | int32 | int64 | float32 | float64](r *reader, dt schemapb.DataType, n int64, nullable bool) (column.Column, error) {
	s := &column.Scalar[T]{Type: dt}
	if err := readValidity(r, s, n, nullable); err != nil {
		return nil, err
	}
	var zero T
	p, err := r.section(n*int64(unsafe.Sizeof(zero)), "values")
	if err != nil {
		return nil, err
	}
	s.Data = view[T](p, int(n))
	return s, nil
}

// readBlobs reads an offsets section and the blob it indexes, and returns
// each row as a sub-slice of the blob (capacity clipped to the row).
func readBlobs(r *reader, n int64, name string) ([][]byte, error) {
	off, err := r.offsets(n, name)
	if err != nil {
		return nil, err
	}
	end := off[n]
	if end > uint64(len(r.b)) {
		return nil, corruptf("%s: %s blob of %d bytes runs past the end", r.what, name, end)
	}
	blob, err := r.section(int64(end), name+" blob")
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	rows := make([][]byte, n)
	for i := range rows {
		lo, hi := off[i], off[i+1]
		if lo != hi {
			rows[i] = blob[lo:hi:hi]
		}
	}
	return rows, nil
}

// decodeStrings copies the string blob once into a Go string and slices
// every row out of it, so no string ever points into a mapped file.
func decodeStrings(r *reader, dt schemapb.DataType, n int64, nullable bool) (column.Column, error) {
	s := &column.Scalar[string]{Type: dt}
	if err := readValidity(r, s, n, nullable); err != nil {
		return nil, err
	}
	off, err := r.offsets(n, "values")
	if err != nil {
		return nil, err
	}
	end := off[n]
	if end > uint64(len(r.b)) {
		return nil, corruptf("%s: string blob of %d bytes runs past the end", r.what, end)
	}
	blob, err := r.section(int64(end), "values blob")
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return s, nil
	}
	arena := string(blob)
	s.Data = make([]string, n)
	for i := range s.Data {
		s.Data[i] = arena[off[i]:off[i+1]]
	}
	return s, nil
}

// validElementType reports whether an Array may hold elements of type t:
// any known scalar type other than Array itself.
func validElementType(t schemapb.DataType) bool {
	_, known := schemapb.DataType_name[int32(t)]
	return known && t != schemapb.DataType_Array && !column.IsVector(t)
}

func decodeArray(r *reader, h header, n int64, nullable bool) (column.Column, error) {
	raw, err := decodeArrayRows(r, h, n, nullable)
	if err != nil {
		return nil, err
	}
	s := &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: raw.ElementType, Valid: raw.Valid}
	if n == 0 {
		return s, nil
	}
	s.Data = make([]*schemapb.ScalarField, n)
	for i, row := range raw.Rows {
		if len(row) == 0 {
			continue
		}
		v := &schemapb.ScalarField{}
		if err := proto.Unmarshal(row[1:], v); err != nil {
			return nil, corruptf("%s: row %d: %v", r.what, i, err)
		}
		s.Data[i] = v
	}
	return s, nil
}

// decodeArrayRows reads an Array body without decoding its rows: each row
// stays in its stored form (the presence byte, then the protobuf), empty
// for a missing one.
func decodeArrayRows(r *reader, h header, n int64, nullable bool) (*ArrayRows, error) {
	elem := schemapb.DataType(h.elemType)
	if !validElementType(elem) {
		return nil, corruptf("%s: invalid element type %d", r.what, h.elemType)
	}
	valid := &column.Scalar[[]byte]{}
	if err := readValidity(r, valid, n, nullable); err != nil {
		return nil, err
	}
	rows, err := readBlobs(r, n, "rows")
	if err != nil {
		return nil, err
	}
	for i, row := range rows {
		if len(row) != 0 && row[0] != arrayRowPresent {
			return nil, corruptf("%s: row %d starts with %#x, not the presence byte", r.what, i, row[0])
		}
	}
	return &ArrayRows{ElementType: elem, Rows: rows, Valid: valid.Valid}, nil
}
