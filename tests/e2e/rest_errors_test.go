package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
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

	restOK(t, base, "/collections/create", map[string]any{"collectionName": "errs_vc", "schema": map[string]any{
		"enableDynamicField": false,
		"fields": []any{
			map[string]any{"fieldName": "id", "dataType": "Int64", "isPrimary": true},
			map[string]any{"fieldName": "vector", "dataType": "FloatVector", "elementTypeParams": map[string]any{"dim": 4}},
			map[string]any{"fieldName": "label", "dataType": "VarChar", "elementTypeParams": map[string]any{"max_length": 8}},
			map[string]any{"fieldName": "n", "dataType": "Int32", "nullable": false},
			map[string]any{"fieldName": "tags", "dataType": "Array", "elementDataType": "Int64", "elementTypeParams": map[string]any{"max_capacity": 4}},
		}}})
	restOK(t, base, "/collections/create", map[string]any{"collectionName": "errs_two", "schema": map[string]any{
		"fields": []any{
			map[string]any{"fieldName": "id", "dataType": "Int64", "isPrimary": true},
			map[string]any{"fieldName": "a", "dataType": "FloatVector", "elementTypeParams": map[string]any{"dim": 2}},
			map[string]any{"fieldName": "b", "dataType": "FloatVector", "elementTypeParams": map[string]any{"dim": 2}},
		}}})
	restOK(t, base, "/collections/create", map[string]any{"collectionName": "errs_sparse", "schema": map[string]any{
		"fields": []any{
			map[string]any{"fieldName": "id", "dataType": "Int64", "isPrimary": true},
			map[string]any{"fieldName": "sp", "dataType": "SparseFloatVector"},
		}}, "indexParams": []any{map[string]any{"fieldName": "sp", "indexName": "sp", "metricType": "IP", "indexType": "SPARSE_INVERTED_INDEX"}}})
	restOK(t, base, "/collections/create", map[string]any{"collectionName": "errs_typed", "schema": map[string]any{
		"enableDynamicField": false,
		"fields": []any{
			map[string]any{"fieldName": "id", "dataType": "Int64", "isPrimary": true},
			map[string]any{"fieldName": "vector", "dataType": "FloatVector", "elementTypeParams": map[string]any{"dim": 4}},
			map[string]any{"fieldName": "js", "dataType": "JSON"},
			map[string]any{"fieldName": "geo", "dataType": "Geometry"},
			map[string]any{"fieldName": "ts", "dataType": "Timestamptz"},
		}}})
	restOK(t, base, "/collections/create", map[string]any{"collectionName": "errs_cells", "schema": map[string]any{
		"enableDynamicField": false,
		"fields": []any{
			map[string]any{"fieldName": "id", "dataType": "Int64", "isPrimary": true},
			map[string]any{"fieldName": "bv", "dataType": "BinaryVector", "elementTypeParams": map[string]any{"dim": 16}},
			map[string]any{"fieldName": "f", "dataType": "Float"},
			map[string]any{"fieldName": "i8", "dataType": "Int8"},
		}}})
	restOK(t, base, "/collections/create", map[string]any{"collectionName": "errs_half", "schema": map[string]any{
		"enableDynamicField": false,
		"fields": []any{
			map[string]any{"fieldName": "id", "dataType": "Int64", "isPrimary": true},
			map[string]any{"fieldName": "f16", "dataType": "Float16Vector", "elementTypeParams": map[string]any{"dim": 2}},
			map[string]any{"fieldName": "bf16", "dataType": "BFloat16Vector", "elementTypeParams": map[string]any{"dim": 2}},
		}}})
	// A collection with one of two partitions loaded.
	restOK(t, base, "/collections/create", map[string]any{"collectionName": "errs_parts", "dimension": 4})
	restOK(t, base, "/collections/release", map[string]any{"collectionName": "errs_parts"})
	restOK(t, base, "/partitions/create", map[string]any{"collectionName": "errs_parts", "partitionName": "p1"})
	restOK(t, base, "/partitions/create", map[string]any{"collectionName": "errs_parts", "partitionName": "p2"})
	restOK(t, base, "/partitions/load", map[string]any{"collectionName": "errs_parts", "partitionNames": []string{"p1"}})
	p2 := restPartitionID(t, srv, "errs_parts", "p2")
	_, partsLeader := restFirstShard(t, srv, "errs_parts")

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

		// Bodies that pass binding and reach Milvus's handler or proxy
		// (the endpoint-level "required" checks Milvago had are gone).
		{ref: "handler_v2.go:2776-2809 (no index params: nothing to create)", path: "/indexes/create", body: `{"collectionName": "errs", "indexParams": []}`},
		{ref: "handler_v2.go:2782, proxy/task_index.go:599-603 (IndexParam.FieldName is not validated; no dynamic field to default to)", path: "/indexes/create",
			body: `{"collectionName": "errs_nodyn", "indexParams": [{"indexName": "x", "metricType": "L2", "indexType": "FLAT"}]}`,
			code: 65535, msg: "cannot create index on non-exist field: "},
		{ref: "proxy/task.go:2663 (PartitionsReq accepts [])", path: "/partitions/load", body: `{"collectionName": "errs", "partitionNames": []}`,
			code: 65535, msg: "failed to load partition, due to no partition specified"},
		{ref: "querycoordv2/services.go:337-342", path: "/partitions/release", body: `{"collectionName": "errs", "partitionNames": []}`,
			code: 1100, msg: "invalid parameter[expected=any partition][actual=empty partition list]"},
		{ref: "rootcoord/ddl_callbacks_alter_collection_properties.go:35-37", path: "/collections/alter_properties", body: `{"collectionName": "errs"}`,
			code: 1100, msg: "no properties or delete keys provided: invalid parameter"},
		{ref: "rootcoord/ddl_callbacks_alter_collection_properties.go:35-37", path: "/collections/drop_properties", body: `{"collectionName": "errs", "propertyKeys": []}`,
			code: 1100, msg: "no properties or delete keys provided: invalid parameter"},
		{ref: "handler_v2.go:1910-1917, utils.go:2342 (functions before fields, no binding of the slice)", path: "/collections/create",
			body: `{"collectionName": "q", "schema": {"fields": [{"fieldName": "id", "dataType": "Float32"}], "functions": [{"name": "f"}]}}`,
			code: 1100, msg: "Unsupported function type: : invalid parameter"},

		// entities/get: checkGetPrimaryKey, convertRange (spf13/cast v1.3.1).
		{ref: "handler_v2.go:1141-1146, utils.go:141", path: "/entities/get", body: `{"collectionName": "errs", "id": ["abc"]}`,
			code: 1806, msg: `please check the primary key and its' type can only in [int, string], error: unable to cast "abc" of type string to int64`},
		{ref: "handler_v2.go:1141-1146, utils.go:141 (a number's raw text)", path: "/entities/get", body: `{"collectionName": "errs", "id": 1.5}`,
			code: 1806, msg: `please check the primary key and its' type can only in [int, string], error: unable to cast "1.5" of type string to int64`},
		{ref: "utils.go:130-148 (no keys: pk in [])", path: "/entities/get", body: `{"collectionName": "errs", "id": []}`},

		// entities/search: generateSearchParams, generatePlaceholderGroup.
		{ref: "utils.go:2287-2292", path: "/entities/search", body: `{"collectionName": "errs", "data": [[0, 0, 0, 1]], "searchParams": {"params": 5}}`,
			code: 1100, msg: "searchParams.params must be a dict: invalid parameter"},
		{ref: "utils.go:2311-2317", path: "/entities/search", body: `{"collectionName": "errs", "data": [[0, 0, 0, 1]], "searchParams": {"ef": 8, "params": {"ef": 16}}}`,
			code: 1100, msg: "ambiguous parameter: ef, in search_param: 8, in search_param.params: 16: invalid parameter"},
		{ref: "handler_v2.go:1443, 1594-1600", path: "/entities/search", body: `{"collectionName": "errs_two", "data": [[0, 1]]}`,
			code: 1801, msg: "can only accept json format request, error: search without annsField, but already found multiple vector fields: [a, b,,,]"},
		{ref: "handler_v2.go:1456", path: "/entities/search", body: `{"collectionName": "errs_two", "data": [[0, 1]], "annsField": "id"}`,
			code: 1801, msg: "can only accept json format request, error: cannot find a vector field named: id"},
		{ref: "utils.go:1320-1323", path: "/entities/search", body: `{"collectionName": "errs", "data": [[0, 0, 1]]}`,
			code: 1801, msg: "can only accept json format request, error: dimension: 4, but length of []float: 3: invalid parameter[expected=FloatVector][actual=[[0, 0, 1]]]"},
		{ref: "utils.go:1316-1318", path: "/entities/search", body: `{"collectionName": "errs", "data": [["x"]]}`,
			code: 1801, msg: `can only accept json format request, error: json: cannot unmarshal string into Go value of type float32: invalid parameter[expected=FloatVector][actual=[["x"]]]`},
		{ref: "handler_v2.go:1704-1726 (a sub-search's own JSON)", path: "/entities/hybrid_search",
			body: `{"collectionName": "errs", "search": [{"annsField": "vector", "limit": 2}], "rerank": {"strategy": "rrf", "params": {"k": 10}}}`,
			code: 1801, msg: "can only accept json format request, error: unexpected end of JSON input: invalid parameter[expected=FloatVector][actual=]"},

		// entities/insert: checkAndSetData converts a missing value from "".
		{ref: "utils.go:509-513 (cast.ToInt32E(\"\"))", path: "/entities/insert", body: `{"collectionName": "errs_vc", "data": [{"id": 1, "vector": [0, 0, 0, 1], "label": "a", "tags": [1]}]}`,
			code: 1804, msg: `fail to deal the insert data, error: unable to cast "" of type string to int32: invalid parameter[expected=Int32][actual=]`},
		{ref: "utils.go:580-585", path: "/entities/insert", body: `{"collectionName": "errs_vc", "data": [{"id": 1, "vector": [0, 0, 0, 1], "label": "a", "n": 1}]}`,
			code: 1804, msg: `fail to deal the insert data, error: unexpected end of JSON input: invalid parameter[expected=Array of Int64][actual=]`},
		// Half vectors in base64 are taken as they are (utils.go:449-480);
		// NaN and ±Inf are the proxy's to refuse, with a plain error
		// (validate_util.go:812-840, typeutil/float_util.go:82-108).
		{ref: "validate_util.go:821-822, float_util.go:89-90 (NaN, 1 in float16)", path: "/entities/insert",
			body: `{"collectionName": "errs_half", "data": [{"id": 1, "f16": "AH4APA==", "bf16": [1, 2]}]}`,
			code: 65535, msg: "float16 vector contain nan or infinity value."},
		{ref: "validate_util.go:836-837, float_util.go:103-104 (1, +Inf in bfloat16)", path: "/entities/insert",
			body: `{"collectionName": "errs_half", "data": [{"id": 1, "f16": [1, 2], "bf16": "gD+Afw=="}]}`,
			code: 65535, msg: "bfloat16 vector contain nan or infinity value."},
		// Wrong-typed cells: checkAndSetData's conversion of the value's
		// gjson text for the field's type, refused under
		// WrapErrParameterInvalid(<type>, <text>, <the conversion's error>).
		{ref: "utils.go:640-645 (cast.ToFloat32E)", path: "/entities/insert",
			body: `{"collectionName": "errs_cells", "data": [{"id": 1, "bv": [1, 2], "f": "abc", "i8": 1}]}`,
			code: 1804, msg: `fail to deal the insert data, error: unable to cast "abc" of type string to float32: invalid parameter[expected=Float][actual=abc]`},
		{ref: "utils.go:640-645 (cast.ToFloat32E of gjson's text of an array)", path: "/entities/insert",
			body: `{"collectionName": "errs_cells", "data": [{"id": 1, "bv": [1, 2], "f": [1], "i8": 1}]}`,
			code: 1804, msg: `fail to deal the insert data, error: unable to cast "[1]" of type string to float32: invalid parameter[expected=Float][actual=[1]]`},
		{ref: "utils.go:429-439 (json.Unmarshal into []byte)", path: "/entities/insert",
			body: `{"collectionName": "errs_cells", "data": [{"id": 1, "bv": [1, 256], "f": 1, "i8": 1}]}`,
			code: 1804, msg: `fail to deal the insert data, error: json: cannot unmarshal number 256 into Go value of type uint8: invalid parameter[expected=BinaryVector][actual=[1, 256]]`},
		{ref: "utils.go:429-439", path: "/entities/insert",
			body: `{"collectionName": "errs_cells", "data": [{"id": 1, "bv": ["a", 1], "f": 1, "i8": 1}]}`,
			code: 1804, msg: `fail to deal the insert data, error: json: cannot unmarshal string into Go value of type uint8: invalid parameter[expected=BinaryVector][actual=["a", 1]]`},
		{ref: "utils.go:429-439 (a base64 string is bytes)", path: "/entities/insert",
			body: `{"collectionName": "errs_cells", "data": [{"id": 1, "bv": "AQI=", "f": "2.5", "i8": "0x10"}]}`},
		{ref: "utils.go:497-502 (cast.ToInt8E: ParseInt base 0)", path: "/entities/insert",
			body: `{"collectionName": "errs_cells", "data": [{"id": 1, "bv": [1, 2], "f": 1, "i8": 1.5}]}`,
			code: 1804, msg: `fail to deal the insert data, error: unable to cast "1.5" of type string to int8: invalid parameter[expected=Int8][actual=1.5]`},
		{ref: "utils.go:515-520 (json.Number.Int64)", path: "/entities/insert",
			body: `{"collectionName": "errs_cells", "data": [{"id": "x1", "bv": [1, 2], "f": 1, "i8": 1}]}`,
			code: 1804, msg: `fail to deal the insert data, error: strconv.ParseInt: parsing "x1": invalid syntax: invalid parameter[expected=Int64][actual=x1]`},
		// JSON, Geometry and Timestamptz take "" (utils.go:636-639, 652-653)
		// and the proxy judges it: checkJSONFieldData lets the empty JSON
		// through (internal/proxy/validate_util.go:956-978); the WKT and
		// ISO readers refuse "" (validate_util.go:923-938, 1234-1256).
		{ref: "utils.go:636-637, proxy/validate_util.go:956-978", path: "/entities/insert",
			body: `{"collectionName": "errs_typed", "data": [{"id": 1, "vector": [0, 0, 0, 1], "geo": "POINT (1 2)", "ts": "2025-01-01T00:00:00Z"}]}`},
		{ref: "utils.go:638-639, proxy/validate_util.go:935-938, merr/utils.go:978,1172-1179", path: "/entities/insert",
			body: `{"collectionName": "errs_typed", "data": [{"id": 1, "vector": [0, 0, 0, 1], "js": {}, "ts": "2025-01-01T00:00:00Z"}]}`,
			code: 1001, msg: "IO failed: syntax error: unexpected $end at line 1, pos 0\nLINE 1: \n        ^"},
		{ref: "utils.go:652-653, proxy/validate_util.go:1246-1252", path: "/entities/insert",
			body: `{"collectionName": "errs_typed", "data": [{"id": 1, "vector": [0, 0, 0, 1], "js": {}, "geo": "POINT (1 2)"}]}`,
			code: 1100, msg: "got invalid timestamptz string '': invalid timezone name; must be a valid IANA Time Zone ID (e.g., 'Asia/Shanghai' or 'UTC'): invalid parameter"},
		// Sparse search vectors: typeutil.CreateSparseFloatRowFromJSON's
		// texts (pkg/util/typeutil/schema.go:3129-3249) in
		// serializeSparseFloatVectors (utils.go:1364-1375).
		{ref: "utils.go:1368-1371, typeutil/schema.go:3194-3197", path: "/entities/search",
			body: `{"collectionName": "errs_sparse", "annsField": "sp", "data": [{"a": 1}]}`,
			code: 1801, msg: `can only accept json format request, error: strconv.ParseUint: parsing "a": invalid syntax: invalid parameter[expected=SparseFloatVector][actual={"a": 1}]`},
		{ref: "utils.go:1368-1371, typeutil/schema.go:3216-3218", path: "/entities/search",
			body: `{"collectionName": "errs_sparse", "annsField": "sp", "data": [{"indices": [1, 2], "values": [0.5]}]}`,
			code: 1801, msg: `can only accept json format request, error: indices and values length mismatch: invalid parameter[expected=SparseFloatVector][actual={"indices": [1, 2], "values": [0.5]}]`},
		{ref: "utils.go:1368-1371, typeutil/schema.go:3050-3051", path: "/entities/search",
			body: `{"collectionName": "errs_sparse", "annsField": "sp", "data": [{"1": -1}]}`,
			code: 1801, msg: `can only accept json format request, error: negative value in sparse float vector: invalid parameter[expected=SparseFloatVector][actual={"1": -1}]`},
		// Sparse insert rows: the same parser in checkAndSetData's
		// WrapErrParameterInvalid (utils.go:440-448), under insert's 1804.
		{ref: "utils.go:444-447, typeutil/schema.go:3194-3197", path: "/entities/insert",
			body: `{"collectionName": "errs_sparse", "data": [{"id": 1, "sp": {"a": 1}}]}`,
			code: 1804, msg: `fail to deal the insert data, error: strconv.ParseUint: parsing "a": invalid syntax: invalid parameter[expected=SparseFloatVector][actual={"a": 1}]`},
		{ref: "utils.go:444-447, typeutil/schema.go:3216-3218", path: "/entities/insert",
			body: `{"collectionName": "errs_sparse", "data": [{"id": 1, "sp": {"indices": [3, 1], "values": [0.5]}}]}`,
			code: 1804, msg: `fail to deal the insert data, error: indices and values length mismatch: invalid parameter[expected=SparseFloatVector][actual={"indices": [3, 1], "values": [0.5]}]`},
		{ref: "utils.go:444-447, typeutil/schema.go:3050-3051", path: "/entities/insert",
			body: `{"collectionName": "errs_sparse", "data": [{"id": 1, "sp": {"2": 0.5, "1": -1}}]}`,
			code: 1804, msg: `fail to deal the insert data, error: negative value in sparse float vector: invalid parameter[expected=SparseFloatVector][actual={"2": 0.5, "1": -1}]`},
		{ref: "utils.go:444-448 (unsorted keys are sorted)", path: "/entities/insert",
			body: `{"collectionName": "errs_sparse", "data": [{"id": 1, "sp": {"9": 0.5, "2": 0.25}}]}`},
		{ref: "utils.go:656-657 (a VarChar takes \"\")", path: "/entities/insert", body: `{"collectionName": "errs_vc", "data": [{"id": 1, "vector": [0, 0, 0, 1], "n": 1, "tags": [1]}]}`},

		// Search of a partition not loaded: the delegator's
		// merr.WrapErrPartitionNotLoaded (querynodev2/delegator/distribution.go:200)
		// under the shard call's prefix, naming the shard's leader: the
		// status's reason is the wrapper next to the root (merr.Status's
		// previousLastError); the task's and the load balancer's prefixes
		// are in its detail only.
		{ref: "delegator/distribution.go:200, task_search.go:886,1084, lb_policy.go:302", path: "/entities/search",
			body: `{"collectionName": "errs_parts", "partitionNames": ["p2"], "data": [[0, 0, 0, 1]]}`,
			code: 201, msg: fmt.Sprintf("fail to search on QueryNode %d: partition not loaded[partition=%d]", partsLeader, p2)},
		{ref: "delegator/distribution.go:200, task_query.go:609,752, lb_policy.go:302", path: "/entities/query",
			body: `{"collectionName": "errs_parts", "partitionNames": ["p2"], "filter": "id > 0"}`,
			code: 201, msg: fmt.Sprintf("fail to Query on QueryNode %d: partition not loaded[partition=%d]", partsLeader, p2)},

		// Request limits: the REST handler passes limit and offset as
		// search params and the proxy checks them (search_util.go:168-226,
		// util.go:199-216, task_search.go:357); fmt.Errorf texts, 65535.
		{ref: "handler_v2.go:1546, search_util.go:202, util.go:205", path: "/entities/search",
			body: `{"collectionName": "errs_parts", "data": [[0, 0, 0, 1]], "limit": 16385}`,
			code: 65535, msg: "topk [16385] is invalid, it should be in range [1, 16384], but got 16385"},
		{ref: "handler_v2.go:1547, search_util.go:226, util.go:205", path: "/entities/search",
			body: `{"collectionName": "errs_parts", "data": [[0, 0, 0, 1]], "limit": 16000, "offset": 385}`,
			code: 65535, msg: "offset+topk [16385] is invalid, it should be in range [1, 16384], but got 16385"},
		{ref: "task_search.go:357, util.go:213", path: "/entities/search",
			body: `{"collectionName": "errs_parts", "data": [` + strings.TrimSuffix(strings.Repeat("[0, 0, 0, 1],", 16385), ",") + `], "limit": 3}`,
			code: 65535, msg: "nq [16385] is invalid, nq (number of search vector per search request) should be in range [1, 16384], but got 16385"},

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

