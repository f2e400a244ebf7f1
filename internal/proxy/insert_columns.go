package proxy

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/errs"
)

// insertColumns validates the columns of an Insert or Upsert request
// against a collection schema and converts them to typed columns keyed by
// field ID, following Milvus 2.6's proxy (insertTask/upsertTask.PreExecute:
// checkDynamicFieldData, checkPrimaryFieldData, fillFieldPropertiesBySchema,
// validateUtil.Validate), in its order and with its codes and texts.
//
// Semantics:
//   - The SDK packs dynamic keys into one FieldData with IsDynamic set (its
//     name may be empty); it becomes the "$meta" column. Each row must be a
//     JSON object without the key "$meta" or any static field name. Without
//     one, every row gets "{}".
//   - A missing field is filled with its default_value, else with nulls if
//     it is nullable, else it is an error.
//   - Nullable columns may come compact (values for valid rows only, as the
//     SDK sends them) or full; the result always has one slot per row.
//     Null slots of a field with a default_value take the default.
//   - Insert into an auto_id collection must not carry the primary key; the
//     result then has no primary key column (the caller allocates IDs).
//     Upsert must carry it, and the result includes it whatever auto_id
//     says; what to do with an auto_id upsert's keys is the caller's choice.
//   - Every column has numRows rows; vectors have the schema's dimension;
//     VarChar, JSON, Array and sparse values respect their limits.
func insertColumns(schema *schemapb.CollectionSchema, fields []*schemapb.FieldData, numRows int, upsert bool) (map[int64]column.Column, error) {
	return insertColumnsConv(schema, fields, numRows, upsert, nil)
}

// fieldConv converts one column sent in a wire form to its stored form
// (Timestamptz ISO strings, Geometry WKT); it returns fd when there is
// nothing to convert.
type fieldConv func(fd *schemapb.FieldData, f *schemapb.FieldSchema) (*schemapb.FieldData, error)

// insertColumnsConv is insertColumns converting each column with conv
// (nil: none) where Milvus's validateUtil.Validate converts it: with the
// type checks, column by column in the request's order, after the
// presence checks and before any length check (validate_util.go:108-200),
// so when several columns are wrong the same error wins.
func insertColumnsConv(schema *schemapb.CollectionSchema, fields []*schemapb.FieldData, numRows int, upsert bool, conv fieldConv) (map[int64]column.Column, error) {
	pk := primaryField(schema)
	if pk == nil {
		return nil, errPlain("primary field is not found")
	}
	if upsert {
		if err := checkUpsertKeys(pk, fields); err != nil {
			return nil, err
		}
	}
	data, err := withDynamicColumn(schema, fields, numRows)
	if err != nil {
		return nil, err
	}
	if numRows <= 0 {
		return nil, errInvalidValue("invalid num_rows", strconv.Itoa(numRows), "num_rows should be greater than 0")
	}
	autoGenPK := pk.GetAutoID() && !upsert
	data, missing, err := checkFieldsPresent(schema, data, autoGenPK)
	if err != nil {
		return nil, err
	}
	var pkData *schemapb.FieldData
	for _, fd := range data {
		if fd.GetFieldName() == pk.GetName() {
			pkData = fd
		}
	}
	if autoGenPK && pkData != nil {
		return nil, errInvalidMsg("can not assign primary field data when auto id enabled and allow_insert_auto_id is false %s", pk.GetName())
	}
	if upsert && pkData == nil {
		return nil, errInvalidMsg("must assign pk when upsert, primary field: %s", pk.GetName())
	}
	byName := make(map[string]*schemapb.FieldSchema, len(schema.GetFields()))
	for _, f := range schema.GetFields() {
		byName[f.GetName()] = f
	}
	for _, fd := range data {
		if _, ok := byName[fd.GetFieldName()]; !ok {
			return nil, errPlain("fieldName %v not exist in collection schema", fd.GetFieldName())
		}
	}
	if conv != nil {
		data = slices.Clone(data) // the request's slice stays as sent
	}
	for i, fd := range data {
		if missing[fd] {
			continue // filled below
		}
		f := byName[fd.GetFieldName()]
		if conv != nil {
			next, err := conv(fd, f)
			if err != nil {
				return nil, err
			}
			data[i], fd = next, next
		}
		if err := validateFieldPayload(fd, f); err != nil {
			return nil, err
		}
	}
	out := make(map[int64]column.Column, len(data))
	for _, fd := range data {
		f := byName[fd.GetFieldName()]
		c, err := toColumn(fd, f, numRows, missing[fd])
		if err != nil {
			return nil, err
		}
		out[f.GetFieldID()] = c
	}
	for _, fd := range data {
		f := byName[fd.GetFieldName()]
		if err := checkAligned(f, out[f.GetFieldID()], numRows); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// withDynamicColumn is Milvus's checkDynamicFieldData: it names the
// dynamic column "$meta", checks its rows, or adds a "{}" column.
func withDynamicColumn(schema *schemapb.CollectionSchema, fields []*schemapb.FieldData, numRows int) ([]*schemapb.FieldData, error) {
	data := make([]*schemapb.FieldData, 0, len(fields)+1)
	data = append(data, fields...)
	if !schema.GetEnableDynamicField() || dynamicField(schema) == nil {
		return data, nil
	}
	found := false
	for i, fd := range data {
		if fd.GetIsDynamic() {
			data[i] = &schemapb.FieldData{
				Type: schemapb.DataType_JSON, FieldName: metaFieldName, FieldId: fd.GetFieldId(),
				Field: fd.Field, ValidData: fd.GetValidData(), IsDynamic: true,
			}
			found = true
			break
		}
	}
	if !found {
		rows := make([][]byte, max(numRows, 0))
		for i := range rows {
			rows[i] = []byte("{}")
		}
		data = append(data, &schemapb.FieldData{
			Type: schemapb.DataType_JSON, FieldName: metaFieldName, IsDynamic: true,
			Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
				Data: &schemapb.ScalarField_JsonData{JsonData: &schemapb.JSONArray{Data: rows}},
			}},
		})
		return data, nil
	}
	for _, fd := range data {
		if fd.GetFieldName() != metaFieldName {
			continue
		}
		for _, row := range fd.GetScalars().GetJsonData().GetData() {
			keys, err := jsonObjectKeys(row)
			if err != nil {
				return nil, errInvalidMsg("invalid dynamic field data, only json map is supported: %s", err.Error())
			}
			if _, ok := keys[metaFieldName]; ok {
				return nil, errInvalidMsg("cannot set json key to: %s", metaFieldName)
			}
			for _, f := range schema.GetFields() {
				if _, ok := keys[f.GetName()]; ok {
					return nil, errInvalidMsg("dynamic field name cannot include the static field name: %s", f.GetName())
				}
			}
		}
	}
	return data, nil
}

