package column

import (
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// New returns an empty column for a field of the given type. dim is the
// vector dimension (ignored for scalars); elem is the Array element type.
func New(t schemapb.DataType, dim int, elem schemapb.DataType) (Column, error) {
	switch t {
	case schemapb.DataType_Bool:
		return &Scalar[bool]{Type: t}, nil
	case schemapb.DataType_Int8:
		return &Scalar[int8]{Type: t}, nil
	case schemapb.DataType_Int16:
		return &Scalar[int16]{Type: t}, nil
	case schemapb.DataType_Int32:
		return &Scalar[int32]{Type: t}, nil
	case schemapb.DataType_Int64, schemapb.DataType_Timestamptz:
		return &Scalar[int64]{Type: t}, nil
	case schemapb.DataType_Float:
		return &Scalar[float32]{Type: t}, nil
	case schemapb.DataType_Double:
		return &Scalar[float64]{Type: t}, nil
	case schemapb.DataType_String, schemapb.DataType_VarChar, schemapb.DataType_Text:
		return &Scalar[string]{Type: t}, nil
	case schemapb.DataType_JSON, schemapb.DataType_Geometry:
		return &Scalar[[]byte]{Type: t}, nil
	case schemapb.DataType_Array:
		return &Scalar[*schemapb.ScalarField]{Type: t, ElementType: elem}, nil
	case schemapb.DataType_ArrayOfVector:
		return &Scalar[*schemapb.VectorField]{Type: t, ElementType: elem}, nil
	case schemapb.DataType_FloatVector:
		return &FloatVector{Dim: dim}, nil
	case schemapb.DataType_BinaryVector, schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector, schemapb.DataType_Int8Vector:
		return &ByteVector{Type: t, Dim: dim}, nil
	case schemapb.DataType_SparseFloatVector:
		return &SparseVector{}, nil
	}
	return nil, fmt.Errorf("column: unsupported data type %s", t)
}

// FromFieldData converts Milvus's wire form into a column. It checks that
// vector payloads divide into rows of the declared dim and that validity
// and value counts agree. A nullable field whose values were sent only for
// valid rows (Milvus's compact form) is expanded to one slot per row.
// Int8 and Int16 values are narrowed without a range check (the proxy
// checks ranges first), and a payload of another type than fd.Type reads as
// no values: callers compare the column's Len with the request's row count.
func FromFieldData(fd *schemapb.FieldData) (Column, error) {
	t := fd.GetType()
	sc := fd.GetScalars()
	vf := fd.GetVectors()
	var c Column
	switch t {
	case schemapb.DataType_Bool:
		c = &Scalar[bool]{Type: t, Data: sc.GetBoolData().GetData()}
	case schemapb.DataType_Int8:
		c = &Scalar[int8]{Type: t, Data: narrow[int8](sc.GetIntData().GetData())}
	case schemapb.DataType_Int16:
		c = &Scalar[int16]{Type: t, Data: narrow[int16](sc.GetIntData().GetData())}
	case schemapb.DataType_Int32:
		c = &Scalar[int32]{Type: t, Data: sc.GetIntData().GetData()}
	case schemapb.DataType_Int64:
		c = &Scalar[int64]{Type: t, Data: sc.GetLongData().GetData()}
	case schemapb.DataType_Timestamptz:
		if strs := sc.GetStringData(); strs != nil {
			// ISO-8601 text, as clients send it and Milvus returns it.
			c = &Scalar[string]{Type: t, Data: strs.GetData()}
			break
		}
		c = &Scalar[int64]{Type: t, Data: sc.GetTimestamptzData().GetData()}
	case schemapb.DataType_Float:
		c = &Scalar[float32]{Type: t, Data: sc.GetFloatData().GetData()}
	case schemapb.DataType_Double:
		c = &Scalar[float64]{Type: t, Data: sc.GetDoubleData().GetData()}
	case schemapb.DataType_String, schemapb.DataType_VarChar, schemapb.DataType_Text:
		c = &Scalar[string]{Type: t, Data: sc.GetStringData().GetData()}
	case schemapb.DataType_JSON:
		c = &Scalar[[]byte]{Type: t, Data: sc.GetJsonData().GetData()}
	case schemapb.DataType_Geometry:
		if wkt := sc.GetGeometryWktData(); wkt != nil {
			// WKT text, as clients send it and Milvus returns it.
			c = &Scalar[string]{Type: t, Data: wkt.GetData()}
			break
		}
		c = &Scalar[[]byte]{Type: t, Data: sc.GetGeometryData().GetData()}
	case schemapb.DataType_Array:
		c = &Scalar[*schemapb.ScalarField]{Type: t, ElementType: sc.GetArrayData().GetElementType(), Data: sc.GetArrayData().GetData()}
	case schemapb.DataType_ArrayOfVector:
		va := vf.GetVectorArray()
		if err := checkVectorArray(fd.GetFieldName(), va); err != nil {
			return nil, err
		}
		c = &Scalar[*schemapb.VectorField]{Type: t, ElementType: va.GetElementType(), Data: va.GetData()}
	case schemapb.DataType_FloatVector:
		dim := int(vf.GetDim())
		data := vf.GetFloatVector().GetData()
		if dim <= 0 || len(data)%dim != 0 {
			return nil, fmt.Errorf("field %q: %d float values do not divide into vectors of dim %d", fd.GetFieldName(), len(data), dim)
		}
		c = &FloatVector{Dim: dim, Data: data}
	case schemapb.DataType_BinaryVector, schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector, schemapb.DataType_Int8Vector:
		dim := int(vf.GetDim())
		var data []byte
		switch t {
		case schemapb.DataType_BinaryVector:
			data = vf.GetBinaryVector()
		case schemapb.DataType_Float16Vector:
			data = vf.GetFloat16Vector()
		case schemapb.DataType_BFloat16Vector:
			data = vf.GetBfloat16Vector()
		default:
			data = vf.GetInt8Vector()
		}
		w := VectorRowBytes(t, dim)
		if dim <= 0 || w == 0 || len(data)%w != 0 || (t == schemapb.DataType_BinaryVector && dim%8 != 0) {
			return nil, fmt.Errorf("field %q: %d bytes do not divide into %s rows of dim %d", fd.GetFieldName(), len(data), t, dim)
		}
		c = &ByteVector{Type: t, Dim: dim, Data: data}
	case schemapb.DataType_SparseFloatVector:
		sp := vf.GetSparseFloatVector()
		for i, row := range sp.GetContents() {
			if len(row)%8 != 0 {
				return nil, fmt.Errorf("field %q: sparse row %d has %d bytes, not a whole number of (index, value) pairs", fd.GetFieldName(), i, len(row))
			}
		}
		c = &SparseVector{Dim: sp.GetDim(), Rows: sp.GetContents()}
	default:
		return nil, fmt.Errorf("field %q: unsupported data type %s", fd.GetFieldName(), t)
	}
	if valid := fd.GetValidData(); len(valid) > 0 {
		return withValidity(c, valid, fd.GetFieldName())
	}
	return c, nil
}

// withValidity attaches a validity mask, expanding compact nullable data
// (values only for valid rows) to one slot per row.
func withValidity(c Column, valid []bool, name string) (Column, error) {
	n := 0
	for _, v := range valid {
		if v {
			n++
		}
	}
	expand := func(l int) (bool, error) {
		switch l {
		case len(valid):
			return false, nil
		case n:
			return true, nil
		}
		return false, fmt.Errorf("field %q: %d values for %d rows of which %d are valid", name, l, len(valid), n)
	}
	var err error
	switch s := c.(type) {
	case *Scalar[bool]:
		err = expandScalar(s, valid, expand)
	case *Scalar[int8]:
		err = expandScalar(s, valid, expand)
	case *Scalar[int16]:
		err = expandScalar(s, valid, expand)
	case *Scalar[int32]:
		err = expandScalar(s, valid, expand)
	case *Scalar[int64]:
		err = expandScalar(s, valid, expand)
	case *Scalar[float32]:
		err = expandScalar(s, valid, expand)
	case *Scalar[float64]:
		err = expandScalar(s, valid, expand)
	case *Scalar[string]:
		err = expandScalar(s, valid, expand)
	case *Scalar[[]byte]:
		err = expandScalar(s, valid, expand)
	case *Scalar[*schemapb.ScalarField]:
		err = expandScalar(s, valid, expand)
	case *FloatVector:
		err = expandFixedVector(&s.Data, s.Dim, valid, expand)
		s.Valid = valid
	case *ByteVector:
		err = expandFixedVector(&s.Data, s.RowBytes(), valid, expand)
		s.Valid = valid
	case *SparseVector:
		var grow bool
		if grow, err = expand(len(s.Rows)); grow {
			s.Rows = expandRows(s.Rows, valid)
		}
		s.Valid = valid
	default:
		return nil, fmt.Errorf("field %q: type %s cannot be nullable", name, c.DataType())
	}
	return c, err
}

func expandScalar[T any](s *Scalar[T], valid []bool, expand func(int) (bool, error)) error {
	grow, err := expand(len(s.Data))
	if err != nil {
		return err
	}
	if grow {
		full := make([]T, len(valid))
		j := 0
		for i, v := range valid {
			if v {
				full[i] = s.Data[j]
				j++
			}
		}
		s.Data = full
	}
	s.Valid = valid
	return nil
}

func narrow[T int8 | int16](in []int32) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = T(v)
	}
	return out
}

