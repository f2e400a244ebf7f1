package storage

import (
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
)

// ArrayOfVector columns (struct array vector sub-fields: one embedding list
// per row) are stored as Array columns are: one variable-length value per
// row, the presence byte then the row's VectorField in protobuf, with the
// vector type in the header's element type.

func encodeVectorArray(dst []byte, h header, s *column.Scalar[*schemapb.VectorField]) ([]byte, error) {
	if !column.IsVector(s.ElementType) {
		return nil, fmt.Errorf("storage: encode ArrayOfVector: invalid element type %s", s.ElementType)
	}
	if s.Valid != nil {
		return nil, fmt.Errorf("storage: encode ArrayOfVector: vector arrays cannot be nullable")
	}
	h.elemType = int32(s.ElementType)
	rows := make([][]byte, len(s.Data))
	opts := proto.MarshalOptions{Deterministic: true}
	for i, v := range s.Data {
		if v == nil {
			v = &schemapb.VectorField{}
		}
		b, err := opts.MarshalAppend([]byte{arrayRowPresent}, v)
		if err != nil {
			return nil, fmt.Errorf("storage: encode ArrayOfVector row %d: %w", i, err)
		}
		rows[i] = b
	}
	enc, err := encodeVar(dst, h, &column.Scalar[[]byte]{Type: s.Type, Data: rows},
		func(v []byte) int { return len(v) }, func(b, v []byte) []byte { return append(b, v...) })
	if err != nil {
		return nil, fmt.Errorf("storage: encode ArrayOfVector: %w", err)
	}
	return enc, nil
}

func decodeVectorArray(r *reader, h header, n int64, nullable bool) (column.Column, error) {
	elem := schemapb.DataType(h.elemType)
	if !column.IsVector(elem) {
		return nil, corruptf("%s: invalid vector element type %d", r.what, h.elemType)
	}
	if nullable {
		return nil, corruptf("%s: vector arrays cannot be nullable", r.what)
	}
	s := &column.Scalar[*schemapb.VectorField]{Type: schemapb.DataType_ArrayOfVector, ElementType: elem}
	rows, err := readBlobs(r, n, "rows")
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return s, nil
	}
	s.Data = make([]*schemapb.VectorField, n)
	for i, row := range rows {
		if len(row) == 0 || row[0] != arrayRowPresent {
			return nil, corruptf("%s: row %d lacks the presence byte", r.what, i)
		}
		v := &schemapb.VectorField{}
		if err := proto.Unmarshal(row[1:], v); err != nil {
			return nil, corruptf("%s: row %d: %v", r.what, i, err)
		}
		s.Data[i] = v
	}
	return s, nil
}
