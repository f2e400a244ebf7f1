package segment

import (
	"fmt"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
)

// System field IDs, as Milvus numbers them. Only TimestampFieldID is served
// (as an Int64 column through column.Batch and Fetch).
const (
	RowIDFieldID     int64 = 0
	TimestampFieldID int64 = 1
)

// fieldInfo is the parsed, immutable view of one schema field.
type fieldInfo struct {
	schema   *schemapb.FieldSchema
	id       int64
	typ      schemapb.DataType
	elemType schemapb.DataType // Array only
	dim      int               // fixed-width vectors only
	nullable bool
	dynamic  bool
}

// layout is the parsed schema shared by growing and sealed segments.
type layout struct {
	schema *schemapb.CollectionSchema
	fields map[int64]*fieldInfo
	order  []*fieldInfo // schema order
	pk     *fieldInfo
}

func parseSchema(schema *schemapb.CollectionSchema) (*layout, error) {
	if schema == nil {
		return nil, fmt.Errorf("segment: nil schema: %w", errs.ErrCollectionIllegalSchema)
	}
	l := &layout{schema: schema, fields: make(map[int64]*fieldInfo, len(schema.GetFields()))}
	for _, f := range schema.GetFields() {
		fi := &fieldInfo{
			schema:   f,
			id:       f.GetFieldID(),
			typ:      f.GetDataType(),
			elemType: f.GetElementType(),
			nullable: f.GetNullable(),
			dynamic:  f.GetIsDynamic(),
		}
		if fi.id == RowIDFieldID || fi.id == TimestampFieldID {
			// Milvus puts the system fields in some schemas; they are ours.
			continue
		}
		if _, dup := l.fields[fi.id]; dup {
			return nil, fmt.Errorf("segment: field ID %d appears twice: %w", fi.id, errs.ErrCollectionIllegalSchema)
		}
		if (column.IsVector(fi.typ) && fi.typ != schemapb.DataType_SparseFloatVector) || fi.typ == schemapb.DataType_ArrayOfVector {
			dim, err := vectorDim(f)
			if err != nil {
				return nil, err
			}
			fi.dim = dim
		}
		if f.GetIsPrimaryKey() {
			if l.pk != nil {
				return nil, fmt.Errorf("segment: two primary keys (%q, %q): %w", l.pk.schema.GetName(), f.GetName(), errs.ErrCollectionIllegalSchema)
			}
			if fi.typ != schemapb.DataType_Int64 && fi.typ != schemapb.DataType_VarChar {
				return nil, fmt.Errorf("segment: primary key %q has type %s, want Int64 or VarChar: %w", f.GetName(), fi.typ, errs.ErrCollectionIllegalSchema)
			}
			l.pk = fi
		}
		l.fields[fi.id] = fi
		l.order = append(l.order, fi)
	}
	if l.pk == nil {
		return nil, fmt.Errorf("segment: schema %q has no primary key: %w", schema.GetName(), errs.ErrCollectionIllegalSchema)
	}
	return l, nil
}

func vectorDim(f *schemapb.FieldSchema) (int, error) {
	for _, kv := range f.GetTypeParams() {
		if kv.GetKey() != "dim" {
			continue
		}
		d, err := strconv.Atoi(kv.GetValue())
		if err != nil || d <= 0 || d > 32768 {
			return 0, fmt.Errorf("segment: field %q: dim %q: %w", f.GetName(), kv.GetValue(), errs.ErrCollectionIllegalSchema)
		}
		if f.GetDataType() == schemapb.DataType_BinaryVector && d%8 != 0 {
			return 0, fmt.Errorf("segment: field %q: binary dim %d is not a multiple of 8: %w", f.GetName(), d, errs.ErrCollectionIllegalSchema)
		}
		return d, nil
	}
	return 0, fmt.Errorf("segment: vector field %q has no dim: %w", f.GetName(), errs.ErrCollectionIllegalSchema)
}

// field returns the field with ID id or a field-not-found error.
func (l *layout) field(id int64) (*fieldInfo, error) {
	if fi, ok := l.fields[id]; ok {
		return fi, nil
	}
	return nil, errs.FieldNotFound(id)
}