// jsonObjectKeys returns the top-level keys of a JSON object without
// decoding the values.
func jsonObjectKeys(b []byte) (map[string]struct{}, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("json: %s is not an object", b)
	}
	keys := make(map[string]struct{}, len(m))
	for k := range m {
		keys[k] = struct{}{}
	}
	return keys, nil
}

// checkFieldsPresent is Milvus's checkFieldsDataBySchema: no duplicate
// columns, every field present unless it is generated (auto_id on insert),
// defaulted or nullable, and no extra columns. Missing fields get an empty
// placeholder, listed in missing, filled later.
func checkFieldsPresent(schema *schemapb.CollectionSchema, data []*schemapb.FieldData, autoGenPK bool) ([]*schemapb.FieldData, map[*schemapb.FieldData]bool, error) {
	names := make(map[string]struct{}, len(data))
	missing := map[*schemapb.FieldData]bool{}
	for _, fd := range data {
		if _, dup := names[fd.GetFieldName()]; dup {
			return nil, nil, errInvalidMsg("duplicated field %s found", fd.GetFieldName())
		}
		names[fd.GetFieldName()] = struct{}{}
	}
	autoGen := 0
	for _, f := range schema.GetFields() {
		generated := f.GetIsPrimaryKey() && autoGenPK || f.GetIsFunctionOutput()
		if generated {
			autoGen++
		}
		if _, ok := names[f.GetName()]; ok || generated {
			continue
		}
		if f.GetDefaultValue() == nil && !f.GetNullable() {
			return nil, nil, errInvalidMsg("fieldSchema(%s) has no corresponding fieldData pass in", f.GetName())
		}
		placeholder := &schemapb.FieldData{Type: f.GetDataType(), FieldName: f.GetName()}
		missing[placeholder] = true
		data = append(data, placeholder)
	}
	if expected, actual := len(schema.GetFields()), len(data)+autoGen; expected != actual {
		return nil, nil, errInvalidValue(expected, actual, "more fieldData has pass in")
	}
	return data, missing, nil
}

