package proxy

import (
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/index"
)

// TestSearchRequestGroupJSON: json_path, json_type and strict_cast as
// Milvus's parseGroupByInfo reads them.
func TestSearchRequestGroupJSON(t *testing.T) {
	s := insertSchema(t, nil)
	meta := dynamicField(s)
	q := floatBytes(1, 2, 3, 4)
	l2 := func(int64) (index.Metric, bool) { return index.L2, true }
	parse := func(kv ...string) (*searchSpec, error) {
		m := map[string]string{"anns_field": "vec"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return parseSearchRequest(DefaultLimits(), s, sdkSearch(t, commonpb.PlaceholderType_FloatVector, m, q), l2)
	}

	spec, err := parse("group_by_field", "color", "json_path", `color["shade"]`, "json_type", "Int8", "strict_cast", "true")
	if err != nil {
		t.Fatal(err)
	}
	if spec.GroupByField != "color" || spec.GroupByFieldID != meta.GetFieldID() || !slices.Equal(spec.GroupJSONPath, []string{"color", "shade"}) ||
		spec.GroupJSONType != schemapb.DataType_Int8 || !spec.GroupStrictCast {
		t.Fatalf("spec %+v", spec)
	}
	spec, err = parse("group_by_field", "color", "json_path", `$meta["color"]`, "json_type", "Float16", "strict_cast", "maybe")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(spec.GroupJSONPath, []string{"color"}) || spec.GroupJSONType != schemapb.DataType_None || spec.GroupStrictCast {
		t.Fatalf("unknown json_type / strict_cast: %+v", spec)
	}
	if spec, err = parse("group_by_field", "color"); err != nil || spec.GroupJSONPath != nil {
		t.Fatalf("no json_path: %+v %v", spec, err)
	}
	_, err = parse("group_by_field", "color", "json_path", "title")
	checkErr(t, err, 65535, "fieldID not match with field name")
	_, err = parse("json_path", "color")
	checkErr(t, err, 65535, "fieldID not match with field name")
	_, err = parse("group_by_field", "color", "json_path", `color[`)
	checkErr(t, err, 1100, "cannot parse identifier")

	if f := groupValueField(s, "color", meta.GetFieldID(), schemapb.DataType_Int8); f.GetDataType() != schemapb.DataType_Int8 || f.GetName() != "color" {
		t.Fatalf("group value field %v", f)
	}
	if f := groupValueField(s, "color", meta.GetFieldID(), schemapb.DataType_None); f.GetDataType() != schemapb.DataType_VarChar {
		t.Fatalf("group value field without json_type %v", f)
	}
	if f := groupValueField(s, "title", fieldByName(s, "title").GetFieldID(), schemapb.DataType_None); f != fieldByName(s, "title") {
		t.Fatalf("group value field of a scalar %v", f)
	}
}
