package column

import (
	"math"
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"
)

func scalarFD(t schemapb.DataType, sf *schemapb.ScalarField, valid []bool) *schemapb.FieldData {
	return &schemapb.FieldData{Type: t, FieldName: "f", FieldId: 101, Field: &schemapb.FieldData_Scalars{Scalars: sf}, ValidData: valid}
}

func vectorFD(t schemapb.DataType, vf *schemapb.VectorField) *schemapb.FieldData {
	return &schemapb.FieldData{Type: t, FieldName: "v", FieldId: 102, Field: &schemapb.FieldData_Vectors{Vectors: vf}}
}

func longArray(v ...int64) *schemapb.ScalarField {
	return &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: v}}}
}

// TestFieldDataRoundTrip converts every type from the wire form, checks the
// column, and converts back to the same wire form.
func TestFieldDataRoundTrip(t *testing.T) {
	sparseRow := func(pairs ...uint32) []byte {
		b := make([]byte, 0, 4*len(pairs))
		for _, p := range pairs {
			b = append(b, byte(p), byte(p>>8), byte(p>>16), byte(p>>24))
		}
		return b
	}
	f := func(name string, fd *schemapb.FieldData, want Column) {
		t.Helper()
		got, err := FromFieldData(fd)
		if err != nil {
			t.Errorf("%s: FromFieldData: %v", name, err)
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: FromFieldData\n got %#v\nwant %#v", name, got, want)
			return
		}
		schema := &schemapb.FieldSchema{Name: fd.GetFieldName(), FieldID: fd.GetFieldId(), DataType: fd.GetType()}
		if back := ToFieldData(got, schema); !proto.Equal(back, fd) {
			t.Errorf("%s: ToFieldData\n got %v\nwant %v", name, back, fd)
		}
	}
	B, I8, I16, I32, I64 := schemapb.DataType_Bool, schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32, schemapb.DataType_Int64
	f("Bool", scalarFD(B, &schemapb.ScalarField{Data: &schemapb.ScalarField_BoolData{BoolData: &schemapb.BoolArray{Data: []bool{true, false}}}}, nil),
		&Scalar[bool]{Type: B, Data: []bool{true, false}})
	f("Int8", scalarFD(I8, &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: []int32{-128, 0, 127}}}}, nil),
		&Scalar[int8]{Type: I8, Data: []int8{-128, 0, 127}})
	f("Int16", scalarFD(I16, &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: []int32{-32768, 1, 32767}}}}, nil),
		&Scalar[int16]{Type: I16, Data: []int16{-32768, 1, 32767}})
	f("Int32", scalarFD(I32, &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: []int32{math.MinInt32, math.MaxInt32}}}}, nil),
		&Scalar[int32]{Type: I32, Data: []int32{math.MinInt32, math.MaxInt32}})
	f("Int64", scalarFD(I64, longArray(math.MinInt64, 0, math.MaxInt64), nil),
		&Scalar[int64]{Type: I64, Data: []int64{math.MinInt64, 0, math.MaxInt64}})
	f("Timestamptz", scalarFD(schemapb.DataType_Timestamptz, &schemapb.ScalarField{Data: &schemapb.ScalarField_TimestamptzData{TimestamptzData: &schemapb.TimestamptzArray{Data: []int64{1700000000000000}}}}, nil),
		&Scalar[int64]{Type: schemapb.DataType_Timestamptz, Data: []int64{1700000000000000}})
	f("Float", scalarFD(schemapb.DataType_Float, &schemapb.ScalarField{Data: &schemapb.ScalarField_FloatData{FloatData: &schemapb.FloatArray{Data: []float32{1.5, -2}}}}, nil),
		&Scalar[float32]{Type: schemapb.DataType_Float, Data: []float32{1.5, -2}})
	f("Double", scalarFD(schemapb.DataType_Double, &schemapb.ScalarField{Data: &schemapb.ScalarField_DoubleData{DoubleData: &schemapb.DoubleArray{Data: []float64{math.Pi}}}}, nil),
		&Scalar[float64]{Type: schemapb.DataType_Double, Data: []float64{math.Pi}})
	for _, st := range []schemapb.DataType{schemapb.DataType_String, schemapb.DataType_VarChar, schemapb.DataType_Text} {
		f(st.String(), scalarFD(st, &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: []string{"a", "", "世界"}}}}, nil),
			&Scalar[string]{Type: st, Data: []string{"a", "", "世界"}})
	}
	f("JSON", scalarFD(schemapb.DataType_JSON, &schemapb.ScalarField{Data: &schemapb.ScalarField_JsonData{JsonData: &schemapb.JSONArray{Data: [][]byte{[]byte(`{"a":1}`), []byte(`[]`)}}}}, nil),
		&Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: [][]byte{[]byte(`{"a":1}`), []byte(`[]`)}})
	f("Geometry", scalarFD(schemapb.DataType_Geometry, &schemapb.ScalarField{Data: &schemapb.ScalarField_GeometryData{GeometryData: &schemapb.GeometryArray{Data: [][]byte{{1, 1, 0, 0, 0}}}}}, nil),
		&Scalar[[]byte]{Type: schemapb.DataType_Geometry, Data: [][]byte{{1, 1, 0, 0, 0}}})
	f("Array", scalarFD(schemapb.DataType_Array, &schemapb.ScalarField{Data: &schemapb.ScalarField_ArrayData{ArrayData: &schemapb.ArrayArray{
		ElementType: I64, Data: []*schemapb.ScalarField{longArray(1, 2), longArray()}}}}, nil),
		&Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: I64, Data: []*schemapb.ScalarField{longArray(1, 2), longArray()}})
	f("FloatVector", vectorFD(schemapb.DataType_FloatVector, &schemapb.VectorField{Dim: 2, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: []float32{1, 2, 3, 4}}}}),
		&FloatVector{Dim: 2, Data: []float32{1, 2, 3, 4}})
	f("FloatVector/empty", vectorFD(schemapb.DataType_FloatVector, &schemapb.VectorField{Dim: 4, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{}}}),
		&FloatVector{Dim: 4})
	f("BinaryVector", vectorFD(schemapb.DataType_BinaryVector, &schemapb.VectorField{Dim: 16, Data: &schemapb.VectorField_BinaryVector{BinaryVector: []byte{1, 2, 3, 4}}}),
		&ByteVector{Type: schemapb.DataType_BinaryVector, Dim: 16, Data: []byte{1, 2, 3, 4}})
	f("Float16Vector", vectorFD(schemapb.DataType_Float16Vector, &schemapb.VectorField{Dim: 2, Data: &schemapb.VectorField_Float16Vector{Float16Vector: []byte{1, 2, 3, 4, 5, 6, 7, 8}}}),
		&ByteVector{Type: schemapb.DataType_Float16Vector, Dim: 2, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	f("BFloat16Vector", vectorFD(schemapb.DataType_BFloat16Vector, &schemapb.VectorField{Dim: 1, Data: &schemapb.VectorField_Bfloat16Vector{Bfloat16Vector: []byte{1, 2, 3, 4}}}),
		&ByteVector{Type: schemapb.DataType_BFloat16Vector, Dim: 1, Data: []byte{1, 2, 3, 4}})
	f("Int8Vector", vectorFD(schemapb.DataType_Int8Vector, &schemapb.VectorField{Dim: 3, Data: &schemapb.VectorField_Int8Vector{Int8Vector: []byte{1, 255, 3, 4, 5, 6}}}),
		&ByteVector{Type: schemapb.DataType_Int8Vector, Dim: 3, Data: []byte{1, 255, 3, 4, 5, 6}})
	rows := [][]byte{sparseRow(1, math.Float32bits(0.5), 9, math.Float32bits(2)), {}}
	f("SparseFloatVector", vectorFD(schemapb.DataType_SparseFloatVector, &schemapb.VectorField{Dim: 10, Data: &schemapb.VectorField_SparseFloatVector{SparseFloatVector: &schemapb.SparseFloatArray{Dim: 10, Contents: rows}}}),
		&SparseVector{Dim: 10, Rows: rows})

	// Nullable, full form: one slot per row plus ValidData.
	f("Int64/nullable", scalarFD(I64, longArray(7, 0, 9), []bool{true, false, true}),
		&Scalar[int64]{Type: I64, Data: []int64{7, 0, 9}, Valid: []bool{true, false, true}})
	f("VarChar/nullable", scalarFD(schemapb.DataType_VarChar, &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: []string{"", "b"}}}}, []bool{false, true}),
		&Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"", "b"}, Valid: []bool{false, true}})
}

