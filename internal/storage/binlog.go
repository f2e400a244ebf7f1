package storage

import (
	"fmt"
	"reflect"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// Array rows are stored as a presence byte followed by the row's
// deterministic protobuf encoding; a nil row is stored as zero bytes.
const arrayRowPresent = 1

// EncodeColumn encodes c as an insert binlog (docs/format/binlog.md). The
// concrete type of c must be the one column.New returns for its data type.
func EncodeColumn(c column.Column) ([]byte, error) { return AppendColumn(nil, c) }

// AppendColumn appends the encoding of c to dst and returns the extended
// buffer (dst itself on error). Reusing dst across flushes saves allocating
// (and faulting in) a fresh buffer the size of the column each time.
func AppendColumn(dst []byte, c column.Column) ([]byte, error) {
	out, err := appendColumn(dst, c)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func appendColumn(dst []byte, c column.Column) ([]byte, error) {
	if !littleEndian {
		return nil, errBigEndian
	}
	if c == nil {
		return nil, fmt.Errorf("storage: encode nil column")
	}
	dt := c.DataType()
	h := header{magic: magicBinlog, dataType: int32(dt), rows: int64(c.Len())}
	if want, err := column.New(dt, 0, 0); err != nil {
		return nil, fmt.Errorf("storage: encode column: %w", err)
	} else if reflect.TypeOf(want) != reflect.TypeOf(c) {
		return nil, fmt.Errorf("storage: encode column: %s column held in a %T, want %T", dt, c, want)
	}
	switch s := c.(type) {
	case *column.Scalar[bool]:
		return encodeFixed(dst, h, s)
	case *column.Scalar[int8]:
		return encodeFixed(dst, h, s)
	case *column.Scalar[int16]:
		return encodeFixed(dst, h, s)
	case *column.Scalar[int32]:
		return encodeFixed(dst, h, s)
	case *column.Scalar[int64]:
		return encodeFixed(dst, h, s)
	case *column.Scalar[float32]:
		return encodeFixed(dst, h, s)
	case *column.Scalar[float64]:
		return encodeFixed(dst, h, s)
	case *column.Scalar[string]:
		return encodeVar(dst, h, s, func(v string) int { return len(v) }, func(b []byte, v string) []byte { return append(b, v...) })
	case *column.Scalar[[]byte]:
		return encodeVar(dst, h, s, func(v []byte) int { return len(v) }, func(b, v []byte) []byte { return append(b, v...) })
	case *column.Scalar[*schemapb.ScalarField]:
		return encodeArray(dst, h, s)
	case *column.Scalar[*schemapb.VectorField]:
		return encodeVectorArray(dst, h, s)
	case *column.FloatVector:
		if s.Dim <= 0 || s.Dim > maxVectorDim || len(s.Data)%s.Dim != 0 {
			return nil, fmt.Errorf("storage: encode FloatVector: %d values do not divide into rows of dim %d", len(s.Data), s.Dim)
		}
		h.dim = int64(s.Dim)
		vs, err := vectorValidity(&h, s.DataType(), s.Valid, s.Len())
		if err != nil {
			return nil, err
		}
		w := newWriter(dst, vs+align8(4*len(s.Data)))
		if s.Valid != nil {
			w.section(bytesOf(s.Valid))
		}
		w.section(bytesOf(s.Data))
		return w.finish(h), nil
	case *column.ByteVector:
		rb := s.RowBytes()
		if s.Dim <= 0 || s.Dim > maxVectorDim || rb <= 0 || len(s.Data)%rb != 0 || (s.Type == schemapb.DataType_BinaryVector && s.Dim%8 != 0) {
			return nil, fmt.Errorf("storage: encode %s: %d bytes do not divide into rows of dim %d", s.Type, len(s.Data), s.Dim)
		}
		h.dim = int64(s.Dim)
		vs, err := vectorValidity(&h, s.Type, s.Valid, s.Len())
		if err != nil {
			return nil, err
		}
		w := newWriter(dst, vs+align8(len(s.Data)))
		if s.Valid != nil {
			w.section(bytesOf(s.Valid))
		}
		w.section(s.Data)
		return w.finish(h), nil
	case *column.SparseVector:
		return encodeSparse(dst, h, s)
	}
	return nil, fmt.Errorf("storage: encode column: unsupported %T", c)
}

// validity checks s.Valid and, for a nullable column, sets the flag and
// returns the size of its validity section.
func validity[T any](h *header, s *column.Scalar[T]) (int, error) {
	if s.Valid == nil {
		return 0, nil
	}
	if len(s.Valid) != len(s.Data) {
		return 0, fmt.Errorf("storage: encode %s: %d validity flags for %d rows", s.Type, len(s.Valid), len(s.Data))
	}
	h.flags |= flagNullable
	return align8(len(s.Valid)), nil
}

// vectorValidity is validity for a nullable vector column of rows rows:
// its validity section precedes the vectors, which keep a zero-filled slot
// for each null row.
func vectorValidity(h *header, t schemapb.DataType, valid []bool, rows int) (int, error) {
	if valid == nil {
		return 0, nil
	}
	if len(valid) != rows {
		return 0, fmt.Errorf("storage: encode %s: %d validity flags for %d rows", t, len(valid), rows)
	}
	h.flags |= flagNullable
	return align8(len(valid)), nil
}

func encodeFixed[T any](dst []byte, h header, s *column.Scalar[T]) ([]byte, error) {
	vs, err := validity(&h, s)
	if err != nil {
		return nil, err
	}
	raw := bytesOf(s.Data)
	w := newWriter(dst, vs+align8(len(raw)))
	if s.Valid != nil {
		w.section(bytesOf(s.Valid))
	}
	w.section(raw)
	return w.finish(h), nil
}

func encodeVar[T any](dst []byte, h header, s *column.Scalar[T], size func(T) int, add func([]byte, T) []byte) ([]byte, error) {
	vs, err := validity(&h, s)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, v := range s.Data {
		total += size(v)
	}
	w := newWriter(dst, vs+8*(len(s.Data)+1)+align8(total))
	if s.Valid != nil {
		w.section(bytesOf(s.Valid))
	}
	w.offsets(len(s.Data), func(i int) int { return size(s.Data[i]) })
	for _, v := range s.Data {
		w.b = add(w.b, v)
	}
	w.pad()
	return w.finish(h), nil
}

func encodeArray(dst []byte, h header, s *column.Scalar[*schemapb.ScalarField]) ([]byte, error) {
	raw, err := ArrayRowsOf(s)
	if err != nil {
		return nil, err
	}
	return appendArrayRows(dst, h, raw)
}

func encodeSparse(dst []byte, h header, s *column.SparseVector) ([]byte, error) {
	if s.Dim < 0 {
		return nil, fmt.Errorf("storage: encode SparseFloatVector: negative dim %d", s.Dim)
	}
	for i, r := range s.Rows {
		if len(r)%8 != 0 {
			return nil, fmt.Errorf("storage: encode SparseFloatVector: row %d has %d bytes, not whole (index, value) pairs", i, len(r))
		}
	}
	h.dim = s.Dim
	return encodeVar(dst, h, &column.Scalar[[]byte]{Type: schemapb.DataType_SparseFloatVector, Data: s.Rows, Valid: s.Valid},
		func(v []byte) int { return len(v) }, func(b, v []byte) []byte { return append(b, v...) })
}