// arrayMismatch is Milvus's error for a column whose payload is not of the field's type.
func arrayMismatch(expected, what string, fd *schemapb.FieldData) error {
	return errInvalidValue(expected, "got nil", fmt.Sprintf("%s '%v' is illegal, array type mismatch", what, fd.GetFieldName()))
}

// validateFieldPayload is validateUtil.Validate's per-type check (with NaN,
// overflow, max length and max capacity checks on, as for inserts).
func validateFieldPayload(fd *schemapb.FieldData, f *schemapb.FieldSchema) error {
	optional := f.GetDefaultValue() != nil || f.GetNullable()
	sc := fd.GetScalars()
	vf := fd.GetVectors()
	switch f.GetDataType() {
	case schemapb.DataType_ArrayOfVector:
		return validateVectorArrayPayload(fd, f)
	case schemapb.DataType_FloatVector:
		data := vf.GetFloatVector().GetData()
		if data == nil && !f.GetNullable() {
			return arrayMismatch("need float vector", "float vector field", fd)
		}
		return verifyFloats(data)
	case schemapb.DataType_Float16Vector:
		if vf.GetFloat16Vector() == nil && !f.GetNullable() {
			return errInvalidValue("need vector_float16 array", "got nil", fmt.Sprintf("float16 float field '%v' is illegal, nil Vector_Float16 type", fd.GetFieldName()))
		}
		return verifyHalfs(vf.GetFloat16Vector(), distance.Float16ToFloat32, "float16")
	case schemapb.DataType_BFloat16Vector:
		if vf.GetBfloat16Vector() == nil && !f.GetNullable() {
			return errInvalidValue("need vector_bfloat16 array", "got nil", fmt.Sprintf("bfloat16 float field '%v' is illegal, nil Vector_BFloat16 type", fd.GetFieldName()))
		}
		return verifyHalfs(vf.GetBfloat16Vector(), distance.BFloat16ToFloat32, "bfloat16")
	case schemapb.DataType_BinaryVector:
		if vf.GetBinaryVector() == nil && !f.GetNullable() {
			return arrayMismatch("need bytes array", "binary float vector field", fd)
		}
	case schemapb.DataType_Int8Vector:
		if vf.GetInt8Vector() == nil && !f.GetNullable() {
			return errInvalidValue("need vector_int8 array", "got nil", fmt.Sprintf("int8 vector field '%v' is illegal, nil Vector_Int8 type", fd.GetFieldName()))
		}
	case schemapb.DataType_SparseFloatVector:
		if vf.GetSparseFloatVector() == nil && !f.GetNullable() {
			return errInvalidValue("need sparse float array", "got nil", fmt.Sprintf("sparse float field '%v' is illegal, nil SparseFloatVector", fd.GetFieldName()))
		}
		rows := vf.GetSparseFloatVector().GetContents()
		if rows == nil && !f.GetNullable() {
			return arrayMismatch("need sparse float array", "sparse float field", fd)
		}
		return validateSparseRows(rows)
	case schemapb.DataType_VarChar, schemapb.DataType_Text:
		strs := sc.GetStringData().GetData()
		if strs == nil && !optional {
			what := "varchar field"
			if f.GetDataType() == schemapb.DataType_Text {
				what = "text field"
			}
			return arrayMismatch("need string array", what, fd)
		}
		if limit := fieldMaxLength(f); !f.GetAutoID() && limit > 0 {
			for i, s := range strs {
				if len(s) > limit {
					kind := "varchar"
					if f.GetDataType() == schemapb.DataType_Text {
						kind = "text"
					}
					return errInvalidMsg("length of %s field %s exceeds max length, row number: %d, length: %d, max length: %d",
						kind, f.GetName(), i, len(s), limit)
				}
			}
		}
	case schemapb.DataType_JSON:
		rows := sc.GetJsonData().GetData()
		if rows == nil && !optional {
			return arrayMismatch("need json array", "json field", fd)
		}
		for _, row := range rows {
			if len(row) > maxJSONLength {
				if fd.GetIsDynamic() {
					return errInvalidValue("valid length dynamic field", "length exceeds max length",
						fmt.Sprintf("the length (%d) of dynamic field exceeds max length (%d)", len(row), maxJSONLength))
				}
				return errInvalidValue("valid length json string", "length exceeds max length",
					fmt.Sprintf("the length (%d) of json field (%s) exceeds max length (%d)", len(row), fd.GetFieldName(), maxJSONLength))
			}
		}
		if !fd.GetIsDynamic() {
			for _, row := range rows {
				if len(row) == 0 || json.Valid(row) {
					continue
				}
				var v any
				err := json.Unmarshal(row, &v)
				if err == nil {
					err = fmt.Errorf("invalid JSON")
				}
				return errs.Wrap(errs.ErrIoFailed, ": "+err.Error(), "")
			}
		}
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
		data := sc.GetIntData().GetData()
		if data == nil && !optional {
			return arrayMismatch("need int array", "field", fd)
		}
		switch f.GetDataType() {
		case schemapb.DataType_Int8:
			return verifyRange(data, math.MinInt8, math.MaxInt8)
		case schemapb.DataType_Int16:
			return verifyRange(data, math.MinInt16, math.MaxInt16)
		}
	case schemapb.DataType_Int64:
		if sc.GetLongData().GetData() == nil && !optional {
			return arrayMismatch("need long int array", "field", fd)
		}
	case schemapb.DataType_Geometry:
		// WKT was converted to WKB before (geometryInput).
		if sc.GetGeometryData() == nil && !optional {
			return arrayMismatch("need geometry array", "geometry field", fd)
		}
	case schemapb.DataType_Timestamptz:
		// ISO strings were converted to microseconds before (timestamptzInput).
		if sc.GetTimestamptzData() == nil && (sc.GetData() != nil || !optional) {
			return errInvalidMsg("timestamptz field data must be a string array")
		}
	case schemapb.DataType_Float:
		data := sc.GetFloatData().GetData()
		if data == nil && !optional {
			return arrayMismatch("need float32 array", "field", fd)
		}
		return verifyFloats(data)
	case schemapb.DataType_Double:
		data := sc.GetDoubleData().GetData()
		if data == nil && !optional {
			return arrayMismatch("need float64(double) array", "field", fd)
		}
		for _, v := range data {
			if err := verifyFloat(v); err != nil {
				return err
			}
		}
	case schemapb.DataType_Array:
		arr := sc.GetArrayData()
		if arr == nil {
			return errInvalidValue(fmt.Sprintf("need %s array", f.GetElementType()), "got nil",
				fmt.Sprintf("array field '%v' is illegal, array type mismatch", fd.GetFieldName()))
		}
		if err := verifyCapacity(arr.GetData(), fieldMaxCapacity(f), f.GetElementType()); err != nil {
			return err
		}
		return verifyArrayElements(arr, f)
	}
	return nil
}

