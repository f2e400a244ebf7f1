package proxy

import (
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

func TestLimitsDefaults(t *testing.T) {
	want := DefaultLimits()
	want.MaxResultEntries = 0 // off either way
	if got := (Limits{}).orDefault(); got != want {
		t.Fatalf("zero limits: %+v", got)
	}
	l := Limits{NQ: 5, TopK: 7, MaxQueryResultWindow: 9, MaxOutputSize: 11, MaxInsertSize: 13, MaxResultEntries: 15}
	if got := l.orDefault(); got != l {
		t.Fatalf("set limits changed: %+v", got)
	}
}

// TestConfiguredLimits: nq, topK and the query window follow the
// configuration, with Milvus's texts.
func TestConfiguredLimits(t *testing.T) {
	lim := DefaultLimits()
	lim.TopK, lim.MaxQueryResultWindow = 100, 50
	s := &schemapb.CollectionSchema{}
	info := func(kv ...string) []*commonpb.KeyValuePair {
		var out []*commonpb.KeyValuePair
		for i := 0; i < len(kv); i += 2 {
			out = append(out, &commonpb.KeyValuePair{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	checkErr(t, parseSearchInfo(lim.TopK, s, info("topk", "101"), &searchSpec{}), 65535,
		"topk [101] is invalid, it should be in range [1, 100], but got 101")
	checkErr(t, parseSearchInfo(lim.TopK, s, info("topk", "60", "offset", "50"), &searchSpec{}), 65535, "[110] is invalid, it should be in range [1, 100]")
	_, _, err := parseQueryParams(lim.MaxQueryResultWindow, info("limit", "40", "offset", "11"))
	checkErr(t, err, 65535, "invalid max query result window, (offset+limit) should be in range [1, 50], but got 51")
	if l, o, err := parseQueryParams(lim.MaxQueryResultWindow, info("limit", "40", "offset", "10")); err != nil || l != 40 || o != 10 {
		t.Fatalf("limit 40 offset 10: %d %d %v", l, o, err)
	}
}

func TestResultEntries(t *testing.T) {
	l := DefaultLimits()
	if err := l.checkResultEntries(16384, 16384, 10); err != nil {
		t.Fatalf("off by default: %v", err)
	}
	l.MaxResultEntries = 1000
	if err := l.checkResultEntries(10, 100, 1); err != nil {
		t.Fatal(err)
	}
	checkErr(t, l.checkResultEntries(10, 50, 3), 65535, "number of result entries is too large")
}

func TestOutputAndInsertSize(t *testing.T) {
	l := DefaultLimits()
	l.MaxOutputSize = 100
	if n := l.maxHits(&schemapb.FieldSchema{DataType: schemapb.DataType_Int64}); n != 8 {
		t.Fatalf("max hits with Int64 keys: %d", n)
	}
	if n := l.maxHits(&schemapb.FieldSchema{DataType: schemapb.DataType_VarChar}); n != 20 {
		t.Fatalf("max hits with VarChar keys: %d", n)
	}
	small := &schemapb.SearchResultData{Scores: make([]float32, 5)}
	if err := l.checkSearchOutput(small); err != nil {
		t.Fatal(err)
	}
	big := &schemapb.SearchResultData{Scores: make([]float32, 50)}
	checkErr(t, l.checkSearchOutput(big), 1100, "search results exceed the maxOutputSize Limit 100: invalid parameter")
	longs := make([]int64, 40)
	for i := range longs {
		longs[i] = 1 << 40 // 6 bytes each on the wire
	}
	fd := &schemapb.FieldData{Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: longs}}}}}
	checkErr(t, l.checkQueryOutput([]*schemapb.FieldData{fd}), 1100, "query results exceed the maxOutputSize Limit 100")
	if err := l.checkInsertSize([]*schemapb.FieldData{fd}); err != nil {
		t.Fatalf("maxInsertSize off: %v", err)
	}
	l.MaxInsertSize = 30
	checkErr(t, l.checkInsertSize([]*schemapb.FieldData{fd}), 1102, "parameter too large[message=insert request size exceeds maxInsertSize]")
}