// restPartitionID is a partition's ID, from ShowPartitions over gRPC.
func restPartitionID(t *testing.T, srv *server, coll, part string) int64 {
	t.Helper()
	svc := srv.client(t).GetService()
	r, err := svc.ShowPartitions(testContext(t), &milvuspb.ShowPartitionsRequest{CollectionName: coll, PartitionNames: []string{part}})
	if err := merr.CheckRPCCall(r, err); err != nil {
		t.Fatal(err)
	}
	for i, name := range r.GetPartitionNames() {
		if name == part {
			return r.GetPartitionIDs()[i]
		}
	}
	t.Fatalf("no partition %s in %s", part, coll)
	return 0
}

// restFirstShard is the first virtual channel of a loaded collection
// and the node leading it (GetReplicas), which Milvus's texts of a
// delegator's refusal name.
func restFirstShard(t *testing.T, srv *server, coll string) (string, int64) {
	t.Helper()
	d, err := srv.client(t).DescribeCollection(testContext(t), milvusclient.NewDescribeCollectionOption(coll))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.VirtualChannels) == 0 {
		t.Fatalf("collection %s has no channels", coll)
	}
	ch := d.VirtualChannels[0]
	r, err := srv.client(t).GetService().GetReplicas(testContext(t), &milvuspb.GetReplicasRequest{CollectionName: coll})
	if err := merr.CheckRPCCall(r, err); err != nil {
		t.Fatal(err)
	}
	for _, rep := range r.GetReplicas() {
		for _, sh := range rep.GetShardReplicas() {
			if sh.GetDmChannelName() == ch && sh.GetLeaderID() != 0 {
				return ch, sh.GetLeaderID()
			}
		}
	}
	t.Fatalf("no leader for %s of %s", ch, coll)
	return "", 0
}