// checkColumn verifies that c can hold field fi's values: same data type,
// same Go shape, same dimension, no nulls in a non-nullable field.
func (fi *fieldInfo) checkColumn(c column.Column, want int) error {
	name := fi.schema.GetName()
	if c == nil {
		return errs.InvalidParameter("field %q: nil column", name)
	}
	if c.DataType() != fi.typ {
		return errs.InvalidParameterValue(fi.typ, c.DataType(), fmt.Sprintf("field %q: data type mismatch", name))
	}
	if c.Len() != want {
		return errs.InvalidParameter("field %q has %d rows, want %d", name, c.Len(), want)
	}
	shape := c // a growing segment's chunked vectors (WithSchema): the chunks' shape
	if ch, ok := c.(*column.Chunked); ok {
		shape = ch.Proto()
	}
	switch v := shape.(type) {
	case *column.FloatVector:
		if v.Dim != fi.dim {
			return errs.InvalidParameterValue(fi.dim, v.Dim, fmt.Sprintf("field %q: the dim of the vector does not match the schema", name))
		}
	case *column.ByteVector:
		if v.Dim != fi.dim {
			return errs.InvalidParameterValue(fi.dim, v.Dim, fmt.Sprintf("field %q: the dim of the vector does not match the schema", name))
		}
	case *column.SparseVector:
		for i, r := range v.Rows {
			if len(r)%8 != 0 {
				return errs.InvalidParameter("field %q: sparse row %d has %d bytes", name, i, len(r))
			}
		}
	case *column.Scalar[*schemapb.VectorField]:
		if err := checkEmbLists(v, fi); err != nil {
			return err
		}
	case *column.Scalar[*schemapb.ScalarField]:
		if v.ElementType != schemapb.DataType_None && fi.elemType != schemapb.DataType_None && v.ElementType != fi.elemType {
			return errs.InvalidParameterValue(fi.elemType, v.ElementType, fmt.Sprintf("field %q: array element type mismatch", name))
		}
	}
	if !sameShape(shape, fi) {
		return errs.InvalidParameter("field %q: column of Go type %T cannot hold %s", name, c, fi.typ)
	}
	if !fi.nullable {
		if i := firstNull(c); i >= 0 {
			return errs.InvalidParameter("field %q is not nullable but row %d is null", name, i)
		}
	}
	return nil
}

// firstNull returns the first null row of c, or -1.
func firstNull(c column.Column) int {
	var valid []bool
	switch s := c.(type) {
	case *column.Scalar[bool]:
		valid = s.Valid
	case *column.Scalar[int8]:
		valid = s.Valid
	case *column.Scalar[int16]:
		valid = s.Valid
	case *column.Scalar[int32]:
		valid = s.Valid
	case *column.Scalar[int64]:
		valid = s.Valid
	case *column.Scalar[float32]:
		valid = s.Valid
	case *column.Scalar[float64]:
		valid = s.Valid
	case *column.Scalar[string]:
		valid = s.Valid
	case *column.Scalar[[]byte]:
		valid = s.Valid
	case *column.Scalar[*schemapb.ScalarField]:
		valid = s.Valid
	case *column.FloatVector:
		valid = s.Valid
	case *column.ByteVector:
		valid = s.Valid
	case *column.SparseVector:
		valid = s.Valid
	case *column.Scalar[*schemapb.VectorField]:
		return -1 // embedding lists are never null
	default:
		for i := range c.Len() {
			if c.IsNull(i) {
				return i
			}
		}
		return -1
	}
	for i, v := range valid {
		if !v {
			return i
		}
	}
	return -1
}

// sameShape reports whether c has the concrete Go type column.New gives
// fi, so that Append's type assertion cannot panic.
func sameShape(c column.Column, fi *fieldInfo) bool {
	switch c.(type) {
	case *column.Scalar[bool]:
		return fi.typ == schemapb.DataType_Bool
	case *column.Scalar[int8]:
		return fi.typ == schemapb.DataType_Int8
	case *column.Scalar[int16]:
		return fi.typ == schemapb.DataType_Int16
	case *column.Scalar[int32]:
		return fi.typ == schemapb.DataType_Int32
	case *column.Scalar[int64]:
		return fi.typ == schemapb.DataType_Int64 || fi.typ == schemapb.DataType_Timestamptz
	case *column.Scalar[float32]:
		return fi.typ == schemapb.DataType_Float
	case *column.Scalar[float64]:
		return fi.typ == schemapb.DataType_Double
	case *column.Scalar[string]:
		return fi.typ == schemapb.DataType_String || fi.typ == schemapb.DataType_VarChar || fi.typ == schemapb.DataType_Text
	case *column.Scalar[[]byte]:
		return fi.typ == schemapb.DataType_JSON || fi.typ == schemapb.DataType_Geometry
	case *column.Scalar[*schemapb.ScalarField]:
		return fi.typ == schemapb.DataType_Array
	case *column.Scalar[*schemapb.VectorField]:
		return fi.typ == schemapb.DataType_ArrayOfVector
	case *column.FloatVector:
		return fi.typ == schemapb.DataType_FloatVector
	case *column.ByteVector:
		return fi.typ == schemapb.DataType_BinaryVector || fi.typ == schemapb.DataType_Float16Vector ||
			fi.typ == schemapb.DataType_BFloat16Vector || fi.typ == schemapb.DataType_Int8Vector
	case *column.SparseVector:
		return fi.typ == schemapb.DataType_SparseFloatVector
	}
	return false
}