// verifyFloat is Milvus's typeutil.VerifyFloat (a plain error, code 65535).
func verifyFloat(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return errPlain("value '%f' is not a number or infinity", v)
	}
	return nil
}

// verifyFloats rejects NaN and ±Inf: a float32 is one of them exactly
// when its exponent bits are all ones, which is cheaper to test than
// converting every value (this runs over every vector component inserted).
func verifyFloats(data []float32) error {
	const exp = 0x7f800000
	for _, v := range data {
		if math.Float32bits(v)&exp == exp {
			return verifyFloat(float64(v))
		}
	}
	return nil
}

// verifyHalfs is Milvus's typeutil.VerifyFloats16 / VerifyBFloats16 (kind
// "float16" or "bfloat16"): a plain error, code 65535, with their text for
// a NaN or ±Inf, not VerifyFloat's.
func verifyHalfs(data []byte, conv func(uint16) float32, kind string) error {
	for i := 0; i+1 < len(data); i += 2 {
		x := float64(conv(binary.LittleEndian.Uint16(data[i:])))
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return errPlain("%s vector contain nan or infinity value.", kind)
		}
	}
	return nil
}

func verifyRange(data []int32, lo, hi int64) error {
	for i, v := range data {
		if int64(v) < lo || int64(v) > hi {
			return errInvalidValue("integer doesn't overflow", "out of range",
				fmt.Sprintf("the %dth element (%d) out of range: [%d, %d]", i, v, lo, hi))
		}
	}
	return nil
}

