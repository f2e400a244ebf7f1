package rootcoord

import (
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// TestSameSchemaTakesParamsAsSets: the SDKs build parameters from maps, so
// one schema sent twice may list them in another order; it is still the
// same schema (an idempotent CreateCollection), and a changed value is not.
func TestSameSchemaTakesParamsAsSets(t *testing.T) {
	kv := func(pairs ...string) []*commonpb.KeyValuePair {
		var out []*commonpb.KeyValuePair
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, &commonpb.KeyValuePair{Key: pairs[i], Value: pairs[i+1]})
		}
		return out
	}
	schema := func(fieldParams, fnParams []*commonpb.KeyValuePair) *schemapb.CollectionSchema {
		return &schemapb.CollectionSchema{Name: "c",
			Fields: []*schemapb.FieldSchema{{FieldID: 100, Name: "text", DataType: schemapb.DataType_VarChar, TypeParams: fieldParams}},
			Functions: []*schemapb.FunctionSchema{{Name: "emb", Type: schemapb.FunctionType_TextEmbedding,
				InputFieldNames: []string{"text"}, OutputFieldNames: []string{"vec"}, Params: fnParams}}}
	}
	a := schema(kv("max_length", "100", "enable_analyzer", "true"), kv("provider", "tei", "endpoint", "http://x"))
	b := schema(kv("enable_analyzer", "true", "max_length", "100"), kv("endpoint", "http://x", "provider", "tei"))
	if !sameSchema(a, b) {
		t.Fatal("the same parameters in another order: not the same schema")
	}
	if a.Fields[0].TypeParams[0].Key != "max_length" || a.Functions[0].Params[0].Key != "provider" {
		t.Fatal("sameSchema reordered its arguments")
	}
	c := schema(kv("max_length", "100", "enable_analyzer", "true"), kv("provider", "tei", "endpoint", "http://y"))
	if sameSchema(a, c) {
		t.Fatal("a changed function parameter: still the same schema")
	}
}
