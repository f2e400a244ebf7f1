package jsonrows

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
)

// IsNull reports whether a JSON value is null.
func IsNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// FieldDim reads a fixed-width vector field's "dim" type parameter.
func FieldDim(f *schemapb.FieldSchema) (int, error) {
	for _, kv := range f.GetTypeParams() {
		if kv.GetKey() == "dim" {
			d, err := strconv.Atoi(kv.GetValue())
			if err != nil || d <= 0 {
				return 0, fmt.Errorf("field %s has an invalid dim %q", f.GetName(), kv.GetValue())
			}
			return d, nil
		}
	}
	return 0, fmt.Errorf("field %s has no dim", f.GetName())
}

// appendNull appends a null slot to a nullable column.
func appendNull(c column.Column) {
	switch s := c.(type) {
	case *column.Scalar[bool]:
		nullSlot(s)
	case *column.Scalar[int8]:
		nullSlot(s)
	case *column.Scalar[int16]:
		nullSlot(s)
	case *column.Scalar[int32]:
		nullSlot(s)
	case *column.Scalar[int64]:
		nullSlot(s)
	case *column.Scalar[float32]:
		nullSlot(s)
	case *column.Scalar[float64]:
		nullSlot(s)
	case *column.Scalar[string]:
		nullSlot(s)
	case *column.Scalar[[]byte]:
		nullSlot(s)
	case *column.Scalar[*schemapb.ScalarField]:
		nullSlot(s)
	case *column.FloatVector:
		s.Valid = nullVector(s.Valid, s.Len())
		s.Data = append(s.Data, make([]float32, s.Dim)...)
	case *column.ByteVector:
		s.Valid = nullVector(s.Valid, s.Len())
		s.Data = append(s.Data, make([]byte, s.RowBytes())...)
	case *column.SparseVector:
		s.Valid = nullVector(s.Valid, len(s.Rows))
		s.Rows = append(s.Rows, nil)
	}
}

// nullVector appends a null row's flag to the mask of a vector column of
// n rows (nil mask: every row valid).
func nullVector(valid []bool, n int) []bool {
	if valid == nil {
		valid = make([]bool, n, n+1)
		for i := range valid {
			valid[i] = true
		}
	}
	return append(valid, false)
}

// validVector appends a valid row's flag to a vector column's mask, which
// stays nil while no row is null.
func validVector(valid []bool) []bool {
	if valid == nil {
		return nil
	}
	return append(valid, true)
}

func nullSlot[T any](s *column.Scalar[T]) {
	if s.Valid == nil {
		s.Valid = make([]bool, len(s.Data), cap(s.Data)+1)
		for i := range s.Valid {
			s.Valid[i] = true
		}
	}
	var zero T
	s.Data = append(s.Data, zero)
	s.Valid = append(s.Valid, false)
}

func valid[T any](s *column.Scalar[T], v T) {
	s.Data = append(s.Data, v)
	if s.Valid != nil {
		s.Valid = append(s.Valid, true)
	}
}

// appendValue decodes one non-null JSON value of field f onto c.
func appendValue(c column.Column, f *schemapb.FieldSchema, dim int, v json.RawMessage) error {
	switch s := c.(type) {
	case *column.Scalar[bool]:
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return fmt.Errorf("%s is not a bool", Abbrev(v))
		}
		valid(s, b)
	case *column.Scalar[int8]:
		n, err := ParseInt(v, math.MinInt8, math.MaxInt8)
		if err != nil {
			return err
		}
		valid(s, int8(n))
	case *column.Scalar[int16]:
		n, err := ParseInt(v, math.MinInt16, math.MaxInt16)
		if err != nil {
			return err
		}
		valid(s, int16(n))
	case *column.Scalar[int32]:
		n, err := ParseInt(v, math.MinInt32, math.MaxInt32)
		if err != nil {
			return err
		}
		valid(s, int32(n))
	case *column.Scalar[int64]:
		n, err := ParseInt(v, math.MinInt64, math.MaxInt64)
		if err != nil {
			return err
		}
		valid(s, n)
	case *column.Scalar[float32]:
		x, err := parseFloat(v, 32)
		if err != nil {
			return err
		}
		valid(s, float32(x))
	case *column.Scalar[float64]:
		x, err := parseFloat(v, 64)
		if err != nil {
			return err
		}
		valid(s, x)
	case *column.Scalar[string]:
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			return fmt.Errorf("%s is not a string", Abbrev(v))
		}
		valid(s, str)
	case *column.Scalar[[]byte]: // JSON (Geometry arrives as WKT text)
		if f.GetDataType() == schemapb.DataType_Geometry {
			var str string
			if err := json.Unmarshal(v, &str); err != nil {
				return fmt.Errorf("%s is not a WKT string", Abbrev(v))
			}
			valid(s, []byte(str))
			return nil
		}
		if len(v) == 0 {
			// The empty payload (a caller's Fill for a JSON field a row
			// lacks, as Milvus's REST server passes ""): kept as it is
			// for the proxy to judge.
			valid(s, []byte{})
			return nil
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return err
		}
		valid(s, buf.Bytes())
	case *column.Scalar[*schemapb.ScalarField]:
		sf, err := parseArray(v, f.GetElementType())
		if err != nil {
			return err
		}
		valid(s, sf)
	case *column.FloatVector:
		vec, err := ParseFloats(v, dim)
		if err != nil {
			return err
		}
		s.Data = append(s.Data, vec...)
		s.Valid = validVector(s.Valid)
	case *column.ByteVector:
		b, err := ParseByteVector(v, s.Type, dim)
		if err != nil {
			return err
		}
		s.Data = append(s.Data, b...)
		s.Valid = validVector(s.Valid)
	case *column.SparseVector:
		row, maxIdx, err := ParseSparse(v)
		if err != nil {
			return err
		}
		s.Rows = append(s.Rows, row)
		s.Dim = max(s.Dim, maxIdx+1)
		s.Valid = validVector(s.Valid)
	default:
		return fmt.Errorf("unsupported data type %s", f.GetDataType())
	}
	return nil
}