func widen[T int8 | int16](in []T) []int32 {
	out := make([]int32, len(in))
	for i, v := range in {
		out[i] = int32(v)
	}
	return out
}

// ToFieldData converts a column to Milvus's wire form for field f. Nullable
// scalar columns are sent in full form: one value slot per row plus
// ValidData; nullable vector columns in Milvus's compact form: vectors of
// the valid rows only, plus ValidData (as the SDKs read them).
func ToFieldData(c Column, f *schemapb.FieldSchema) *schemapb.FieldData {
	fd := &schemapb.FieldData{Type: f.GetDataType(), FieldName: f.GetName(), FieldId: f.GetFieldID(), IsDynamic: f.GetIsDynamic()}
	scalars := func(sf *schemapb.ScalarField) { fd.Field = &schemapb.FieldData_Scalars{Scalars: sf} }
	vectors := func(dim int64, vf *schemapb.VectorField) {
		vf.Dim = dim
		fd.Field = &schemapb.FieldData_Vectors{Vectors: vf}
	}
	switch s := c.(type) {
	case *Scalar[bool]:
		scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_BoolData{BoolData: &schemapb.BoolArray{Data: s.Data}}})
		fd.ValidData = s.Valid
	case *Scalar[int8]:
		scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: widen(s.Data)}}})
		fd.ValidData = s.Valid
	case *Scalar[int16]:
		scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: widen(s.Data)}}})
		fd.ValidData = s.Valid
	case *Scalar[int32]:
		scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: s.Data}}})
		fd.ValidData = s.Valid
	case *Scalar[int64]:
		if s.Type == schemapb.DataType_Timestamptz {
			scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_TimestamptzData{TimestamptzData: &schemapb.TimestamptzArray{Data: s.Data}}})
		} else {
			scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: s.Data}}})
		}
		fd.ValidData = s.Valid
	case *Scalar[float32]:
		scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_FloatData{FloatData: &schemapb.FloatArray{Data: s.Data}}})
		fd.ValidData = s.Valid
	case *Scalar[float64]:
		scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_DoubleData{DoubleData: &schemapb.DoubleArray{Data: s.Data}}})
		fd.ValidData = s.Valid
	case *Scalar[string]:
		if s.Type == schemapb.DataType_Geometry {
			scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_GeometryWktData{GeometryWktData: &schemapb.GeometryWktArray{Data: s.Data}}})
		} else {
			scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: s.Data}}})
		}
		fd.ValidData = s.Valid
	case *Scalar[[]byte]:
		if s.Type == schemapb.DataType_Geometry {
			scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_GeometryData{GeometryData: &schemapb.GeometryArray{Data: s.Data}}})
		} else {
			scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_JsonData{JsonData: &schemapb.JSONArray{Data: s.Data}}})
		}
		fd.ValidData = s.Valid
	case *Scalar[*schemapb.ScalarField]:
		scalars(&schemapb.ScalarField{Data: &schemapb.ScalarField_ArrayData{ArrayData: &schemapb.ArrayArray{Data: s.Data, ElementType: s.ElementType}}})
		fd.ValidData = s.Valid
	case *Scalar[*schemapb.VectorField]:
		dim := int64(fieldDimOf(f))
		vectors(dim, &schemapb.VectorField{Data: &schemapb.VectorField_VectorArray{VectorArray: &schemapb.VectorArray{Dim: dim, Data: s.Data, ElementType: s.ElementType}}})
	case *FloatVector:
		vectors(int64(s.Dim), &schemapb.VectorField{Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: compactFixed(s.Data, s.Dim, s.Valid)}}})
		fd.ValidData = s.Valid
	case *ByteVector:
		data := compactFixed(s.Data, s.RowBytes(), s.Valid)
		vf := &schemapb.VectorField{}
		switch s.Type {
		case schemapb.DataType_BinaryVector:
			vf.Data = &schemapb.VectorField_BinaryVector{BinaryVector: data}
		case schemapb.DataType_Float16Vector:
			vf.Data = &schemapb.VectorField_Float16Vector{Float16Vector: data}
		case schemapb.DataType_BFloat16Vector:
			vf.Data = &schemapb.VectorField_Bfloat16Vector{Bfloat16Vector: data}
		default:
			vf.Data = &schemapb.VectorField_Int8Vector{Int8Vector: data}
		}
		vectors(int64(s.Dim), vf)
		fd.ValidData = s.Valid
	case *SparseVector:
		vectors(s.Dim, &schemapb.VectorField{Data: &schemapb.VectorField_SparseFloatVector{SparseFloatVector: &schemapb.SparseFloatArray{Dim: s.Dim, Contents: compactFixed(s.Rows, 1, s.Valid)}}})
		fd.ValidData = s.Valid
	}
	return fd
}
