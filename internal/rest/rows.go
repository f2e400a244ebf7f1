package rest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/jsonrows"
)

// maxRows bounds the rows of one insert (Milvus bounds a request by bytes;
// this keeps a tiny body of empty objects from allocating columns forever).
const maxRows = 1 << 20

// rowsToColumns converts REST insert rows (JSON objects keyed by field name)
// into the columns of an Insert or Upsert for a collection schema:
//   - every schema field is a column; a missing or null value is a null
//     slot when the field is nullable or has a default value (the proxy
//     fills the default), else an error;
//   - an auto-ID primary key is dropped on insert (Milvus's REST server
//     ignores it too) and required on upsert;
//   - keys that are not fields go, per row, into one JSON object in the
//     dynamic field when the schema has one, else they are an error;
//   - function output fields (e.g. BM25 sparse vectors) are never given.
//
// The conversion of values is internal/jsonrows's, shared with the import.
// Every error wraps errInvalidData (code 1804).
func rowsToColumns(schema *schemapb.CollectionSchema, rows []json.RawMessage, upsert bool) ([]*schemapb.FieldData, error) {
	if len(rows) == 0 {
		// checkAndSetData answers an empty data with merr's
		// ErrMissingRequiredParameters (httpserver/utils.go:367).
		return nil, restErr(errInvalidData, "missing required parameters")
	}
	if len(rows) > maxRows {
		return nil, restErr(errInvalidData, "%d rows in one request, at most %d", len(rows), maxRows)
	}
	omit := map[string]bool{}
	for _, f := range schema.GetFields() {
		if f.GetIsPrimaryKey() && f.GetAutoID() && !upsert {
			omit[f.GetName()] = true
		}
	}
	row := func(i int) (map[string]json.RawMessage, error) {
		obj, err := decodeObject(rows[i])
		var notObj errNotObject
		if errors.As(err, &notObj) {
			return nil, paramInvalid("JSON", string(notObj), "NULL:0, FALSE:1, NUMBER:2, STRING:3, TRUE:4, JSON:5")
		}
		if err != nil {
			return nil, fmt.Errorf("row %d: %v", i, err)
		}
		return obj, nil
	}
	fields, err := jsonrows.ToColumns(schema, len(rows), row, jsonrows.Options{
		Omit:    omit,
		Missing: func(i int, field string) error { return missingValue(schema, i, field) },
		Fill:    missingFill,
		Unknown: func(int, string) error {
			// httpserver/utils.go:691
			return errs.InvalidParameter("has pass more field without dynamic schema, please check it")
		},
		Sparse:     sparseInsertRow,
		Cell:       insertCell,
		HalfVector: halfVectorBytes,
	})
	if err != nil {
		return nil, restErr(errInvalidData, "%v", err)
	}
	// Nullable scalars go to the proxy in the compact form the SDKs
	// (and Milvus's own httpserver) send: values of the valid rows only.
	for i, fd := range fields {
		fields[i] = column.Compact(fd)
	}
	return fields, nil
}

// sparseInsertRow reads a row's sparse vector as checkAndSetData does
// (httpserver/utils.go:440-448): typeutil.CreateSparseFloatRowFromJSON on
// the value's gjson text, its error in merr.WrapErrParameterInvalid's form
// with that text as the actual value. dim is the largest index plus one.
func sparseInsertRow(v json.RawMessage) ([]byte, int64, error) {
	text := gjsonText(v)
	row, err := sparseQueryRow(text)
	if err != nil {
		return nil, 0, paramInvalid(schemapb.DataType_SparseFloatVector.String(), text, err.Error())
	}
	var dim int64
	if n := len(row); n >= 8 {
		dim = int64(binary.LittleEndian.Uint32(row[n-8:])) + 1
	}
	return row, dim, nil
}

// decodeObject decodes one row; duplicate keys keep the last value.
func decodeObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		// gjson's type names, as checkAndSetData reports a row that is
		// not an object (httpserver/utils.go:698).
		kind := map[byte]string{'"': "String", 't': "True", 'f': "False", 'n': "Null"}[firstByte(raw)]
		if kind == "" {
			kind = "Number"
		}
		return nil, errNotObject(kind)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// columnsToRows converts result columns into n rows keyed by field name.
