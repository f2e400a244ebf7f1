package proxy

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/index"
)

func floatBytes(v ...float32) []byte {
	out := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(f))
	}
	return out
}

func placeholders(t testing.TB, typ commonpb.PlaceholderType, values ...[]byte) []byte {
	t.Helper()
	return mustMarshal(t, &commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{{Tag: "$0", Type: typ, Values: values}}})
}

// sdkSearch is the request the Go SDK v2.6 builds for a search.
func sdkSearch(t testing.TB, typ commonpb.PlaceholderType, params map[string]string, values ...[]byte) *milvuspb.SearchRequest {
	p := map[string]string{
		"anns_field": "", "topk": "10", "offset": "0", "metric_type": "", "round_decimal": "-1",
		"ignore_growing": "false", "params": "{}",
	}
	for k, v := range params {
		p[k] = v
	}
	req := &milvuspb.SearchRequest{Nq: int64(len(values)), DslType: commonpb.DslType_BoolExprV1}
	req.SearchInput = &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: placeholders(t, typ, values...)}
	for k, v := range p {
		req.SearchParams = append(req.SearchParams, &commonpb.KeyValuePair{Key: k, Value: v})
	}
	return req
}

func l2Index(int64) (index.Metric, bool) { return index.L2, true }

func TestSearchRequestDefaults(t *testing.T) {
	s := insertSchema(t, nil)
	spec, err := parseSearchRequest(DefaultLimits(), s, sdkSearch(t, commonpb.PlaceholderType_FloatVector,
		map[string]string{"params": `{"ef": 64, "radius": 0.5, "level": "high", "nested": {"a": 1}}`, "offset": "5", "round_decimal": "3"},
		floatBytes(1, 2, 3, 4), floatBytes(5, 6, 7, 8)), l2Index)
	if err != nil {
		t.Fatal(err)
	}
	want := &searchSpec{
		FieldID: 102, Field: s.Fields[2], Metric: index.L2, TopK: 10, Offset: 5, RoundDecimal: 3,
		Params:  map[string]string{"ef": "64", "radius": "0.5", "level": "high", "nested": `{"a": 1}`},
		Queries: index.Dataset{Dim: 4, Float: []float32{1, 2, 3, 4, 5, 6, 7, 8}}, NQ: 2, GroupSize: 1,
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("got  %+v\nwant %+v", spec, want)
	}
}

