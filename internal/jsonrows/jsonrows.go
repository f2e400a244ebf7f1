// Package jsonrows converts the JSON values of rows (objects keyed by field
// name) into the schemapb.FieldData columns of an insert for a collection
// schema. It is shared by the REST insert/upsert and the JSON import; each
// caller keeps its own rules (auto-ID, unknown keys, error texts) through
// Options and wraps the returned errors.
package jsonrows

import (
	"encoding/json"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// MetaKey is the dynamic field's name; rows may not use it as a key.
const MetaKey = "$meta"

// Options are a caller's rules for ToColumns.
type Options struct {
	// Omit names fields that are known but get no column here (an
	// auto-ID primary key, columns read elsewhere); their keys are
	// ignored. Function output fields are always omitted.
	Omit map[string]bool
	// Missing is the error for a missing or null value of a field that is
	// neither nullable nor has a default value.
	Missing func(row int, field string) error
	// Fill, when set, gives the value a missing or null field (neither
	// nullable nor defaulted) takes instead of Missing's error; nil means
	// none (Milvus's REST converts an absent VarChar as ""). An empty,
	// non-nil value gives a JSON field the empty payload.
	Fill func(f *schemapb.FieldSchema) json.RawMessage
	// Unknown is the error for a key that is not a field when the schema
	// has no dynamic field; nil skips such keys.
	Unknown func(row int, key string) error
	// Sparse, when set, reads a sparse vector instead of ParseSparse
	// (Milvus's REST server has its own rules and texts); its error is
	// returned as is.
	Sparse func(v json.RawMessage) (row []byte, dim int64, err error)
	// HalfVector, when set, reads a Float16Vector or BFloat16Vector value
	// into the row's little-endian bytes instead of the conversion from
	// an array of floats (Milvus's REST server also takes the bytes in
	// base64, as they are: NaN and ±Inf too, for the proxy to refuse); its
	// error is returned as is.
	HalfVector func(f *schemapb.FieldSchema, v json.RawMessage) ([]byte, error)
	// Cell, when set, reads every non-null value first (a caller's own
	// conversion rules and texts, such as Milvus's REST server's): its
	// error is returned as is, and the value it returns is converted in
	// place of the one given.
	Cell func(f *schemapb.FieldSchema, v json.RawMessage) (json.RawMessage, error)
}

// ToColumns converts n rows, row(i) giving row i's object, into columns:
//   - every schema field not omitted is a column; a missing or null value
//     is a null slot when the field is nullable or has a default value
//     (filled later by the insert validation), else opts.Missing;
//   - keys that are not fields go, per row, into one JSON object in the
//     dynamic field when the schema has one, else opts.Unknown decides.
//
// An error from row is returned as is; other errors are plain texts for the
// caller to wrap.
func ToColumns(schema *schemapb.CollectionSchema, n int, row func(i int) (map[string]json.RawMessage, error), opts Options) ([]*schemapb.FieldData, error) {
	type target struct {
		f   *schemapb.FieldSchema
		col column.Column
		dim int
	}
	var targets []*target
	byName := map[string]*target{}
	var dynamic *schemapb.FieldSchema
	for _, f := range schema.GetFields() {
		if f.GetIsDynamic() {
			dynamic = f
			continue
		}
		if f.GetIsFunctionOutput() || opts.Omit[f.GetName()] {
			byName[f.GetName()] = nil // known, never given (or read elsewhere)
			continue
		}
		dim := 0
		if column.IsVector(f.GetDataType()) && f.GetDataType() != schemapb.DataType_SparseFloatVector {
			d, err := FieldDim(f)
			if err != nil {
				return nil, err
			}
			dim = d
		}
		col, err := column.New(f.GetDataType(), dim, f.GetElementType())
		if err != nil {
			return nil, err
		}
		if t := f.GetDataType(); t == schemapb.DataType_Timestamptz || t == schemapb.DataType_Geometry {
			// ISO-8601 strings, sent on as string_data for the proxy to
			// read in the collection's time zone, and WKT text, sent as
			// geometry_wkt_data (as Milvus's REST server does).
			col = &column.Scalar[string]{Type: t}
		}
		t := &target{f: f, col: col, dim: dim}
		targets = append(targets, t)
		byName[f.GetName()] = t
	}
	var meta *column.Scalar[[]byte]
	if dynamic != nil {
		meta = &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: make([][]byte, 0, n)}
	}
	for i := range n {
		obj, err := row(i)
		if err != nil {
			return nil, err
		}
		for _, t := range targets {
			v, ok := obj[t.f.GetName()]
			if !ok || IsNull(v) {
				if t.f.GetNullable() || (t.f.GetDefaultValue() != nil && !column.IsVector(t.f.GetDataType())) {
					appendNull(t.col)
					continue
				}
				if opts.Fill == nil {
					return nil, opts.Missing(i, t.f.GetName())
				}
				if v = opts.Fill(t.f); v == nil {
					return nil, opts.Missing(i, t.f.GetName())
				}
			}
			if opts.Cell != nil && len(v) > 0 {
				if v, err = opts.Cell(t.f, v); err != nil {
					return nil, err
				}
			}
			if sv, ok := t.col.(*column.SparseVector); ok && opts.Sparse != nil {
				row, dim, err := opts.Sparse(v)
				if err != nil {
					return nil, err
				}
				sv.Rows = append(sv.Rows, row)
				sv.Dim = max(sv.Dim, dim)
				sv.Valid = validVector(sv.Valid)
				continue
			}
			if bv, ok := t.col.(*column.ByteVector); ok && opts.HalfVector != nil &&
				(bv.Type == schemapb.DataType_Float16Vector || bv.Type == schemapb.DataType_BFloat16Vector) {
				b, err := opts.HalfVector(t.f, v)
				if err != nil {
					return nil, err
				}
				bv.Data = append(bv.Data, b...)
				bv.Valid = validVector(bv.Valid)
				continue
			}
			if err := appendValue(t.col, t.f, t.dim, v); err != nil {
				return nil, fmt.Errorf("row %d: field %s: %v", i, t.f.GetName(), err)
			}
		}
		var extra map[string]json.RawMessage
		for k, v := range obj {
			if _, known := byName[k]; known {
				continue
			}
			if dynamic == nil {
				if opts.Unknown != nil {
					return nil, opts.Unknown(i, k)
				}
				continue
			}
			if k == MetaKey {
				return nil, fmt.Errorf("row %d: %s is the dynamic field's name and cannot be a key", i, MetaKey)
			}
			if extra == nil {
				extra = map[string]json.RawMessage{}
			}
			extra[k] = v
		}
		if meta != nil {
			b := []byte("{}")
			if len(extra) > 0 {
				if b, err = json.Marshal(extra); err != nil {
					return nil, fmt.Errorf("row %d: dynamic fields: %v", i, err)
				}
			}
			meta.Data = append(meta.Data, b)
		}
	}
	out := make([]*schemapb.FieldData, 0, len(targets)+1)
	for _, t := range targets {
		out = append(out, column.ToFieldData(t.col, t.f))
	}
	if meta != nil {
		out = append(out, column.ToFieldData(meta, dynamic))
	}
	return out, nil
}
