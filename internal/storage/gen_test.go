package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
)

// namedColumn is a test column with a name for subtests.
type namedColumn struct {
	name string
	col  column.Column
}

func randValid(r *rand.Rand, n int) []bool {
	v := make([]bool, n)
	for i := range v {
		v[i] = r.IntN(3) != 0
	}
	return v
}

// randString returns valid UTF-8 (as gRPC delivers it) mixing ASCII,
// multi-byte runes and NUL.
func randString(r *rand.Rand) string {
	runes := []rune{'a', 'z', '0', ' ', 0, 'é', '世', '🙂'}
	b := make([]rune, r.IntN(12))
	for i := range b {
		b[i] = runes[r.IntN(len(runes))]
	}
	return string(b)
}

// randArray returns an Array row of element type t, nil now and then.
func randArray(r *rand.Rand, t schemapb.DataType) *schemapb.ScalarField {
	if r.IntN(8) == 0 {
		return nil
	}
	n := r.IntN(5)
	sf := &schemapb.ScalarField{}
	switch t {
	case schemapb.DataType_Bool:
		d := make([]bool, n)
		for i := range d {
			d[i] = r.IntN(2) == 1
		}
		sf.Data = &schemapb.ScalarField_BoolData{BoolData: &schemapb.BoolArray{Data: d}}
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(r.IntN(256) - 128)
		}
		sf.Data = &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: d}}
	case schemapb.DataType_Int64:
		d := make([]int64, n)
		for i := range d {
			d[i] = r.Int64()
		}
		sf.Data = &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: d}}
	case schemapb.DataType_Timestamptz:
		d := make([]int64, n)
		for i := range d {
			d[i] = r.Int64()
		}
		sf.Data = &schemapb.ScalarField_TimestamptzData{TimestamptzData: &schemapb.TimestamptzArray{Data: d}}
	case schemapb.DataType_Float:
		d := make([]float32, n)
		for i := range d {
			d[i] = r.Float32()
		}
		sf.Data = &schemapb.ScalarField_FloatData{FloatData: &schemapb.FloatArray{Data: d}}
	case schemapb.DataType_Double:
		d := make([]float64, n)
		for i := range d {
			d[i] = r.Float64()
		}
		sf.Data = &schemapb.ScalarField_DoubleData{DoubleData: &schemapb.DoubleArray{Data: d}}
	case schemapb.DataType_VarChar, schemapb.DataType_String:
		d := make([]string, n)
		for i := range d {
			d[i] = randString(r)
		}
		sf.Data = &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: d}}
	}
	return sf
}

// arrayElementTypes are the element types Milvus allows in an Array field.
var arrayElementTypes = []schemapb.DataType{
	schemapb.DataType_Bool, schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32,
	schemapb.DataType_Int64, schemapb.DataType_Float, schemapb.DataType_Double, schemapb.DataType_VarChar,
	schemapb.DataType_String, schemapb.DataType_Timestamptz,
}

// scalarOf fills a Scalar of n rows with gen, nullable if asked.
func scalarOf[T any](r *rand.Rand, t schemapb.DataType, n int, nullable bool, gen func() T) *column.Scalar[T] {
	s := &column.Scalar[T]{Type: t, Data: make([]T, n)}
	for i := range s.Data {
		s.Data[i] = gen()
	}
	if nullable {
		s.Valid = randValid(r, n)
	}
	return s
}