func TestSearchRequestRules(t *testing.T) {
	s := insertSchema(t, func(s *schemapb.CollectionSchema) {
		s.Fields = append(s.Fields,
			&schemapb.FieldSchema{Name: "bin", DataType: schemapb.DataType_BinaryVector, TypeParams: kv("dim", "16")},
			&schemapb.FieldSchema{Name: "half", DataType: schemapb.DataType_Float16Vector, TypeParams: kv("dim", "2")},
		)
	})
	q := floatBytes(1, 2, 3, 4)
	f := func(name string, req *milvuspb.SearchRequest, metric func(int64) (index.Metric, bool), code int32, fragments ...string) {
		t.Helper()
		_, err := parseSearchRequest(DefaultLimits(), s, req, metric)
		t.Run(name, func(t *testing.T) {
			if code == 0 {
				if err != nil {
					t.Errorf("unexpected error %v", err)
				}
				return
			}
			checkErr(t, err, code, fragments...)
		})
	}
	vec := map[string]string{"anns_field": "vec"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"anns_field": "vec"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	F := commonpb.PlaceholderType_FloatVector

	f("no anns_field, several vectors", sdkSearch(t, F, nil, q), l2Index, 65535, "multiple anns_fields exist, please specify a anns_field in search_params")
	// Milvus 2.6 task_search.go:800-809 tryGeneratePlan deduces the anns
	// field before parseSearchInfo reads group_by_field: a grouped search
	// without anns_field gets the same errors.New (65535).
	f("group by, no anns_field, several vectors", sdkSearch(t, F, map[string]string{"group_by_field": "title"}, q), l2Index, 65535,
		"multiple anns_fields exist, please specify a anns_field in search_params")
	f("group by a missing field, no anns_field, several vectors", sdkSearch(t, F, map[string]string{"group_by_field": "nope_nope"}, q), l2Index, 65535,
		"multiple anns_fields exist, please specify a anns_field in search_params")
	f("nq 0", sdkSearch(t, F, vec), l2Index, 65535, "nq [0] is invalid, nq (number of search vector per search request) should be in range [1, 16384], but got 0")
	f("unknown anns_field", sdkSearch(t, F, with("anns_field", "nope"), q), l2Index, 65535, "failed to get field schema by name: fieldName(nope) not found")
	f("dynamic anns_field", sdkSearch(t, F, with("anns_field", "$meta"), q), l2Index, 65535, "fieldName($meta) not found")
	f("scalar anns_field", sdkSearch(t, F, with("anns_field", "title"), q), l2Index, 1100,
		"failed to create query plan: field (title) to search is not of vector data type: invalid parameter")
	f("topk 0", sdkSearch(t, F, with("topk", "0"), q), l2Index, 65535, "topk [0] is invalid, it should be in range [1, 16384], but got 0")
	f("topk 16385", sdkSearch(t, F, with("topk", "16385"), q), l2Index, 65535, "topk [16385] is invalid, it should be in range [1, 16384], but got 16385")
	f("topk garbage", sdkSearch(t, F, with("topk", "ten"), q), l2Index, 65535, "topk [ten] is invalid")
	f("offset -1", sdkSearch(t, F, with("offset", "-1"), q), l2Index, 65535, "offset [-1] is invalid, it should be in range [1, 16384], but got -1")
	f("offset+topk", sdkSearch(t, F, with("offset", "16380"), q), l2Index, 65535, "offset+topk [16390] is invalid, it should be in range [1, 16384], but got 16390")
	f("round_decimal 7", sdkSearch(t, F, with("round_decimal", "7"), q), l2Index, 65535, "round_decimal [7] is invalid, should be -1 or an integer in range [0, 6]")
	f("params not json", sdkSearch(t, F, with("params", "{"), q), l2Index, 1100, "search params { is not a json object")
	f("params with trailing text", sdkSearch(t, F, with("params", `{"ef": 64} x`), q), l2Index, 1100, `search params {"ef": 64} x is not a json object`)
	f("params two objects", sdkSearch(t, F, with("params", `{"ef": 64}{}`), q), l2Index, 1100, `search params {"ef": 64}{} is not a json object`)
	f("metric mismatch", sdkSearch(t, F, with("metric_type", "IP"), q), l2Index, 65535, "metric type not match: invalid parameter[expected=L2][actual=IP]")
	f("metric for wrong type", sdkSearch(t, F, with("metric_type", "HAMMING"), q), nil, 65535, "data_type FloatVector mismatch with metric_type HAMMING")
	f("dim mismatch", sdkSearch(t, F, vec, floatBytes(1, 2, 3)), l2Index, 65535, "vector dimension mismatch, expected vector size(byte) 16, actual 12.")
	f("empty vector", sdkSearch(t, F, vec, []byte{}), l2Index, 65535, "vector dimension mismatch")
	f("type mismatch", sdkSearch(t, commonpb.PlaceholderType_BinaryVector, vec, []byte{1, 2}), l2Index, 65535,
		"vector type must be the same, field vec - type VECTOR_FLOAT, search info type VECTOR_BINARY")
	f("float16 into float field", sdkSearch(t, commonpb.PlaceholderType_Float16Vector, vec, []byte{1, 2, 3, 4, 5, 6, 7, 8}), l2Index, 65535,
		"vector type must be the same")
	f("group by dynamic key", sdkSearch(t, F, with("group_by_field", "nope"), q), l2Index, 0)
	f("group by json_path of another field", sdkSearch(t, F, with("group_by_field", "nope", "json_path", "title"), q), l2Index, 65535, "fieldID not match with field name")
	f("group by with range", sdkSearch(t, F, with("group_by_field", "title", "params", `{"radius": 1}`), q), l2Index, 1100,
		"Not allowed to do range-search when doing search-group-by: invalid parameter[expected=][actual=]")
	f("group by binary", sdkSearch(t, commonpb.PlaceholderType_BinaryVector, with("anns_field", "bin", "group_by_field", "title"), []byte{1, 2}), nil, 65535,
		"not support search_group_by operation based on binary vector column")
	f("ignore_growing garbage", sdkSearch(t, F, with("ignore_growing", "maybe"), q), l2Index, 65535, "parse ignore growing field failed")
	f("garbage placeholder", &milvuspb.SearchRequest{Nq: 1, SearchParams: sdkSearch(t, F, vec).SearchParams,
		SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: []byte{0xff}}}, l2Index, 65535)
}

