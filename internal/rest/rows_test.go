package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// testSchema has one field of most types, a nullable field, a field with
// a default value and the dynamic field.
func testSchema() *schemapb.CollectionSchema {
	dim := func(d string) []*commonpb.KeyValuePair { return []*commonpb.KeyValuePair{{Key: "dim", Value: d}} }
	return &schemapb.CollectionSchema{Name: "t", EnableDynamicField: true, Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: dim("3")},
		{FieldID: 102, Name: "b", DataType: schemapb.DataType_Bool},
		{FieldID: 103, Name: "i8", DataType: schemapb.DataType_Int8},
		{FieldID: 104, Name: "f", DataType: schemapb.DataType_Float},
		{FieldID: 105, Name: "s", DataType: schemapb.DataType_VarChar},
		{FieldID: 106, Name: "js", DataType: schemapb.DataType_JSON},
		{FieldID: 107, Name: "arr", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64},
		{FieldID: 108, Name: "opt", DataType: schemapb.DataType_Double, Nullable: true},
		{FieldID: 109, Name: "dflt", DataType: schemapb.DataType_Int32,
			DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_IntData{IntData: 7}}},
		{FieldID: 110, Name: "bin", DataType: schemapb.DataType_BinaryVector, TypeParams: dim("16")},
		{FieldID: 111, Name: "sp", DataType: schemapb.DataType_SparseFloatVector},
		{FieldID: 112, Name: "$meta", DataType: schemapb.DataType_JSON, IsDynamic: true},
	}}
}

