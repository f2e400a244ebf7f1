package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/errs"
)

func TestSearchParams(t *testing.T) {
	limit := int64(5)
	r := &searchReq{AnnsField: "v", Offset: 2, GroupingField: "g", GroupSize: 2,
		SearchParams: map[string]any{"metricType": "L2", "params": map[string]any{"ef": json.Number("64")}, "radius": json.Number("1.5")}}
	kvs, err := searchParams(r, limit)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"anns_field": "v", "topk": "5", "offset": "2", "round_decimal": "-1", "group_by_field": "g",
		"group_size": "2", "metric_type": "L2", "params": `{"ef":64,"radius":1.5}`}
	for k, v := range want {
		if got := kv(kvs, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if _, err := searchParams(&searchReq{SearchParams: map[string]any{"params": "x"}}, 1); err == nil || err.Error() != "searchParams.params must be a dict: invalid parameter" {
		t.Fatalf("params not an object: %v", err)
	}
	_, err = searchParams(&searchReq{SearchParams: map[string]any{"params": map[string]any{"ef": json.Number("64")}, "ef": json.Number("32")}}, 1)
	if err == nil || err.Error() != "ambiguous parameter: ef, in search_param: 32, in search_param.params: 64: invalid parameter" {
		t.Fatalf("ambiguous ef: %v", err)
	}
	if _, err := searchParams(&searchReq{SearchParams: map[string]any{"params": map[string]any{"ef": json.Number("64")}, "ef": json.Number("64.0")}}, 1); err != nil {
		t.Fatalf("same ef twice: %v", err)
	}
}

func TestPlaceholderGroup(t *testing.T) {
	vec := func(name string, dt schemapb.DataType, dim string) *schemapb.FieldSchema {
		f := &schemapb.FieldSchema{Name: name, DataType: dt}
		if dim != "" {
			f.TypeParams = []*commonpb.KeyValuePair{{Key: "dim", Value: dim}}
		}
		return f
	}
	schema := func(fs ...*schemapb.FieldSchema) *schemapb.CollectionSchema {
		return &schemapb.CollectionSchema{Fields: append([]*schemapb.FieldSchema{{Name: "id", DataType: schemapb.DataType_Int64}}, fs...)}
	}
	f := func(s *schemapb.CollectionSchema, data string, wantType commonpb.PlaceholderType, rows, wantBytes int) {
		t.Helper()
		b, err := placeholderGroup(s, "", json.RawMessage(`{"data": `+data+`}`))
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		var g commonpb.PlaceholderGroup
		if err := proto.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		ph := g.GetPlaceholders()[0]
		if ph.GetType() != wantType || len(ph.GetValues()) != rows || len(ph.GetValues()[0]) != wantBytes {
			t.Fatalf("%s: %v", data, ph)
		}
	}
	f(schema(vec("v", schemapb.DataType_FloatVector, "3")), `[[1, 2, 3]]`, commonpb.PlaceholderType_FloatVector, 1, 12)
	f(schema(vec("v", schemapb.DataType_SparseFloatVector, "")), `[{"3": 1}]`, commonpb.PlaceholderType_SparseFloatVector, 1, 8)
	f(schema(vec("v", schemapb.DataType_BinaryVector, "16")), `[[1, 2], [3, 4]]`, commonpb.PlaceholderType_BinaryVector, 2, 2)
	f(schema(vec("v", schemapb.DataType_Float16Vector, "2")), `[[1, 2]]`, commonpb.PlaceholderType_Float16Vector, 1, 4)
	f(schema(vec("v", schemapb.DataType_BFloat16Vector, "2")), `["AAAAAA=="]`, commonpb.PlaceholderType_BFloat16Vector, 1, 4)
	f(schema(vec("v", schemapb.DataType_Int8Vector, "2")), `[[-1, 2]]`, commonpb.PlaceholderType_Int8Vector, 1, 2)

	// Milvus's texts (handler_v2.go:1433-1457, utils.go:1313-1395), 1801.
	bad := func(s *schemapb.CollectionSchema, anns, body, want string) {
		t.Helper()
		_, err := placeholderGroup(s, anns, json.RawMessage(body))
		if !errors.Is(err, errIncorrectFormat) || err.Error() != errIncorrectFormat.Msg+", error: "+want {
			t.Errorf("%s: %v\nwant %s", body, err, want)
		}
	}
	two := schema(vec("a", schemapb.DataType_FloatVector, "2"), vec("b", schemapb.DataType_FloatVector, "2"))
	bad(two, "", `{"data": [[1, 2]]}`, "search without annsField, but already found multiple vector fields: [a, b,,,]")
	bad(two, "c", `{"data": [[1, 2]]}`, "cannot find a vector field named: c")
	bad(two, "id", `{"data": [[1, 2]]}`, "cannot find a vector field named: id")
	bad(two, "a", `{"data": [[1, 2, 3]]}`, "dimension: 2, but length of []float: 3: invalid parameter[expected=FloatVector][actual=[[1, 2, 3]]]")
	bad(two, "a", `{"data": [["x"]]}`, `json: cannot unmarshal string into Go value of type float32: invalid parameter[expected=FloatVector][actual=[["x"]]]`)
	bad(two, "a", `{}`, "unexpected end of JSON input: invalid parameter[expected=FloatVector][actual=]")
	bad(schema(vec("v", schemapb.DataType_BinaryVector, "16")), "", `{"data": [[1]]}`,
		"dimension: 16, bytesLen: 2, but length of []byte: 1: invalid parameter[expected=BinaryVector][actual=\x01]")
	bad(schema(vec("v", schemapb.DataType_Float16Vector, "2")), "", `{"data": [1]}`, "invalid type: invalid parameter[expected=Float16Vector][actual=[1]]")
	bad(schema(vec("v", schemapb.DataType_Int8Vector, "2")), "", `{"data": [[1]]}`, "dimension: 2, but length of []int8: 1: invalid parameter[expected=Int8Vector][actual=[[1]]]")
}

func TestPKFilter(t *testing.T) {
	schema := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{{Name: "k", DataType: schemapb.DataType_Int64, IsPrimaryKey: true}}}
	tpl := map[string]*schemapb.TemplateValue{}
	filter, err := pkFilter(schema, json.RawMessage(`[1, "2"]`), tpl)
	if err != nil || filter != "k in {"+pkIDsTemplate+"}" {
		t.Fatalf("filter %q, %v", filter, err)
	}
	if got := tpl[pkIDsTemplate].GetArrayVal().GetLongData().GetData(); len(got) != 2 || got[1] != 2 {
		t.Fatalf("keys %v", got)
	}
	// Milvus's convertRange: cast.ToInt64E of a string's text or another
	// value's raw JSON (strconv.ParseInt base 0).
	for in, want := range map[string][]int64{`[]`: {}, `"0x10"`: {16}, `[7, "010"]`: {7, 8}} {
		if _, err := pkFilter(schema, json.RawMessage(in), tpl); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := tpl[pkIDsTemplate].GetArrayVal().GetLongData().GetData(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: keys %v, want %v", in, got, want)
		}
	}
	for bad, text := range map[string]string{`"x"`: `"x"`, `1.5`: `"1.5"`, `{"a": 1}`: `"{\"a\": 1}"`, `[true]`: `"true"`} {
		_, err := pkFilter(schema, json.RawMessage(bad), tpl)
		want := errCheckPK.Msg + ", error: unable to cast " + text + " of type string to int64"
		if !errors.Is(err, errCheckPK) || err.Error() != want {
			t.Errorf("%s: %v, want %s", bad, err, want)
		}
	}
	// A VarChar key that is not a string is "" (gjson's Str).
	vs := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{{Name: "s", DataType: schemapb.DataType_VarChar, IsPrimaryKey: true}}}
	if _, err := pkFilter(vs, json.RawMessage(`["a", 5]`), tpl); err != nil {
		t.Fatal(err)
	}
	if got := tpl[pkIDsTemplate].GetArrayVal().GetStringData().GetData(); len(got) != 2 || got[0] != "a" || got[1] != "" {
		t.Errorf("varchar keys %q", got)
	}
}