// validateSparseRows is Milvus's typeutil.ValidateSparseFloatRows.
func validateSparseRows(rows [][]byte) error {
	for _, row := range rows {
		if row == nil {
			return errPlain("nil sparse float vector")
		}
		if len(row)%8 != 0 {
			return errPlain("invalid data length in sparse float vector: %d", len(row))
		}
		for i := 0; i < len(row)/8; i++ {
			idx := binary.LittleEndian.Uint32(row[i*8:])
			if idx == math.MaxUint32 {
				return errPlain("invalid index in sparse float vector: must be less than 2^32-1")
			}
			if i > 0 && idx <= binary.LittleEndian.Uint32(row[(i-1)*8:]) {
				return errPlain("unsorted or same indices in sparse float vector")
			}
			v := math.Float32frombits(binary.LittleEndian.Uint32(row[i*8+4:]))
			if err := verifyFloat(float64(v)); err != nil {
				return err
			}
			if v < 0 {
				return errPlain("negative value in sparse float vector")
			}
		}
	}
	return nil
}

// arrayLen is the number of elements of one Array row of element type t, or -1.
func arrayLen(row *schemapb.ScalarField, t schemapb.DataType) int {
	switch t {
	case schemapb.DataType_Bool:
		return len(row.GetBoolData().GetData())
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
		return len(row.GetIntData().GetData())
	case schemapb.DataType_Int64:
		return len(row.GetLongData().GetData())
	case schemapb.DataType_VarChar, schemapb.DataType_String:
		return len(row.GetStringData().GetData())
	case schemapb.DataType_Float:
		return len(row.GetFloatData().GetData())
	case schemapb.DataType_Double:
		return len(row.GetDoubleData().GetData())
	}
	return -1
}

func verifyCapacity(rows []*schemapb.ScalarField, capacity int, t schemapb.DataType) error {
	for i, row := range rows {
		n := arrayLen(row, t)
		if n < 0 {
			return errInvalidValue("valid array element type", "array element type is not supported",
				fmt.Sprintf("array element type: %s is not supported", t))
		}
		if n > capacity {
			return errInvalidValue("valid length array", "array length exceeds max capacity",
				fmt.Sprintf("the length (%d) of %dth array exceeds max capacity (%d)", n, i, capacity))
		}
	}
	return nil
}

// verifyArrayElements is validateUtil.checkArrayElement.
func verifyArrayElements(arr *schemapb.ArrayArray, f *schemapb.FieldSchema) error {
	var want string
	var ok func(row *schemapb.ScalarField) bool
	switch f.GetElementType() {
	case schemapb.DataType_Bool:
		want, ok = "bool array", func(r *schemapb.ScalarField) bool { _, is := r.GetData().(*schemapb.ScalarField_BoolData); return is }
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
		want, ok = "int array", func(r *schemapb.ScalarField) bool { _, is := r.GetData().(*schemapb.ScalarField_IntData); return is }
	case schemapb.DataType_Int64:
		want, ok = "int64 array", func(r *schemapb.ScalarField) bool { _, is := r.GetData().(*schemapb.ScalarField_LongData); return is }
	case schemapb.DataType_Float:
		want, ok = "float array", func(r *schemapb.ScalarField) bool { _, is := r.GetData().(*schemapb.ScalarField_FloatData); return is }
	case schemapb.DataType_Double:
		want, ok = "double array", func(r *schemapb.ScalarField) bool { _, is := r.GetData().(*schemapb.ScalarField_DoubleData); return is }
	case schemapb.DataType_VarChar, schemapb.DataType_String:
		want, ok = "string array", func(r *schemapb.ScalarField) bool { _, is := r.GetData().(*schemapb.ScalarField_StringData); return is }
	default:
		return nil
	}
	limit := fieldMaxLength(f)
	for rowNum, row := range arr.GetData() {
		if row.GetData() == nil {
			return errInvalidValue(want, "nil array", "insert data does not match")
		}
		if !ok(row) {
			return errInvalidValue(want, fmt.Sprintf("%T array", row.GetData()), "insert data does not match")
		}
		switch f.GetElementType() {
		case schemapb.DataType_Int8:
			if err := verifyRange(row.GetIntData().GetData(), math.MinInt8, math.MaxInt8); err != nil {
				return err
			}
		case schemapb.DataType_Int16:
			if err := verifyRange(row.GetIntData().GetData(), math.MinInt16, math.MaxInt16); err != nil {
				return err
			}
		case schemapb.DataType_VarChar, schemapb.DataType_String:
			for i, s := range row.GetStringData().GetData() {
				if len(s) > limit {
					return errInvalidMsg("length of %s array field \"%s\" exceeds max length, row number: %d, array index: %d, length: %d, max length: %d",
						f.GetDataType(), f.GetName(), rowNum, i, len(s), limit)
				}
			}
		}
	}
	return nil
}