// Abbrev shortens a value for an error message.
func Abbrev(v json.RawMessage) string {
	if len(v) > 40 {
		return string(v[:37]) + "..."
	}
	return string(v)
}

// ParseInt reads an integer in [lo, hi]: a JSON number without a fraction,
// or a decimal string (clients that cannot hold int64 send strings).
func ParseInt(v json.RawMessage, lo, hi int64) (int64, error) {
	text := string(bytes.TrimSpace(v))
	if len(text) > 1 && text[0] == '"' {
		if err := json.Unmarshal(v, &text); err != nil {
			return 0, fmt.Errorf("%s is not an integer", Abbrev(v))
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		// 1e3 or 5.0 are integers written as floats.
		f, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
			return 0, fmt.Errorf("%s is not an integer", Abbrev(v))
		}
		n = int64(f)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range [%d, %d]", n, lo, hi)
	}
	return n, nil
}

func parseFloat(v json.RawMessage, bits int) (float64, error) {
	text := string(bytes.TrimSpace(v))
	if len(text) == 0 || text[0] == '"' || text[0] == '[' || text[0] == '{' || text == "true" || text == "false" {
		return 0, fmt.Errorf("%s is not a number", Abbrev(v))
	}
	x, err := strconv.ParseFloat(text, bits)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, fmt.Errorf("%s is not a finite number", Abbrev(v))
	}
	return x, nil
}

// ParseFloats reads a JSON array of dim numbers (any number if dim < 0).
func ParseFloats(v json.RawMessage, dim int) ([]float32, error) {
	var nums []json.Number
	if err := unmarshalNumbers(v, &nums); err != nil {
		return nil, fmt.Errorf("a vector must be an array of numbers: %v", err)
	}
	if dim >= 0 && len(nums) != dim {
		return nil, fmt.Errorf("the vector has %d values, the field's dim is %d", len(nums), dim)
	}
	out := make([]float32, len(nums))
	for i, n := range nums {
		x, err := strconv.ParseFloat(string(n), 32)
		if err != nil || math.IsInf(x, 0) {
			return nil, fmt.Errorf("vector value %s is not a finite float32", n)
		}
		out[i] = float32(x)
	}
	return out, nil
}

func unmarshalNumbers(v json.RawMessage, nums *[]json.Number) error {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	return dec.Decode(nums)
}

