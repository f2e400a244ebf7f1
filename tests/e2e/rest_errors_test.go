package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMilvusRESTErrorTable pins the errors the REST layer produces itself
// (body parsing, request binding, unknown endpoints, its own parameter and
// row checks) to Milvus 2.6's RESTful v2 handler, driven over HTTP as a
// client would. Each case names the Milvus file and line its code and text
// were checked against (internal/distributed/proxy/httpserver unless said).
func TestMilvusRESTErrorTable(t *testing.T) {
	srv := startServer(t, "")
	base := "http://" + srv.addr
	restOK(t, base, "/collections/create", map[string]any{"collectionName": "errs", "dimension": 4})
	restOK(t, base, "/collections/create", map[string]any{"collectionName": "errs_nodyn", "schema": map[string]any{
		"enableDynamicField": false,
		"fields": []any{
			map[string]any{"fieldName": "id", "dataType": "Int64", "isPrimary": true},
			map[string]any{"fieldName": "vector", "dataType": "FloatVector", "elementTypeParams": map[string]any{"dim": 4}},
		}}})

	const fn = `{"name": "f", "type": "BM25", "inputFieldNames": ["a"], "outputFieldNames": ["b"]}`
	cases := []struct {
		ref          string // Milvus 2.6 FILE:LINE
		method, path string // method "" is POST
		body         string
		http         int // 0: 200
		code         float64
		msg          string
	}{
		// Body parsing and binding (wrapperPost, gin's JSON binding and validator).
		{ref: "handler_v2.go:343-347 (io.EOF)", path: "/collections/describe", body: "",
			code: 1801, msg: "can only accept json format request, the request body should be nil, however {} is valid"},
		{ref: "handler_v2.go:349-352", path: "/collections/describe", body: `{"collectionName": `,
			code: 1801, msg: "can only accept json format request, error: unexpected EOF"},
		{ref: "handler_v2.go:349-352", path: "/collections/describe", body: `{x}`,
			code: 1801, msg: "can only accept json format request, error: invalid character 'x' looking for beginning of object key string"},
		{ref: "handler_v2.go:349-352", path: "/collections/describe", body: `[1]`,
			code: 1801, msg: "can only accept json format request, error: json: cannot unmarshal array into Go value of type httpserver.CollectionNameReq"},
		{ref: "handler_v2.go:349-352, request_v2.go:63", path: "/collections/describe", body: `{"collectionName": 5}`,
			code: 1801, msg: "can only accept json format request, error: json: cannot unmarshal number into Go struct field CollectionNameReq.collectionName of type string"},
		{ref: "handler_v2.go:349-352, request_v2.go:685 (Dimension int32)", path: "/collections/create", body: `{"collectionName": "q", "dimension": 1.5}`,
			code: 1801, msg: "can only accept json format request, error: json: cannot unmarshal number 1.5 into Go struct field CollectionReq.dimension of type int32"},
		{ref: "handler_v2.go:338-342, request_v2.go:65", path: "/collections/describe", body: `{}`,
			code: 1802, msg: "missing required parameters, error: Key: 'CollectionNameReq.CollectionName' Error:Field validation for 'CollectionName' failed on the 'required' tag"},
		{ref: "handler_v2.go:338-342, request_v2.go:714-715", path: "/aliases/create", body: `{"aliasName": ""}`,
			code: 1802, msg: "missing required parameters, error: Key: 'AliasCollectionReq.CollectionName' Error:Field validation for 'CollectionName' failed on the 'required' tag\n" +
				"Key: 'AliasCollectionReq.AliasName' Error:Field validation for 'AliasName' failed on the 'required' tag"},
		{ref: "request_v2.go:228 (nil *FieldSchema)", path: "/collections/fields/add", body: `{"collectionName": "errs"}`,
			code: 1802, msg: "missing required parameters, error: Key: 'CollectionFieldReqWithSchema.Schema' Error:Field validation for 'Schema' failed on the 'required' tag"},
		{ref: "request_v2.go:611-612 (validator descends into Schema)", path: "/collections/fields/add", body: `{"collectionName": "errs", "schema": {}}`,
			code: 1802, msg: "missing required parameters, error: Key: 'CollectionFieldReqWithSchema.Schema.FieldName' Error:Field validation for 'FieldName' failed on the 'required' tag\n" +
				"Key: 'CollectionFieldReqWithSchema.Schema.DataType' Error:Field validation for 'DataType' failed on the 'required' tag"},
		{ref: "request_v2.go:112, 668-672 (required on a struct is skipped, its fields are checked)", path: "/collections/add_function", body: `{"collectionName": "errs"}`,
			code: 1802, msg: "missing required parameters, error: Key: 'CollectionAddFunction.Function.FunctionName' Error:Field validation for 'FunctionName' failed on the 'required' tag\n" +
				"Key: 'CollectionAddFunction.Function.FunctionType' Error:Field validation for 'FunctionType' failed on the 'required' tag\n" +
				"Key: 'CollectionAddFunction.Function.InputFieldNames' Error:Field validation for 'InputFieldNames' failed on the 'required' tag\n" +
				"Key: 'CollectionAddFunction.Function.OutputFieldNames' Error:Field validation for 'OutputFieldNames' failed on the 'required' tag"},
		{ref: "request_v2.go:321 (delete needs a filter)", path: "/entities/delete", body: `{"collectionName": "errs", "id": [1]}`,
			code: 1802, msg: "missing required parameters, error: Key: 'CollectionFilterReq.Filter' Error:Field validation for 'Filter' failed on the 'required' tag"},
		{ref: "request_v2.go:838 (required int64: zero fails)", path: "/resource_groups/transfer_replica",
			body: `{"sourceRgName": "a", "targetRgName": "b", "collectionName": "errs", "replicaNum": 0}`,
			code: 1802, msg: "missing required parameters, error: Key: 'TransferReplicaReq.ReplicaNum' Error:Field validation for 'ReplicaNum' failed on the 'required' tag"},
		{ref: "request_v2.go:770, 786 (the validator descends into a present *ResourceGroupConfig)", path: "/resource_groups/create",
			body: `{"name": "rg", "config": {"requests": {"node_num": 0}}}`,
			code: 1802, msg: "missing required parameters, error: Key: 'ResourceGroupReq.Config.Requests.NodeNum' Error:Field validation for 'NodeNum' failed on the 'required' tag\n" +
				"Key: 'ResourceGroupReq.Config.Limits' Error:Field validation for 'Limits' failed on the 'required' tag"},
		{ref: "request_v2.go:556 (IndexReq)", path: "/indexes/describe", body: `{"collectionName": "errs"}`,
			code: 1802, msg: "missing required parameters, error: Key: 'IndexReq.IndexName' Error:Field validation for 'IndexName' failed on the 'required' tag"},
		{ref: "request_v2.go:81 (CollectionReqWithProperties)", path: "/collections/alter_properties", body: `{"properties": {"a": "1"}}`,
			code: 1802, msg: "missing required parameters, error: Key: 'CollectionReqWithProperties.CollectionName' Error:Field validation for 'CollectionName' failed on the 'required' tag"},
		{ref: "request_v2.go:159 (RenameCollectionReq)", path: "/collections/rename", body: `{"collectionName": "errs"}`,
			code: 1802, msg: "missing required parameters, error: Key: 'RenameCollectionReq.NewCollectionName' Error:Field validation for 'NewCollectionName' failed on the 'required' tag"},
		{ref: "request_v2.go:813 (ResourceGroupReq)", path: "/resource_groups/drop", body: `{}`,
			code: 1802, msg: "missing required parameters, error: Key: 'ResourceGroupReq.Name' Error:Field validation for 'Name' failed on the 'required' tag"},
		{ref: "request_v2.go:880", path: "/common/run_analyzer", body: `{"text": null}`,
			code: 1802, msg: "missing required parameters, error: Key: 'RunAnalyzerReq.Text' Error:Field validation for 'Text' failed on the 'required' tag"},

		// Unknown endpoints: gin's router (HandleMethodNotAllowed off).
		{ref: "distributed/proxy/service.go:208 gin.New()", path: "/nothing/here", body: `{}`, http: 404, msg: "404 page not found"},
		{ref: "distributed/proxy/service.go:208 gin.New()", method: http.MethodGet, path: "/collections/list", http: 404, msg: "404 page not found"},

		// collections/create.
		{ref: "handler_v2.go:1820-1822", path: "/collections/create", body: `{"collectionName": "q"}`,
			code: 1100, msg: "dimension is required for quickly create collection(default metric type: COSINE): invalid parameter[expected=collectionName & dimension][actual=collectionName]"},
		{ref: "handler_v2.go:1809-1811", path: "/collections/create", body: `{"collectionName": "q", "dimension": 4, "schema": {"functions": [` + fn + `]}}`,
			code: 1100, msg: "functions are not supported for quickly create collection: invalid parameter[expected=schema][actual=functions]"},
		{ref: "handler_v2.go:1842-1844", path: "/collections/create", body: `{"collectionName": "q", "dimension": 4, "idType": "Float"}`,
			code: 1100, msg: "idType can only be [Int64, VarChar], default: Int64: invalid parameter[expected=Int64, Varchar][actual=Float]"},
		{ref: "handler_v2.go:2012-2014", path: "/collections/create", body: `{"collectionName": "q", "dimension": 4, "params": {"consistencyLevel": "Often"}}`,
			code: 1100, msg: "consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized], default: Bounded: invalid parameter[expected=Strong, Session, Bounded, Eventually, Customized][actual=Often]"},
		{ref: "handler_v2.go:1925-1931", path: "/collections/create", body: `{"collectionName": "q", "schema": {"fields": [{"fieldName": "id", "dataType": "Float32"}]}}`,
			code: 1100, msg: "invalid parameter, data type Float32 is invalid(case sensitive)."},
		{ref: "handler_v2.go:1954-1960", path: "/collections/create", body: `{"collectionName": "q", "schema": {"fields": [{"fieldName": "a", "dataType": "Array", "elementDataType": "Foo"}]}}`,
			code: 1100, msg: "invalid parameter, element data type Foo is invalid(case sensitive)."},
		{ref: "handler_v2.go:1943-1950, utils.go:1848", path: "/collections/create", body: `{"collectionName": "q", "schema": {"fields": [{"fieldName": "b", "dataType": "Bool", "defaultValue": "yes"}]}}`,
			code: 1100, msg: `convert defaultValue fail, err:cannot use "yes"(type: string) as bool default value: invalid parameter`},
		{ref: "handler_v2.go:1943-1950, utils.go:1861 (its stray quote)", path: "/collections/create", body: `{"collectionName": "q", "schema": {"fields": [{"fieldName": "n", "dataType": "Int32", "defaultValue": true}]}}`,
			code: 1100, msg: `convert defaultValue fail, err:cannot use ""true"(type: bool) as int default value: invalid parameter`},

		// collections/fields/add (FieldSchema.GetProto).
		{ref: "request_v2.go:623-627", path: "/collections/fields/add", body: `{"collectionName": "errs", "schema": {"fieldName": "n", "dataType": "Foo"}}`,
			code: 1100, msg: "data type Foo is invalid(case sensitive): invalid parameter"},
		{ref: "request_v2.go:640-644, utils.go:1873", path: "/collections/fields/add", body: `{"collectionName": "errs", "schema": {"fieldName": "n", "dataType": "Int64", "nullable": true, "defaultValue": "x"}}`,
			code: 1100, msg: `convert defaultValue fail, err: cannot use "x"(type: string) as long default value: invalid parameter: invalid parameter`},

		// entities.
		{ref: "handler_v2.go:1081-1088, utils.go:1832", path: "/entities/query", body: `{"collectionName": "errs", "filter": "id > 0", "consistencyLevel": "Often"}`,
			code: 1100, msg: "consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized], default: Bounded, err:parameter:'Often' is incorrect, please check it: invalid parameter"},
		{ref: "handler_v2.go:1498-1505", path: "/entities/search", body: `{"collectionName": "errs", "data": [[0, 0, 0, 1]], "consistencyLevel": "Often"}`,
			code: 1100, msg: "consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized], default: Bounded, err:parameter:'Often' is incorrect, please check it: invalid parameter"},
		{ref: "handler_v2.go:1520-1525", path: "/entities/search", body: `{"collectionName": "errs", "data": [[0, 0, 0, 1]], "ids": [1]}`,
			code: 1100, msg: "primary keys (ids) and query vectors (data) are mutually exclusive. Please provide either 'ids' or 'data', not both"},
		{ref: "handler_v2.go:1529-1534", path: "/entities/search", body: `{"collectionName": "errs"}`,
			code: 1802, msg: "either 'ids' (for primary key search) or 'data' (for vector search) must be provided"},
		{ref: "handler_v2.go:1258-1262, utils.go:367", path: "/entities/insert", body: `{"collectionName": "errs", "data": []}`,
			code: 1804, msg: "fail to deal the insert data, error: missing required parameters"},
		{ref: "utils.go:698 (gjson type names)", path: "/entities/insert", body: `{"collectionName": "errs", "data": [1]}`,
			code: 1804, msg: "fail to deal the insert data, error: NULL:0, FALSE:1, NUMBER:2, STRING:3, TRUE:4, JSON:5: invalid parameter[expected=JSON][actual=Number]"},
		{ref: "utils.go:483", path: "/entities/insert", body: `{"collectionName": "errs", "data": [{"id": 1}]}`,
			code: 1804, msg: "fail to deal the insert data, error: missing vector field: vector: invalid parameter[expected=FloatVector][actual=]"},
		{ref: "utils.go:515 (json.Number(\"\").Int64())", path: "/entities/insert", body: `{"collectionName": "errs_nodyn", "data": [{"vector": [0, 0, 0, 1]}]}`,
			code: 1804, msg: `fail to deal the insert data, error: strconv.ParseInt: parsing "": invalid syntax: invalid parameter[expected=Int64][actual=]`},
		{ref: "utils.go:691", path: "/entities/upsert", body: `{"collectionName": "errs_nodyn", "data": [{"id": 1, "vector": [0, 0, 0, 1], "color": "red"}]}`,
			code: 1804, msg: "fail to deal the insert data, error: has pass more field without dynamic schema, please check it: invalid parameter"},

		// jobs/import: the proxy passes a job ID that is not a number to
		// datacoord, which answers ErrImportFailed.
		{ref: "datacoord/services.go:1991", path: "/jobs/import/describe", body: `{"jobId": "abc"}`,
			code: 2100, msg: `parse job id failed: strconv.ParseInt: parsing "abc": invalid syntax: importing data failed`},
	}
	for _, c := range cases {
		method := c.method
		if method == "" {
			method = http.MethodPost
		}
		req, err := http.NewRequest(method, base+"/v2/vectordb"+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, c.path, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantHTTP := c.http
		if wantHTTP == 0 {
			wantHTTP = http.StatusOK
		}
		if resp.StatusCode != wantHTTP {
			t.Errorf("%s %s %s (%s): HTTP %d %s, want %d", method, c.path, c.body, c.ref, resp.StatusCode, out, wantHTTP)
			continue
		}
		if wantHTTP == http.StatusNotFound {
			if string(out) != c.msg {
				t.Errorf("%s %s (%s): body %q, want %q", method, c.path, c.ref, out, c.msg)
			}
			continue
		}
		var m struct {
			Code    float64 `json:"code"`
			Message string  `json:"message"`
		}
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s %s: %v in %s", method, c.path, err, out)
		}
		if m.Code != c.code || m.Message != c.msg {
			t.Errorf("%s %s %s (%s):\n got %v %q\nwant %v %q", method, c.path, c.body, c.ref, m.Code, m.Message, c.code, c.msg)
		}
	}
}