func rawRows(t *testing.T, text string) []json.RawMessage {
	t.Helper()
	var rows []json.RawMessage
	if err := json.Unmarshal([]byte(text), &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestRowsRoundTrip(t *testing.T) {
	rows := rawRows(t, `[
	 {"id": 1, "vec": [1, 2.5, -3], "b": true, "i8": -8, "f": 0.5, "s": "x", "js": {"a": [1, 2]}, "arr": [1, 2, 3],
	  "opt": 1.25, "dflt": 3, "bin": [255, 1], "sp": {"3": 0.5, "1": 1.5}, "color": "red", "n": 10},
	 {"id": "9007199254740993", "vec": [0, 0, 0], "b": false, "i8": 127, "f": 1e-3, "s": "", "js": "str", "arr": [],
	  "opt": null, "bin": [0, 0], "sp": {"indices": [7], "values": [2]}}
	]`)
	fds, err := rowsToColumns(testSchema(), rows, false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := columnsToRows(fds, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"arr":[1,2,3],"b":true,"bin":"/wE=","color":"red","dflt":3,"f":0.5,"i8":-8,"id":1,"js":{"a":[1,2]},"n":10,"opt":1.25,"s":"x","sp":{"1":1.5,"3":0.5},"vec":[1,2.5,-3]},` +
		`{"arr":[],"b":false,"bin":"AAA=","dflt":null,"f":0.001,"i8":127,"id":9007199254740993,"js":"str","opt":null,"s":"","sp":{"7":2},"vec":[0,0,0]}]`
	if string(enc) != want {
		t.Fatalf("round trip:\n got %s\nwant %s", enc, want)
	}
	// Without int64 support, Int64 values are strings.
	out, _ = columnsToRows(fds[:1], 2, false)
	if out[1]["id"] != "9007199254740993" {
		t.Fatalf("id as string: %#v", out[1]["id"])
	}
}

func TestRowsErrors(t *testing.T) {
	f := func(rows string, wantInErr string) {
		t.Helper()
		_, err := rowsToColumns(testSchema(), rawRows(t, rows), false)
		if err == nil {
			t.Fatalf("%s: no error", rows)
		}
		if !errors.Is(err, errInvalidData) || !strings.Contains(err.Error(), wantInErr) {
			t.Fatalf("%s: %v, want 1804 with %q", rows, err, wantInErr)
		}
	}
	base := `"vec": [1, 2, 3], "b": true, "i8": 1, "f": 1, "s": "x", "js": 1, "arr": [], "bin": [1, 2], "sp": {"1": 1}`
	f(`[]`, "fail to deal the insert data, error: missing required parameters")
	f(`[1]`, "NULL:0, FALSE:1, NUMBER:2, STRING:3, TRUE:4, JSON:5: invalid parameter[expected=JSON][actual=Number]")
	f(`[{"id": 1}]`, "missing vector field: vec: invalid parameter[expected=FloatVector][actual=]")
	f(`[{"id": 1, "vec": [1, 2], "b": true}]`, "dim is 3")
	// Wrong-typed cells: checkAndSetData's conversions (utils.go:491-650)
	// and their texts under WrapErrParameterInvalid(<type>, <value>, ...).
	f(`[{"id": 1.5, `+base+`}]`, `fail to deal the insert data, error: strconv.ParseInt: parsing "1.5": invalid syntax: invalid parameter[expected=Int64][actual=1.5]`)
	f(`[{"id": "x", `+base+`}]`, `error: strconv.ParseInt: parsing "x": invalid syntax: invalid parameter[expected=Int64][actual=x]`)
	f(`[{"id": 1, `+base+`, "i8": 1.5}]`, `error: unable to cast "1.5" of type string to int8: invalid parameter[expected=Int8][actual=1.5]`)
	f(`[{"id": 1, `+base+`, "i8": "a"}]`, `error: unable to cast "a" of type string to int8: invalid parameter[expected=Int8][actual=a]`)
	f(`[{"id": 1, `+base+`, "i8": [1]}]`, `error: unable to cast "[1]" of type string to int8: invalid parameter[expected=Int8][actual=[1]]`)
	f(`[{"id": 1, `+base+`, "f": "abc"}]`, `error: unable to cast "abc" of type string to float32: invalid parameter[expected=Float][actual=abc]`)
	f(`[{"id": 1, `+base+`, "f": true}]`, `error: unable to cast "true" of type string to float32: invalid parameter[expected=Float][actual=true]`)
	f(`[{"id": 1, `+base+`, "vec": "abc"}]`, `error: invalid character 'a' looking for beginning of value: invalid parameter[expected=FloatVector][actual=abc]`)
	f(`[{"id": 1, `+base+`, "vec": [1, "a", 3]}]`, `error: json: cannot unmarshal string into Go value of type float32: invalid parameter[expected=FloatVector][actual=[1, "a", 3]]`)
	f(`[{"id": 1, `+base+`, "bin": [1.5, 0]}]`, `error: json: cannot unmarshal number 1.5 into Go value of type uint8: invalid parameter[expected=BinaryVector][actual=[1.5, 0]]`)
	f(`[{"id": 1, `+base+`, "bin": ["a", 0]}]`, `error: json: cannot unmarshal string into Go value of type uint8: invalid parameter[expected=BinaryVector][actual=["a", 0]]`)
	f(`[{"id": 1, `+base+`, "i8": 300}]`, "out of range")
	f(`[{"id": 1, `+base+`, "b": "yes"}]`, `error: strconv.ParseBool: parsing "yes": invalid syntax: invalid parameter[expected=Bool][actual=yes]`)
	f(`[{"id": 1, `+base+`, "arr": ["a"]}]`, "array element 0")
	f(`[{"id": 1, `+base+`, "bin": [256, 0]}]`, `error: json: cannot unmarshal number 256 into Go value of type uint8: invalid parameter[expected=BinaryVector][actual=[256, 0]]`)
	// Sparse vectors: CreateSparseFloatRowFromJSON's texts in
	// checkAndSetData's WrapErrParameterInvalid (utils.go:440-448).
	f(`[{"id": 1, `+base+`, "sp": {"x": 1}}]`, `fail to deal the insert data, error: strconv.ParseUint: parsing "x": invalid syntax: invalid parameter[expected=SparseFloatVector][actual={"x": 1}]`)
	f(`[{"id": 1, `+base+`, "sp": {"1": -1}}]`, `fail to deal the insert data, error: negative value in sparse float vector: invalid parameter[expected=SparseFloatVector][actual={"1": -1}]`)
	f(`[{"id": 1, `+base+`, "sp": {"indices": [1], "values": [1, 2]}}]`, `error: indices and values length mismatch: invalid parameter[expected=SparseFloatVector][actual={"indices": [1], "values": [1, 2]}]`)
	f(`[{"id": 1, `+base+`, "sp": {"indices": [1, 2]}}]`, `error: invalid JSON input: invalid parameter[expected=SparseFloatVector][actual={"indices": [1, 2]}]`)
	f(`[{"id": 1, `+base+`, "sp": [1, 2]}]`, `error: json: cannot unmarshal array into Go value of type map[string]interface {}: invalid parameter[expected=SparseFloatVector][actual=[1, 2]]`)
	f(`[{"id": 1, `+base+`, "$meta": {"a": 1}}]`, "$meta")
	f(`[{"id": 1, `+base+`, "vec": [1e39, 0, 0]}]`, `error: json: cannot unmarshal number 1e39 into Go value of type float32: invalid parameter[expected=FloatVector][actual=[1e39, 0, 0]]`)
	// A missing value converted from "" as Milvus's checkAndSetData does
	// (utils.go:491-513); JSON is Milvago's own refusal (Milvus passes ""
	// to its proxy).
	without := func(key string) string {
		return strings.Replace(base, `"`+key+`": `, `"x_`+key+`": `, 1)
	}
	f(`[{"id": 1, `+without("b")+`}]`, `strconv.ParseBool: parsing "": invalid syntax: invalid parameter[expected=Bool][actual=]`)
	f(`[{"id": 1, `+without("i8")+`}]`, `unable to cast "" of type string to int8: invalid parameter[expected=Int8][actual=]`)

	// A missing JSON is the empty payload (utils.go:636-637), which the
	// proxy's checkJSONFieldData lets through.
	cols, err := rowsToColumns(testSchema(), rawRows(t, `[{"id": 1, `+without("js")+`}]`), false)
	if err != nil {
		t.Fatalf("missing JSON: %v", err)
	}
	for _, c := range cols {
		if d := c.GetScalars().GetJsonData().GetData(); c.GetFieldName() == "js" && (len(d) != 1 || len(d[0]) != 0) {
			t.Fatalf("missing JSON: %v", c)
		}
	}

	// A missing VarChar is "" (utils.go:656-657).
	cols, err = rowsToColumns(testSchema(), rawRows(t, `[{"id": 1, `+without("s")+`}]`), false)
	if err != nil {
		t.Fatalf("missing VarChar: %v", err)
	}
	for _, c := range cols {
		if c.GetFieldName() == "s" && (len(c.GetScalars().GetStringData().GetData()) != 1 || c.GetScalars().GetStringData().GetData()[0] != "") {
			t.Fatalf("missing VarChar: %v", c)
		}
	}

	noDyn := testSchema()
	noDyn.Fields = noDyn.Fields[:len(noDyn.Fields)-1]
	if _, err := rowsToColumns(noDyn, rawRows(t, `[{"id": 1, `+base+`, "color": "red"}]`), false); err == nil ||
		!strings.Contains(err.Error(), "error: has pass more field without dynamic schema, please check it: invalid parameter") {
		t.Fatalf("extra key without dynamic field: %v", err)
	}
}

func TestRowsAutoID(t *testing.T) {
	s := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "pk", DataType: schemapb.DataType_VarChar, IsPrimaryKey: true, AutoID: true},
		{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}},
	}}
	fds, err := rowsToColumns(s, rawRows(t, `[{"pk": "ignored", "v": [1, 2]}]`), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(fds) != 1 || fds[0].GetFieldName() != "v" {
		t.Fatalf("insert into an auto-ID collection sends %v", fds)
	}
	fds, err = rowsToColumns(s, rawRows(t, `[{"pk": "k", "v": [1, 2]}]`), true)
	if err != nil || len(fds) != 2 {
		t.Fatalf("upsert keeps the key: %v %v", fds, err)
	}
}

func TestNullSlots(t *testing.T) {
	s := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "o", DataType: schemapb.DataType_VarChar, Nullable: true},
	}}
	fds, err := rowsToColumns(s, rawRows(t, `[{"id": 1, "o": "a"}, {"id": 2}, {"id": 3, "o": "c"}]`), false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := column.FromFieldData(fds[1])
	if err != nil {
		t.Fatal(err)
	}
	got := c.(*column.Scalar[string])
	if !reflect.DeepEqual(got.Data, []string{"a", "", "c"}) || !reflect.DeepEqual(got.Valid, []bool{true, false, true}) {
		t.Fatalf("nullable column: %+v", got)
	}
}

// FuzzRowsToColumns feeds arbitrary rows to the decoder: it must never
// panic, every error must be a 1804, and whatever it accepts must convert
// back to as many rows as it was given.
func FuzzRowsToColumns(f *testing.F) {
	f.Add(`[{"id": 1, "vec": [1, 2, 3], "b": true, "i8": 1, "f": 1, "s": "x", "js": {"k": [1]}, "arr": [1], "bin": [1, 2], "sp": {"1": 1}, "x": 1}]`)
	f.Add(`[{"id": "12", "vec": [0, 0, 0], "b": false, "i8": -1, "f": 1e3, "s": "", "js": null, "arr": [], "opt": null, "dflt": null, "bin": [0, 0], "sp": {"indices": [1, 2], "values": [1, 2]}}]`)
	f.Add(`[{}]`)
	f.Add(`[{"id": 1, "id": 2}]`)
	f.Add(`[null, 1, "x", []]`)
	schema := testSchema()
	f.Fuzz(func(t *testing.T, text string) {
		var rows []json.RawMessage
		if json.Unmarshal([]byte(text), &rows) != nil {
			return
		}
		fds, err := rowsToColumns(schema, rows, false)
		if err != nil {
			if !errors.Is(err, errInvalidData) {
				t.Fatalf("error outside the catalogue: %v", err)
			}
			return
		}
		out, err := columnsToRows(fds, len(rows), true)
		if err != nil {
			t.Fatalf("accepted rows do not convert back: %v", err)
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("accepted rows do not encode: %v", err)
		}
	})
}

// TestRowsMilvusConversions checks values Milvus's checkAndSetData takes
// in another form than the field's JSON type (utils.go:491-650): numbers
// as strings (cast's and json.Number's string conversions), "1"/"t" as a
// bool, a number written with a zero fraction as an integer, hexadecimal
// for Int8/16/32 (ParseInt base 0), and a base64 string as a binary
// vector (json.Unmarshal into []byte).
func TestRowsMilvusConversions(t *testing.T) {
	cols, err := rowsToColumns(testSchema(), rawRows(t, `[{"id": "7", "vec": [1, 2, 3], "b": "t", "i8": "0x10", "f": "2.5",
		"s": "x", "js": 1, "arr": [], "bin": "AQI=", "sp": {"1": 1}, "dflt": 4.0, "opt": "1e3"}]`), false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, c := range cols {
		switch c.GetFieldName() {
		case "id":
			got["id"] = c.GetScalars().GetLongData().GetData()[0]
		case "b":
			got["b"] = c.GetScalars().GetBoolData().GetData()[0]
		case "i8":
			got["i8"] = c.GetScalars().GetIntData().GetData()[0]
		case "f":
			got["f"] = c.GetScalars().GetFloatData().GetData()[0]
		case "dflt":
			got["dflt"] = c.GetScalars().GetIntData().GetData()[0]
		case "opt":
			got["opt"] = c.GetScalars().GetDoubleData().GetData()[0]
		case "bin":
			got["bin"] = fmt.Sprint(c.GetVectors().GetBinaryVector())
		}
	}
	want := map[string]any{"id": int64(7), "b": true, "i8": int32(16), "f": float32(2.5), "dflt": int32(4), "opt": 1000.0, "bin": "[1 2]"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
}

// TestRowsHalfVectors checks Float16Vector and BFloat16Vector cells as
// Milvus's REST server reads them (utils.go:449-480, 739-760): a float32
// array converted to the field's type, or the vector's bytes in base64,
// either of which must come to 2 x dim bytes. Base64 bytes holding NaN or
// ±Inf, and floats past the half type's range, go on to the proxy as they
// are: it refuses them as Milvus's does (code 65535, "float16 vector
// contain nan or infinity value."), where the REST layer used to with
// code 1804 and another text.
func TestRowsHalfVectors(t *testing.T) {
	dim := []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}
	schema := &schemapb.CollectionSchema{Name: "h", Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "f16", DataType: schemapb.DataType_Float16Vector, TypeParams: dim},
		{FieldID: 102, Name: "bf16", DataType: schemapb.DataType_BFloat16Vector, TypeParams: dim},
	}}
	cols, err := rowsToColumns(schema, rawRows(t, `[
		{"id": 1, "f16": [1, -2], "bf16": [1, 2]},
		{"id": 2, "f16": "ADwAwA==", "bf16": "gD8AQA=="}]`), false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	for _, c := range cols {
		switch c.GetFieldName() {
		case "f16":
			got["f16"] = c.GetVectors().GetFloat16Vector()
		case "bf16":
			got["bf16"] = c.GetVectors().GetBfloat16Vector()
		}
	}
	want := map[string][]byte{
		"f16":  {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x3c, 0x00, 0xc0}, // 1, -2 as IEEE half, both rows
		"bf16": {0x80, 0x3f, 0x00, 0x40, 0x80, 0x3f, 0x00, 0x40}, // 1, 2 as bfloat16, both rows
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("columns %x, want %x", got, want)
	}
	for _, c := range []struct{ row, wantInErr string }{
		{`{"id": 1, "f16": "AQI=", "bf16": [1, 2]}`, "fail to deal the insert data, error: []byte size 2 doesn't equal to vector dimension 2 of Float16Vector"},
		{`{"id": 1, "f16": [1, 2], "bf16": [1, 2, 3]}`, "error: []byte size 6 doesn't equal to vector dimension 2 of BFloat16Vector"},
		{`{"id": 1, "f16": "a?", "bf16": [1, 2]}`, "error: illegal base64 data at input byte 1: invalid parameter[expected=Float16Vector][actual=a?]"},
		{`{"id": 1, "f16": [1, "a"], "bf16": [1, 2]}`, "error: json: cannot unmarshal string into Go value of type float32: invalid parameter[expected=Float16Vector]"},
		{`{"id": 1, "f16": true, "bf16": [1, 2]}`, "error: invalid vector field: f16: invalid parameter[expected=Float16Vector][actual=true]"},
	} {
		_, err := rowsToColumns(schema, rawRows(t, "["+c.row+"]"), false)
		if !errors.Is(err, errInvalidData) || !strings.Contains(fmt.Sprint(err), c.wantInErr) {
			t.Errorf("%s: %v, want 1804 with %q", c.row, err, c.wantInErr)
		}
	}
	// NaN, 1 in float16; 1, +Inf in bfloat16 (base64); 1e5 is past
	// float16's range (+Inf).
	cols, err = rowsToColumns(schema, rawRows(t, `[
		{"id": 1, "f16": "AH4APA==", "bf16": "gD+Afw=="},
		{"id": 2, "f16": [1e5, 1], "bf16": [1, 2]}]`), false)
	if err != nil {
		t.Fatalf("NaN and Inf in half vectors: %v, want them passed on to the proxy", err)
	}
	for _, c := range cols {
		switch c.GetFieldName() {
		case "f16":
			if b := c.GetVectors().GetFloat16Vector(); !reflect.DeepEqual(b, []byte{0x00, 0x7e, 0x00, 0x3c, 0x00, 0x7c, 0x00, 0x3c}) {
				t.Errorf("f16 bytes %x, want NaN, 1, +Inf, 1", b)
			}
		case "bf16":
			if b := c.GetVectors().GetBfloat16Vector(); !reflect.DeepEqual(b, []byte{0x80, 0x3f, 0x80, 0x7f, 0x80, 0x3f, 0x00, 0x40}) {
				t.Errorf("bf16 bytes %x, want 1, +Inf, 1, 2", b)
			}
		}
	}
}
