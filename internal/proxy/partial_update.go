package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/model"
)

// partialOps is a partial update's per-field operator (Milvus 2.6
// UpsertRequest.field_ops); a field without one is replaced.
type partialOps map[string]schemapb.FieldPartialUpdateOp_OpType

// fieldPartialOps is Milvus 2.6's validateFieldPartialUpdateOps: it checks
// the request's field_ops and reports whether any is not REPLACE (such an
// op makes the upsert a partial update by itself).
func fieldPartialOps(req *milvuspb.UpsertRequest, schema *schemapb.CollectionSchema) (partialOps, bool, error) {
	if len(req.GetFieldOps()) == 0 {
		return nil, false, nil
	}
	data := map[string]*schemapb.FieldData{}
	for _, fd := range req.GetFieldsData() {
		data[fd.GetFieldName()] = fd
	}
	ops := partialOps{}
	nonReplace := false
	for _, o := range req.GetFieldOps() {
		name := o.GetFieldName()
		if name == "" {
			return nil, false, errInvalidMsg("FieldPartialUpdateOp.field_name is required")
		}
		if _, dup := ops[name]; dup {
			return nil, false, errInvalidMsg("duplicate partial-update op for field %q", name)
		}
		ops[name] = o.GetOp()
		if o.GetOp() == schemapb.FieldPartialUpdateOp_REPLACE {
			continue
		}
		nonReplace = true
		var f *schemapb.FieldSchema
		for _, sf := range schema.GetFields() {
			if sf.GetName() == name {
				f = sf
			}
		}
		if f != nil && f.GetIsPrimaryKey() {
			return nil, false, errInvalidMsg("field %q is the primary key and cannot carry a partial-update op", name)
		}
		if f == nil {
			return nil, false, errInvalidMsg("field %q not found in collection schema", name)
		}
		switch o.GetOp() {
		case schemapb.FieldPartialUpdateOp_ARRAY_APPEND, schemapb.FieldPartialUpdateOp_ARRAY_REMOVE:
			if f.GetDataType() != schemapb.DataType_Array {
				return nil, false, errInvalidMsg("op %s requires Array field, but field %q is %s", o.GetOp(), name, f.GetDataType())
			}
		default:
			return nil, false, errInvalidMsg("unsupported partial update op: %s", o.GetOp())
		}
		fd, ok := data[name]
		if !ok {
			return nil, false, errInvalidMsg("partial-update op targets field %q not present in fields_data", name)
		}
		arr := fd.GetScalars().GetArrayData()
		if arr == nil {
			return nil, false, errInvalidMsg("partial-update op field %q payload is not an Array", name)
		}
		if got := arr.GetElementType(); got != schemapb.DataType_None && got != f.GetElementType() {
			return nil, false, errInvalidMsg("field %q expects element type %s but request provides %s", name, f.GetElementType(), got)
		}
		if o.GetOp() == schemapb.FieldPartialUpdateOp_ARRAY_APPEND {
			if limit := maxCapacity(f); limit >= 0 {
				for i, row := range arr.GetData() {
					if n := arrayLen(row, f.GetElementType()); n > limit {
						return nil, false, errInvalidMsg("ARRAY_APPEND payload for field %q row %d has length %d exceeding max_capacity %d",
							name, i, n, limit)
					}
				}
			}
		}
	}
	return ops, nonReplace, nil
}

// maxCapacity is an Array field's max_capacity, -1 when it has none.
func maxCapacity(f *schemapb.FieldSchema) int {
	for _, kv := range f.GetTypeParams() {
		if kv.GetKey() == "max_capacity" {
			if v, err := strconv.Atoi(kv.GetValue()); err == nil {
				return v
			}
			return -1
		}
	}
	return -1
}