// sampleColumns returns a column of every type and shape with n rows.
func sampleColumns(seed uint64, n int) []namedColumn {
	r := rand.New(rand.NewPCG(seed, 7))
	var out []namedColumn
	add := func(name string, c column.Column) { out = append(out, namedColumn{fmt.Sprintf("%s/n=%d", name, n), c}) }
	for _, nullable := range []bool{false, true} {
		sfx := ""
		if nullable {
			sfx = "/nullable"
		}
		add("Bool"+sfx, scalarOf(r, schemapb.DataType_Bool, n, nullable, func() bool { return r.IntN(2) == 1 }))
		add("Int8"+sfx, scalarOf(r, schemapb.DataType_Int8, n, nullable, func() int8 { return int8(r.Uint32()) }))
		add("Int16"+sfx, scalarOf(r, schemapb.DataType_Int16, n, nullable, func() int16 { return int16(r.Uint32()) }))
		add("Int32"+sfx, scalarOf(r, schemapb.DataType_Int32, n, nullable, func() int32 { return int32(r.Uint32()) }))
		add("Int64"+sfx, scalarOf(r, schemapb.DataType_Int64, n, nullable, func() int64 { return int64(r.Uint64()) }))
		add("Timestamptz"+sfx, scalarOf(r, schemapb.DataType_Timestamptz, n, nullable, func() int64 { return int64(r.Uint64()) }))
		add("Float"+sfx, scalarOf(r, schemapb.DataType_Float, n, nullable, func() float32 { return float32(r.NormFloat64()) }))
		add("Double"+sfx, scalarOf(r, schemapb.DataType_Double, n, nullable, func() float64 { return r.NormFloat64() }))
		add("VarChar"+sfx, scalarOf(r, schemapb.DataType_VarChar, n, nullable, func() string { return randString(r) }))
		add("String"+sfx, scalarOf(r, schemapb.DataType_String, n, nullable, func() string { return randString(r) }))
		add("Text"+sfx, scalarOf(r, schemapb.DataType_Text, n, nullable, func() string { return randString(r) }))
		add("JSON"+sfx, scalarOf(r, schemapb.DataType_JSON, n, nullable, func() []byte { return fmt.Appendf(nil, `{"a":%d}`, r.IntN(100)) }))
		add("Geometry"+sfx, scalarOf(r, schemapb.DataType_Geometry, n, nullable, func() []byte { return []byte(randString(r)) }))
		for _, et := range arrayElementTypes {
			s := scalarOf(r, schemapb.DataType_Array, n, nullable, func() *schemapb.ScalarField { return randArray(r, et) })
			s.ElementType = et
			add("Array"+et.String()+sfx, s)
		}
	}
	for _, dim := range []int{1, 3, 128} {
		fv := &column.FloatVector{Dim: dim, Data: make([]float32, n*dim)}
		for i := range fv.Data {
			fv.Data[i] = float32(r.NormFloat64())
		}
		add(fmt.Sprintf("FloatVector/dim=%d", dim), fv)
	}
	for _, t := range []schemapb.DataType{schemapb.DataType_BinaryVector, schemapb.DataType_Float16Vector,
		schemapb.DataType_BFloat16Vector, schemapb.DataType_Int8Vector} {
		for _, dim := range []int{8, 24} {
			bv := &column.ByteVector{Type: t, Dim: dim}
			bv.Data = make([]byte, n*bv.RowBytes())
			for i := range bv.Data {
				bv.Data[i] = byte(r.Uint32())
			}
			add(fmt.Sprintf("%s/dim=%d", t, dim), bv)
		}
	}
	sp := &column.SparseVector{Rows: make([][]byte, n)}
	for i := range sp.Rows {
		idx := uint32(0)
		var row []byte
		for range r.IntN(6) {
			idx += 1 + uint32(r.IntN(1000))
			row = binary.LittleEndian.AppendUint32(row, idx)
			row = binary.LittleEndian.AppendUint32(row, math.Float32bits(r.Float32()))
		}
		sp.Rows[i] = row
		sp.Dim = max(sp.Dim, int64(idx)+1)
	}
	add("SparseFloatVector", sp)
	return out
}

// sliceEqual compares element-wise with eq, treating nil and empty alike.
func sliceEqual[T any](a, b []T, eq func(x, y T) bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !eq(a[i], b[i]) {
			return false
		}
	}
	return true
}

func same[T comparable](x, y T) bool { return x == y }

func validEqual(a, b []bool) bool {
	return (a == nil) == (b == nil) && slices.Equal(a, b)
}

