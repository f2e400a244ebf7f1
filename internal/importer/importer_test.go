package importer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

type memObjects map[string][]byte

func (m memObjects) Get(_ context.Context, key string) ([]byte, error) {
	b, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("no object %s", key)
	}
	return b, nil
}

func testSchema(dynamic bool) *schemapb.CollectionSchema {
	s := &schemapb.CollectionSchema{Name: "c", EnableDynamicField: dynamic, Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}},
		{FieldID: 102, Name: "name", DataType: schemapb.DataType_VarChar, Nullable: true, TypeParams: []*commonpb.KeyValuePair{{Key: "max_length", Value: "16"}}},
		{FieldID: 103, Name: "doc", DataType: schemapb.DataType_JSON, Nullable: true},
	}}
	if dynamic {
		s.Fields = append(s.Fields, &schemapb.FieldSchema{FieldID: 104, Name: "$meta", DataType: schemapb.DataType_JSON, IsDynamic: true})
	}
	return s
}

func field(t *testing.T, fields []*schemapb.FieldData, name string) *schemapb.FieldData {
	t.Helper()
	for _, f := range fields {
		if f.GetFieldName() == name {
			return f
		}
	}
	t.Fatalf("no field %s in %v", name, fields)
	return nil
}

func TestJSONForms(t *testing.T) {
	for _, doc := range []string{
		`{"rows": [{"id": 1, "vec": [1, 2], "name": "a", "doc": {"k": 1}, "x": 5}, {"id": 2, "vec": [3, 4], "name": null, "$meta": {"y": true}}]}`,
		`[{"id": 1, "vec": [1, 2], "name": "a", "doc": "{\"k\": 1}", "x": 5}, {"id": 2, "vec": [3, 4], "$meta": "{\"y\": true}"}]`,
	} {
		fields, n, err := Read(context.Background(), memObjects{"f.json": []byte(doc)}, testSchema(true), []string{"f.json"}, Options{Sep: ','})
		if err != nil || n != 2 {
			t.Fatalf("Read = %d, %v", n, err)
		}
		if got := field(t, fields, "id").GetScalars().GetLongData().GetData(); fmt.Sprint(got) != "[1 2]" {
			t.Fatalf("id = %v", got)
		}
		if got := field(t, fields, "vec").GetVectors().GetFloatVector().GetData(); fmt.Sprint(got) != "[1 2 3 4]" {
			t.Fatalf("vec = %v", got)
		}
		if v := field(t, fields, "name").GetValidData(); fmt.Sprint(v) != "[true false]" {
			t.Fatalf("name valid = %v", v)
		}
		if d := field(t, fields, "doc").GetScalars().GetJsonData().GetData(); string(d[0]) != `{"k":1}` {
			t.Fatalf("doc = %q", d)
		}
		meta := field(t, fields, "$meta").GetScalars().GetJsonData().GetData()
		if string(meta[0]) != `{"x":5}` || string(meta[1]) != `{"y":true}` {
			t.Fatalf("$meta = %q", meta)
		}
	}
}

func TestJSONErrors(t *testing.T) {
	auto := testSchema(false)
	auto.Fields[0].AutoID = true
	for _, tc := range []struct {
		schema *schemapb.CollectionSchema
		doc    string
		want   string
	}{
		{testSchema(false), `[{"id": 1}]`, "value of field 'vec' is missed"},
		{testSchema(false), `{"data": []}`, "the root key should be 'rows'"},
		{testSchema(false), `[{"id": 1,`, "failed to parse JSON file"},
		{testSchema(false), `"x"`, "invalid JSON format"},
		{auto, `[{"id": 1, "vec": [1, 2]}]`, "the primary key 'id' is auto-generated, no need to provide"},
		{testSchema(false), `[{"id": 1, "vec": [1, 2], "doc": "{bad"}]`, "invalid JSON format string"},
	} {
		_, _, err := Read(context.Background(), memObjects{"f.json": []byte(tc.doc)}, tc.schema, []string{"f.json"}, Options{Sep: ','})
		if !errors.Is(err, ErrImportFailed) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: err %v, want %q", tc.doc, err, tc.want)
		}
	}
	// A key that is no field is skipped without a dynamic field (Milvus 2.6).
	if _, n, err := Read(context.Background(), memObjects{"f.json": []byte(`[{"id": 1, "vec": [1, 2], "zzz": 1}]`)}, testSchema(false), []string{"f.json"}, Options{}); err != nil || n != 1 {
		t.Fatalf("extra key: %d, %v", n, err)
	}
}