// TestSearchPartitionNotLoaded checks the gRPC answer to a search of a
// partition not loaded: Milvus's delegator refuses it with
// merr.WrapErrPartitionNotLoaded (code 201), as REST does in
// TestMilvusRESTErrorTable.
func TestSearchPartitionNotLoaded(t *testing.T) {
	srv := startServer(t, "")
	base := "http://" + srv.addr
	restOK(t, base, "/collections/create", map[string]any{"collectionName": "pnl", "dimension": 4})
	restOK(t, base, "/collections/release", map[string]any{"collectionName": "pnl"})
	restOK(t, base, "/partitions/create", map[string]any{"collectionName": "pnl", "partitionName": "p1"})
	restOK(t, base, "/partitions/create", map[string]any{"collectionName": "pnl", "partitionName": "p2"})
	restOK(t, base, "/partitions/load", map[string]any{"collectionName": "pnl", "partitionNames": []string{"p1"}})
	p2 := restPartitionID(t, srv, "pnl", "p2")
	cli := srv.client(t)
	ctx := testContext(t)
	_, err := cli.Search(ctx, milvusclient.NewSearchOption("pnl", 3, []entity.Vector{entity.FloatVector{0, 0, 0, 1}}).
		WithPartitions("p2").WithANNSField("vector"))
	// The delegator's text under the shard call's prefix
	// (task_search.go:1084, task_query.go:752), naming the shard's leader:
	// merr.Status's reason stops at the wrapper next to the root.
	_, leader := restFirstShard(t, srv, "pnl")
	want := fmt.Sprintf("fail to search on QueryNode %d: partition not loaded[partition=%d]", leader, p2)
	if code := merr.Code(err); code != 201 || err == nil || err.Error() != want {
		t.Fatalf("search of p2: code %d, %v; want 201 %s", code, err, want)
	}
	_, err = cli.Query(ctx, milvusclient.NewQueryOption("pnl").WithFilter("id > 0").WithPartitions("p2"))
	want = fmt.Sprintf("fail to Query on QueryNode %d: partition not loaded[partition=%d]", leader, p2)
	if code := merr.Code(err); code != 201 || err == nil || err.Error() != want {
		t.Fatalf("query of p2: code %d, %v; want 201 %s", code, err, want)
	}
	// The loaded partition still answers.
	if _, err := cli.Search(ctx, milvusclient.NewSearchOption("pnl", 3, []entity.Vector{entity.FloatVector{0, 0, 0, 1}}).
		WithPartitions("p1").WithANNSField("vector")); err != nil {
		t.Fatalf("search of p1: %v", err)
	}
}