// mergePartial is Milvus 2.6's upsertTask.queryPreExecute: it reads the
// stored rows of the request's primary keys and returns a full set of
// columns for the upsert. A row whose key exists keeps its stored value in
// every field the request leaves out, takes the request's value in the
// others (an Array field with ARRAY_APPEND / ARRAY_REMOVE combines both)
// and merges the dynamic field's keys into the stored ones. A new key is an
// insert: the fields it leaves out must be nullable or have a default.
func (s *Server) mergePartial(ctx context.Context, c *model.Collection, fields []*schemapb.FieldData, n int, ops partialOps) ([]*schemapb.FieldData, error) {
	pk := pkField(c)
	if err := checkUpsertKeys(pk, fields); err != nil {
		return nil, err
	}
	given := map[string]*schemapb.FieldData{}
	for _, fd := range fields {
		name := fd.GetFieldName()
		if fd.GetIsDynamic() {
			name = metaFieldName
		}
		given[name] = fd
	}
	pkData := given[pk.GetName()]
	if pkData == nil {
		return nil, errInvalidMsg("must assign pk when upsert, primary field: %s", pk.GetName())
	}
	keys, err := toColumn(pkData, pk, n, false)
	if err != nil {
		return nil, err
	}
	old, err := s.storedRows(ctx, c, keys)
	if err != nil {
		return nil, err
	}
	// at[i] is row i's index among the stored rows, -1 for a new key.
	at := make([]int, n)
	hasNew := false
	for i := range at {
		at[i] = -1
		if j, ok := old.index[keyAt(keys, i)]; ok {
			at[i] = j
		} else {
			hasNew = true
		}
	}
	out := make([]*schemapb.FieldData, 0, len(c.Schema.GetFields()))
	for _, f := range c.Schema.GetFields() {
		if f.GetIsFunctionOutput() {
			continue
		}
		name := f.GetName()
		if f.GetIsDynamic() {
			name = metaFieldName
		}
		fd := given[name]
		if fd == nil && hasNew && !f.GetIsDynamic() && !f.GetNullable() && f.GetDefaultValue() == nil {
			// An insert missing a required field: the normal upsert path
			// reports it with Milvus's text.
			return fields, nil
		}
		if fd == nil && !hasNew {
			// Every row exists: the field keeps its stored values.
			stored := old.cols[f.GetFieldID()]
			if stored == nil {
				return nil, fmt.Errorf("partial update: no stored values of field %s", f.GetName())
			}
			out = append(out, column.Compact(column.ToFieldData(stored.Take(at), f)))
			continue
		}
		var col column.Column
		switch {
		case fd == nil && f.GetIsDynamic():
			col = emptyJSONRows(n)
		case fd == nil:
			if col, err = toColumn(nil, f, n, true); err != nil {
				return nil, err
			}
		default:
			if f.GetIsDynamic() {
				fd = &schemapb.FieldData{Type: schemapb.DataType_JSON, FieldName: f.GetName(), Field: fd.Field, ValidData: fd.GetValidData(), IsDynamic: true}
			}
			if col, err = toColumn(fd, f, n, false); err != nil {
				return nil, err
			}
		}
		merged, err := mergeColumn(f, col, fd != nil, old.cols[f.GetFieldID()], at, ops[f.GetName()])
		if err != nil {
			return nil, err
		}
		out = append(out, column.Compact(column.ToFieldData(merged, f)))
	}
	return out, nil
}

