package column

import (
	"fmt"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// An ArrayOfVector column (a struct array's vector sub-field: one embedding
// list per row) is a Scalar[*schemapb.VectorField] whose ElementType is the
// vector type; each row's VectorField holds that row's vectors.

// checkVectorArray checks that each row of a VectorArray holds whole vectors
// of the array's element type and dim.
func checkVectorArray(name string, va *schemapb.VectorArray) error {
	elem := va.GetElementType()
	for i, row := range va.GetData() {
		if row == nil {
			return fmt.Errorf("field %q: row %d has no vectors", name, i)
		}
		dim := int(row.GetDim())
		if dim == 0 {
			dim = int(va.GetDim())
		}
		if _, err := EmbListLen(row, elem, dim); err != nil {
			return fmt.Errorf("field %q: row %d: %w", name, i, err)
		}
	}
	return nil
}

// EmbListLen is the number of vectors of type elem and dimension dim held by
// v, or an error when its payload is of another type or not whole vectors.
func EmbListLen(v *schemapb.VectorField, elem schemapb.DataType, dim int) (int, error) {
	if dim <= 0 {
		return 0, fmt.Errorf("vector dim %d is invalid", dim)
	}
	var n int
	switch elem {
	case schemapb.DataType_FloatVector:
		if v.GetFloatVector() == nil && v.GetData() != nil {
			return 0, fmt.Errorf("expected %s vectors", elem)
		}
		n = len(v.GetFloatVector().GetData())
		if n%dim != 0 {
			return 0, fmt.Errorf("%d float values do not divide into vectors of dim %d", n, dim)
		}
		return n / dim, nil
	case schemapb.DataType_BinaryVector, schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector, schemapb.DataType_Int8Vector:
		var b []byte
		switch elem {
		case schemapb.DataType_BinaryVector:
			b = v.GetBinaryVector()
		case schemapb.DataType_Float16Vector:
			b = v.GetFloat16Vector()
		case schemapb.DataType_BFloat16Vector:
			b = v.GetBfloat16Vector()
		default:
			b = v.GetInt8Vector()
		}
		w := VectorRowBytes(elem, dim)
		if w == 0 || len(b)%w != 0 {
			return 0, fmt.Errorf("%d bytes do not divide into %s vectors of dim %d", len(b), elem, dim)
		}
		return len(b) / w, nil
	}
	return 0, fmt.Errorf("unsupported embedding list element type %s", elem)
}

// fieldDimOf is the "dim" type param of f, 0 when absent.
func fieldDimOf(f *schemapb.FieldSchema) int {
	for _, kv := range f.GetTypeParams() {
		if kv.GetKey() == "dim" {
			d, _ := strconv.Atoi(kv.GetValue())
			return d
		}
	}
	return 0
}