// TestFieldDataCompactNullable checks Milvus's compact nullable form
// (values only for valid rows) is expanded to one slot per row, for every
// scalar type.
func TestFieldDataCompactNullable(t *testing.T) {
	valid := []bool{false, true, false, true, true}
	f := func(name string, sf *schemapb.ScalarField, t0 schemapb.DataType, want Column) {
		t.Helper()
		got, err := FromFieldData(scalarFD(t0, sf, valid))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", name, got, want)
		}
		for i, v := range valid {
			if got.IsNull(i) == v {
				t.Errorf("%s: IsNull(%d) = %v", name, i, got.IsNull(i))
			}
		}
	}
	f("Bool", &schemapb.ScalarField{Data: &schemapb.ScalarField_BoolData{BoolData: &schemapb.BoolArray{Data: []bool{true, true, false}}}}, schemapb.DataType_Bool,
		&Scalar[bool]{Type: schemapb.DataType_Bool, Data: []bool{false, true, false, true, false}, Valid: valid})
	ints := &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: []int32{1, 2, 3}}}}
	f("Int8", ints, schemapb.DataType_Int8, &Scalar[int8]{Type: schemapb.DataType_Int8, Data: []int8{0, 1, 0, 2, 3}, Valid: valid})
	f("Int16", ints, schemapb.DataType_Int16, &Scalar[int16]{Type: schemapb.DataType_Int16, Data: []int16{0, 1, 0, 2, 3}, Valid: valid})
	f("Int32", ints, schemapb.DataType_Int32, &Scalar[int32]{Type: schemapb.DataType_Int32, Data: []int32{0, 1, 0, 2, 3}, Valid: valid})
	f("Int64", longArray(1, 2, 3), schemapb.DataType_Int64, &Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{0, 1, 0, 2, 3}, Valid: valid})
	f("Float", &schemapb.ScalarField{Data: &schemapb.ScalarField_FloatData{FloatData: &schemapb.FloatArray{Data: []float32{1, 2, 3}}}}, schemapb.DataType_Float,
		&Scalar[float32]{Type: schemapb.DataType_Float, Data: []float32{0, 1, 0, 2, 3}, Valid: valid})
	f("Double", &schemapb.ScalarField{Data: &schemapb.ScalarField_DoubleData{DoubleData: &schemapb.DoubleArray{Data: []float64{1, 2, 3}}}}, schemapb.DataType_Double,
		&Scalar[float64]{Type: schemapb.DataType_Double, Data: []float64{0, 1, 0, 2, 3}, Valid: valid})
	f("VarChar", &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: []string{"a", "b", "c"}}}}, schemapb.DataType_VarChar,
		&Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"", "a", "", "b", "c"}, Valid: valid})
	f("JSON", &schemapb.ScalarField{Data: &schemapb.ScalarField_JsonData{JsonData: &schemapb.JSONArray{Data: [][]byte{[]byte("1"), []byte("2"), []byte("3")}}}}, schemapb.DataType_JSON,
		&Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: [][]byte{nil, []byte("1"), nil, []byte("2"), []byte("3")}, Valid: valid})
	arr := []*schemapb.ScalarField{longArray(1), longArray(2), longArray(3)}
	f("Array", &schemapb.ScalarField{Data: &schemapb.ScalarField_ArrayData{ArrayData: &schemapb.ArrayArray{ElementType: schemapb.DataType_Int64, Data: arr}}}, schemapb.DataType_Array,
		&Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64, Data: []*schemapb.ScalarField{nil, arr[0], nil, arr[1], arr[2]}, Valid: valid})

	// Every row null, compact: no values at all.
	got, err := FromFieldData(scalarFD(schemapb.DataType_Int64, longArray(), []bool{false, false}))
	if err != nil || !reflect.DeepEqual(got, &Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{0, 0}, Valid: []bool{false, false}}) {
		t.Errorf("all null: %#v, %v", got, err)
	}
	// The expanded column converts back in full form.
	back := ToFieldData(got, &schemapb.FieldSchema{Name: "f", FieldID: 101, DataType: schemapb.DataType_Int64, Nullable: true})
	if !proto.Equal(back, scalarFD(schemapb.DataType_Int64, longArray(0, 0), []bool{false, false})) {
		t.Errorf("full form: %v", back)
	}
}

