package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestRESTCollectionFunctions drives Milvus 2.6's collections/add_function,
// alter_function and drop_function endpoints and a REST-created schema with
// a BM25 function: describe lists it as Milvus's printFunctionDetails does,
// and the function DDL answers Milvus's messages (BM25 functions are fixed
// once created; dropping an absent function succeeds).
func TestRESTCollectionFunctions(t *testing.T) {
	srv := startServer(t, "")
	base := "http://" + srv.addr

	bm25 := map[string]any{"name": "text_bm25", "type": "BM25",
		"inputFieldNames": []string{"text"}, "outputFieldNames": []string{"sparse"}, "params": map[string]any{}}
	restOK(t, base, "/collections/create", map[string]any{"collectionName": "rf", "schema": map[string]any{
		"fields": []map[string]any{
			{"fieldName": "id", "dataType": "Int64", "isPrimary": true},
			{"fieldName": "text", "dataType": "VarChar", "elementTypeParams": map[string]any{"max_length": 256, "enable_analyzer": true}},
			{"fieldName": "sparse", "dataType": "SparseFloatVector"},
		},
		"functions": []any{bm25},
	}})
	d := restOK(t, base, "/collections/describe", map[string]any{"collectionName": "rf"}).(map[string]any)
	fns, _ := d["functions"].([]any)
	if len(fns) != 1 {
		t.Fatalf("functions of rf: %v", d["functions"])
	}
	f := fns[0].(map[string]any)
	if f["name"] != "text_bm25" || restInt(t, f["type"]) != 1 || f["outputFieldNames"].([]any)[0] != "sparse" {
		t.Fatalf("described function: %v", f)
	}
	for _, fld := range d["fields"].([]any) {
		if m := fld.(map[string]any); m["name"] == "sparse" && m["isFunctionOutput"] != true {
			t.Fatalf("sparse is not listed as a function output: %v", m)
		}
	}

	// Text in, BM25 search with text out.
	restOK(t, base, "/entities/insert", map[string]any{"collectionName": "rf", "data": []map[string]any{
		{"id": 1, "text": "a vector database"}, {"id": 2, "text": "the lazy dog"}, {"id": 3, "text": "vector search"}}})
	restOK(t, base, "/indexes/create", map[string]any{"collectionName": "rf", "indexParams": []map[string]any{
		{"fieldName": "sparse", "indexName": "sparse", "metricType": "BM25", "params": map[string]any{"index_type": "SPARSE_INVERTED_INDEX"}}}})
	restOK(t, base, "/collections/load", map[string]any{"collectionName": "rf"})
	waitLoadedREST(t, base, "rf")
	hits := restRows(t, restOK(t, base, "/entities/search", map[string]any{"collectionName": "rf", "annsField": "sparse",
		"data": []string{"vector database"}, "limit": 10, "outputFields": []string{"text"}, "consistencyLevel": "Strong"}))
	if len(hits) != 2 || hits[0]["text"] != "a vector database" {
		t.Fatalf("BM25 search over REST: %v", hits)
	}

	wantMsg := func(path string, body map[string]any, code int64, msg string) {
		t.Helper()
		m := restPost(t, base, path, body)
		if c := restCode(m); c != code || !strings.Contains(m["message"].(string), msg) {
			t.Fatalf("POST %s %v: %v; want code %d and %q", path, body, m, code, msg)
		}
	}
	bm2 := map[string]any{"name": "b2", "type": "BM25", "inputFieldNames": []string{"text"}, "outputFieldNames": []string{"sparse"}}
	wantMsg("/collections/add_function", map[string]any{"collectionName": "rf", "function": bm2}, 65535,
		"currently does not support adding BM25 function")
	wantMsg("/collections/alter_function", map[string]any{"collectionName": "rf", "functionName": "b2", "function": bm2}, 65535,
		"currently does not support alter BM25 function")
	wantMsg("/collections/drop_function", map[string]any{"collectionName": "rf", "FunctionName": "text_bm25"}, 65535,
		"currently does not support droping BM25 function")
	restOK(t, base, "/collections/drop_function", map[string]any{"collectionName": "rf", "functionName": "absent"})

	// Request shapes: required keys (1802) and the function type by its
	// exact enum name (1100, "Unsupported function type").
	wantMsg("/collections/add_function", map[string]any{"collectionName": "rf"}, 1802, "missing required parameters")
	wantMsg("/collections/add_function", map[string]any{"function": bm2}, 1802, "Key: 'CollectionAddFunction.CollectionName' Error:Field validation for 'CollectionName' failed on the 'required' tag")
	wantMsg("/collections/alter_function", map[string]any{"collectionName": "rf", "function": bm2}, 1802, "Key: 'CollectionAlterFunction.FunctionName' Error")
	wantMsg("/collections/drop_function", map[string]any{"collectionName": "rf"}, 1802, "Key: 'CollectionDropFunction.FunctionName' Error")
	wantMsg("/collections/add_function", map[string]any{"collectionName": "rf", "function": map[string]any{
		"name": "e", "type": "bm25", "inputFieldNames": []string{"text"}, "outputFieldNames": []string{"sparse"}}},
		1100, "Unsupported function type: bm25")
	wantMsg("/collections/add_function", map[string]any{"collectionName": "nope", "function": map[string]any{
		"name": "e", "type": "TextEmbedding", "inputFieldNames": []string{"text"}, "outputFieldNames": []string{"v"}}},
		100, "collection not found")
}

func waitLoadedREST(t *testing.T, base, name string) {
	t.Helper()
	for range 600 {
		st := restOK(t, base, "/collections/get_load_state", map[string]any{"collectionName": name}).(map[string]any)
		if st["loadState"] == "LoadStateLoaded" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not loaded", name)
}