// The dynamic field's keys are spread into the row; Int64 values become
// strings unless allowInt64.
func columnsToRows(fields []*schemapb.FieldData, n int, allowInt64 bool) ([]map[string]any, error) {
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{}
	}
	for _, fd := range fields {
		if fd.GetType() == schemapb.DataType_ArrayOfStruct {
			cells, err := structArrayCells(fd, n, allowInt64)
			if err != nil {
				return nil, err
			}
			for i := range n {
				rows[i][fd.GetFieldName()] = cells[i]
			}
			continue
		}
		c, err := column.FromFieldData(fd)
		if err != nil {
			return nil, err
		}
		if c.Len() != n {
			return nil, fmt.Errorf("field %s has %d rows, want %d", fd.GetFieldName(), c.Len(), n)
		}
		name := fd.GetFieldName()
		if fd.GetIsDynamic() {
			js, ok := c.(*column.Scalar[[]byte])
			if !ok {
				return nil, fmt.Errorf("dynamic field %s is not JSON", name)
			}
			for i := range n {
				var obj map[string]json.RawMessage
				if js.IsNull(i) || json.Unmarshal(js.Data[i], &obj) != nil {
					continue
				}
				for k, v := range obj {
					if _, taken := rows[i][k]; !taken {
						rows[i][k] = v
					}
				}
			}
			continue
		}
		for i := range n {
			rows[i][name] = cellValue(c, i, allowInt64)
		}
	}
	return rows, nil
}

// cellValue is row i of c as a JSON-encodable value.
func cellValue(c column.Column, i int, allowInt64 bool) any {
	if c.IsNull(i) {
		return nil
	}
	switch s := c.(type) {
	case *column.Scalar[bool]:
		return s.Data[i]
	case *column.Scalar[int8]:
		return s.Data[i]
	case *column.Scalar[int16]:
		return s.Data[i]
	case *column.Scalar[int32]:
		return s.Data[i]
	case *column.Scalar[int64]:
		return int64Value(s.Data[i], allowInt64)
	case *column.Scalar[float32]:
		return finite32(s.Data[i])
	case *column.Scalar[float64]:
		return finite64(s.Data[i])
	case *column.Scalar[string]:
		return s.Data[i]
	case *column.Scalar[[]byte]:
		if s.Type == schemapb.DataType_Geometry || !json.Valid(s.Data[i]) {
			return string(s.Data[i])
		}
		return json.RawMessage(s.Data[i])
	case *column.Scalar[*schemapb.ScalarField]:
		return arrayValue(s.Data[i], allowInt64)
	case *column.FloatVector:
		row := s.Row(i)
		out := make([]any, len(row))
		for j, x := range row {
			out[j] = finite32(x)
		}
		return out
	case *column.ByteVector:
		row := s.Row(i)
		switch s.Type {
		case schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector:
			fs := make([]float32, len(row)/2)
			if s.Type == schemapb.DataType_Float16Vector {
				distance.Float16sToFloat32s(fs, row)
			} else {
				distance.BFloat16sToFloat32s(fs, row)
			}
			out := make([]any, len(fs))
			for j, x := range fs {
				out[j] = finite32(x)
			}
			return out
		case schemapb.DataType_Int8Vector:
			out := make([]int8, len(row))
			for j, b := range row {
				out[j] = int8(b)
			}
			return out
		}
		return slices.Clone(row) // binary: base64, as Milvus
	case *column.SparseVector:
		row := s.Rows[i]
		out := make(map[string]any, len(row)/8)
		for j := 0; j+8 <= len(row); j += 8 {
			idx := binary.LittleEndian.Uint32(row[j:])
			out[strconv.FormatUint(uint64(idx), 10)] = finite32(math.Float32frombits(binary.LittleEndian.Uint32(row[j+4:])))
		}
		return out
	}
	return nil
}

func int64Value(v int64, allowInt64 bool) any {
	if allowInt64 {
		return v
	}
	return strconv.FormatInt(v, 10)
}

