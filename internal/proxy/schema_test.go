package proxy

import (
	"reflect"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"google.golang.org/protobuf/proto"

	milvagocolumn "github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	index2 "github.com/milvago/milvago/internal/index"
)

// kv builds a type-parameter list from alternating keys and values.
func kv(pairs ...string) []*commonpb.KeyValuePair {
	out := make([]*commonpb.KeyValuePair, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, &commonpb.KeyValuePair{Key: pairs[i], Value: pairs[i+1]})
	}
	return out
}

// testSchema is the schema the Go SDK sends for a typical collection.
func testSchema(name string) *schemapb.CollectionSchema {
	return &schemapb.CollectionSchema{
		Name: name,
		Fields: []*schemapb.FieldSchema{
			{Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
			{Name: "title", DataType: schemapb.DataType_VarChar, TypeParams: kv("max_length", "16")},
			{Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: kv("dim", "4")},
		},
	}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkErr asserts err has Milvus code want and contains every fragment.
func checkErr(t *testing.T, err error, want int32, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want code %d %q", want, fragments)
	}
	if got := errs.CodeOf(err); got != want {
		t.Errorf("code %d, want %d (%v)", got, want, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q lacks %q", err.Error(), f)
		}
	}
}

func TestSchemaDecodeCompletes(t *testing.T) {
	s := testSchema("books")
	s.EnableDynamicField = true
	s.AutoID = true //lint:ignore SA1019 checking that the deprecated flag is cleared
	got, shards, err := decodeCreateCollectionSchema("books", mustMarshal(t, s), 0)
	if err != nil {
		t.Fatal(err)
	}
	if shards != 1 {
		t.Errorf("shards %d, want 1", shards)
	}
	//lint:ignore SA1019 checking that the deprecated flag is cleared
	if got.AutoID {
		t.Error("collection-level AutoID kept")
	}
	if len(got.Fields) != 4 {
		t.Fatalf("%d fields, want 4", len(got.Fields))
	}
	for i, f := range got.Fields {
		if f.FieldID != int64(100+i) {
			t.Errorf("field %s has ID %d, want %d", f.Name, f.FieldID, 100+i)
		}
	}
	meta := got.Fields[3]
	if meta.Name != "$meta" || !meta.IsDynamic || meta.DataType != schemapb.DataType_JSON {
		t.Errorf("dynamic field %+v", meta)
	}
	if _, shards, err = decodeCreateCollectionSchema("books", mustMarshal(t, testSchema("books")), 16); err != nil || shards != 16 {
		t.Errorf("16 shards: %d, %v", shards, err)
	}
}

func TestSchemaDecodeRules(t *testing.T) {
	type mod func(s *schemapb.CollectionSchema)
	f := func(name string, m mod, code int32, fragments ...string) {
		t.Helper()
		s := testSchema("c")
		m(s)
		_, _, err := decodeCreateCollectionSchema("c", mustMarshal(t, s), 0)
		if code == 0 {
			if err != nil {
				t.Errorf("%s: unexpected error %v", name, err)
			}
			return
		}
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		t.Run(name, func(t *testing.T) { checkErr(t, err, code, fragments...) })
	}
	field := func(i int, g func(f *schemapb.FieldSchema)) mod {
		return func(s *schemapb.CollectionSchema) { g(s.Fields[i]) }
	}
	add := func(fs ...*schemapb.FieldSchema) mod {
		return func(s *schemapb.CollectionSchema) { s.Fields = append(s.Fields, fs...) }
	}
	vec := func(name string) *schemapb.FieldSchema {
		return &schemapb.FieldSchema{Name: name, DataType: schemapb.DataType_FloatVector, TypeParams: kv("dim", "4")}
	}

	f("ok", func(*schemapb.CollectionSchema) {}, 0)
	f("no vector", func(s *schemapb.CollectionSchema) { s.Fields = s.Fields[:2] }, 1100, "schema does not contain vector field: invalid parameter")
	f("ten vectors", add(vec("v1"), vec("v2"), vec("v3"), vec("v4"), vec("v5"), vec("v6"), vec("v7"), vec("v8"), vec("v9")), 0)
	f("eleven vectors", add(vec("v1"), vec("v2"), vec("v3"), vec("v4"), vec("v5"), vec("v6"), vec("v7"), vec("v8"), vec("v9"), vec("v10")),
		65535, "maximum vector field's number should be limited to 10")
	f("65 fields", func(s *schemapb.CollectionSchema) {
		for i := 0; len(s.Fields) < 65; i++ {
			s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "f" + string(rune('a'+i/26)) + string(rune('a'+i%26)), DataType: schemapb.DataType_Int32})
		}
	}, 65535, "maximum field's number should be limited to 64")
	f("name mismatch", func(s *schemapb.CollectionSchema) { s.Name = "other" }, 1100,
		"collection name = c, schema.Name=other: invalid parameter[expected=collection name matches schema name][actual=don't match]")
	f("bad collection name", func(s *schemapb.CollectionSchema) { s.Name = "1abc" }, 1100,
		"Invalid collection name: 1abc. the first character of a collection name must be an underscore or letter: invalid parameter")
	f("no primary key", field(0, func(f *schemapb.FieldSchema) { f.IsPrimaryKey = false }), 65535, "primary key is not specified")
	f("two primary keys", field(1, func(f *schemapb.FieldSchema) { f.IsPrimaryKey = true }), 65535, "there are more than one primary key, field name = id, title")
	f("float primary key", field(0, func(f *schemapb.FieldSchema) { f.DataType = schemapb.DataType_Float }), 65535, "the data type of primary key should be Int64 or VarChar")
	f("varchar primary key", func(s *schemapb.CollectionSchema) {
		s.Fields[0].IsPrimaryKey = false
		s.Fields[1].IsPrimaryKey = true
		s.Fields[1].AutoID = true
	}, 0)
	f("varchar primary key without max_length", func(s *schemapb.CollectionSchema) {
		s.Fields[0].IsPrimaryKey = false
		s.Fields[1].IsPrimaryKey = true
		s.Fields[1].TypeParams = nil
	}, 65535, "type param(max_length) should be specified for the field(title) of collection c")
	f("explicit dynamic", field(1, func(f *schemapb.FieldSchema) { f.IsDynamic = true }), 65535, "cannot explicitly set a field as a dynamic field")
	f("auto_id on non-pk", field(1, func(f *schemapb.FieldSchema) { f.AutoID = true }), 65535, "only primary field can speficy AutoID with true, field name = title")
	f("two auto_ids", func(s *schemapb.CollectionSchema) { s.Fields[0].AutoID = true; s.Fields[1].AutoID = true }, 65535,
		"only one field can speficy AutoID with true, field name = id, title")
	f("string type", field(1, func(f *schemapb.FieldSchema) { f.DataType = schemapb.DataType_String }), 65535, "string data type not supported yet, please use VarChar type instead")
	f("none type", field(1, func(f *schemapb.FieldSchema) { f.DataType = schemapb.DataType_None }), 65535, "data type None is not valid")
	f("unknown type", field(1, func(f *schemapb.FieldSchema) { f.DataType = 77 }), 1100, "invalid parameter[expected=valid field][actual=field data type: 77 is not supported]")
	f("dim missing", field(2, func(f *schemapb.FieldSchema) { f.TypeParams = nil }), 65535,
		"dimension is not defined in field type params of field vec, check type param `dim` for vector field")
	f("dim 1", field(2, func(f *schemapb.FieldSchema) { f.TypeParams = kv("dim", "1") }), 65535, "invalid dimension: 1. should be in range 2 ~ 32768")
	f("dim too large", field(2, func(f *schemapb.FieldSchema) { f.TypeParams = kv("dim", "32769") }), 65535,
		"invalid dimension: 32769 of field vec. float vector dimension should be in range 2 ~ 32768")
	f("dim max", field(2, func(f *schemapb.FieldSchema) { f.TypeParams = kv("dim", "32768") }), 0)
	f("dim not a number", field(2, func(f *schemapb.FieldSchema) { f.TypeParams = kv("dim", "x") }), 65535, `parsing "x": invalid syntax`)
	f("binary dim not multiple of 8", field(2, func(f *schemapb.FieldSchema) {
		f.DataType = schemapb.DataType_BinaryVector
		f.TypeParams = kv("dim", "12")
	}), 65535, "invalid dimension: 12 of field vec. binary vector dimension should be multiple of 8.")
	f("binary dim 262144", field(2, func(f *schemapb.FieldSchema) {
		f.DataType = schemapb.DataType_BinaryVector
		f.TypeParams = kv("dim", "262144")
	}), 0)
	f("sparse with dim", field(2, func(f *schemapb.FieldSchema) { f.DataType = schemapb.DataType_SparseFloatVector }), 65535,
		"dim should not be specified for sparse vector field vec(0)")
	f("sparse", field(2, func(f *schemapb.FieldSchema) { f.DataType = schemapb.DataType_SparseFloatVector; f.TypeParams = nil }), 0)
	f("varchar max_length 0", field(1, func(f *schemapb.FieldSchema) { f.TypeParams = kv("max_length", "0") }), 1100,
		"the maximum length specified for the field(title) should be in (0, 65535], but got 0 instead: invalid parameter")
	f("varchar max_length 65536", field(1, func(f *schemapb.FieldSchema) { f.TypeParams = kv("max_length", "65536") }), 1100,
		"should be in (0, 65535], but got 65536 instead")
	f("varchar max_length missing", field(1, func(f *schemapb.FieldSchema) { f.TypeParams = nil }), 65535,
		"type param(max_length) should be specified for the field(title) of collection c")
	f("array ok", add(&schemapb.FieldSchema{Name: "tags", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_VarChar,
		TypeParams: kv("max_capacity", "4096", "max_length", "10")}), 0)
	f("array no capacity", add(&schemapb.FieldSchema{Name: "tags", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64}), 65535,
		"type param(max_capacity) should be specified for array field tags of collection c")
	f("array capacity 4097", add(&schemapb.FieldSchema{Name: "tags", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64,
		TypeParams: kv("max_capacity", "4097")}), 65535, "the maximum capacity specified for a Array should be in (0, 4096]")
	f("array of json", add(&schemapb.FieldSchema{Name: "tags", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_JSON,
		TypeParams: kv("max_capacity", "4")}), 65535, "element type JSON is not supported")
	f("array of varchar without max_length", add(&schemapb.FieldSchema{Name: "tags", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_VarChar,
		TypeParams: kv("max_capacity", "4")}), 65535, "type param(max_length) should be specified for the field(tags)")
	f("duplicate name", add(&schemapb.FieldSchema{Name: "title", DataType: schemapb.DataType_Int64}), 65535, "duplicated field name title found")
	f("bad field name", add(&schemapb.FieldSchema{Name: "1x", DataType: schemapb.DataType_Int64}), 1701,
		"Invalid field name: 1x. The first character of a field name must be an underscore or letter.: field name invalid[field=1x]")
	f("keyword field name", add(&schemapb.FieldSchema{Name: "like", DataType: schemapb.DataType_Int64}), 1701, "like is keyword in milvus.")
	f("$meta field name", add(&schemapb.FieldSchema{Name: "$meta", DataType: schemapb.DataType_JSON}), 1701, "field name invalid[field=$meta]")
	f("system field name", add(&schemapb.FieldSchema{Name: "RowID", DataType: schemapb.DataType_Int64}), 1100,
		"schema contains system field: RowID, Timestamp, $meta: invalid parameter[expected=schema don't contains system field][actual=contains]")
	f("partition key ok", field(1, func(f *schemapb.FieldSchema) { f.IsPartitionKey = true }), 0)
	f("partition key float", add(&schemapb.FieldSchema{Name: "p", DataType: schemapb.DataType_Float, IsPartitionKey: true}), 65535,
		"the data type of partition key should be Int64 or VarChar")
	f("partition key on pk", field(0, func(f *schemapb.FieldSchema) { f.IsPartitionKey = true }), 65535, "the partition key field must not be primary field")
	f("two partition keys", func(s *schemapb.CollectionSchema) {
		s.Fields[1].IsPartitionKey = true
		s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "p", DataType: schemapb.DataType_Int64, IsPartitionKey: true})
	}, 65535, "there are more than one partition key, field name = title, p")
	f("nullable partition key", field(1, func(f *schemapb.FieldSchema) { f.IsPartitionKey = true; f.Nullable = true }), 1100, "partition key field not support nullable")
	f("nullable vector", field(2, func(f *schemapb.FieldSchema) { f.Nullable = true }), 0)
	f("vector default", field(2, func(f *schemapb.FieldSchema) {
		f.DefaultValue = &schemapb.ValueField{Data: &schemapb.ValueField_FloatData{FloatData: 2}}
	}), 1100, "type not support default_value, type:FloatVector, name:vec: invalid parameter")
	f("json default", add(&schemapb.FieldSchema{Name: "j", DataType: schemapb.DataType_JSON,
		DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_BytesData{BytesData: []byte(`{}`)}}}), 1100,
		"type not support default_value, type:JSON, name:j")
	f("nullable pk", field(0, func(f *schemapb.FieldSchema) { f.Nullable = true }), 1100, "primary field not support null")
	f("nullable scalar", field(1, func(f *schemapb.FieldSchema) { f.Nullable = true }), 0)
	f("pk default", field(0, func(f *schemapb.FieldSchema) {
		f.DefaultValue = &schemapb.ValueField{Data: &schemapb.ValueField_LongData{LongData: 1}}
	}), 1100, "primary field not support default_value")
	f("default type mismatch", field(1, func(f *schemapb.FieldSchema) {
		f.DefaultValue = &schemapb.ValueField{Data: &schemapb.ValueField_LongData{LongData: 1}}
	}), 1100, "type (VarChar) of field (title) is not equal to the type(DataType_Int64) of default_value: invalid parameter")
	f("default too long", field(1, func(f *schemapb.FieldSchema) {
		f.DefaultValue = &schemapb.ValueField{Data: &schemapb.ValueField_StringData{StringData: strings.Repeat("x", 17)}}
	}), 1100, "the length (17) of string exceeds max length (16)")
	f("default int8 range", add(&schemapb.FieldSchema{Name: "small", DataType: schemapb.DataType_Int8,
		DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_IntData{IntData: 200}}}), 1100,
		"default value out of range: invalid parameter[200 out of range -128 <= value <= 127]")
	f("default ok", add(&schemapb.FieldSchema{Name: "small", DataType: schemapb.DataType_Int8, Nullable: true,
		DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_IntData{IntData: 7}}}), 0)
	f("clustering key vector", field(2, func(f *schemapb.FieldSchema) { f.IsClusteringKey = true }), 107,
		"vector clustering key not allowed[collection=c]")
	f("function without inputs", func(s *schemapb.CollectionSchema) { s.Functions = []*schemapb.FunctionSchema{{Name: "bm25"}} }, 65535, "function input field names cannot be empty, function: bm25")
}