// toColumn converts one validated FieldData to a column with numRows
// slots, filling missing fields, nulls and defaults.
func toColumn(fd *schemapb.FieldData, f *schemapb.FieldSchema, numRows int, missing bool) (column.Column, error) {
	nullable := f.GetNullable()
	hasDefault := f.GetDefaultValue() != nil
	if missing { // every row null or default
		c, err := column.New(f.GetDataType(), fieldDim(f), f.GetElementType())
		if err != nil {
			return nil, errPlain("field %s: %v", f.GetName(), err)
		}
		if !growNull(c, numRows) {
			return nil, errPlain("field %s: %s cannot be null", f.GetName(), f.GetDataType())
		}
		return c, fillDefaults(c, f)
	}
	valid := fd.GetValidData()
	expected := 0
	if nullable || hasDefault {
		expected = numRows
	}
	if len(valid) != expected && len(valid) != 0 {
		return nil, errInvalidValue(expected, len(valid), fmt.Sprintf("the length of valid_data of field(%s) is wrong", f.GetName()))
	}
	if len(valid) > 0 && fd.GetScalars() != nil {
		// Milvus's fillWithNullValueImpl / fillWithDefaultValueImpl: a
		// nullable or defaulted scalar column carries values only for its
		// valid rows (the form the SDKs send), not one slot per row.
		if n, got := countValid(valid), payloadLen(fd, f); got != n {
			return nil, errInvalidValue(n, got, "the length of field is wrong")
		}
	}
	if column.IsVector(f.GetDataType()) {
		if nullable && len(valid) > 0 && countValid(valid) == 0 && vectorPayloadRows(fd) == 0 {
			// Every vector is null: the payload may be absent.
			c, err := column.New(f.GetDataType(), fieldDim(f), f.GetElementType())
			if err != nil {
				return nil, errPlain("field %s: %v", f.GetName(), err)
			}
			growNull(c, numRows)
			return c, nil
		}
		if err := checkVectorShape(fd, f); err != nil {
			return nil, err
		}
	}
	conv := &schemapb.FieldData{
		Type: f.GetDataType(), FieldName: f.GetName(), FieldId: f.GetFieldID(),
		Field: fd.Field, ValidData: valid, IsDynamic: fd.GetIsDynamic(),
	}
	c, err := column.FromFieldData(conv)
	if err != nil && column.IsVector(f.GetDataType()) {
		got := vectorPayloadRows(fd)
		return nil, errInvalidValue(numRows, got, fmt.Sprintf("the num_rows (%d) of field (%s) is not equal to passed num_rows (%d)", got, f.GetName(), numRows))
	}
	if err != nil {
		n := 0
		for _, v := range valid {
			if v {
				n++
			}
		}
		return nil, errInvalidValue(n, payloadLen(fd, f), "the length of field is wrong")
	}
	if s, ok := c.(*column.Scalar[*schemapb.ScalarField]); ok {
		s.ElementType = f.GetElementType()
	}
	return c, fillDefaults(c, f)
}

// payloadLen is the number of values a scalar FieldData carries.
func payloadLen(fd *schemapb.FieldData, f *schemapb.FieldSchema) int {
	sc := fd.GetScalars()
	switch f.GetDataType() {
	case schemapb.DataType_Bool:
		return len(sc.GetBoolData().GetData())
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
		return len(sc.GetIntData().GetData())
	case schemapb.DataType_Int64:
		return len(sc.GetLongData().GetData())
	case schemapb.DataType_Timestamptz:
		return len(sc.GetTimestamptzData().GetData())
	case schemapb.DataType_Float:
		return len(sc.GetFloatData().GetData())
	case schemapb.DataType_Double:
		return len(sc.GetDoubleData().GetData())
	case schemapb.DataType_VarChar, schemapb.DataType_Text, schemapb.DataType_String:
		return len(sc.GetStringData().GetData())
	case schemapb.DataType_JSON:
		return len(sc.GetJsonData().GetData())
	case schemapb.DataType_Geometry:
		return len(sc.GetGeometryData().GetData())
	case schemapb.DataType_Array:
		return len(sc.GetArrayData().GetData())
	case schemapb.DataType_ArrayOfVector:
		return len(fd.GetVectors().GetVectorArray().GetData())
	}
	return 0
}

