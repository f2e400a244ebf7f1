package proxy

import (
	"reflect"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

func TestResultsProjectDynamic(t *testing.T) {
	meta := &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: [][]byte{
		[]byte(`{"a":1,"b":{"c":[1,2]},"z":"x"}`), []byte(`{"z":true}`), nil, []byte(`[1]`),
	}, Valid: []bool{true, true, false, true}}
	got := projectDynamic(meta, []string{"b", "a", "missing"})
	want := []string{`{"a":1,"b":{"c":[1,2]}}`, `{}`, ``, `{}`}
	for i, w := range want {
		if string(got.Data[i]) != w {
			t.Errorf("row %d: %s, want %s", i, got.Data[i], w)
		}
	}
	if !reflect.DeepEqual(got.Valid, meta.Valid) {
		t.Errorf("valid %v", got.Valid)
	}
	if string(meta.Data[0]) != `{"a":1,"b":{"c":[1,2]},"z":"x"}` {
		t.Error("input modified")
	}
}

func TestResultsFieldsData(t *testing.T) {
	s := insertSchema(t, func(s *schemapb.CollectionSchema) {
		s.Fields = append(s.Fields, &schemapb.FieldSchema{Name: "n", DataType: schemapb.DataType_Int32, Nullable: true})
	}) // id 100, title 101, vec 102, n 103, $meta 104
	cols := map[int64]column.Column{
		100: &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, 2}},
		101: &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"a", "b"}},
		102: &column.FloatVector{Dim: 4, Data: vec2(2)},
		103: &column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: []int32{0, 5}, Valid: []bool{false, true}},
		104: &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: [][]byte{[]byte(`{"k":1,"j":2}`), []byte(`{}`)}},
	}
	fds := fieldsDataFor(s, []int64{101, 103, 104, 100, 999}, cols, []string{"k"})
	if len(fds) != 4 {
		t.Fatalf("%d field data", len(fds))
	}
	if fds[0].FieldName != "title" || fds[0].FieldId != 101 || fds[0].Type != schemapb.DataType_VarChar || fds[0].ValidData != nil {
		t.Errorf("title %+v", fds[0])
	}
	if !reflect.DeepEqual(fds[1].ValidData, []bool{false, true}) || !reflect.DeepEqual(fds[1].GetScalars().GetIntData().GetData(), []int32{0, 5}) {
		t.Errorf("nullable n sent as %+v", fds[1])
	}
	if fds[2].FieldName != "$meta" || !fds[2].IsDynamic || string(fds[2].GetScalars().GetJsonData().GetData()[0]) != `{"k":1}` {
		t.Errorf("$meta %+v", fds[2])
	}
	// Round trip: what we send decodes to what we hold.
	for i, id := range []int64{101, 103, 100} {
		j := i
		if i == 2 {
			j = 3
		}
		back, err := column.FromFieldData(fds[j])
		if err != nil || !reflect.DeepEqual(back, cols[id]) {
			t.Errorf("field %d round trip: %v %+v vs %+v", id, err, back, cols[id])
		}
	}
	// A nullable column without nulls still carries ValidData.
	cols[103] = &column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: []int32{3, 4}}
	fds = fieldsDataFor(s, []int64{103}, cols, nil)
	if !reflect.DeepEqual(fds[0].ValidData, []bool{true, true}) {
		t.Errorf("valid %v", fds[0].ValidData)
	}
	// Whole $meta when no keys are asked for.
	fds = fieldsDataFor(s, []int64{104}, cols, nil)
	if string(fds[0].GetScalars().GetJsonData().GetData()[0]) != `{"k":1,"j":2}` {
		t.Errorf("whole meta %s", fds[0].GetScalars().GetJsonData().GetData()[0])
	}
}

func TestResultsIDs(t *testing.T) {
	ids := idsOf(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{3, 1}})
	if !reflect.DeepEqual(ids.GetIntId().GetData(), []int64{3, 1}) {
		t.Errorf("int ids %v", ids)
	}
	ids = idsOf(&column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"a"}})
	if !reflect.DeepEqual(ids.GetStrId().GetData(), []string{"a"}) {
		t.Errorf("str ids %v", ids)
	}
	if ids := idsOf(nil); ids.GetIntId() == nil || len(ids.GetIntId().GetData()) != 0 {
		t.Errorf("nil ids %v", ids)
	}
	vs := testSchema("c")
	vs.Fields[0].IsPrimaryKey, vs.Fields[1].IsPrimaryKey = false, true
	if emptyIDs(vs).GetStrId() == nil || emptyIDs(testSchema("c")).GetIntId() == nil {
		t.Error("emptyIDs type")
	}
}

func TestResultsRoundScores(t *testing.T) {
	s := []float32{1.23456, -1.23456, 0.5, 2.5, 1e-7}
	roundScores(s, -1)
	if s[0] != 1.23456 {
		t.Fatal("rounded with -1")
	}
	roundScores(s, 2)
	if want := []float32{1.23, -1.23, 0.5, 2.5, 0}; !reflect.DeepEqual(s, want) {
		t.Errorf("2 digits: %v", s)
	}
	s = []float32{0.5, 1.5, -0.5, 2.4999}
	roundScores(s, 0)
	if want := []float32{1, 2, -1, 2}; !reflect.DeepEqual(s, want) {
		t.Errorf("0 digits: %v", s)
	}
}

func TestResultsSearchResultData(t *testing.T) {
	ids := idsOf(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{7, 8, 9}})
	r := newSearchResultData(2, 2, []int64{2, 1}, ids, []float32{0.1, 0.2, 0.3}, nil, []string{"title"}, "id")
	if r.NumQueries != 2 || r.TopK != 2 || !reflect.DeepEqual(r.Topks, []int64{2, 1}) || len(r.Scores) != 3 ||
		r.PrimaryFieldName != "id" || !reflect.DeepEqual(r.OutputFields, []string{"title"}) || r.FieldsData == nil {
		t.Errorf("%+v", r)
	}
	empty := newSearchResultData(3, 10, nil, nil, nil, nil, nil, "id")
	if len(empty.Topks) != 3 || empty.Topks[2] != 0 || empty.Ids.GetIntId() == nil || empty.Scores == nil {
		t.Errorf("empty %+v", empty)
	}
}
