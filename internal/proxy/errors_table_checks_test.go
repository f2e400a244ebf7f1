package proxy

import (
	"context"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/model"
)

// TestMilvusCheckErrorTable extends TestMilvusErrorTable and
// TestMilvusSchemaErrorTable to the rest of the proxy's checks that can be
// driven without a cluster: function schemas, struct array fields, insert
// columns, AddCollectionField, AlterCollection, highlighter params, partial
// update ops, search by IDs. Each case names the Milvus 2.6 source
// (milvus-io/milvus, branch 2.6, FILE:LINE) its code and text were checked
// against; "no counterpart" marks a text Milvago forms where Milvus fails
// deeper (segcore, storage) with a text a client cannot act on.
// tools/errtexts lists the texts no test pins.
func TestMilvusCheckErrorTable(t *testing.T) {
	pk := func() *schemapb.FieldSchema {
		return &schemapb.FieldSchema{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true}
	}
	vec := func() *schemapb.FieldSchema {
		return &schemapb.FieldSchema{FieldID: 101, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: kv("dim", "8")}
	}
	text := func() *schemapb.FieldSchema {
		return &schemapb.FieldSchema{FieldID: 102, Name: "text", DataType: schemapb.DataType_VarChar,
			TypeParams: kv("max_length", "64", "enable_analyzer", "true")}
	}
	sparse := func() *schemapb.FieldSchema {
		return &schemapb.FieldSchema{FieldID: 103, Name: "sp", DataType: schemapb.DataType_SparseFloatVector}
	}
	bm25 := func(in, out []string) *schemapb.FunctionSchema {
		return &schemapb.FunctionSchema{Name: "f", Type: schemapb.FunctionType_BM25, InputFieldNames: in, OutputFieldNames: out}
	}
	functions := func(mutate func(s *schemapb.CollectionSchema)) func() error {
		return func() error {
			s := &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{pk(), vec(), text(), sparse()}}
			mutate(s)
			return validateFunctions(s)
		}
	}
	basic := func(fn *schemapb.FunctionSchema) func() error {
		return func() error { return checkFunctionBasicParams(fn) }
	}
	dt := func(t schemapb.DataType) *schemapb.FieldSchema { return &schemapb.FieldSchema{Name: "x", DataType: t} }
	schema := func() *schemapb.CollectionSchema {
		return &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{pk(), vec()}}
	}
	coll := func(fields ...*schemapb.FieldSchema) *model.Collection {
		return &model.Collection{ID: 7, Name: "c", Schema: &schemapb.CollectionSchema{Name: "c", Fields: fields}}
	}
	addField := func(f *schemapb.FieldSchema, extra ...*schemapb.FieldSchema) func() error {
		return func() error {
			s := schema()
			s.Fields = append(s.Fields, extra...)
			return validateAddField(s, f)
		}
	}
	alter := func(c *model.Collection, kvs ...string) func() error {
		return func() error { return checkAlterCollection(c, false, kv(kvs...), nil) }
	}
	subArray := func(name string, capacity string) *schemapb.FieldSchema {
		return &schemapb.FieldSchema{Name: name, DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64,
			TypeParams: kv("max_capacity", capacity)}
	}
	rootStruct := func(fields ...*schemapb.FieldSchema) func() error {
		return func() error {
			s := schema()
			s.StructArrayFields = []*schemapb.StructArrayFieldSchema{{Name: "st", Fields: fields}}
			return validateStructArraysRootCoord(s)
		}
	}
	inStruct := func(f *schemapb.FieldSchema) func() error {
		return func() error { return validateFieldInStruct(f, schema()) }
	}
	structSchema := func() *schemapb.CollectionSchema {
		s := schema()
		s.StructArrayFields = []*schemapb.StructArrayFieldSchema{{Name: "st", Fields: []*schemapb.FieldSchema{
			subArray("a", "4"), subArray("b", "4")}}}
		return s
	}
	longs := func(rows ...[]int64) *schemapb.FieldData {
		arr := &schemapb.ArrayArray{ElementType: schemapb.DataType_Int64}
		for _, r := range rows {
			arr.Data = append(arr.Data, &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: r}}})
		}
		return &schemapb.FieldData{Type: schemapb.DataType_Array,
			Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_ArrayData{ArrayData: arr}}}}
	}
	named := func(name string, fd *schemapb.FieldData) *schemapb.FieldData { fd.FieldName = name; return fd }
	structData := func(subs ...*schemapb.FieldData) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: "st", Type: schemapb.DataType_ArrayOfStruct,
			Field: &schemapb.FieldData_StructArrays{StructArrays: &schemapb.StructArrayField{Fields: subs}}}
	}
	flatten := func(fds ...*schemapb.FieldData) func() error {
		return func() error { _, err := flattenStructInput(structSchema(), fds); return err }
	}
	embList := &schemapb.FieldSchema{Name: "ev", DataType: schemapb.DataType_ArrayOfVector, ElementType: schemapb.DataType_FloatVector,
		TypeParams: kv("dim", "2", "max_capacity", "1")}
	// embSearch parses a search of st[ev] (one query of type typ) with the
	// extra search params kvs.
	embSearch := func(typ commonpb.PlaceholderType, kvs ...string) func() error {
		return func() error {
			s := schema()
			s.StructArrayFields = []*schemapb.StructArrayFieldSchema{{Name: "st", Fields: []*schemapb.FieldSchema{
				proto.Clone(embList).(*schemapb.FieldSchema)}}}
			flattenStructArrays(s) // as CreateCollection stores it: st[ev]
			ph, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{
				{Tag: "$0", Type: typ, Values: [][]byte{make([]byte, 8)}}}})
			if err != nil {
				return err
			}
			params := append(kv("anns_field", "st[ev]", "topk", "3"), kv(kvs...)...)
			_, err = parseSearchRequest(DefaultLimits(), s, &milvuspb.SearchRequest{Nq: 1, SearchParams: params,
				SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: ph}}, nil)
			return err
		}
	}
	// structOnly is a collection whose only vector is the embedding list
	// st[ev], as CreateCollection stores it.
	structOnly := func() *model.Collection {
		c := coll(pk())
		c.Schema.StructArrayFields = []*schemapb.StructArrayFieldSchema{{Name: "st", Fields: []*schemapb.FieldSchema{
			proto.Clone(embList).(*schemapb.FieldSchema)}}}
		flattenStructArrays(c.Schema)
		return c
	}
	// searchByIDs resolves a search by the key 1 with the search params kvs
	// (the checks before the query of the rows).
	searchByIDs := func(c func() *model.Collection, kvs ...string) func() error {
		return func() error {
			_, err := (&Server{}).resolveSearchByIDs(context.Background(), c(), nil, &milvuspb.SearchRequest{SearchParams: kv(kvs...),
				SearchInput: &milvuspb.SearchRequest_Ids{Ids: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: []int64{1}}}}}})
			return err
		}
	}
	vecArray := func(elem schemapb.DataType, rows ...[]float32) *schemapb.FieldData {
		va := &schemapb.VectorArray{Dim: 2, ElementType: elem}
		for _, r := range rows {
			va.Data = append(va.Data, &schemapb.VectorField{Dim: 2, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: r}}})
		}
		return &schemapb.FieldData{FieldName: "ev", Type: schemapb.DataType_ArrayOfVector,
			Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: 2, Data: &schemapb.VectorField_VectorArray{VectorArray: va}}}}
	}
	int64s := func(name string, v ...int64) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: name, Type: schemapb.DataType_Int64,
			Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: v}}}}}
	}
	floats := func(name string, dim int64, v ...float32) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: name, Type: schemapb.DataType_FloatVector,
			Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: dim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: v}}}}}
	}
	insert := func(s *schemapb.CollectionSchema, n int, upsert bool, fds ...*schemapb.FieldData) func() error {
		return func() error { _, err := insertColumns(s, fds, n, upsert); return err }
	}
	nilVector := func(t schemapb.DataType) func() error {
		return func() error {
			return validateFieldPayload(&schemapb.FieldData{FieldName: "v", Type: t,
				Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: 8}}}, &schemapb.FieldSchema{Name: "v", DataType: t, TypeParams: kv("dim", "8")})
		}
	}
	sparseRow := func(pairs ...uint32) []byte {
		b := make([]byte, 4*len(pairs))
		for i, p := range pairs {
			binary.LittleEndian.PutUint32(b[4*i:], p)
		}
		return b
	}
	highlighter := func(kvs ...string) func() error {
		return func() error { _, err := parseHighlighter(&commonpb.Highlighter{Params: kv(kvs...)}); return err }
	}
	arrField := &schemapb.FieldSchema{FieldID: 104, Name: "tags", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64,
		TypeParams: kv("max_capacity", "8")}
	partial := func(op schemapb.FieldPartialUpdateOp_OpType, fds ...*schemapb.FieldData) func() error {
		return func() error {
			s := schema()
			s.Fields = append(s.Fields, arrField)
			_, _, err := fieldPartialOps(&milvuspb.UpsertRequest{FieldsData: fds,
				FieldOps: []*schemapb.FieldPartialUpdateOp{{FieldName: "tags", Op: op}}}, s)
			return err
		}
	}
	withDefault := func(f *schemapb.FieldSchema, v *schemapb.ValueField) func() error {
		return func() error { f.DefaultValue = v; return validateNullableAndDefault(f) }
	}

	cases := []struct {
		what string
		call func() error
		code int32
		text string
	}{
		// internal/proxy/util.go:866 / :870 (validateFunction)
		{"function output is the primary key", functions(func(s *schemapb.CollectionSchema) {
			s.Functions = []*schemapb.FunctionSchema{bm25([]string{"text"}, []string{"id"})}
		}), 65535, "function output field cannot be primary key: function f, field id"},
		{"function output is the partition key", functions(func(s *schemapb.CollectionSchema) {
			s.Fields[3].IsPartitionKey = true
			s.Functions = []*schemapb.FunctionSchema{bm25([]string{"text"}, []string{"sp"})}
		}), 65535, "function output field cannot be partition key or clustering key: function f, field sp"},
		// internal/proxy/util.go:946-978 (checkFunctionBasicParams)
		{"no output names", basic(bm25([]string{"text"}, nil)), 65535, "function output field names cannot be empty, function: f"},
		{"empty input name", basic(bm25([]string{""}, []string{"sp"})), 65535, "function input field name cannot be empty string, function: f"},
		{"input used twice", basic(bm25([]string{"text", "text"}, []string{"sp"})), 65535,
			"each function input field should be used exactly once in the same function, function: f, input field: text"},
		{"empty output name", basic(bm25([]string{"text"}, []string{""})), 65535, "function output field name cannot be empty string, function: f"},
		{"output used twice", basic(bm25([]string{"text"}, []string{"sp", "sp"})), 65535,
			"each function output field should be used exactly once in the same function, function: f, output field: sp"},
		{"TextEmbedding without params", basic(&schemapb.FunctionSchema{Name: "f", Type: schemapb.FunctionType_TextEmbedding,
			InputFieldNames: []string{"text"}, OutputFieldNames: []string{"vec"}}), 65535, "TextEmbedding function accepts no params"},
		{"unknown function type", basic(&schemapb.FunctionSchema{Name: "f", Type: schemapb.FunctionType_Unknown,
			InputFieldNames: []string{"text"}, OutputFieldNames: []string{"vec"}}), 65535, "check function params with unknown function type"},
		// internal/proxy/util.go:921 / :933 / :912 (checkFunctionInputField, checkFunctionOutputField)
		{"BM25 on an int", func() error {
			return checkFunctionInputField(bm25([]string{"id"}, []string{"sp"}), []*schemapb.FieldSchema{pk()})
		}, 65535, "BM25 function input field must be a VARCHAR/TEXT field, got 1 field with type Int64"},
		{"input of an unknown function", func() error {
			return checkFunctionInputField(&schemapb.FunctionSchema{Type: schemapb.FunctionType_Unknown}, []*schemapb.FieldSchema{text()})
		}, 65535, "check input field with unknown function type"},
		{"output of an unknown function", func() error {
			return checkFunctionOutputField(&schemapb.FunctionSchema{Type: schemapb.FunctionType_Unknown}, []*schemapb.FieldSchema{sparse()})
		}, 65535, "check output field for unknown function type"},

		// internal/proxy/util.go:545 (validateElementType)
		{"element type None", func() error { return validateElementType(schemapb.DataType_None) }, 65535, "element data type None is not valid"},
		// internal/proxy/task.go:315, :275; internal/rootcoord/create_collection_task.go:426
		{"num_partitions without a partition key", func() error { _, err := partitionKeyPartitions(schema(), 4); return err }, 65535,
			"num_partitions should only be specified with partition key field enabled"},
		{"negative num_partitions", func() error {
			s := schema()
			s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "k", DataType: schemapb.DataType_Int64, IsPartitionKey: true})
			_, err := partitionKeyPartitions(s, -1)
			return err
		}, 65535, "the specified partitions should be greater than 0 if partition key is used"},
		{"too many partitions", func() error {
			s := schema()
			s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "k", DataType: schemapb.DataType_Int64, IsPartitionKey: true})
			_, err := partitionKeyPartitions(s, 1025)
			return err
		}, 1100, "partition number (1025) exceeds max configuration (1024)"},
		// internal/proxy/util.go:431 (validateDimension)
		{"binary dim too large", func() error {
			return validateDimension(&schemapb.FieldSchema{Name: "b", DataType: schemapb.DataType_BinaryVector, TypeParams: kv("dim", "262152")})
		}, 65535, "invalid dimension: 262152 of field b. binary vector dimension should be in range 2 ~ 262144"},
		// internal/proxy/util.go:482 (validateMaxCapacity)
		{"max_capacity not an integer", func() error {
			return validateMaxCapacityDef("c", &schemapb.FieldSchema{Name: "a", DataType: schemapb.DataType_Array, TypeParams: kv("max_capacity", "x")})
		}, 65535, "the value for max_capacity of field a must be an integer"},
		// internal/rootcoord/util.go:352, :427 (checkFieldSchema)
		{"nullable primary key", func() error {
			return validateNullableAndDefault(&schemapb.FieldSchema{Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true, Nullable: true})
		}, 1100, "primary field not support null, type:Int64, name:id"},
		{"default string too long", withDefault(&schemapb.FieldSchema{Name: "s", DataType: schemapb.DataType_VarChar, TypeParams: kv("max_length", "2")},
			&schemapb.ValueField{Data: &schemapb.ValueField_StringData{StringData: "abc"}}), 1100,
			"the length (3) of string exceeds max length (2): invalid parameter[expected=valid length string][actual=string length exceeds max length]"},
		// internal/rootcoord/util.go checkFieldSchema, default branch:
		// merr.WrapErrParameterInvalid("valid default value", "empty", ...)
		{"default of no type", withDefault(&schemapb.FieldSchema{Name: "s", DataType: schemapb.DataType_Int64}, &schemapb.ValueField{}), 1100,
			"default value type mismatches field schema type: invalid parameter[expected=valid default value][actual=empty]"},

		// internal/proxy/util.go:657, :672 (ValidateFieldsInStruct)
		{"struct sub-field of a scalar type", inStruct(&schemapb.FieldSchema{Name: "n", DataType: schemapb.DataType_Int64}), 65535,
			"fields in StructArrayField can only be array or array of struct, but field n is Int64"},
		{"struct embedding list of binary vectors", inStruct(&schemapb.FieldSchema{Name: "ev", DataType: schemapb.DataType_ArrayOfVector,
			ElementType: schemapb.DataType_BinaryVector, TypeParams: kv("dim", "8")}), 65535,
			"unsupported element type of array field ev, now only float vector is supported"},
		// internal/rootcoord/util.go:466-541 (checkStructArrayFieldSchema, checkDupKvPairs, checkStructArrayFieldMaxCapacity)
		{"root: struct sub-field of a scalar type", rootStruct(&schemapb.FieldSchema{Name: "n", DataType: schemapb.DataType_Int64}), 1100,
			"fields in StructArrayField can only be array or array of vector, but field n is Int64"},
		{"root: nullable embedding list", rootStruct(&schemapb.FieldSchema{Name: "ev", DataType: schemapb.DataType_ArrayOfVector,
			ElementType: schemapb.DataType_FloatVector, Nullable: true}), 1100, "ArrayOfVector does not support nullable, structName=st, fieldName=ev"},
		{"root: primary key in a struct", rootStruct(&schemapb.FieldSchema{Name: "n", DataType: schemapb.DataType_Array,
			ElementType: schemapb.DataType_Int64, IsPrimaryKey: true}), 1100,
			"partition key or primary key can not be in struct array field. data type:Array, element type:Int64, name:n"},
		{"root: default in a struct", rootStruct(&schemapb.FieldSchema{Name: "n", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64,
			DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_LongData{LongData: 1}}}), 1100,
			"fields in struct array field not support default_value, data type:Array, element type:Int64, name:n"},
		{"root: duplicated type param", rootStruct(&schemapb.FieldSchema{Name: "n", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64,
			TypeParams: kv("max_capacity", "4", "max_capacity", "4")}), 1100, `duplicated type param key "max_capacity"`},
		{"root: max_capacity not an integer", rootStruct(subArray("a", "x")), 1100,
			"the value for max_capacity of field a in struct array field st must be an integer"},
		{"root: different max_capacity", rootStruct(subArray("a", "4"), subArray("b", "8")), 1100,
			"all sub-fields in struct array field must have the same max_capacity: structName=st, subFieldName=b, max_capacity=8, expected=4"},
		// internal/rootcoord/util.go:348 (checkFieldSchema, AddCollectionField)
		{"add an embedding list", func() error {
			return checkAddedStructField(&schemapb.FieldSchema{Name: "ev", DataType: schemapb.DataType_ArrayOfVector})
		}, 1100, "ArrayOfVector is only supported in struct array field, type:ArrayOfVector, name:ev"},
		// internal/proxy/util.go:1919-1956 (checkAndFlattenStructFieldData)
		{"struct data not a struct", flatten(&schemapb.FieldData{FieldName: "st"}), 65535,
			"field convert FieldData_StructArrays fail in fieldData, fieldName: st, collectionName:c"},
		{"struct data of one sub-field", flatten(structData(named("a", longs([]int64{1})))), 65535,
			"length of fields of struct field mismatch length of the fields in schema, fieldName: st, collectionName:c, fieldData fields length:1, schema fields length:2"},
		{"struct sub-field of scalars", flatten(structData(named("a", longs([]int64{1})), int64s("b", 1))), 65535,
			"unexpected field data type in struct array field, fieldName: st"},
		{"struct sub-fields of different rows", flatten(structData(named("a", longs([]int64{1}, []int64{2})), named("b", longs([]int64{1})))), 65535,
			"inconsistent array length in struct field 'st': expected 2, got 1 for sub-field 'b'"},
		// no counterpart in the proxy (Milvus fails in storage); Milvago's own check
		{"struct sub-fields of different element counts", flatten(structData(named("a", longs([]int64{1, 2})), named("b", longs([]int64{1})))), 1100,
			"inconsistent element count in row 0 of struct field 'st': expected 2, got 1 for sub-field 'b'"},
		{"struct embedding list row of a bad length", func() error {
			s := schema()
			s.StructArrayFields = []*schemapb.StructArrayFieldSchema{{Name: "st", Fields: []*schemapb.FieldSchema{embList}}}
			bad := vecArray(schemapb.DataType_FloatVector, []float32{1, 2, 3})
			_, err := flattenStructInput(s, []*schemapb.FieldData{structData(bad)})
			return err
		}, 1100, "struct field 'st', sub-field 'ev': "},
		// internal/proxy/validate_util.go checkVectorArrayFieldData (element type, max capacity)
		{"embedding list of another element type", func() error {
			return validateVectorArrayPayload(vecArray(schemapb.DataType_Float16Vector, []float32{1, 2}), embList)
		}, 1100, "element type of vector array field ev mismatch, expected FloatVector, got Float16Vector"},
		{"embedding list too long", func() error {
			return validateVectorArrayPayload(vecArray(schemapb.DataType_FloatVector, []float32{1, 2, 3, 4}), embList)
		}, 1100, "the length (2) of 0th vector array of field (ev) exceeds max capacity (1)"},

		// internal/proxy/validate_util.go, task_insert.go, task_upsert.go
		{"schema without a primary key", insert(&schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{vec()}}, 1, false), 65535,
			"primary field is not found"},
		// internal/proxy/util.go:1847, :1882 (checkFieldsDataBySchema counts an
		// auto_id key as generated even when given, so the count check fails
		// before checkPrimaryFieldData's "can not assign primary field data",
		// util.go:2018, which no insert reaches)
		{"primary key given with auto_id", func() error {
			s := schema()
			s.Fields[0].AutoID = true
			_, err := insertColumns(s, []*schemapb.FieldData{int64s("id", 1), floats("vec", 8, make([]float32, 8)...)}, 1, false)
			return err
		}, 1100, "more fieldData has pass in: invalid parameter[expected=2][actual=3]"},
		{"dynamic data not an object", insert(&schemapb.CollectionSchema{EnableDynamicField: true, Fields: []*schemapb.FieldSchema{pk(), vec(),
			{FieldID: 105, Name: metaFieldName, DataType: schemapb.DataType_JSON, IsDynamic: true}}}, 1, false,
			int64s("id", 1), floats("vec", 8, make([]float32, 8)...), &schemapb.FieldData{FieldName: metaFieldName, Type: schemapb.DataType_JSON, IsDynamic: true,
				Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_JsonData{JsonData: &schemapb.JSONArray{Data: [][]byte{[]byte("[1]")}}}}}}),
			1100, "invalid dynamic field data, only json map is supported: "},
		// internal/proxy/validate_util.go checkFloat16VectorFieldData, checkBFloat16VectorFieldData, checkInt8VectorFieldData, checkSparseFloatVectorFieldData
		{"nil float16 vector", nilVector(schemapb.DataType_Float16Vector), 1100,
			"float16 float field 'v' is illegal, nil Vector_Float16 type: invalid parameter[expected=need vector_float16 array][actual=got nil]"},
		{"nil bfloat16 vector", nilVector(schemapb.DataType_BFloat16Vector), 1100,
			"bfloat16 float field 'v' is illegal, nil Vector_BFloat16 type: invalid parameter[expected=need vector_bfloat16 array][actual=got nil]"},
		{"nil int8 vector", nilVector(schemapb.DataType_Int8Vector), 1100,
			"int8 vector field 'v' is illegal, nil Vector_Int8 type: invalid parameter[expected=need vector_int8 array][actual=got nil]"},
		{"nil sparse vector", nilVector(schemapb.DataType_SparseFloatVector), 1100,
			"sparse float field 'v' is illegal, nil SparseFloatVector: invalid parameter[expected=need sparse float array][actual=got nil]"},
		// internal/proxy/validate_util.go checkTimestamptzFieldData
		{"timestamptz as longs", func() error {
			return validateFieldPayload(int64s("ts", 1), &schemapb.FieldSchema{Name: "ts", DataType: schemapb.DataType_Timestamptz})
		}, 1100, "timestamptz field data must be a string array"},
		// pkg/util/typeutil/schema.go ValidateSparseFloatRows
		{"nil sparse row", func() error { return validateSparseRows([][]byte{nil}) }, 65535, "nil sparse float vector"},
		{"sparse index 2^32-1", func() error { return validateSparseRows([][]byte{sparseRow(math.MaxUint32, math.Float32bits(1))}) }, 65535,
			"invalid index in sparse float vector: must be less than 2^32-1"},
		// internal/proxy/validate_util.go checkArrayFieldData / verifyCapacity
		{"array of an unsupported element type", func() error {
			return verifyCapacity([]*schemapb.ScalarField{{}}, 4, schemapb.DataType_JSON)
		}, 1100, "array element type: JSON is not supported: invalid parameter[expected=valid array element type][actual=array element type is not supported]"},
		{"nil array row", func() error {
			return verifyArrayElements(&schemapb.ArrayArray{Data: []*schemapb.ScalarField{{}}}, arrField)
		}, 1100, "insert data does not match: invalid parameter[expected=int64 array][actual=nil array]"},
		// internal/proxy/validate_util.go checkBinaryVectorFieldData, checkInt8VectorFieldData
		{"binary bits not a multiple of dim", func() error {
			return checkVectorShape(&schemapb.FieldData{FieldName: "b", Type: schemapb.DataType_BinaryVector,
				Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: 16, Data: &schemapb.VectorField_BinaryVector{BinaryVector: []byte{1, 2, 3}}}}},
				&schemapb.FieldSchema{Name: "b", DataType: schemapb.DataType_BinaryVector, TypeParams: kv("dim", "16")})
		}, 65535, "the num(24) of all bits should divide the dim(16)"},
		{"int8 length not a multiple of dim", func() error {
			return checkVectorShape(&schemapb.FieldData{FieldName: "i", Type: schemapb.DataType_Int8Vector,
				Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: 4, Data: &schemapb.VectorField_Int8Vector{Int8Vector: []byte{1, 2, 3}}}}},
				&schemapb.FieldSchema{Name: "i", DataType: schemapb.DataType_Int8Vector, TypeParams: kv("dim", "4")})
		}, 65535, "the length(3) of int8 data should divide the dim(4)"},

		// internal/proxy/task.go addCollectionFieldTask.PreExecute
		{"add a system field", addField(&schemapb.FieldSchema{Name: metaFieldName, DataType: schemapb.DataType_JSON, Nullable: true}), 1100,
			"not support to add system field, field name = $meta"},
		{"add a primary key", addField(&schemapb.FieldSchema{Name: "k", DataType: schemapb.DataType_Int64, IsPrimaryKey: true, Nullable: true}), 1100,
			"not support to add pk field, field name = k"},
		{"add a vector without dim", addField(&schemapb.FieldSchema{Name: "v2", DataType: schemapb.DataType_FloatVector, Nullable: true}), 1100,
			"vector field must have dimension specified, field name = v2"},
		{"add a partition key", addField(&schemapb.FieldSchema{Name: "k", DataType: schemapb.DataType_Int64, IsPartitionKey: true, Nullable: true}), 1100,
			"not support to add partition key field, field name  = k"},
		{"add a second clustering key", addField(&schemapb.FieldSchema{Name: "k", DataType: schemapb.DataType_Int64, IsClusteringKey: true, Nullable: true},
			&schemapb.FieldSchema{Name: "k0", DataType: schemapb.DataType_Int64, IsClusteringKey: true}), 1100,
			"already has another clutering key field, field name: k"},
		// internal/proxy/task.go alterCollectionTask.PreExecute
		{"warmup at collection level", alter(coll(pk(), vec()), "warmup", "sync"), 1100,
			"warmup key 'warmup' is only allowed at field level, use warmup.scalarField/warmup.scalarIndex/warmup.vectorField/warmup.vectorIndex at collection level"},
		{"partition key isolation not a bool", alter(coll(pk(), vec()), "partitionkey.isolation", "x"), 1100,
			"failed to parse partition key isolation: "},
		{"partition key isolation without a key", alter(coll(pk(), vec()), "partitionkey.isolation", "true"), 105,
			"partition key isolation mode is enabled but no partition key field is set. Please set the partition key first: illegal collection schema[collection=c]"},

		// internal/proxy/highlighter.go NewLexicalHighlighter
		{"pre_tags not a list", highlighter("pre_tags", "x"), 1100, "unmarshal pre_tags as string array failed: "},
		{"post_tags not a list", highlighter("post_tags", "x"), 1100, "unmarshal post_tags as string list failed: "},
		{"highlight_search_text not a bool", highlighter("highlight_search_text", "x"), 1100, "unmarshal highlight_search_text as bool failed: "},
		{"highlight_query not a list", highlighter("highlight_query", "x"), 1100, "unmarshal highlight queries as json array failed: "},

		// internal/proxy/task_upsert.go (partial update ops)
		{"unsupported partial op", partial(schemapb.FieldPartialUpdateOp_OpType(99)), 1100, "unsupported partial update op: 99"},
		{"partial op payload not an array", partial(schemapb.FieldPartialUpdateOp_ARRAY_APPEND, int64s("tags", 1)), 1100,
			`partial-update op field "tags" payload is not an Array`},
		{"partial op of another element type", partial(schemapb.FieldPartialUpdateOp_ARRAY_APPEND, named("tags", func() *schemapb.FieldData {
			fd := longs([]int64{1})
			fd.GetScalars().GetArrayData().ElementType = schemapb.DataType_VarChar
			return fd
		}())), 1100, `field "tags" expects element type Int64 but request provides VarChar`},

		// internal/proxy/validate_util.go:193 fillWithValue runs before
		// checkAligned (:198): a nullable column whose data is not as long
		// as its valid rows fails in fillWithNullValueImpl (:751). (A
		// column as long as all rows passes here; Milvus refuses it too,
		// docs/parity-audit.md "Work of task proxy9".)
		{"nullable column shorter than its valid rows", func() error {
			s := schema()
			s.Fields = append(s.Fields, &schemapb.FieldSchema{FieldID: 102, Name: "n", DataType: schemapb.DataType_Int64, Nullable: true})
			n := int64s("n", 1)
			n.ValidData = []bool{true, true, false}
			return insert(s, 3, false, int64s("id", 1, 2, 3), floats("vec", 8, make([]float32, 24)...), n)()
		}, 1100, "the length of field is wrong: invalid parameter[expected=2][actual=1]"},

		// internal/proxy/task_search.go validateIDsType
		{"string IDs for an int64 key", func() error {
			return checkIDsType(pk(), &schemapb.IDs{IdField: &schemapb.IDs_StrId{StrId: &schemapb.StringArray{Data: []string{"a"}}}})
		}, 1100, "primary key is int64, but IDs type mismatch: invalid parameter[expected=int64 IDs][actual=got other type]"},
		{"int IDs for a varchar key", func() error {
			return checkIDsType(&schemapb.FieldSchema{Name: "id", DataType: schemapb.DataType_VarChar},
				&schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: []int64{1}}}})
		}, 1100, "primary key is varchar, but IDs type mismatch: invalid parameter[expected=string IDs][actual=got other type]"},
		{"IDs for a key of another type", func() error {
			return checkIDsType(dt(schemapb.DataType_Float), &schemapb.IDs{})
		}, 1100, "unsupported primary key type: Float: invalid parameter[expected=int64 or varchar][actual=Float]"},

		// internal/proxy/impl.go searchByPK (3514-3534): the anns field is
		// deduced among typeutil.GetVectorFieldSchemas, embedding lists
		// included, and an embedding list is refused.
		{"search by IDs of an embedding list", searchByIDs(structOnly, "anns_field", "st[ev]"), 1100,
			"array of vector is not supported for search by IDs: invalid parameter"},
		{"search by IDs deducing the only embedding list", searchByIDs(structOnly), 1100,
			"array of vector is not supported for search by IDs: invalid parameter"},
		{"search by IDs deducing among a vector and an embedding list", searchByIDs(func() *model.Collection {
			c := structOnly()
			c.Schema.Fields = append(c.Schema.Fields, vec())
			return c
		}), 1100, "multiple vector fields exist, please specify anns_field in search_params: invalid parameter[expected=valid anns_field in search_params][actual=missing]"},
		// Unreachable by a request (impl.go:3517): CreateCollection refuses
		// a schema without any vector (task.go:413), embedding lists
		// counted as in the deduction; called directly.
		{"search by IDs without any vector field", searchByIDs(func() *model.Collection { return coll(pk()) }), 1100,
			"no vector field found in schema: invalid parameter[expected=valid anns_field in search_params][actual=missing]"},

		// internal/proxy/search_util.go parseRankParams, parseSearchInfo
		{"rank params without a limit", func() error { _, err := parseRankParams(DefaultLimits(), schema(), nil); return err }, 65535,
			"limit not found in rank_params"},
		{"search params without topk", func() error { return parseSearchInfo(16384, schema(), nil, &searchSpec{}) }, 65535,
			"topk not found in search_params"},
		// internal/proxy/task_search.go (embedding list search: one placeholder)
		{"embedding list search of two placeholders", func() error {
			_, err := parseEmbListSearch(&searchSpec{}, embList, &commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{{}, {}}},
				&milvuspb.SearchRequest{}, nil)
			return err
		}, 1100, "the number of placeholders must be 1, but got 2"},
		// internal/proxy/search_util.go:299-318 parseSearchInfo step 7: Milvus
		// 2.6 refuses grouping for any search of an embedding list field, a
		// MAX_SIM one or an element-level one (a plain vector), after the
		// group-by parse (step 5) and the range-search check (step 6).
		{"grouping a MAX_SIM search", embSearch(commonpb.PlaceholderType_EmbListFloatVector, "group_by_field", "id"), 1100,
			"group by search is not supported for vector array (embedding list) fields, fieldName:->st[ev]: invalid parameter[expected=][actual=]"},
		{"grouping an element-level search", embSearch(commonpb.PlaceholderType_FloatVector, "group_by_field", "id"), 1100,
			"group by search is not supported for vector array (embedding list) fields, fieldName:->st[ev]: invalid parameter[expected=][actual=]"},
		// task_search.go:800-809: without anns_field the field is deduced
		// before parseSearchInfo, among the vectors and the embedding
		// lists (GetVectorFieldSchemas): a vector and an embedding list
		// are two, so a grouped search is refused before step 7.
		{"grouping without anns_field, a vector and an embedding list", func() error {
			s := schema()
			s.StructArrayFields = []*schemapb.StructArrayFieldSchema{{Name: "st", Fields: []*schemapb.FieldSchema{
				proto.Clone(embList).(*schemapb.FieldSchema)}}}
			flattenStructArrays(s)
			ph, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{
				{Tag: "$0", Type: commonpb.PlaceholderType_FloatVector, Values: [][]byte{make([]byte, 32)}}}})
			if err != nil {
				return err
			}
			_, err = parseSearchRequest(DefaultLimits(), s, &milvuspb.SearchRequest{Nq: 1, SearchParams: kv("topk", "3", "group_by_field", "id"),
				SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: ph}}, nil)
			return err
		}, 65535, "multiple anns_fields exist, please specify a anns_field in search_params"},
		{"grouping an embedding list search by a missing field", embSearch(commonpb.PlaceholderType_FloatVector, "group_by_field", "nope"), 1700,
			"groupBy field not found in schema"},
		{"grouping a range search of an embedding list", embSearch(commonpb.PlaceholderType_FloatVector, "group_by_field", "id",
			"params", `{"radius": 0.5}`), 1100, "Not allowed to do range-search when doing search-group-by"},
		// internal/proxy/task_search.go BM25 search (function_util / delegator)
		{"BM25 output searched with L2", func() error {
			_, err := bm25Queries(schema(), sparse(), &searchSpec{Metric: "L2"}, &commonpb.PlaceholderValue{}, 1, "")
			return err
		}, 1100, "must use BM25 metric type when searching against BM25 Function output field: invalid parameter[expected=BM25][actual=L2]"},
		{"BM25 texts not nq", func() error {
			_, err := bm25Queries(schema(), sparse(), &searchSpec{Metric: index.BM25},
				&commonpb.PlaceholderValue{Type: commonpb.PlaceholderType_VarChar, Values: [][]byte{[]byte("a")}}, 2, "")
			return err
		}, 1100, "the number of query vectors does not match nq: invalid parameter[expected=2][actual=1]"},
		{"BM25 search of a field no function outputs", func() error {
			_, err := bm25Queries(schema(), sparse(), &searchSpec{Metric: index.BM25},
				&commonpb.PlaceholderValue{Type: commonpb.PlaceholderType_VarChar, Values: [][]byte{[]byte("a")}}, 1, "")
			return err
		}, 65535, "functionRunner not found for field: 103"},
		{"BM25 text not UTF-8", func() error {
			s := &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{pk(), text(), sparse()},
				Functions: []*schemapb.FunctionSchema{bm25([]string{"text"}, []string{"sp"})}}
			s.Functions[0].InputFieldIds, s.Functions[0].OutputFieldIds = []int64{102}, []int64{103}
			_, err := bm25Queries(s, s.Fields[2], &searchSpec{Metric: index.BM25},
				&commonpb.PlaceholderValue{Type: commonpb.PlaceholderType_VarChar, Values: [][]byte{{0xff}}}, 1, "")
			return err
		}, 1100, "string data must be utf8 format: "},
		// internal/proxy/task_search.go addHighlightTask; highlighter.go NewSemanticHighlight
		{"highlight of an unknown type", func() error {
			_, err := planHighlight(coll(pk(), vec()), &milvuspb.SearchRequest{Highlighter: &commonpb.Highlighter{Type: 99}}, &searchSpec{FieldID: 101}, nil)
			return err
		}, 1100, "unsupported highlight type: 99"},
		{"semantic highlight queries not a list", func() error {
			_, err := newSemanticHighlighter(schema(), kv("queries", "x"), "default", nil)
			return err
		}, 65535, "parse queries failed, err: "},
		{"semantic highlight input_fields not a list", func() error {
			_, err := newSemanticHighlighter(schema(), kv("input_fields", "x"), "default", nil)
			return err
		}, 65535, "parse input_field failed, err: "},
		{"BM25 highlight of a bad placeholder group", func() error { _, err := placeholderTexts([]byte{0xff}); return err }, 1100,
			"invalid placeholder group: "},
		// internal/proxy/highlighter.go:478,498 semanticHighlightOperator.run
		// (errors.Errorf: 65535). Defensive in Milvus as here: the search
		// always fetches the highlighter's fields (highlightPlan.withFields),
		// so only a result missing them, built directly, reaches these.
		{"semantic highlight of a result without its text field", func() error {
			h := &semanticHighlighter{queries: []string{"q"}, fields: []*schemapb.FieldSchema{text()}}
			_, err := h.highlight(bg, &schemapb.SearchResultData{Topks: []int64{1}, FieldsData: []*schemapb.FieldData{{FieldId: 100}}})
			return err
		}, 65535, "get highlight failed, text field not in output field 102"},
		{"semantic highlight of a result without $meta", func() error {
			h := &semanticHighlighter{queries: []string{"q"}, dynNames: []string{"note"},
				dynField: &schemapb.FieldSchema{FieldID: 104, Name: "$meta", DataType: schemapb.DataType_JSON, IsDynamic: true}}
			_, err := h.highlight(bg, &schemapb.SearchResultData{Topks: []int64{1}, FieldsData: []*schemapb.FieldData{{FieldId: 100}}})
			return err
		}, 65535, "get highlight failed, dynamic field ($meta) not in output field"},
		// internal/util/function/highlight/semantic_highlight.go (dynamic field texts)
		{"dynamic row not JSON", func() error { _, err := dynamicTexts([][]byte{[]byte("{")}, []string{"a"}); return err }, 65535,
			"failed to unmarshal JSON at index 0: invalid JSON"},
		{"dynamic key not a string", func() error { _, err := dynamicTexts([][]byte{[]byte(`{"a":1}`)}, []string{"a"}); return err }, 65535,
			"dynamic field a is not a string type, got "},
		// pkg/util/typeutil (default values: an Array field has none)
		{"array field with a default", func() error {
			f := &schemapb.FieldSchema{Name: "a", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64, Nullable: true,
				TypeParams: kv("max_capacity", "4"), DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_LongData{LongData: 1}}}
			_, err := toColumn(nil, f, 1, true)
			return err
		}, 1100, "array type not support default value: invalid parameter[expected=not set default value][actual=]"},
		// internal/proxy/task_index.go:599-603 (an empty name is a name no
		// field has; without a dynamic field: a bare fmt.Errorf)
		{"index without a field name", func() error {
			_, err := indexField(coll(pk(), vec()), "")
			return err
		}, 65535, "cannot create index on non-exist field: "},
		// internal/proxy/task_index.go (json_path of another field)
		{"json_path of another field", func() error {
			j := &schemapb.FieldSchema{FieldID: 105, Name: "j", DataType: schemapb.DataType_JSON}
			j2 := &schemapb.FieldSchema{FieldID: 106, Name: "j2", DataType: schemapb.DataType_JSON}
			return resolveJSONPath(coll(pk(), vec(), j, j2), j2, "j2", map[string]string{"json_path": `j["a"]`})
		}, 65535, "fieldID not match with field name"},
		// internal/proxy/task.go createCollectionTask (function runtime check property)
		{"disable_func_runtime_check not a bool", func() error {
			return (&Server{}).checkFunctionsRuntime(bg, "default", schema(), "", kv("disable_func_runtime_check", "x"))
		}, 65535, "failed to parse disable_func_runtime_check param: "},
		// internal/proxy/task.go alterCollectionFunctionTask (the function named must exist)
		{"runtime check of a missing function", func() error {
			return (&Server{}).checkFunctionsRuntime(bg, "default", schema(), "nope", nil)
		}, 65535, "function [nope] not found in schema"},
		// internal/proxy/validate_util.go:1252 (checkTimestamptzFieldData)
		{"timestamptz string that does not parse", func() error {
			ts := &schemapb.FieldSchema{FieldID: 105, Name: "ts", DataType: schemapb.DataType_Timestamptz}
			_, err := timestamptzInput(coll(pk(), vec(), ts), []*schemapb.FieldData{{FieldName: "ts", Type: schemapb.DataType_VarChar,
				Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{
					StringData: &schemapb.StringArray{Data: []string{"not a time"}}}}}}})
			return err
		}, 1100, "got invalid timestamptz string 'not a time': invalid timezone name; must be a valid IANA Time Zone ID (e.g., 'Asia/Shanghai' or 'UTC')"},
		// internal/proxy/util.go:2980 (the zone of a read's output)
		{"read in an unknown zone", func() error {
			return (&Server{}).timestamptzOutput(bg, nil, "Nope/Zone", []string{"year"})
		}, 1100, "got invalid timezone: Nope/Zone"},
		// internal/proxy/util.go validateCollectionNameOrAlias
		{"alias too long", func() error { return validateCollectionNameOrAlias(strings.Repeat("a", 256), "alias") }, 1100,
			"the length of a collection alias must be less than 255 characters"},
		// internal/proxy/task_index.go (parseIndexParams: params must be a JSON object)
		{"index params not JSON", func() error { _, _, err := flattenIndexParams(kv("params", "x")); return err }, 1100,
			`index params "x" are not a JSON object`},
		// internal/proxy/task_index.go:602 (getIndexedFieldAndFunction: a bare fmt.Errorf)
		{"index on a missing field", func() error { _, err := indexField(coll(pk(), vec()), "nope"); return err }, 65535,
			"cannot create index on non-exist field: nope"},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) { checkErr(t, c.call(), c.code, c.text) })
	}
}
