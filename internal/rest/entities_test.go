package rest

import (
	"bytes"
	"encoding/json"
	"errors"
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
	if _, err := searchParams(&searchReq{SearchParams: map[string]any{"params": "x"}}, 1); !errors.Is(err, errs.ErrParameterInvalid) {
		t.Fatalf("params not an object: %v", err)
	}
}

func TestPlaceholderGroup(t *testing.T) {
	f := func(field *schemapb.FieldSchema, data string, wantType commonpb.PlaceholderType, wantBytes int) {
		t.Helper()
		var rows []json.RawMessage
		if err := json.Unmarshal([]byte(data), &rows); err != nil {
			t.Fatal(err)
		}
		b, err := placeholderGroup(field, rows)
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		var g commonpb.PlaceholderGroup
		if err := proto.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		ph := g.GetPlaceholders()[0]
		if ph.GetType() != wantType || len(ph.GetValues()) != len(rows) || len(ph.GetValues()[0]) != wantBytes {
			t.Fatalf("%s: %v", data, ph)
		}
	}
	f(nil, `[[1, 2, 3]]`, commonpb.PlaceholderType_FloatVector, 12)
	f(nil, `[{"3": 1}]`, commonpb.PlaceholderType_SparseFloatVector, 8)
	f(&schemapb.FieldSchema{DataType: schemapb.DataType_BinaryVector}, `[[1, 2], [3, 4]]`, commonpb.PlaceholderType_BinaryVector, 2)
	f(&schemapb.FieldSchema{DataType: schemapb.DataType_Float16Vector}, `[[1, 2]]`, commonpb.PlaceholderType_Float16Vector, 4)
	f(&schemapb.FieldSchema{DataType: schemapb.DataType_Int8Vector}, `[[-1, 2]]`, commonpb.PlaceholderType_Int8Vector, 2)
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
	for _, bad := range []string{`[]`, `"x"`, `1.5`, `{}`} {
		if _, err := pkFilter(schema, json.RawMessage(bad), tpl); !errors.Is(err, errCheckPK) {
			t.Errorf("%s: %v, want 1806", bad, err)
		}
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
		var rows []json.RawMessage
		if json.Unmarshal([]byte(data), &rows) == nil && len(rows) > 0 {
			field := &schemapb.FieldSchema{DataType: types[int(kind)%len(types)]}
			if _, err := placeholderGroup(field, rows); err != nil && !errors.Is(err, errs.ErrParameterInvalid) {
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