// growNull makes an empty column n rows long, every row null. It reports
// false for a column type that cannot hold nulls.
func growNull(c column.Column, n int) bool {
	switch s := c.(type) {
	case *column.Scalar[bool]:
		nulls(s, n)
	case *column.Scalar[int8]:
		nulls(s, n)
	case *column.Scalar[int16]:
		nulls(s, n)
	case *column.Scalar[int32]:
		nulls(s, n)
	case *column.Scalar[int64]:
		nulls(s, n)
	case *column.Scalar[float32]:
		nulls(s, n)
	case *column.Scalar[float64]:
		nulls(s, n)
	case *column.Scalar[string]:
		nulls(s, n)
	case *column.Scalar[[]byte]:
		nulls(s, n)
	case *column.Scalar[*schemapb.ScalarField]:
		nulls(s, n)
	case *column.FloatVector:
		s.Data, s.Valid = make([]float32, n*s.Dim), make([]bool, n)
	case *column.ByteVector:
		s.Data, s.Valid = make([]byte, n*s.RowBytes()), make([]bool, n)
	case *column.SparseVector:
		s.Rows, s.Valid = make([][]byte, n), make([]bool, n)
	default:
		return false
	}
	return true
}

func nulls[T any](s *column.Scalar[T], n int) {
	s.Data = make([]T, n)
	s.Valid = make([]bool, n)
}

// fillDefaults writes a field's default value into null slots and shapes
// the validity mask: nullable columns keep one, others drop it.
func fillDefaults(c column.Column, f *schemapb.FieldSchema) error {
	dv := f.GetDefaultValue()
	nullable := f.GetNullable()
	switch s := c.(type) {
	case *column.Scalar[bool]:
		applyDefault(s, dv != nil, dv.GetBoolData(), nullable)
	case *column.Scalar[int8]:
		applyDefault(s, dv != nil, int8(dv.GetIntData()), nullable)
	case *column.Scalar[int16]:
		applyDefault(s, dv != nil, int16(dv.GetIntData()), nullable)
	case *column.Scalar[int32]:
		applyDefault(s, dv != nil, dv.GetIntData(), nullable)
	case *column.Scalar[int64]:
		v := dv.GetLongData()
		if f.GetDataType() == schemapb.DataType_Timestamptz {
			v = dv.GetTimestamptzData()
		}
		applyDefault(s, dv != nil, v, nullable)
	case *column.Scalar[float32]:
		applyDefault(s, dv != nil, dv.GetFloatData(), nullable)
	case *column.Scalar[float64]:
		applyDefault(s, dv != nil, dv.GetDoubleData(), nullable)
	case *column.Scalar[string]:
		applyDefault(s, dv != nil, dv.GetStringData(), nullable)
	case *column.Scalar[[]byte]:
		applyDefault(s, dv != nil, dv.GetBytesData(), nullable)
	case *column.Scalar[*schemapb.ScalarField]:
		if dv != nil {
			return errInvalidValue("not set default value", "", "array type not support default value")
		}
		applyDefault(s, false, nil, nullable)
	}
	return nil
}

func applyDefault[T any](s *column.Scalar[T], has bool, v T, nullable bool) {
	if has && s.Valid != nil {
		// Data and Valid may share memory with the request: write to copies.
		s.Data = append([]T(nil), s.Data...)
		s.Valid = append([]bool(nil), s.Valid...)
		for i, ok := range s.Valid {
			if !ok {
				s.Data[i] = v
				s.Valid[i] = true
			}
		}
	}
	switch {
	case !nullable:
		s.Valid = nil
	case s.Valid == nil:
		s.Valid = make([]bool, len(s.Data))
		for i := range s.Valid {
			s.Valid[i] = true
		}
	}
}

// checkAligned is validateUtil.checkAligned: vector dimensions match the
// schema and every column has numRows rows.
func checkAligned(f *schemapb.FieldSchema, c column.Column, numRows int) error {
	if n := c.Len(); n != numRows {
		return errInvalidValue(numRows, n, fmt.Sprintf("the num_rows (%d) of field (%s) is not equal to passed num_rows (%d)", n, f.GetName(), numRows))
	}
	return nil
}