// TestRESTMiddlewareOrder checks the steps Milvus's gin middleware takes
// before routing (distributed/proxy/service.go:213-227): the CORS headers
// of RequestHandlerFunc on every answer, OPTIONS answered 204 there
// (httpserver/utils.go:2071-2101), and with authorization on a request
// without credentials answered 401 before an unknown path is 404.
func TestRESTMiddlewareOrder(t *testing.T) {
	srv := startAuthServer(t)
	cors := map[string]string{
		"Access-Control-Allow-Origin":      "*",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Headers":     "Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, accept, origin, Cache-Control, X-Requested-With",
		"Access-Control-Allow-Methods":     "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH",
		"X-Content-Type-Options":           "nosniff",
	}
	do := func(method, path, auth string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+srv.addr+path, strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for k, v := range cors {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s %s: header %s = %q, want %q", method, path, k, got, v)
			}
		}
		return resp, string(b)
	}
	const unauth = `{"code":1800,"message":"user hasn't authenticated"}`
	for _, c := range []struct {
		method, path, auth string
		status             int
		body               string
	}{
		{http.MethodOptions, "/v2/vectordb/collections/list", "", http.StatusNoContent, ""},
		{http.MethodOptions, "/nothing/here", "", http.StatusNoContent, ""},
		{http.MethodPost, "/nothing/here", "", http.StatusUnauthorized, unauth},
		{http.MethodGet, "/v2/vectordb/collections/list", "", http.StatusUnauthorized, unauth},
		{http.MethodPost, "/v2/vectordb/collections/list", "Bearer root:wrong", http.StatusUnauthorized, unauth},
		{http.MethodPost, "/nothing/here", "Bearer root:Milvus", http.StatusNotFound, "404 page not found"},
		{http.MethodGet, "/v2/vectordb/collections/list", "Bearer root:Milvus", http.StatusNotFound, "404 page not found"},
		{http.MethodPost, "/v2/vectordb/collections/list", "Bearer root:Milvus", http.StatusOK, `{"code":0,"data":[]}`},
	} {
		resp, body := do(c.method, c.path, c.auth)
		if resp.StatusCode != c.status || body != c.body {
			t.Errorf("%s %s (%q): HTTP %d %q, want %d %q", c.method, c.path, c.auth, resp.StatusCode, body, c.status, c.body)
		}
	}
}