// FuzzSearchInput feeds arbitrary search data and exprParams to the
// conversions: never a panic; every error is invalid parameter (1100).
func FuzzSearchInput(f *testing.F) {
	f.Add(`[[1, 2, 3]]`, `{"a": [1, 2.5], "b": "x", "c": [[true]]}`, uint8(0))
	f.Add(`[{"1": 0.5, "7": 2}]`, `{}`, uint8(1))
	f.Add(`[[255, 0]]`, `{"n": 12345678901234}`, uint8(2))
	f.Add(`[{"indices": [1], "values": [2]}]`, `{"x": null}`, uint8(3))
	types := []schemapb.DataType{schemapb.DataType_FloatVector, schemapb.DataType_SparseFloatVector,
		schemapb.DataType_BinaryVector, schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector,
		schemapb.DataType_Int8Vector, schemapb.DataType_VarChar}
	f.Fuzz(func(t *testing.T, data, params string, kind uint8) {
		if json.Valid([]byte(data)) {
			field := &schemapb.FieldSchema{Name: "v", DataType: types[int(kind)%len(types)],
				TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}}
			if field.DataType == schemapb.DataType_VarChar {
				field.DataType, field.IsFunctionOutput = schemapb.DataType_SparseFloatVector, true
			}
			schema := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{field},
				Functions: []*schemapb.FunctionSchema{{Type: schemapb.FunctionType_BM25, OutputFieldNames: []string{"v"}}}}
			body := json.RawMessage(`{"data": ` + data + `}`)
			if _, err := placeholderGroup(schema, "", body); err != nil && !errors.Is(err, errIncorrectFormat) && !errors.Is(err, errs.ErrParameterInvalid) {
				t.Fatalf("placeholder error outside the catalogue: %v", err)
			}
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader([]byte(params)))
		dec.UseNumber()
		if dec.Decode(&m) == nil {
			if _, err := exprTemplates(m); err != nil && !errors.Is(err, errs.ErrParameterInvalid) {
				t.Fatalf("template error outside the catalogue: %v", err)
			}
		}
	})
}
