package column

import (
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// Compact returns fd in the form Milvus's proxy accepts for a nullable
// scalar column: values only for the valid rows, plus ValidData. A column
// in full form (one slot per row, nulls in place, as ToFieldData builds it)
// is copied without its null slots; anything else is returned unchanged.
// Vector columns are compact already.
func Compact(fd *schemapb.FieldData) *schemapb.FieldData {
	valid := fd.GetValidData()
	sc := fd.GetScalars()
	if len(valid) == 0 || sc == nil {
		return fd
	}
	n := 0
	for _, v := range valid {
		if v {
			n++
		}
	}
	if n == len(valid) || ScalarLen(sc) != len(valid) {
		return fd
	}
	var out *schemapb.ScalarField
	switch d := sc.GetData().(type) {
	case *schemapb.ScalarField_BoolData:
		out = &schemapb.ScalarField{Data: &schemapb.ScalarField_BoolData{BoolData: &schemapb.BoolArray{Data: keepValid(d.BoolData.GetData(), valid)}}}
	case *schemapb.ScalarField_IntData:
		out = &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: keepValid(d.IntData.GetData(), valid)}}}
	case *schemapb.ScalarField_LongData:
		out = &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: keepValid(d.LongData.GetData(), valid)}}}
	case *schemapb.ScalarField_TimestamptzData:
		out = &schemapb.ScalarField{Data: &schemapb.ScalarField_TimestamptzData{TimestamptzData: &schemapb.TimestamptzArray{Data: keepValid(d.TimestamptzData.GetData(), valid)}}}
	case *schemapb.ScalarField_FloatData:
		out = &schemapb.ScalarField{Data: &schemapb.ScalarField_FloatData{FloatData: &schemapb.FloatArray{Data: keepValid(d.FloatData.GetData(), valid)}}}
	case *schemapb.ScalarField_DoubleData:
		out = &schemapb.ScalarField{Data: &schemapb.ScalarField_DoubleData{DoubleData: &schemapb.DoubleArray{Data: keepValid(d.DoubleData.GetData(), valid)}}}
	case *schemapb.ScalarField_StringData:
		out = &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: keepValid(d.StringData.GetData(), valid)}}}
	case *schemapb.ScalarField_JsonData:
		out = &schemapb.ScalarField{Data: &schemapb.ScalarField_JsonData{JsonData: &schemapb.JSONArray{Data: keepValid(d.JsonData.GetData(), valid)}}}
	case *schemapb.ScalarField_GeometryData:
		out = &schemapb.ScalarField{Data: &schemapb.ScalarField_GeometryData{GeometryData: &schemapb.GeometryArray{Data: keepValid(d.GeometryData.GetData(), valid)}}}
	case *schemapb.ScalarField_GeometryWktData:
		out = &schemapb.ScalarField{Data: &schemapb.ScalarField_GeometryWktData{GeometryWktData: &schemapb.GeometryWktArray{Data: keepValid(d.GeometryWktData.GetData(), valid)}}}
	case *schemapb.ScalarField_ArrayData:
		out = &schemapb.ScalarField{Data: &schemapb.ScalarField_ArrayData{ArrayData: &schemapb.ArrayArray{
			Data: keepValid(d.ArrayData.GetData(), valid), ElementType: d.ArrayData.GetElementType()}}}
	default:
		return fd
	}
	return &schemapb.FieldData{
		Type: fd.GetType(), FieldName: fd.GetFieldName(), FieldId: fd.GetFieldId(), IsDynamic: fd.GetIsDynamic(),
		Field: &schemapb.FieldData_Scalars{Scalars: out}, ValidData: valid,
	}
}

// ScalarLen is the number of values sc carries (-1: a kind it does not
// know).
func ScalarLen(sc *schemapb.ScalarField) int {
	switch d := sc.GetData().(type) {
	case *schemapb.ScalarField_BoolData:
		return len(d.BoolData.GetData())
	case *schemapb.ScalarField_IntData:
		return len(d.IntData.GetData())
	case *schemapb.ScalarField_LongData:
		return len(d.LongData.GetData())
	case *schemapb.ScalarField_TimestamptzData:
		return len(d.TimestamptzData.GetData())
	case *schemapb.ScalarField_FloatData:
		return len(d.FloatData.GetData())
	case *schemapb.ScalarField_DoubleData:
		return len(d.DoubleData.GetData())
	case *schemapb.ScalarField_StringData:
		return len(d.StringData.GetData())
	case *schemapb.ScalarField_JsonData:
		return len(d.JsonData.GetData())
	case *schemapb.ScalarField_GeometryData:
		return len(d.GeometryData.GetData())
	case *schemapb.ScalarField_GeometryWktData:
		return len(d.GeometryWktData.GetData())
	case *schemapb.ScalarField_ArrayData:
		return len(d.ArrayData.GetData())
	}
	return -1
}

// keepValid is data (one slot per row) without its null slots.
func keepValid[T any](data []T, valid []bool) []T {
	out := make([]T, 0, len(data))
	for i, v := range valid {
		if v {
			out = append(out, data[i])
		}
	}
	return out
}
