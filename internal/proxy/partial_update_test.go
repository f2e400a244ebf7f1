package proxy

import (
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

func longRow(v ...int64) *schemapb.ScalarField {
	return &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: v}}}
}

func TestApplyArrayOp(t *testing.T) {
	append_, remove := schemapb.FieldPartialUpdateOp_ARRAY_APPEND, schemapb.FieldPartialUpdateOp_ARRAY_REMOVE
	for _, tc := range []struct {
		name      string
		base, upd []int64
		op        schemapb.FieldPartialUpdateOp_OpType
		limit     int
		want      []int64
		err       string
	}{
		{"append", []int64{1, 2}, []int64{3}, append_, 4, []int64{1, 2, 3}, ""},
		{"append to empty", nil, []int64{3}, append_, -1, []int64{3}, ""},
		{"append over capacity", []int64{1, 2}, []int64{3, 4, 5}, append_, 4, nil, "array length 5 exceeds max_capacity 4"},
		{"remove every equal", []int64{1, 2, 3, 2, 1}, []int64{2}, remove, 8, []int64{1, 3, 1}, ""},
		{"remove missing", []int64{1}, []int64{9}, remove, 8, []int64{1}, ""},
	} {
		got, err := applyArrayOp(longRow(tc.base...), longRow(tc.upd...), tc.op, schemapb.DataType_Int64, tc.limit)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got.GetLongData().GetData(), tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.name, got.GetLongData().GetData(), err, tc.want)
		}
	}
}

func TestMergeJSONObjects(t *testing.T) {
	got, err := mergeJSONObjects([]byte(`{"a":1,"b":true}`), []byte(`{"a":2,"c":"x"}`))
	if err != nil || string(got) != `{"a":2,"b":true,"c":"x"}` {
		t.Fatalf("merge: %s %v", got, err)
	}
	if _, err := mergeJSONObjects([]byte(`{}`), []byte(`[1]`)); err == nil {
		t.Fatal("merging a non-object succeeded")
	}
}

func TestFieldPartialOps(t *testing.T) {
	schema := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "tags", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64,
			TypeParams: []*commonpb.KeyValuePair{{Key: "max_capacity", Value: "2"}}},
		{FieldID: 102, Name: "score", DataType: schemapb.DataType_Double},
	}}
	tags := func(rows ...*schemapb.ScalarField) *schemapb.FieldData {
		return &schemapb.FieldData{FieldName: "tags", Type: schemapb.DataType_Array, Field: &schemapb.FieldData_Scalars{
			Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_ArrayData{ArrayData: &schemapb.ArrayArray{Data: rows}}}}}
	}
	op := func(name string, o schemapb.FieldPartialUpdateOp_OpType) *schemapb.FieldPartialUpdateOp {
		return &schemapb.FieldPartialUpdateOp{FieldName: name, Op: o}
	}
	app := schemapb.FieldPartialUpdateOp_ARRAY_APPEND
	for _, tc := range []struct {
		name       string
		data       []*schemapb.FieldData
		ops        []*schemapb.FieldPartialUpdateOp
		nonReplace bool
		err        string
	}{
		{"none", nil, nil, false, ""},
		{"replace only", nil, []*schemapb.FieldPartialUpdateOp{op("score", schemapb.FieldPartialUpdateOp_REPLACE)}, false, ""},
		{"append", []*schemapb.FieldData{tags(longRow(1))}, []*schemapb.FieldPartialUpdateOp{op("tags", app)}, true, ""},
		{"no name", nil, []*schemapb.FieldPartialUpdateOp{op("", app)}, false, "FieldPartialUpdateOp.field_name is required"},
		{"duplicate", nil, []*schemapb.FieldPartialUpdateOp{op("score", 0), op("score", 0)}, false, `duplicate partial-update op for field "score"`},
		{"primary key", nil, []*schemapb.FieldPartialUpdateOp{op("id", app)}, false, `field "id" is the primary key and cannot carry a partial-update op`},
		{"not array", nil, []*schemapb.FieldPartialUpdateOp{op("score", app)}, false, `op ARRAY_APPEND requires Array field, but field "score" is Double`},
		{"unknown", nil, []*schemapb.FieldPartialUpdateOp{op("nope", app)}, false, `field "nope" not found in collection schema`},
		{"no payload", nil, []*schemapb.FieldPartialUpdateOp{op("tags", app)}, false, `partial-update op targets field "tags" not present in fields_data`},
		{"payload over capacity", []*schemapb.FieldData{tags(longRow(1, 2, 3))}, []*schemapb.FieldPartialUpdateOp{op("tags", app)}, false,
			`ARRAY_APPEND payload for field "tags" row 0 has length 3 exceeding max_capacity 2`},
	} {
		_, nonReplace, err := fieldPartialOps(&milvuspb.UpsertRequest{FieldsData: tc.data, FieldOps: tc.ops}, schema)
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || nonReplace != tc.nonReplace {
			t.Errorf("%s: %v %v", tc.name, nonReplace, err)
		}
	}
}