// checkVectorShape checks a fixed-width vector column's dimension against
// the schema and that its bytes divide into whole rows, with Milvus's texts.
func checkVectorShape(fd *schemapb.FieldData, f *schemapb.FieldSchema) error {
	t := f.GetDataType()
	if t == schemapb.DataType_SparseFloatVector {
		return nil
	}
	dim := fieldDim(f)
	if dim <= 0 {
		return errPlain("dimension is not defined in field type params of field %s, check type param `dim` for vector field", f.GetName())
	}
	dataDim := int(fd.GetVectors().GetDim())
	mismatch := func() error {
		return errInvalidValue(dim, dataDim, fmt.Sprintf("the dim (%d) of field data(%s) is not equal to schema dim (%d)", dataDim, f.GetName(), dim))
	}
	vf := fd.GetVectors()
	switch t {
	case schemapb.DataType_FloatVector:
		if n := len(vf.GetFloatVector().GetData()); dim > 0 && n%dim != 0 {
			return errPlain("the length(%d) of float data should divide the dim(%d)", n, dim)
		}
		if dataDim != dim {
			return mismatch()
		}
	case schemapb.DataType_BinaryVector:
		if dataDim != dim {
			return mismatch()
		}
		if n := len(vf.GetBinaryVector()); (8*n)%dim != 0 {
			return errPlain("the num(%d) of all bits should divide the dim(%d)", 8*n, dim)
		}
	case schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector:
		if dataDim != dim {
			return mismatch()
		}
		data := vf.GetFloat16Vector()
		kind := "float16"
		if t == schemapb.DataType_BFloat16Vector {
			data, kind = vf.GetBfloat16Vector(), "bfloat16"
		}
		if n := len(data); n%(2*dim) != 0 {
			return errPlain("the length(%d) of %s data should divide the dim(%d)", n, kind, dim)
		}
	case schemapb.DataType_Int8Vector:
		if n := len(vf.GetInt8Vector()); n%dim != 0 {
			return errPlain("the length(%d) of int8 data should divide the dim(%d)", n, dim)
		}
		if dataDim != dim {
			return mismatch()
		}
	}
	return nil
}

// checkUpsertKeys is the first check of Milvus's upsert (CheckDuplicatePkExist):
// the batch carries the primary key, and names no key twice.
func checkUpsertKeys(pk *schemapb.FieldSchema, fields []*schemapb.FieldData) error {
	var keys *schemapb.FieldData
	for _, fd := range fields {
		if fd.GetFieldName() == pk.GetName() {
			keys = fd
			break
		}
	}
	if keys == nil {
		// Milvus 2.6's upsertTask.PreExecute finds it missing first in
		// CheckDuplicatePkExist.
		return errInvalidMsg("must assign pk when checking duplicates, primary field: %s", pk.GetName())
	}
	sc := keys.GetScalars()
	if sc == nil {
		return errInvalidMsg("primary field must be scalar type")
	}
	dup := false
	switch d := sc.GetData().(type) {
	case *schemapb.ScalarField_LongData:
		dup = hasDuplicates(d.LongData.GetData())
	case *schemapb.ScalarField_StringData:
		dup = hasDuplicates(d.StringData.GetData())
	default:
		return errInvalidMsg("unsupported primary key type")
	}
	if dup {
		return errInvalidMsg("duplicate primary keys are not allowed in the same batch")
	}
	return nil
}

func hasDuplicates[T comparable](keys []T) bool {
	seen := make(map[T]struct{}, len(keys))
	for _, k := range keys {
		if _, ok := seen[k]; ok {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}

func countValid(valid []bool) int {
	n := 0
	for _, v := range valid {
		if v {
			n++
		}
	}
	return n
}

// vectorPayloadRows is the number of vectors a vector FieldData carries
// (0 when its dimension is unusable).
func vectorPayloadRows(fd *schemapb.FieldData) int {
	vf := fd.GetVectors()
	dim := int(vf.GetDim())
	switch fd.GetType() {
	case schemapb.DataType_SparseFloatVector:
		return len(vf.GetSparseFloatVector().GetContents())
	case schemapb.DataType_FloatVector:
		if dim > 0 {
			return len(vf.GetFloatVector().GetData()) / dim
		}
		return 0
	}
	var data []byte
	switch fd.GetType() {
	case schemapb.DataType_BinaryVector:
		data = vf.GetBinaryVector()
	case schemapb.DataType_Float16Vector:
		data = vf.GetFloat16Vector()
	case schemapb.DataType_BFloat16Vector:
		data = vf.GetBfloat16Vector()
	case schemapb.DataType_Int8Vector:
		data = vf.GetInt8Vector()
	}
	if w := column.VectorRowBytes(fd.GetType(), dim); w > 0 {
		return len(data) / w
	}
	return 0
}