func TestCSV(t *testing.T) {
	opts, err := ParseOptions(map[string]string{"sep": "|", "nullkey": "\\N"})
	if err != nil {
		t.Fatal(err)
	}
	doc := "id|vec|name|doc\n1|[1,2]|a b|\"{\"\"k\"\": 2}\"\n2|[3,4]|\\N|\\N\n"
	fields, n, err := Read(context.Background(), memObjects{"f.csv": []byte(doc)}, testSchema(false), []string{"f.csv"}, opts)
	if err != nil || n != 2 {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if got := field(t, fields, "name").GetScalars().GetStringData().GetData(); got[0] != "a b" {
		t.Fatalf("name = %q", got)
	}
	if v := field(t, fields, "doc").GetValidData(); fmt.Sprint(v) != "[true false]" {
		t.Fatalf("doc valid = %v", v)
	}
	if _, err := ParseOptions(map[string]string{"sep": "ab"}); !errors.Is(err, ErrImportFailed) {
		t.Fatalf("two-character sep: %v", err)
	}
	_, _, err = Read(context.Background(), memObjects{"f.csv": []byte("id,vec\n1\n")}, testSchema(false), []string{"f.csv"}, Options{Sep: ','})
	if err == nil || !strings.Contains(err.Error(), "the number of fields in the row is not equal to the header") {
		t.Fatalf("short row: %v", err)
	}
}

func npyFile(descr string, shape string, data []byte) []byte {
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

func TestNumPy(t *testing.T) {
	var ids, vecs, names bytes.Buffer
	binary.Write(&ids, binary.LittleEndian, []int64{7, 8})
	binary.Write(&vecs, binary.LittleEndian, []float32{1, 2, 3, 4})
	for _, s := range []string{"ab", "c"} {
		for k := range 2 {
			var r uint32
			if k < len(s) {
				r = uint32(s[k])
			}
			binary.Write(&names, binary.LittleEndian, r)
		}
	}
	objs := memObjects{
		"d/id.npy":   npyFile("<i8", "(2,)", ids.Bytes()),
		"d/vec.npy":  npyFile("<f4", "(2, 2)", vecs.Bytes()),
		"d/name.npy": npyFile("<U2", "(2,)", names.Bytes()),
	}
	fields, n, err := Read(context.Background(), objs, testSchema(false), []string{"d/id.npy", "d/vec.npy", "d/name.npy"}, Options{})
	if err != nil || n != 2 {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if got := field(t, fields, "vec").GetVectors().GetFloatVector().GetData(); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("vec = %v", got)
	}
	if got := field(t, fields, "name").GetScalars().GetStringData().GetData(); fmt.Sprint(got) != "[ab c]" {
		t.Fatalf("name = %v", got)
	}
	_, _, err = Read(context.Background(), objs, testSchema(false), []string{"d/id.npy"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "no file for field: vec") {
		t.Fatalf("missing vec file: %v", err)
	}
	objs["d/vec.npy"] = npyFile("<f4", "(3, 2)", append(vecs.Bytes(), 0, 0, 0, 0, 0, 0, 0, 0))
	if _, _, err = Read(context.Background(), objs, testSchema(false), []string{"d/id.npy", "d/vec.npy"}, Options{}); err == nil || !strings.Contains(err.Error(), "row count") {
		t.Fatalf("row counts differ: %v", err)
	}
	objs["d/vec.npy"] = []byte("not numpy")
	if _, _, err = Read(context.Background(), objs, testSchema(false), []string{"d/id.npy", "d/vec.npy"}, Options{}); !errors.Is(err, ErrImportFailed) {
		t.Fatalf("bad magic: %v", err)
	}
}

func TestFormatOf(t *testing.T) {
	for files, want := range map[string]Format{"a.json": JSON, "a.CSV": CSV, "a.parquet": Parquet, "a.npy,b.npy": NumPy} {
		if f, err := FormatOf(strings.Split(files, ",")); err != nil || f != want {
			t.Fatalf("%s: %v, %v", files, f, err)
		}
	}
	for _, files := range []string{"a.txt", "a.json,b.json", "a.npy,b.json", ""} {
		var list []string
		if files != "" {
			list = strings.Split(files, ",")
		}
		if _, err := FormatOf(list); !errors.Is(err, ErrImportFailed) {
			t.Fatalf("%q: %v", files, err)
		}
	}
}

func TestParquetGarbage(t *testing.T) {
	_, _, err := Read(context.Background(), memObjects{"f.parquet": []byte("PAR1 nonsense")}, testSchema(false), []string{"f.parquet"}, Options{})
	if !errors.Is(err, ErrImportFailed) {
		t.Fatalf("garbage parquet: %v", err)
	}
}