func TestSchemaDecodeShardsAndGarbage(t *testing.T) {
	_, _, err := decodeCreateCollectionSchema("c", mustMarshal(t, testSchema("c")), 17)
	checkErr(t, err, 65535, "maximum shards's number should be limited to 16")
	_, _, err = decodeCreateCollectionSchema("c", []byte{0xff, 0xff, 0xff}, 1)
	checkErr(t, err, 65535)
	_, _, err = decodeCreateCollectionSchema("c", nil, 1)
	checkErr(t, err, 1100, "schema does not contain vector field")
}

func TestSchemaPartitionKeyPartitions(t *testing.T) {
	plain := testSchema("c")
	keyed := testSchema("c")
	keyed.Fields[1].IsPartitionKey = true
	f := func(s *schemapb.CollectionSchema, n int64, want int64, code int32) {
		t.Helper()
		got, err := partitionKeyPartitions(s, n)
		if code != 0 {
			checkErr(t, err, code)
			return
		}
		if err != nil || got != want {
			t.Errorf("partitionKeyPartitions(%d) = %d, %v; want %d", n, got, err, want)
		}
	}
	f(plain, 0, 1, 0)
	f(plain, 4, 0, 65535)
	f(keyed, 0, 16, 0)
	f(keyed, 64, 64, 0)
	f(keyed, 1025, 0, 1100)
	f(keyed, -1, 0, 65535)
}