// finite32 keeps a float32 encodable: JSON has no NaN or infinities.
func finite32(x float32) any {
	if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
		return nil
	}
	return x
}

func finite64(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return x
}

// arrayValue is an Array cell as a JSON array.
func arrayValue(sf *schemapb.ScalarField, allowInt64 bool) any {
	switch d := sf.GetData().(type) {
	case *schemapb.ScalarField_BoolData:
		return nonNil(d.BoolData.GetData())
	case *schemapb.ScalarField_IntData:
		return nonNil(d.IntData.GetData())
	case *schemapb.ScalarField_LongData:
		if allowInt64 {
			return nonNil(d.LongData.GetData())
		}
		out := make([]string, len(d.LongData.GetData()))
		for i, v := range d.LongData.GetData() {
			out[i] = strconv.FormatInt(v, 10)
		}
		return out
	case *schemapb.ScalarField_FloatData:
		out := make([]any, len(d.FloatData.GetData()))
		for i, x := range d.FloatData.GetData() {
			out[i] = finite32(x)
		}
		return out
	case *schemapb.ScalarField_DoubleData:
		out := make([]any, len(d.DoubleData.GetData()))
		for i, x := range d.DoubleData.GetData() {
			out[i] = finite64(x)
		}
		return out
	case *schemapb.ScalarField_StringData:
		return nonNil(d.StringData.GetData())
	}
	return []any{}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 'n'
	}
	return b[0]
}

// missingFill is the value Milvus's checkAndSetData gives a field a row
// lacks (gjson's "" for the absent key, utils.go:405-660): a VarChar or
// String takes "" as it is; a Geometry or Timestamptz takes "" as its text
// (utils.go:638-639, 652-653) and the proxy refuses it as it refuses any
// bad WKT or ISO string; a JSON field takes the empty payload
// []byte("") (utils.go:636-637), which the proxy's checkJSONFieldData
// (internal/proxy/validate_util.go:956-978) lets through.
func missingFill(f *schemapb.FieldSchema) json.RawMessage {
	switch f.GetDataType() {
	case schemapb.DataType_VarChar, schemapb.DataType_String,
		schemapb.DataType_Geometry, schemapb.DataType_Timestamptz:
		return json.RawMessage(`""`)
	case schemapb.DataType_JSON:
		return json.RawMessage{}
	}
	return nil
}

// missingValue is the error for a row without a value of a field that is
// neither nullable nor defaulted nor filled by missingFill: Milvus's
// checkAndSetData converts "" as each type does (utils.go:405-660) and
// refuses it with that conversion's text.
func missingValue(schema *schemapb.CollectionSchema, row int, field string) error {
	for _, f := range schema.GetFields() {
		if f.GetName() != field {
			continue
		}
		t := f.GetDataType()
		switch {
		case column.IsVector(t):
			return paramInvalid(t.String(), "", "missing vector field: "+field)
		case t == schemapb.DataType_Int64:
			return paramInvalid("Int64", "", `strconv.ParseInt: parsing "": invalid syntax`)
		case t == schemapb.DataType_Bool:
			return paramInvalid("Bool", "", `strconv.ParseBool: parsing "": invalid syntax`)
		case t == schemapb.DataType_Int8 || t == schemapb.DataType_Int16 || t == schemapb.DataType_Int32 ||
			t == schemapb.DataType_Float || t == schemapb.DataType_Double:
			// spf13/cast v1.3.1's To<T>E of "".
			goType := map[schemapb.DataType]string{schemapb.DataType_Int8: "int8", schemapb.DataType_Int16: "int16",
				schemapb.DataType_Int32: "int32", schemapb.DataType_Float: "float32", schemapb.DataType_Double: "float64"}[t]
			return paramInvalid(t.String(), "", `unable to cast "" of type string to `+goType)
		case t == schemapb.DataType_Array:
			return paramInvalid("Array of "+f.GetElementType().String(), "", "unexpected end of JSON input")
		}
	}
	return fmt.Errorf("row %d: field %s is missing", row, field)
}

// errNotObject is a row that is not a JSON object, by gjson's name of its
// type.
type errNotObject string

func (e errNotObject) Error() string { return "a row must be a JSON object, not " + string(e) }