// mergeColumn builds a field's upsert column: req holds the request's (or
// the null/default) values of every row, stored the stored rows' values.
func mergeColumn(f *schemapb.FieldSchema, req column.Column, given bool, stored column.Column, at []int, op schemapb.FieldPartialUpdateOp_OpType) (column.Column, error) {
	n := len(at)
	if stored == nil || stored.Len() == 0 {
		return req, nil
	}
	both := req.Take(identity(n))
	both.Append(stored)
	idx := make([]int, n)
	for i, j := range at {
		idx[i] = i
		if j >= 0 && !given {
			idx[i] = n + j
		}
	}
	out := both.Take(idx)
	if !given {
		return out, nil
	}
	switch o := out.(type) {
	case *column.Scalar[*schemapb.ScalarField]:
		if op == schemapb.FieldPartialUpdateOp_REPLACE {
			return out, nil
		}
		st := stored.(*column.Scalar[*schemapb.ScalarField])
		for i, j := range at {
			if j < 0 || req.IsNull(i) {
				continue
			}
			row, err := applyArrayOp(st.Data[j], o.Data[i], op, f.GetElementType(), maxCapacity(f))
			if err != nil {
				return nil, errInvalidMsg("%v", err)
			}
			o.Data[i] = row
		}
	case *column.Scalar[[]byte]:
		if !f.GetIsDynamic() {
			return out, nil
		}
		st := stored.(*column.Scalar[[]byte])
		for i, j := range at {
			if j < 0 {
				continue
			}
			row, err := mergeJSONObjects(st.Data[j], o.Data[i])
			if err != nil {
				return nil, errInvalidMsg("invalid dynamic field data, only json map is supported: %v", err)
			}
			o.Data[i] = row
		}
	}
	return out, nil
}

// mergeJSONObjects overlays the keys of upd on base (the dynamic field's
// partial update).
func mergeJSONObjects(base, upd []byte) ([]byte, error) {
	m := map[string]json.RawMessage{}
	if len(base) > 0 {
		if err := json.Unmarshal(base, &m); err != nil {
			return nil, err
		}
	}
	var u map[string]json.RawMessage
	if err := json.Unmarshal(upd, &u); err != nil {
		return nil, err
	}
	for k, v := range u {
		m[k] = v
	}
	return json.Marshal(m)
}

// applyArrayOp is Milvus 2.6's typeutil.ApplyArrayRowOp for one row.
func applyArrayOp(base, upd *schemapb.ScalarField, op schemapb.FieldPartialUpdateOp_OpType, elem schemapb.DataType, limit int) (*schemapb.ScalarField, error) {
	switch op {
	case schemapb.FieldPartialUpdateOp_ARRAY_APPEND:
		out := &schemapb.ScalarField{}
		var n int
		switch elem {
		case schemapb.DataType_Bool:
			d := slices.Concat(base.GetBoolData().GetData(), upd.GetBoolData().GetData())
			n, out.Data = len(d), &schemapb.ScalarField_BoolData{BoolData: &schemapb.BoolArray{Data: d}}
		case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
			d := slices.Concat(base.GetIntData().GetData(), upd.GetIntData().GetData())
			n, out.Data = len(d), &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: d}}
		case schemapb.DataType_Int64:
			d := slices.Concat(base.GetLongData().GetData(), upd.GetLongData().GetData())
			n, out.Data = len(d), &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: d}}
		case schemapb.DataType_Float:
			d := slices.Concat(base.GetFloatData().GetData(), upd.GetFloatData().GetData())
			n, out.Data = len(d), &schemapb.ScalarField_FloatData{FloatData: &schemapb.FloatArray{Data: d}}
		case schemapb.DataType_Double:
			d := slices.Concat(base.GetDoubleData().GetData(), upd.GetDoubleData().GetData())
			n, out.Data = len(d), &schemapb.ScalarField_DoubleData{DoubleData: &schemapb.DoubleArray{Data: d}}
		case schemapb.DataType_VarChar, schemapb.DataType_String:
			d := slices.Concat(base.GetStringData().GetData(), upd.GetStringData().GetData())
			n, out.Data = len(d), &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: d}}
		default:
			return nil, fmt.Errorf("ARRAY_APPEND does not support element type: %s", elem)
		}
		if limit >= 0 && n > limit {
			return nil, fmt.Errorf("array length %d exceeds max_capacity %d", n, limit)
		}
		return out, nil
	case schemapb.FieldPartialUpdateOp_ARRAY_REMOVE:
		switch elem {
		case schemapb.DataType_Bool:
			d := removeAll(base.GetBoolData().GetData(), upd.GetBoolData().GetData())
			return &schemapb.ScalarField{Data: &schemapb.ScalarField_BoolData{BoolData: &schemapb.BoolArray{Data: d}}}, nil
		case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
			d := removeAll(base.GetIntData().GetData(), upd.GetIntData().GetData())
			return &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: d}}}, nil
		case schemapb.DataType_Int64:
			d := removeAll(base.GetLongData().GetData(), upd.GetLongData().GetData())
			return &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: d}}}, nil
		case schemapb.DataType_Float:
			d := removeAll(base.GetFloatData().GetData(), upd.GetFloatData().GetData())
			return &schemapb.ScalarField{Data: &schemapb.ScalarField_FloatData{FloatData: &schemapb.FloatArray{Data: d}}}, nil
		case schemapb.DataType_Double:
			d := removeAll(base.GetDoubleData().GetData(), upd.GetDoubleData().GetData())
			return &schemapb.ScalarField{Data: &schemapb.ScalarField_DoubleData{DoubleData: &schemapb.DoubleArray{Data: d}}}, nil
		case schemapb.DataType_VarChar, schemapb.DataType_String:
			d := removeAll(base.GetStringData().GetData(), upd.GetStringData().GetData())
			return &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: d}}}, nil
		}
		return nil, fmt.Errorf("ARRAY_REMOVE does not support element type: %s", elem)
	}
	return upd, nil
}