func TestFieldDataRejects(t *testing.T) {
	f := func(name string, fd *schemapb.FieldData) {
		t.Helper()
		if c, err := FromFieldData(fd); err == nil {
			t.Errorf("%s: accepted as %#v", name, c)
		}
	}
	fv := func(dim int64, n int) *schemapb.FieldData {
		return vectorFD(schemapb.DataType_FloatVector, &schemapb.VectorField{Dim: dim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: make([]float32, n)}}})
	}
	f("FloatVector ragged", fv(4, 6))
	f("FloatVector dim 0", fv(0, 4))
	f("FloatVector negative dim", fv(-2, 4))
	f("BinaryVector dim not multiple of 8", vectorFD(schemapb.DataType_BinaryVector, &schemapb.VectorField{Dim: 12, Data: &schemapb.VectorField_BinaryVector{BinaryVector: make([]byte, 3)}}))
	f("BinaryVector dim 4", vectorFD(schemapb.DataType_BinaryVector, &schemapb.VectorField{Dim: 4, Data: &schemapb.VectorField_BinaryVector{BinaryVector: make([]byte, 2)}}))
	f("BinaryVector ragged", vectorFD(schemapb.DataType_BinaryVector, &schemapb.VectorField{Dim: 16, Data: &schemapb.VectorField_BinaryVector{BinaryVector: make([]byte, 3)}}))
	f("Float16Vector ragged", vectorFD(schemapb.DataType_Float16Vector, &schemapb.VectorField{Dim: 2, Data: &schemapb.VectorField_Float16Vector{Float16Vector: make([]byte, 6)}}))
	f("BFloat16Vector ragged", vectorFD(schemapb.DataType_BFloat16Vector, &schemapb.VectorField{Dim: 2, Data: &schemapb.VectorField_Bfloat16Vector{Bfloat16Vector: make([]byte, 5)}}))
	f("Int8Vector ragged", vectorFD(schemapb.DataType_Int8Vector, &schemapb.VectorField{Dim: 3, Data: &schemapb.VectorField_Int8Vector{Int8Vector: make([]byte, 4)}}))
	f("Int8Vector dim 0", vectorFD(schemapb.DataType_Int8Vector, &schemapb.VectorField{Dim: 0, Data: &schemapb.VectorField_Int8Vector{Int8Vector: make([]byte, 4)}}))
	f("Sparse partial pair", vectorFD(schemapb.DataType_SparseFloatVector, &schemapb.VectorField{Data: &schemapb.VectorField_SparseFloatVector{SparseFloatVector: &schemapb.SparseFloatArray{Contents: [][]byte{make([]byte, 12)}}}}))
	f("unsupported type", &schemapb.FieldData{Type: schemapb.DataType_None})
	f("nullable vector wrong count", &schemapb.FieldData{Type: schemapb.DataType_FloatVector, ValidData: []bool{true, false, true},
		Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: 1, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: []float32{1}}}}}})
	f("nullable wrong count", scalarFD(schemapb.DataType_Int64, longArray(1, 2), []bool{true, false, false, false}))
	f("nullable too many values", scalarFD(schemapb.DataType_Int64, longArray(1, 2, 3), []bool{true, false}))
}

