package expr

import (
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// memBatch is an in-memory column.Batch for tests.
type memBatch struct {
	n    int
	cols map[int64]column.Column
}

func (b *memBatch) Len() int { return b.n }

func (b *memBatch) Column(id int64) (column.Column, error) {
	c, ok := b.cols[id]
	if !ok {
		return nil, fmt.Errorf("no column %d", id)
	}
	return c, nil
}

// Field IDs of the test schema.
const (
	fID   = 100 // id Int64 primary key
	fI8   = 101 // i8 Int8
	fI32  = 102 // i32 Int32 nullable
	fI64  = 103 // i64 Int64
	fF    = 104 // f Float
	fD    = 105 // d Double nullable
	fB    = 106 // b Bool
	fS    = 107 // s VarChar nullable
	fJ    = 108 // j JSON nullable
	fAI   = 109 // ai Array[Int64]
	fAS   = 110 // as Array[VarChar] nullable
	fMeta = 111 // $meta dynamic JSON
	fVec  = 112 // vec FloatVector
	fTxt  = 113 // txt Text
	fAD   = 114 // ad Array[Double]
)

func testSchema() *schemapb.CollectionSchema {
	fs := func(id int64, name string, t schemapb.DataType, opts ...func(*schemapb.FieldSchema)) *schemapb.FieldSchema {
		f := &schemapb.FieldSchema{FieldID: id, Name: name, DataType: t}
		for _, o := range opts {
			o(f)
		}
		return f
	}
	nullable := func(f *schemapb.FieldSchema) { f.Nullable = true }
	elem := func(t schemapb.DataType) func(*schemapb.FieldSchema) {
		return func(f *schemapb.FieldSchema) { f.ElementType = t }
	}
	return &schemapb.CollectionSchema{
		Name:               "t",
		EnableDynamicField: true,
		Fields: []*schemapb.FieldSchema{
			fs(fID, "id", schemapb.DataType_Int64, func(f *schemapb.FieldSchema) { f.IsPrimaryKey = true }),
			fs(fI8, "i8", schemapb.DataType_Int8),
			fs(fI32, "i32", schemapb.DataType_Int32, nullable),
			fs(fI64, "i64", schemapb.DataType_Int64),
			fs(fF, "f", schemapb.DataType_Float),
			fs(fD, "d", schemapb.DataType_Double, nullable),
			fs(fB, "b", schemapb.DataType_Bool),
			fs(fS, "s", schemapb.DataType_VarChar, nullable),
			fs(fJ, "j", schemapb.DataType_JSON, nullable),
			fs(fAI, "ai", schemapb.DataType_Array, elem(schemapb.DataType_Int64)),
			fs(fAS, "as", schemapb.DataType_Array, elem(schemapb.DataType_VarChar), nullable),
			fs(fMeta, "$meta", schemapb.DataType_JSON, func(f *schemapb.FieldSchema) { f.IsDynamic = true }),
			fs(fVec, "vec", schemapb.DataType_FloatVector),
			fs(fTxt, "txt", schemapb.DataType_Text),
			fs(fAD, "ad", schemapb.DataType_Array, elem(schemapb.DataType_Double)),
		},
	}
}

func longArray(xs ...int64) *schemapb.ScalarField {
	return &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: xs}}}
}

func strArray(xs ...string) *schemapb.ScalarField {
	return &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: xs}}}
}

func doubleArray(xs ...float64) *schemapb.ScalarField {
	return &schemapb.ScalarField{Data: &schemapb.ScalarField_DoubleData{DoubleData: &schemapb.DoubleArray{Data: xs}}}
}
