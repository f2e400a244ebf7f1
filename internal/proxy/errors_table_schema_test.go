package proxy

import (
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"
)

// TestMilvusSchemaErrorTable extends TestMilvusErrorTable to the
// create-collection checks (the proxy's validation, then rootcoord's), run
// as CreateCollection runs them, through decodeCreateCollectionSchema. Each
// case names the Milvus 2.6 source its code and text were checked against
// (milvus-io/milvus, branch 2.6). Plain errors.New/fmt.Errorf texts of
// Milvus's proxy reach the SDK with code 65535 (merr's code of an error it
// does not know); merr.WrapErrParameterInvalidMsg is 1100.
func TestMilvusSchemaErrorTable(t *testing.T) {
	pk := func() *schemapb.FieldSchema {
		return &schemapb.FieldSchema{Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true}
	}
	vec := func() *schemapb.FieldSchema {
		return &schemapb.FieldSchema{Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: kv("dim", "8")}
	}
	text := func() *schemapb.FieldSchema {
		return &schemapb.FieldSchema{Name: "text", DataType: schemapb.DataType_VarChar,
			TypeParams: kv("max_length", "64", "enable_analyzer", "true")}
	}
	sparse := func() *schemapb.FieldSchema {
		return &schemapb.FieldSchema{Name: "sp", DataType: schemapb.DataType_SparseFloatVector}
	}
	bm25 := func(name string, in, out []string) *schemapb.FunctionSchema {
		return &schemapb.FunctionSchema{Name: name, Type: schemapb.FunctionType_BM25, InputFieldNames: in, OutputFieldNames: out}
	}
	create := func(name string, mutate func(s *schemapb.CollectionSchema)) func() error {
		return func() error {
			s := &schemapb.CollectionSchema{Name: name, Fields: []*schemapb.FieldSchema{pk(), vec()}}
			mutate(s)
			b, err := proto.Marshal(s)
			if err != nil {
				return err
			}
			_, _, err = decodeCreateCollectionSchema(name, b, 1)
			return err
		}
	}

	cases := []struct {
		what string
		call func() error
		code int32
		text string
	}{
		// internal/proxy/util.go validateCollectionNameOrAlias
		{"collection name too long", create(strings.Repeat("c", 256), func(*schemapb.CollectionSchema) {}), 1100,
			"the length of a collection name must be less than 255 characters"},
		// internal/proxy/util.go validateFieldType / ValidateField
		{"None data type", create("c", func(s *schemapb.CollectionSchema) {
			s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "x", DataType: schemapb.DataType_None})
		}), 65535, "data type None is not valid"},
		{"String data type", create("c", func(s *schemapb.CollectionSchema) {
			s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "x", DataType: schemapb.DataType_String})
		}), 65535, "string data type not supported yet, please use VarChar type instead"},
		{"explicit dynamic field", create("c", func(s *schemapb.CollectionSchema) {
			s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "x", DataType: schemapb.DataType_JSON, IsDynamic: true})
		}), 65535, "cannot explicitly set a field as a dynamic field"},
		// internal/proxy/util.go validateDimension
		{"binary dim not a multiple of 8", create("c", func(s *schemapb.CollectionSchema) {
			s.Fields[1] = &schemapb.FieldSchema{Name: "bin", DataType: schemapb.DataType_BinaryVector, TypeParams: kv("dim", "12")}
		}), 65535, "invalid dimension: 12 of field bin. binary vector dimension should be multiple of 8. "},
		// internal/proxy/util.go checkFunctionBasicParams
		{"function without a name", create("c", func(s *schemapb.CollectionSchema) {
			s.Fields = append(s.Fields, text(), sparse())
			s.Functions = []*schemapb.FunctionSchema{bm25("", []string{"text"}, []string{"sp"})}
		}), 65535, "function name cannot be empty"},
		{"function field both input and output", create("c", func(s *schemapb.CollectionSchema) {
			s.Fields = append(s.Fields, text(), sparse())
			s.Functions = []*schemapb.FunctionSchema{bm25("f", []string{"text"}, []string{"text"})}
		}), 65535, "a single field cannot be both input and output in the same function, function: f, field: text"},
		// internal/proxy/util.go validateFunction
		{"nullable function output", create("c", func(s *schemapb.CollectionSchema) {
			sp := sparse()
			sp.Nullable = true
			s.Fields = append(s.Fields, text(), sp)
			s.Functions = []*schemapb.FunctionSchema{bm25("f", []string{"text"}, []string{"sp"})}
		}), 65535, "function output field cannot be nullable: function f, field sp"},
		// internal/proxy/util.go checkFunctionOutputField
		{"BM25 with two outputs", create("c", func(s *schemapb.CollectionSchema) {
			sp2 := sparse()
			sp2.Name = "sp2"
			s.Fields = append(s.Fields, text(), sparse(), sp2)
			s.Functions = []*schemapb.FunctionSchema{bm25("f", []string{"text"}, []string{"sp", "sp2"})}
		}), 65535, "BM25 function only need 1 output field, but got 2"},
		// internal/proxy/util.go validateAutoIDDef / struct fields
		{"auto_id on a struct sub-field", create("c", func(s *schemapb.CollectionSchema) {
			s.StructArrayFields = []*schemapb.StructArrayFieldSchema{{Name: "st", Fields: []*schemapb.FieldSchema{{
				Name: "n", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64, AutoID: true,
				TypeParams: kv("max_capacity", "4")}}}}
		}), 65535, "autoID is not supported for struct field, field name = n"},
		// internal/proxy/util.go ValidateField (before rootcoord's
		// checkFieldSchema sees it)
		{"ArrayOfVector outside a struct", create("c", func(s *schemapb.CollectionSchema) {
			s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "ev", DataType: schemapb.DataType_ArrayOfVector,
				ElementType: schemapb.DataType_FloatVector, TypeParams: kv("dim", "8", "max_capacity", "4")})
		}), 65535, "array of vector can only be in the struct array field, field name: ev"},
		{"ArrayOfVector outside a struct without dim", create("c", func(s *schemapb.CollectionSchema) {
			s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "ev", DataType: schemapb.DataType_ArrayOfVector,
				ElementType: schemapb.DataType_FloatVector, TypeParams: kv("max_capacity", "4")})
		}), 65535, "dimension is not defined in field type params of field ev, check type param `dim` for vector field"},
		// internal/rootcoord/util.go checkFieldSchema
		{"default value on the primary key", create("c", func(s *schemapb.CollectionSchema) {
			s.Fields[0].DefaultValue = &schemapb.ValueField{Data: &schemapb.ValueField_LongData{LongData: 1}}
		}), 1100, "primary field not support default_value, type:Int64, name:id"},
		// internal/proxy/util.go ValidateStructArrayField (before
		// rootcoord's "empty fields in StructArrayField is not allowed")
		{"struct without fields", create("c", func(s *schemapb.CollectionSchema) {
			s.StructArrayFields = []*schemapb.StructArrayFieldSchema{{Name: "st"}}
		}), 65535, "struct array field st has no sub-fields"},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) { checkErr(t, c.call(), c.code, c.text) })
	}
}