func TestNew(t *testing.T) {
	for name := range schemapb.DataType_value {
		dt := schemapb.DataType(schemapb.DataType_value[name])
		c, err := New(dt, 8, schemapb.DataType_Int64)
		if err != nil {
			continue // types without a column (None, structs, ...)
		}
		if c.DataType() != dt || c.Len() != 0 {
			t.Errorf("New(%s) = %T of type %s, len %d", dt, c, c.DataType(), c.Len())
		}
		back, err := FromFieldData(ToFieldData(c, &schemapb.FieldSchema{DataType: dt}))
		if err != nil {
			t.Errorf("%s: empty column does not round trip: %v", dt, err)
			continue
		}
		if back.DataType() != dt || back.Len() != 0 {
			t.Errorf("%s: round trip gave %T len %d", dt, back, back.Len())
		}
	}
}

// TestFieldDataWrongPayload pins that a payload of another type reads as no
// values; the caller's row-count check turns that into an error.
func TestFieldDataWrongPayload(t *testing.T) {
	fd := scalarFD(schemapb.DataType_Int64, &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: []int32{1, 2}}}}, nil)
	c, err := FromFieldData(fd)
	if err != nil || c.Len() != 0 {
		t.Fatalf("got %v rows, err %v", c, err)
	}
}