// fillColumn returns a column of n rows for a field the caller left out:
// the field's default value if it has one, "{}" for the dynamic field,
// nulls for a nullable field. A sealed segment written before a field was
// added to the schema loads this way.
func (fi *fieldInfo) fillColumn(n int) (column.Column, bool) {
	if dv := fi.schema.GetDefaultValue(); dv != nil {
		if c, ok := defaultColumn(fi.typ, dv, n); ok {
			return c, true
		}
	}
	switch {
	case fi.dynamic && fi.typ == schemapb.DataType_JSON:
		c := &column.Scalar[[]byte]{Type: fi.typ, Data: make([][]byte, n)}
		empty := []byte("{}")
		for i := range c.Data {
			c.Data[i] = empty
		}
		return c, true
	case fi.nullable:
		c, err := column.New(fi.typ, fi.dim, fi.elemType)
		if err != nil {
			return nil, false
		}
		return nullColumn(c, n)
	}
	return nil, false
}

func nullColumn(c column.Column, n int) (column.Column, bool) {
	switch s := c.(type) {
	case *column.Scalar[bool]:
		s.Data, s.Valid = make([]bool, n), make([]bool, n)
	case *column.Scalar[int8]:
		s.Data, s.Valid = make([]int8, n), make([]bool, n)
	case *column.Scalar[int16]:
		s.Data, s.Valid = make([]int16, n), make([]bool, n)
	case *column.Scalar[int32]:
		s.Data, s.Valid = make([]int32, n), make([]bool, n)
	case *column.Scalar[int64]:
		s.Data, s.Valid = make([]int64, n), make([]bool, n)
	case *column.Scalar[float32]:
		s.Data, s.Valid = make([]float32, n), make([]bool, n)
	case *column.Scalar[float64]:
		s.Data, s.Valid = make([]float64, n), make([]bool, n)
	case *column.Scalar[string]:
		s.Data, s.Valid = make([]string, n), make([]bool, n)
	case *column.Scalar[[]byte]:
		s.Data, s.Valid = make([][]byte, n), make([]bool, n)
	case *column.Scalar[*schemapb.ScalarField]:
		s.Data, s.Valid = make([]*schemapb.ScalarField, n), make([]bool, n)
	case *column.FloatVector:
		s.Data, s.Valid = make([]float32, n*s.Dim), make([]bool, n)
	case *column.ByteVector:
		s.Data, s.Valid = make([]byte, n*s.RowBytes()), make([]bool, n)
	case *column.SparseVector:
		s.Rows, s.Valid = make([][]byte, n), make([]bool, n)
	default:
		return nil, false
	}
	return c, true
}

// defaultColumn repeats a scalar default value n times.
func defaultColumn(t schemapb.DataType, dv *schemapb.ValueField, n int) (column.Column, bool) {
	switch t {
	case schemapb.DataType_Bool:
		return repeat(t, dv.GetBoolData(), n), true
	case schemapb.DataType_Int8:
		return repeat(t, int8(dv.GetIntData()), n), true
	case schemapb.DataType_Int16:
		return repeat(t, int16(dv.GetIntData()), n), true
	case schemapb.DataType_Int32:
		return repeat(t, dv.GetIntData(), n), true
	case schemapb.DataType_Int64:
		return repeat(t, dv.GetLongData(), n), true
	case schemapb.DataType_Timestamptz:
		return repeat(t, dv.GetTimestamptzData(), n), true
	case schemapb.DataType_Float:
		return repeat(t, dv.GetFloatData(), n), true
	case schemapb.DataType_Double:
		return repeat(t, dv.GetDoubleData(), n), true
	case schemapb.DataType_String, schemapb.DataType_VarChar, schemapb.DataType_Text:
		return repeat(t, dv.GetStringData(), n), true
	case schemapb.DataType_JSON:
		return repeat(t, dv.GetBytesData(), n), true
	}
	return nil, false
}

func repeat[T any](t schemapb.DataType, v T, n int) column.Column {
	c := &column.Scalar[T]{Type: t, Data: make([]T, n)}
	for i := range c.Data {
		c.Data[i] = v
	}
	return c
}