func TestSearchRequestVectorKinds(t *testing.T) {
	s := insertSchema(t, func(s *schemapb.CollectionSchema) {
		s.Fields = append(s.Fields,
			&schemapb.FieldSchema{Name: "bin", DataType: schemapb.DataType_BinaryVector, TypeParams: kv("dim", "16")},
			&schemapb.FieldSchema{Name: "half", DataType: schemapb.DataType_Float16Vector, TypeParams: kv("dim", "2")},
			&schemapb.FieldSchema{Name: "sp", DataType: schemapb.DataType_SparseFloatVector},
		)
	})
	spec, err := parseSearchRequest(DefaultLimits(), s, sdkSearch(t, commonpb.PlaceholderType_BinaryVector, map[string]string{"anns_field": "bin"}, []byte{1, 2}, []byte{3, 4}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Metric != index.Hamming || spec.Queries.Dim != 16 || !reflect.DeepEqual(spec.Queries.Binary, []byte{1, 2, 3, 4}) || spec.Queries.Len() != 2 {
		t.Errorf("binary: %+v", spec)
	}
	h := []byte{0, 0, 0, 0}
	binary.LittleEndian.PutUint16(h, distance.Float32ToFloat16(1.5))
	binary.LittleEndian.PutUint16(h[2:], distance.Float32ToFloat16(-2))
	spec, err = parseSearchRequest(DefaultLimits(), s, sdkSearch(t, commonpb.PlaceholderType_Float16Vector, map[string]string{"anns_field": "half", "metric_type": "ip"}, h), nil)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Metric != index.IP || !reflect.DeepEqual(spec.Queries.Float, []float32{1.5, -2}) {
		t.Errorf("float16: %+v", spec)
	}
	// Float32 queries against a Float16 field are converted, as in Milvus.
	spec, err = parseSearchRequest(DefaultLimits(), s, sdkSearch(t, commonpb.PlaceholderType_FloatVector, map[string]string{"anns_field": "half"}, floatBytes(1, 2)), nil)
	if err != nil || !reflect.DeepEqual(spec.Queries.Float, []float32{1, 2}) || spec.Metric != index.Cosine {
		t.Errorf("float into float16: %+v %v", spec, err)
	}
	row := make([]byte, 8)
	binary.LittleEndian.PutUint32(row, 3)
	binary.LittleEndian.PutUint32(row[4:], math.Float32bits(0.25))
	spec, err = parseSearchRequest(DefaultLimits(), s, sdkSearch(t, commonpb.PlaceholderType_SparseFloatVector, map[string]string{"anns_field": "sp"}, row), nil)
	if err != nil || len(spec.Queries.Sparse) != 1 || spec.Metric != index.IP {
		t.Errorf("sparse: %+v %v", spec, err)
	}
	binary.LittleEndian.PutUint32(row[4:], math.Float32bits(-1))
	_, err = parseSearchRequest(DefaultLimits(), s, sdkSearch(t, commonpb.PlaceholderType_SparseFloatVector, map[string]string{"anns_field": "sp"}, row), nil)
	checkErr(t, err, 2001, "Invalid sparse row: negative value") // segcore Utils.h CopyAndWrapSparseRow
}

func TestSearchRequestSingleVectorField(t *testing.T) {
	s := insertSchema(t, nil)
	spec, err := parseSearchRequest(DefaultLimits(), s, sdkSearch(t, commonpb.PlaceholderType_FloatVector, map[string]string{"limit": "3", "topk": ""}, floatBytes(1, 2, 3, 4)), l2Index)
	if err == nil {
		t.Fatalf("empty topk accepted: %+v", spec)
	}
	req := sdkSearch(t, commonpb.PlaceholderType_FloatVector, map[string]string{"group_by_field": "title", "group_size": "3", "ignore_growing": "true"}, floatBytes(1, 2, 3, 4))
	req.Nq = 0 // old clients: nq from the placeholder group
	spec, err = parseSearchRequest(DefaultLimits(), s, req, l2Index)
	if err != nil {
		t.Fatal(err)
	}
	if spec.NQ != 1 || spec.GroupByField != "title" || spec.GroupSize != 3 || !spec.IgnoreGrowing || spec.FieldID != 102 {
		t.Errorf("%+v", spec)
	}
	req = sdkSearch(t, commonpb.PlaceholderType_FloatVector, map[string]string{"group_by_field": "color", "strict_group_size": "true"}, floatBytes(1, 2, 3, 4))
	if spec, err = parseSearchRequest(DefaultLimits(), s, req, l2Index); err != nil || spec.GroupByFieldID != 103 || spec.GroupByField != "color" || !spec.StrictGroupSize || spec.GroupSize != 1 {
		t.Errorf("dynamic group by: %+v %v", spec, err)
	}
	for size, msg := range map[string]string{
		"x":  "failed to parse input group size:x: invalid parameter",
		"0":  "input group size:0 is negative, failed to do search_groupby",
		"11": "input group size:11 exceeds configured max group size:10",
	} {
		req = sdkSearch(t, commonpb.PlaceholderType_FloatVector, map[string]string{"group_by_field": "title", "group_size": size}, floatBytes(1, 2, 3, 4))
		_, err = parseSearchRequest(DefaultLimits(), s, req, l2Index)
		checkErr(t, err, 1100, msg)
	}
}

func TestSearchRequestGroupByStatic(t *testing.T) {
	s, _, err := decodeCreateCollectionSchema("c", mustMarshal(t, testSchema("c")), 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = parseSearchRequest(DefaultLimits(), s, sdkSearch(t, commonpb.PlaceholderType_FloatVector, map[string]string{"group_by_field": "nope"}, floatBytes(1, 2, 3, 4)), l2Index)
	checkErr(t, err, 1700, "groupBy field not found in schema: field not found[field=nope]")
	spec, err := parseSearchRequest(DefaultLimits(), s, sdkSearch(t, commonpb.PlaceholderType_FloatVector, map[string]string{"metric_type": "l2"}, floatBytes(1, 2, 3, 4)), l2Index)
	if err != nil || spec.Metric != index.L2 || spec.Field.GetName() != "vec" {
		t.Errorf("lower-case metric: %+v %v", spec, err)
	}
}

func TestSearchRequestQueryParams(t *testing.T) {
	f := func(pairs []string, limit, offset int, code int32, fragments ...string) {
		t.Helper()
		l, o, err := parseQueryParams(DefaultLimits().MaxQueryResultWindow, kv(pairs...))
		if code != 0 {
			checkErr(t, err, code, fragments...)
			return
		}
		if err != nil || l != limit || o != offset {
			t.Errorf("parseQueryParams(DefaultLimits().MaxQueryResultWindow, %v) = %d, %d, %v; want %d, %d", pairs, l, o, err, limit, offset)
		}
	}
	f(nil, -1, 0, 0)
	f([]string{"offset", "5"}, -1, 0, 0)
	f([]string{"limit", "10"}, 10, 0, 0)
	f([]string{"limit", "10", "offset", "5", "reduce_stop_for_best", "true"}, 10, 5, 0)
	f([]string{"limit", "16384"}, 16384, 0, 0)
	f([]string{"limit", "x"}, 0, 0, 65535, "limit [x] is invalid")
	f([]string{"limit", "10", "offset", "y"}, 0, 0, 65535, "offset [y] is invalid")
	f([]string{"limit", "0"}, 0, 0, 65535, "invalid max query result window, limit [0] is invalid, should be greater than 0")
	f([]string{"limit", "10", "offset", "-1"}, 0, 0, 65535, "invalid max query result window, offset [-1] is invalid, should be gte than 0")
	f([]string{"limit", "16384", "offset", "1"}, 0, 0, 65535, "invalid max query result window, (offset+limit) should be in range [1, 16384], but got 16385")

	if b, err := queryIgnoreGrowing(kv("ignore_growing", "true")); !b || err != nil {
		t.Errorf("ignore_growing: %v %v", b, err)
	}
	_, err := queryIgnoreGrowing(kv("ignore_growing", "x"))
	checkErr(t, err, 65535, "parse ignore growing field failed")
}

func FuzzSearchRequest(f *testing.F) {
	s := insertSchema(f, func(s *schemapb.CollectionSchema) {
		s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "sp", DataType: schemapb.DataType_SparseFloatVector})
	})
	req := sdkSearch(f, commonpb.PlaceholderType_FloatVector, map[string]string{"anns_field": "vec"}, floatBytes(1, 2, 3, 4))
	f.Add(req.GetPlaceholderGroup(), "vec", "10", "0", `{"ef":10}`, int64(1))
	f.Add([]byte{1, 2, 3}, "sp", "-1", "x", `[`, int64(0))
	f.Fuzz(func(t *testing.T, group []byte, anns, topk, offset, params string, nq int64) {
		r := &milvuspb.SearchRequest{Nq: nq, SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: group},
			SearchParams: kv("anns_field", anns, "topk", topk, "offset", offset, "params", params)}
		spec, err := parseSearchRequest(DefaultLimits(), s, r, l2Index)
		if err != nil {
			return
		}
		if spec.Queries.Len() != spec.NQ || spec.TopK < 1 || spec.TopK+spec.Offset > DefaultLimits().TopK {
			t.Fatalf("accepted a bad request: %+v", spec)
		}
	})
}