// ParseByteVector reads a binary vector (dim/8 byte values), an int8
// vector (dim values in [-128, 127]) or a float16/bfloat16 vector (dim
// floats, converted).
func ParseByteVector(v json.RawMessage, t schemapb.DataType, dim int) ([]byte, error) {
	switch t {
	case schemapb.DataType_BinaryVector, schemapb.DataType_Int8Vector:
		var nums []json.Number
		if err := unmarshalNumbers(v, &nums); err != nil {
			return nil, fmt.Errorf("a vector must be an array of integers: %v", err)
		}
		want, lo, hi := dim/8, int64(0), int64(255)
		if t == schemapb.DataType_Int8Vector {
			want, lo, hi = dim, -128, 127
		}
		if dim >= 0 && len(nums) != want {
			return nil, fmt.Errorf("the vector has %d values, want %d for dim %d", len(nums), want, dim)
		}
		out := make([]byte, len(nums))
		for i, n := range nums {
			x, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil || x < lo || x > hi {
				return nil, fmt.Errorf("vector value %s is not an integer in [%d, %d]", n, lo, hi)
			}
			out[i] = byte(x)
		}
		return out, nil
	case schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector:
		fs, err := ParseFloats(v, dim)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 2*len(fs))
		for i, x := range fs {
			var h uint16
			if t == schemapb.DataType_Float16Vector {
				h = distance.Float32ToFloat16(x)
			} else {
				h = distance.Float32ToBFloat16(x)
			}
			binary.LittleEndian.PutUint16(out[2*i:], h)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported vector type %s", t)
}

// ParseSparse reads a sparse vector, {"index": value, ...} or
// {"indices": [...], "values": [...]}, into Milvus's row format
// (little-endian uint32 index, float32 value; indices ascending, unique).
func ParseSparse(v json.RawMessage) ([]byte, int64, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil {
		return nil, 0, fmt.Errorf("a sparse vector must be a JSON object: %v", err)
	}
	var pairs []sparseEntry
	rawIdx, hasIdx := obj["indices"]
	rawVal, hasVal := obj["values"]
	if hasIdx && hasVal && len(obj) == 2 {
		var idx, vals []json.Number
		if err := unmarshalNumbers(rawIdx, &idx); err != nil {
			return nil, 0, fmt.Errorf("sparse indices: %v", err)
		}
		if err := unmarshalNumbers(rawVal, &vals); err != nil {
			return nil, 0, fmt.Errorf("sparse values: %v", err)
		}
		if len(idx) != len(vals) {
			return nil, 0, fmt.Errorf("sparse vector has %d indices and %d values", len(idx), len(vals))
		}
		for i := range idx {
			p, err := sparsePair(string(idx[i]), string(vals[i]))
			if err != nil {
				return nil, 0, err
			}
			pairs = append(pairs, p)
		}
	} else {
		for k, raw := range obj {
			p, err := sparsePair(k, string(bytes.TrimSpace(raw)))
			if err != nil {
				return nil, 0, err
			}
			pairs = append(pairs, p)
		}
	}
	if len(pairs) == 0 {
		return nil, 0, fmt.Errorf("empty sparse vector")
	}
	slices.SortFunc(pairs, func(a, b sparseEntry) int { return cmp.Compare(a.idx, b.idx) })
	out := make([]byte, 8*len(pairs))
	for i, p := range pairs {
		if i > 0 && pairs[i-1].idx == p.idx {
			return nil, 0, fmt.Errorf("sparse index %d appears twice", p.idx)
		}
		binary.LittleEndian.PutUint32(out[8*i:], p.idx)
		binary.LittleEndian.PutUint32(out[8*i+4:], math.Float32bits(p.val))
	}
	return out, int64(pairs[len(pairs)-1].idx), nil
}

type sparseEntry struct {
	idx uint32
	val float32
}

func sparsePair(idx, val string) (sparseEntry, error) {
	i, err := strconv.ParseUint(idx, 10, 32)
	if err != nil || i == math.MaxUint32 {
		return sparseEntry{}, fmt.Errorf("sparse index %q is not an integer in [0, 2^32-1)", idx)
	}
	x, err := strconv.ParseFloat(val, 32)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return sparseEntry{}, fmt.Errorf("sparse value %q is not a finite float32", val)
	}
	return sparseEntry{uint32(i), float32(x)}, nil
}

// parseArray reads an Array field's value: a JSON array of elem values.
func parseArray(v json.RawMessage, elem schemapb.DataType) (*schemapb.ScalarField, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, fmt.Errorf("%s is not an array", Abbrev(v))
	}
	c, err := column.New(elem, 0, schemapb.DataType_None)
	if err != nil {
		return nil, fmt.Errorf("array element: %v", err)
	}
	elemField := &schemapb.FieldSchema{DataType: elem}
	for i, it := range items {
		if IsNull(it) {
			return nil, fmt.Errorf("array element %d is null", i)
		}
		if _, ok := c.(*column.Scalar[*schemapb.ScalarField]); ok || column.IsVector(elem) {
			return nil, fmt.Errorf("arrays of %s are not supported", elem)
		}
		if err := appendValue(c, elemField, 0, it); err != nil {
			return nil, fmt.Errorf("array element %d: %v", i, err)
		}
	}
	return column.ToFieldData(c, elemField).GetScalars(), nil
}

// columnsToRows converts result columns into n rows keyed by field name.