// columnsEqual reports whether two columns hold the same type, shape,
// values (floats compared bit for bit) and validity.
func columnsEqual(a, b column.Column) error {
	if a.DataType() != b.DataType() || a.Len() != b.Len() {
		return fmt.Errorf("type/len %s/%d vs %s/%d", a.DataType(), a.Len(), b.DataType(), b.Len())
	}
	ok := false
	switch x := a.(type) {
	case *column.Scalar[bool]:
		y := b.(*column.Scalar[bool])
		ok = sliceEqual(x.Data, y.Data, same) && validEqual(x.Valid, y.Valid)
	case *column.Scalar[int8]:
		y := b.(*column.Scalar[int8])
		ok = sliceEqual(x.Data, y.Data, same) && validEqual(x.Valid, y.Valid)
	case *column.Scalar[int16]:
		y := b.(*column.Scalar[int16])
		ok = sliceEqual(x.Data, y.Data, same) && validEqual(x.Valid, y.Valid)
	case *column.Scalar[int32]:
		y := b.(*column.Scalar[int32])
		ok = sliceEqual(x.Data, y.Data, same) && validEqual(x.Valid, y.Valid)
	case *column.Scalar[int64]:
		y := b.(*column.Scalar[int64])
		ok = sliceEqual(x.Data, y.Data, same) && validEqual(x.Valid, y.Valid)
	case *column.Scalar[float32]:
		y := b.(*column.Scalar[float32])
		ok = sliceEqual(x.Data, y.Data, func(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) }) && validEqual(x.Valid, y.Valid)
	case *column.Scalar[float64]:
		y := b.(*column.Scalar[float64])
		ok = sliceEqual(x.Data, y.Data, func(p, q float64) bool { return math.Float64bits(p) == math.Float64bits(q) }) && validEqual(x.Valid, y.Valid)
	case *column.Scalar[string]:
		y := b.(*column.Scalar[string])
		ok = sliceEqual(x.Data, y.Data, same) && validEqual(x.Valid, y.Valid)
	case *column.Scalar[[]byte]:
		y := b.(*column.Scalar[[]byte])
		ok = sliceEqual(x.Data, y.Data, bytes.Equal) && validEqual(x.Valid, y.Valid)
	case *column.Scalar[*schemapb.ScalarField]:
		y := b.(*column.Scalar[*schemapb.ScalarField])
		ok = x.ElementType == y.ElementType && validEqual(x.Valid, y.Valid) &&
			sliceEqual(x.Data, y.Data, func(p, q *schemapb.ScalarField) bool { return (p == nil) == (q == nil) && proto.Equal(p, q) })
	case *column.FloatVector:
		y := b.(*column.FloatVector)
		ok = x.Dim == y.Dim && bytes.Equal(bytesOf(x.Data), bytesOf(y.Data))
	case *column.ByteVector:
		y := b.(*column.ByteVector)
		ok = x.Type == y.Type && x.Dim == y.Dim && bytes.Equal(x.Data, y.Data)
	case *column.SparseVector:
		y := b.(*column.SparseVector)
		ok = x.Dim == y.Dim && sliceEqual(x.Rows, y.Rows, bytes.Equal)
	default:
		return fmt.Errorf("unknown column %T", a)
	}
	if !ok {
		return fmt.Errorf("%s columns differ", a.DataType())
	}
	return nil
}

// reseal recomputes the payload length and both checksums of a file, so a
// test or fuzz mutation reaches the structural checks behind them.
func reseal(b []byte) []byte {
	if len(b) < headerSize {
		return b
	}
	b = slices.Clone(b)
	binary.LittleEndian.PutUint64(b[32:], uint64(len(b)-headerSize))
	binary.LittleEndian.PutUint32(b[40:], crc32.Checksum(b[headerSize:], castagnoli))
	binary.LittleEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	return b
}

func mustEncode(t testing.TB, c column.Column) []byte {
	t.Helper()
	b, err := EncodeColumn(c)
	if err != nil {
		t.Fatalf("encode %s: %v", c.DataType(), err)
	}
	return b
}
