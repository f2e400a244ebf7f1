package proxy

import (
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// structSchema is testSchema plus the struct array field "clips" as the Go
// SDK sends it: sub-fields of DataType Array / ArrayOfVector with the
// element type and the struct's max_capacity.
func structSchema(name string) *schemapb.CollectionSchema {
	s := testSchema(name)
	s.StructArrayFields = []*schemapb.StructArrayFieldSchema{{Name: "clips", Fields: []*schemapb.FieldSchema{
		{Name: "label", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_VarChar, TypeParams: kv("max_length", "32", "max_capacity", "8")},
		{Name: "emb", DataType: schemapb.DataType_ArrayOfVector, ElementType: schemapb.DataType_FloatVector, TypeParams: kv("dim", "4", "max_capacity", "8")},
	}}}
	return s
}

func TestStructArraySchema(t *testing.T) {
	schema, _, err := decodeCreateCollectionSchema("c", mustMarshal(t, structSchema("c")), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Fields 100..102, the struct 103, its sub-fields 104, 105, flattened.
	sf := schema.GetStructArrayFields()[0]
	if sf.GetFieldID() != 103 || sf.Fields[0].GetName() != "clips[label]" || sf.Fields[1].GetFieldID() != 105 {
		t.Fatalf("struct field %v", sf)
	}
	if n := len(schema.GetFields()); n != 5 || schema.Fields[4].GetName() != "clips[emb]" || schema.Fields[4].GetFieldID() != 105 {
		t.Fatalf("flattened fields %v", schema.GetFields())
	}
	pub := publicStructArrays(schema)
	if pub[0].Fields[0].GetName() != "label" || sf.Fields[0].GetName() != "clips[label]" {
		t.Fatalf("public names %v (stored %v)", pub[0].Fields, sf.Fields)
	}
	if got := len(publicFields(schema, true)); got != 3 {
		t.Fatalf("%d public fields, want 3", got)
	}

	type mod func(s *schemapb.CollectionSchema)
	sub := func(i int, g func(f *schemapb.FieldSchema)) mod {
		return func(s *schemapb.CollectionSchema) { g(s.StructArrayFields[0].Fields[i]) }
	}
	for _, c := range []struct {
		name      string
		m         mod
		code      int32
		fragments []string
	}{
		{"no sub-fields", func(s *schemapb.CollectionSchema) { s.StructArrayFields[0].Fields = nil }, 65535, []string{"struct array field clips has no sub-fields"}},
		{"scalar sub-field", sub(0, func(f *schemapb.FieldSchema) { f.DataType = schemapb.DataType_Int64 }), 65535, []string{"fields in StructArrayField can only be array or array of struct"}},
		{"nested array", sub(0, func(f *schemapb.FieldSchema) { f.ElementType = schemapb.DataType_Array }), 65535, []string{"nested array is not supported label"}},
		{"binary vectors", sub(1, func(f *schemapb.FieldSchema) { f.ElementType = schemapb.DataType_BinaryVector }), 65535, []string{"now only float vector is supported"}},
		{"nullable", sub(0, func(f *schemapb.FieldSchema) { f.Nullable = true }), 65535, []string{"nullable is not supported for fields in struct array now, fieldName = label"}},
		{"bad name", sub(0, func(f *schemapb.FieldSchema) { f.Name = "1abc" }), 1701, []string{"1abc"}},
		{"no max_length", sub(0, func(f *schemapb.FieldSchema) { f.TypeParams = kv("max_capacity", "8") }), 65535, []string{"type param(max_length) should be specified"}},
		{"no max_capacity", sub(1, func(f *schemapb.FieldSchema) { f.TypeParams = kv("dim", "4") }), 1100, []string{"type param(max_capacity) should be specified for field emb in struct array field clips"}},
		{"capacity too large", sub(1, func(f *schemapb.FieldSchema) { f.TypeParams = kv("dim", "4", "max_capacity", "5000") }), 1100, []string{"the maximum capacity specified for a Array should be in (0, 4096]"}},
		{"capacities differ", sub(1, func(f *schemapb.FieldSchema) { f.TypeParams = kv("dim", "4", "max_capacity", "9") }), 1100, []string{"all sub-fields in struct array field must have the same max_capacity"}},
		{"primary key", sub(0, func(f *schemapb.FieldSchema) { f.IsPrimaryKey = true }), 65535, []string{"primary key is not supported for struct field, field name = label"}},
		{"partition key", sub(0, func(f *schemapb.FieldSchema) { f.IsPartitionKey = true }), 105, []string{"partition key is not supported for struct field"}},
		{"duplicate struct name", func(s *schemapb.CollectionSchema) { s.StructArrayFields[0].Name = "title" }, 65535, []string{"duplicated field name title found"}},
		{"no dim", sub(1, func(f *schemapb.FieldSchema) { f.TypeParams = kv("max_capacity", "8") }), 65535, []string{"dimension is not defined"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := structSchema("c")
			c.m(s)
			_, _, err := decodeCreateCollectionSchema("c", mustMarshal(t, s), 0)
			checkErr(t, err, c.code, c.fragments...)
		})
	}
}

func TestStructArrayInputAndOutput(t *testing.T) {
	schema, _, err := decodeCreateCollectionSchema("c", mustMarshal(t, structSchema("c")), 0)
	if err != nil {
		t.Fatal(err)
	}
	label := func(rows ...[]string) *schemapb.FieldData {
		fd := &schemapb.FieldData{Type: schemapb.DataType_Array, FieldName: "label"}
		var data []*schemapb.ScalarField
		for _, r := range rows {
			data = append(data, &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: r}}})
		}
		fd.Field = &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_ArrayData{ArrayData: &schemapb.ArrayArray{Data: data, ElementType: schemapb.DataType_VarChar}}}}
		return fd
	}
	emb := func(counts ...int) *schemapb.FieldData {
		var data []*schemapb.VectorField
		for _, n := range counts {
			data = append(data, &schemapb.VectorField{Dim: 4, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: make([]float32, 4*n)}}})
		}
		return &schemapb.FieldData{Type: schemapb.DataType_ArrayOfVector, FieldName: "emb", Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: 4,
			Data: &schemapb.VectorField_VectorArray{VectorArray: &schemapb.VectorArray{Dim: 4, Data: data, ElementType: schemapb.DataType_FloatVector}}}}}
	}
	clips := func(subs ...*schemapb.FieldData) *schemapb.FieldData {
		return &schemapb.FieldData{Type: schemapb.DataType_ArrayOfStruct, FieldName: "clips", Field: &schemapb.FieldData_StructArrays{StructArrays: &schemapb.StructArrayField{Fields: subs}}}
	}
	flat, err := flattenStructInput(schema, []*schemapb.FieldData{clips(label([]string{"a", "b"}, []string{"c"}), emb(2, 1))})
	if err != nil {
		t.Fatal(err)
	}
	if len(flat) != 2 || flat[0].GetFieldName() != "clips[label]" || flat[1].GetFieldName() != "clips[emb]" {
		t.Fatalf("flattened %v", flat)
	}
	if _, err := flattenStructInput(schema, []*schemapb.FieldData{clips(label([]string{"a", "b"}, []string{"c"}), emb(1, 1))}); err == nil {
		t.Error("rows with different element counts per sub-field were accepted")
	}
	if _, err := flattenStructInput(schema, []*schemapb.FieldData{clips(label([]string{"a"}))}); err == nil {
		t.Error("a struct without all its sub-fields was accepted")
	}
	if err := validateVectorArrayPayload(emb(9), schema.Fields[4]); err == nil {
		t.Error("9 vectors were accepted for max_capacity 8")
	}
	// Output: the sub-fields fold back into one struct column.
	flat[0].FieldId, flat[1].FieldId = 104, 105
	out := foldStructArrays(schema, append([]*schemapb.FieldData{{FieldName: "id", FieldId: 100}}, flat...))
	if len(out) != 2 || out[1].GetType() != schemapb.DataType_ArrayOfStruct || out[1].GetFieldName() != "clips" {
		t.Fatalf("folded %v", out)
	}
	if subs := out[1].GetStructArrays().GetFields(); len(subs) != 2 || subs[0].GetFieldName() != "label" || subs[1].GetFieldName() != "emb" {
		t.Fatalf("folded sub-fields %v", subs)
	}
	ids, _, names, err := resolveOutputFields(schema, []string{"clips"}, false)
	if err != nil || len(ids) != 3 || len(names) != 1 || names[0] != "clips" {
		t.Fatalf("output fields %v %v %v", ids, names, err)
	}
}