func FuzzSchemaDecode(f *testing.F) {
	f.Add(mustMarshal(f, testSchema("c")), int32(1))
	s := testSchema("c")
	s.EnableDynamicField = true
	s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "tags", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_VarChar,
		TypeParams: kv("max_capacity", "4", "max_length", "10")})
	f.Add(mustMarshal(f, s), int32(0))
	f.Fuzz(func(t *testing.T, b []byte, shards int32) {
		got, n, err := decodeCreateCollectionSchema("c", b, shards)
		if err != nil {
			if errs.CodeOf(err) == 0 {
				t.Fatal("error with code 0")
			}
			return
		}
		if n < 1 || n > maxShardNum || primaryField(got) == nil {
			t.Fatalf("accepted schema with %d shards, pk %v", n, primaryField(got))
		}
	})
}

// TestSchemaSDKFlow drives the request semantics with the requests the
// unmodified Go SDK v2.6.2 builds: quick-setup and custom CreateCollection,
// column- and row-based Insert with dynamic keys, Upsert, Search and Query.
func TestSchemaSDKFlow(t *testing.T) {
	// Quick setup: id Int64 pk, vector FloatVector(dim), dynamic field.
	quick := milvusclient.SimpleCreateCollectionOptions("quick", 4).Request()
	s, shards, err := decodeCreateCollectionSchema(quick.GetCollectionName(), quick.GetSchema(), quick.GetShardsNum())
	if err != nil {
		t.Fatal(err)
	}
	if shards != 1 || len(s.Fields) != 3 || s.Fields[0].GetName() != "id" || s.Fields[1].GetName() != "vector" || !s.Fields[2].GetIsDynamic() {
		t.Fatalf("quick schema %v shards %d", s, shards)
	}

	// Custom schema with every scalar kind of the hello flows.
	es := entity.NewSchema().WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("pk").WithDataType(entity.FieldTypeVarChar).WithMaxLength(32).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("flag").WithDataType(entity.FieldTypeBool)).
		WithField(entity.NewField().WithName("i8").WithDataType(entity.FieldTypeInt8)).
		WithField(entity.NewField().WithName("n").WithDataType(entity.FieldTypeInt32).WithNullable(true)).
		WithField(entity.NewField().WithName("score").WithDataType(entity.FieldTypeDouble).WithDefaultValueDouble(1.5)).
		WithField(entity.NewField().WithName("doc").WithDataType(entity.FieldTypeJSON)).
		WithField(entity.NewField().WithName("tags").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeInt64).WithMaxCapacity(4)).
		WithField(entity.NewField().WithName("emb").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
	create := milvusclient.NewCreateCollectionOption("custom", es).WithShardNum(2).Request()
	s, shards, err = decodeCreateCollectionSchema(create.GetCollectionName(), create.GetSchema(), create.GetShardsNum())
	if err != nil {
		t.Fatal(err)
	}
	if shards != 2 || len(s.Fields) != 9 {
		t.Fatalf("custom schema: %d fields, %d shards", len(s.Fields), shards)
	}
	coll := &entity.Collection{Name: "custom", Schema: entity.NewSchema().ReadProto(s)}

	// Column-based insert with a dynamic column and a nullable column with a null.
	ins, err := milvusclient.NewColumnBasedInsertOption("custom").
		WithVarcharColumn("pk", []string{"a", "b"}).
		WithBoolColumn("flag", []bool{true, false}).
		WithInt8Column("i8", []int8{-1, 1}).
		WithColumns(mustNullableInt32(t, "n", []int32{7}, []bool{false, true})).
		WithColumns(column.NewColumnJSONBytes("doc", [][]byte{[]byte(`{"x":1}`), []byte(`[1,2]`)})).
		WithColumns(column.NewColumnInt64Array("tags", [][]int64{{1}, {2, 3}})).
		WithFloatVectorColumn("emb", 4, [][]float32{{1, 2, 3, 4}, {5, 6, 7, 8}}).
		WithVarcharColumn("color", []string{"red", "blue"}).
		InsertRequest(coll)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := insertColumns(s, ins.GetFieldsData(), int(ins.GetNumRows()), false)
	if err != nil {
		t.Fatal(err)
	}
	byName := func(name string) milvagocolumn.Column { return cols[fieldByName(s, name).GetFieldID()] }
	if n := byName("n").(*milvagocolumn.Scalar[int32]); n.Data[1] != 7 || !n.IsNull(0) || n.IsNull(1) {
		t.Errorf("nullable n: %+v", n)
	}
	if sc := byName("score").(*milvagocolumn.Scalar[float64]); sc.Data[0] != 1.5 || sc.Data[1] != 1.5 {
		t.Errorf("default score: %+v", sc)
	}
	if m := byName("$meta").(*milvagocolumn.Scalar[[]byte]); string(m.Data[0]) != `{"color":"red"}` {
		t.Errorf("dynamic: %q", m.Data)
	}

	// Row-based insert: dynamic keys come from a map row.
	rows, err := milvusclient.NewRowBasedInsertOption("custom", map[string]any{
		"pk": "r1", "flag": true, "i8": int8(3), "doc": []byte(`{}`), "tags": []int64{9},
		"emb": []float32{0, 0, 0, 1}, "extra": 42,
	}).InsertRequest(coll)
	if err == nil {
		if cols, err := insertColumns(s, rows.GetFieldsData(), int(rows.GetNumRows()), false); err != nil {
			t.Errorf("row-based insert: %v", err)
		} else if m := cols[fieldByName(s, "$meta").GetFieldID()].(*milvagocolumn.Scalar[[]byte]); string(m.Data[0]) != `{"extra":42}` {
			t.Errorf("row-based dynamic: %q", m.Data)
		}
	} else {
		t.Logf("SDK rejected the row (not ours): %v", err)
	}

	// Upsert needs the key; duplicate keys are refused.
	up, err := milvusclient.NewColumnBasedInsertOption("custom").
		WithVarcharColumn("pk", []string{"a", "a"}).
		WithBoolColumn("flag", []bool{true, false}).
		WithInt8Column("i8", []int8{1, 2}).
		WithColumns(column.NewColumnJSONBytes("doc", [][]byte{[]byte(`{}`), []byte(`{}`)})).
		WithColumns(column.NewColumnInt64Array("tags", [][]int64{{1}, {2}})).
		WithFloatVectorColumn("emb", 4, [][]float32{{1, 2, 3, 4}, {5, 6, 7, 8}}).
		UpsertRequest(coll)
	if err != nil {
		t.Fatal(err)
	}
	_, err = insertColumns(s, up.GetFieldsData(), int(up.GetNumRows()), true)
	checkErr(t, err, 1100, "duplicate primary keys are not allowed in the same batch")

	// Search: SDK defaults, output fields with a dynamic key.
	sreq, err := milvusclient.NewSearchOption("custom", 5, []entity.Vector{entity.FloatVector{1, 2, 3, 4}, entity.FloatVector{4, 3, 2, 1}}).
		WithOffset(2).WithOutputFields("flag", "color").
		WithAnnParam(index.NewHNSWAnnParam(64)).Request()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := parseSearchRequest(DefaultLimits(), s, sreq, func(int64) (index2.Metric, bool) { return index2.Cosine, true })
	if err != nil {
		t.Fatal(err)
	}
	if spec.NQ != 2 || spec.TopK != 5 || spec.Offset != 2 || spec.Metric != index2.Cosine || spec.Params["ef"] != "64" || spec.Queries.Len() != 2 {
		t.Errorf("search spec %+v", spec)
	}
	ids, keys, names, err := resolveOutputFields(s, sreq.GetOutputFields(), true)
	if err != nil || len(ids) != 2 || !reflect.DeepEqual(keys, []string{"color"}) || !reflect.DeepEqual(names, []string{"flag", "color"}) {
		t.Errorf("search output fields %v %v %v %v", ids, keys, names, err)
	}
	// Empty vectors: nq 0.
	sreq, _ = milvusclient.NewSearchOption("custom", 5, []entity.Vector{}).Request()
	_, err = parseSearchRequest(DefaultLimits(), s, sreq, nil)
	checkErr(t, err, 65535, "nq [0] is invalid")

	// Query with limit and offset.
	qreq, err := milvusclient.NewQueryOption("custom").WithFilter("flag == true").WithLimit(10).WithOffset(3).WithOutputFields("*").Request()
	if err != nil {
		t.Fatal(err)
	}
	limit, offset, err := parseQueryParams(DefaultLimits().MaxQueryResultWindow, qreq.GetQueryParams())
	if err != nil || limit != 10 || offset != 3 {
		t.Errorf("query params %d %d %v", limit, offset, err)
	}
	if ids, _, _, err := resolveOutputFields(s, qreq.GetOutputFields(), false); err != nil || len(ids) != 9 {
		t.Errorf("query * = %v, %v", ids, err)
	}
}

func mustNullableInt32(t *testing.T, name string, values []int32, valid []bool) column.Column {
	t.Helper()
	c, err := column.NewNullableColumnInt32(name, values, valid)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