// removeAll drops every element of base equal to one of drop.
func removeAll[T comparable](base, drop []T) []T {
	if len(base) == 0 || len(drop) == 0 {
		return base
	}
	skip := make(map[T]struct{}, len(drop))
	for _, v := range drop {
		skip[v] = struct{}{}
	}
	out := make([]T, 0, len(base))
	for _, v := range base {
		if _, ok := skip[v]; !ok {
			out = append(out, v)
		}
	}
	return out
}

// storedRowsResult is the stored rows of some primary keys.
type storedRowsResult struct {
	cols  map[int64]column.Column
	index map[any]int // primary key -> row
}

// storedRows reads every field of the rows with the given keys, strongly
// consistent (Milvus 2.6's retrieveByPKs).
func (s *Server) storedRows(ctx context.Context, c *model.Collection, keys column.Column) (*storedRowsResult, error) {
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if !st.Loaded {
		return nil, errs.CollectionNotLoaded(c.Name)
	}
	var filter *expr.Expr
	switch k := keys.(type) {
	case *column.Scalar[int64]:
		filter, err = pkInFilter(c, k.Data, nil)
	case *column.Scalar[string]:
		filter, err = pkInFilter(c, nil, k.Data)
	default:
		return nil, fmt.Errorf("primary key column of type %T", keys)
	}
	if err != nil {
		return nil, fmt.Errorf("partial update: %w", err)
	}
	var outputs []int64
	for _, f := range c.Schema.GetFields() {
		if !f.GetIsFunctionOutput() {
			outputs = append(outputs, f.GetFieldID())
		}
	}
	rows, err := s.queryShards(ctx, c, filter, nil, commonpb.ConsistencyLevel_Strong, 0, 0, outputs)
	if err != nil {
		return nil, err
	}
	out := &storedRowsResult{cols: rows.Fields, index: map[any]int{}}
	for i, k := range rows.IntPKs {
		out.index[k] = i
	}
	for i, k := range rows.StrPKs {
		out.index[k] = i
	}
	return out, nil
}

// keyAt is row i's primary key as a map key.
func keyAt(keys column.Column, i int) any {
	switch k := keys.(type) {
	case *column.Scalar[int64]:
		return k.Data[i]
	case *column.Scalar[string]:
		return k.Data[i]
	}
	return nil
}

func identity(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

func emptyJSONRows(n int) column.Column {
	rows := make([][]byte, n)
	for i := range rows {
		rows[i] = []byte("{}")
	}
	return &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: rows}
}
