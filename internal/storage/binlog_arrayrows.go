package storage

import (
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
)

// ArrayRows is an Array column with its rows left in their stored form: the
// presence byte, then the row's protobuf; empty for a missing (nil) row.
// Moving Array rows between binlogs (a flush merging its pieces) needs no
// per-row protobuf decode and encode this way, which for a segment of a few
// Array fields was most of the flush's CPU time.
type ArrayRows struct {
	ElementType schemapb.DataType
	Rows        [][]byte
	Valid       []bool // nil: not nullable
}

// Len is the number of rows.
func (a *ArrayRows) Len() int { return len(a.Rows) }

// ArrayRowsOf encodes the rows of an Array column to their stored form.
func ArrayRowsOf(s *column.Scalar[*schemapb.ScalarField]) (*ArrayRows, error) {
	if !validElementType(s.ElementType) {
		return nil, fmt.Errorf("storage: encode Array: invalid element type %s", s.ElementType)
	}
	rows := make([][]byte, len(s.Data))
	opts := proto.MarshalOptions{Deterministic: true}
	for i, v := range s.Data {
		if v == nil {
			continue
		}
		b, err := opts.MarshalAppend([]byte{arrayRowPresent}, v)
		if err != nil {
			return nil, fmt.Errorf("storage: encode Array row %d: %w", i, err)
		}
		rows[i] = b
	}
	return &ArrayRows{ElementType: s.ElementType, Rows: rows, Valid: s.Valid}, nil
}

// DecodeArrayRows is DecodeColumnPaging for an Array binlog that keeps the
// rows in their stored form. The rows alias data.
func DecodeArrayRows(data []byte, read func(upTo int)) (*ArrayRows, error) {
	r, h, dt, nullable, err := openBinlog(data, read)
	if err != nil {
		return nil, err
	}
	if dt != schemapb.DataType_Array {
		return nil, fmt.Errorf("storage: decode Array rows: the binlog holds %s", dt)
	}
	a, err := decodeArrayRows(r, h, h.rows, nullable)
	if err != nil {
		return nil, err
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return a, nil
}

// ConcatArrayRows joins parts in order. The result is nullable when any
// part is; a part without validity flags contributes valid rows.
func ConcatArrayRows(parts []*ArrayRows) (*ArrayRows, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("storage: concat Array rows: no parts")
	}
	out := &ArrayRows{ElementType: parts[0].ElementType}
	n, nullable := 0, false
	for _, p := range parts {
		if p.ElementType != out.ElementType {
			return nil, fmt.Errorf("storage: concat Array rows: element types %s and %s", out.ElementType, p.ElementType)
		}
		n += p.Len()
		nullable = nullable || p.Valid != nil
	}
	out.Rows = make([][]byte, 0, n)
	if nullable {
		out.Valid = make([]bool, 0, n)
	}
	for _, p := range parts {
		out.Rows = append(out.Rows, p.Rows...)
		if !nullable {
			continue
		}
		if p.Valid != nil {
			out.Valid = append(out.Valid, p.Valid...)
			continue
		}
		for range p.Rows {
			out.Valid = append(out.Valid, true)
		}
	}
	return out, nil
}

// EncodeArrayRows writes an Array binlog, the same bytes EncodeColumn
// writes for the decoded column.
func EncodeArrayRows(a *ArrayRows) ([]byte, error) {
	if !littleEndian {
		return nil, errBigEndian
	}
	h := header{magic: magicBinlog, dataType: int32(schemapb.DataType_Array), rows: int64(a.Len())}
	return appendArrayRows(nil, h, a)
}

func appendArrayRows(dst []byte, h header, a *ArrayRows) ([]byte, error) {
	if !validElementType(a.ElementType) {
		return nil, fmt.Errorf("storage: encode Array: invalid element type %s", a.ElementType)
	}
	h.elemType = int32(a.ElementType)
	enc, err := encodeVar(dst, h, &column.Scalar[[]byte]{Type: schemapb.DataType_Array, Data: a.Rows, Valid: a.Valid},
		func(v []byte) int { return len(v) }, func(b, v []byte) []byte { return append(b, v...) })
	if err != nil {
		return nil, fmt.Errorf("storage: encode Array: %w", err)
	}
	return enc, nil
}
