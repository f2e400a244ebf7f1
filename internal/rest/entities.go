package rest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/jsonrows"
)

// defaultLimit is the limit of a query or search that names none (Milvus).
const defaultLimit = 100

// schemaOf fetches a collection's schema (by name or alias).
func (h *Handler) schemaOf(ctx context.Context, db, name string) (*schemapb.CollectionSchema, error) {
	resp, err := h.p.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{DbName: db, CollectionName: name})
	if err != nil {
		return nil, err
	}
	return resp.GetSchema(), nil
}

type dataReq struct {
	CollectionName string            `json:"collectionName"`
	PartitionName  string            `json:"partitionName"`
	Data           []json.RawMessage `json:"data"`
}

func (h *Handler) insert(ctx context.Context, c *call) (any, error) { return h.write(ctx, c, false) }
func (h *Handler) upsert(ctx context.Context, c *call) (any, error) { return h.write(ctx, c, true) }

// write inserts or upserts JSON rows: {"insertCount": n, "insertIds": [...]}
// (upsertCount, upsertIds for upsert).
func (h *Handler) write(ctx context.Context, c *call, upsert bool) (any, error) {
	var r dataReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	// bind checked collectionName and data (CollectionDataReq).
	schema, err := h.schemaOf(ctx, c.db, r.CollectionName)
	if err != nil {
		return nil, err
	}
	fields, err := rowsToColumns(schema, r.Data, upsert)
	if err != nil {
		return nil, err
	}
	var res *milvuspb.MutationResult
	if upsert {
		res, err = h.p.Upsert(ctx, &milvuspb.UpsertRequest{DbName: c.db, CollectionName: r.CollectionName,
			PartitionName: r.PartitionName, FieldsData: fields, NumRows: uint32(len(r.Data))})
	} else {
		res, err = h.p.Insert(ctx, &milvuspb.InsertRequest{DbName: c.db, CollectionName: r.CollectionName,
			PartitionName: r.PartitionName, FieldsData: fields, NumRows: uint32(len(r.Data))})
	}
	if err != nil {
		return nil, err
	}
	ids := idsValue(res.GetIDs(), c.allowInt64)
	data := map[string]any{"insertCount": res.GetInsertCnt(), "insertIds": ids}
	if upsert {
		data = map[string]any{"upsertCount": res.GetUpsertCnt(), "upsertIds": ids}
	}
	return envelope{"data": data, "cost": 0}, nil
}

// idsValue renders primary keys as a JSON array.
func idsValue(ids *schemapb.IDs, allowInt64 bool) any {
	if s := ids.GetStrId(); s != nil {
		return nonNil(s.GetData())
	}
	ints := ids.GetIntId().GetData()
	if allowInt64 {
		return nonNil(ints)
	}
	out := make([]string, len(ints))
	for i, v := range ints {
		out[i] = strconv.FormatInt(v, 10)
	}
	return out
}

type deleteReq struct {
	CollectionName string         `json:"collectionName"`
	PartitionName  string         `json:"partitionName"`
	Filter         string         `json:"filter"`
	ExprParams     map[string]any `json:"exprParams"`
}

// delete deletes by filter. Milvus 2.6's CollectionFilterReq requires the
// filter (request_v2.go:317-323), so its by-"id" branch (handler_v2.go:1216)
// is never reached; bind refuses a body without one the same way.
func (h *Handler) delete(ctx context.Context, c *call) (any, error) {
	var r deleteReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	templates, err := exprTemplates(r.ExprParams)
	if err != nil {
		return nil, err
	}
	filter := r.Filter
	res, err := h.p.Delete(ctx, &milvuspb.DeleteRequest{DbName: c.db, CollectionName: r.CollectionName,
		PartitionName: r.PartitionName, Expr: filter, ExprTemplateValues: templates})
	if err != nil {
		return nil, err
	}
	return envelope{"data": map[string]any{"deleteCount": res.GetDeleteCnt()}, "cost": 0}, nil
}

// pkIDsTemplate is the template name pkFilter binds the keys to.
const pkIDsTemplate = "__rest_ids"

// pkFilter builds "<pk> in {ids}" for the keys in id and binds them in
// templates, reading the keys as Milvus's checkGetPrimaryKey and
// convertRange do (httpserver/utils.go:126-175): gjson's Array() of id
// (an array's items, any other value alone, null none); an Int64 key is a
// string's text or another value's raw JSON parsed by spf13/cast v1.3.1's
// ToInt64E (strconv.ParseInt base 0), a VarChar key is a string's text
// and "" for any other value. No keys is an empty list, as Milvus's
// "pk in []". The refusals are 1806, with cast's text.
func pkFilter(schema *schemapb.CollectionSchema, id json.RawMessage, templates map[string]*schemapb.TemplateValue) (string, error) {
	pk := primaryOf(schema)
	if pk == nil {
		return "", restErr(errCheckPK, "collection: %s has no primary field", schema.GetName())
	}
	var items []json.RawMessage
	switch t := bytes.TrimSpace(id); {
	case len(t) == 0 || string(t) == "null":
	case t[0] == '[':
		if err := json.Unmarshal(t, &items); err != nil {
			return "", restErr(errCheckPK, "%v", err)
		}
	default:
		items = []json.RawMessage{t}
	}
	arr := &schemapb.TemplateArrayValue{}
	switch pk.GetDataType() {
	case schemapb.DataType_Int64:
		keys := make([]int64, len(items))
		for i, it := range items {
			text := string(bytes.TrimSpace(it))
			var str string
			if json.Unmarshal(it, &str) == nil {
				text = str
			}
			n, err := strconv.ParseInt(text, 0, 0)
			if err != nil {
				return "", restErr(errCheckPK, "unable to cast %#v of type string to int64", text)
			}
			keys[i] = n
		}
		arr.Data = &schemapb.TemplateArrayValue_LongData{LongData: &schemapb.LongArray{Data: keys}}
	default: // VarChar, the other primary key type
		keys := make([]string, len(items))
		for i, it := range items {
			_ = json.Unmarshal(it, &keys[i]) // gjson's Str: "" for a value that is not a string
		}
		arr.Data = &schemapb.TemplateArrayValue_StringData{StringData: &schemapb.StringArray{Data: keys}}
	}
	templates[pkIDsTemplate] = &schemapb.TemplateValue{Val: &schemapb.TemplateValue_ArrayVal{ArrayVal: arr}}
	return pk.GetName() + " in {" + pkIDsTemplate + "}", nil
}

type queryReq struct {
	CollectionName   string          `json:"collectionName"`
	PartitionNames   []string        `json:"partitionNames"`
	OutputFields     []string        `json:"outputFields"`
	Filter           string          `json:"filter"`
	Limit            *int64          `json:"limit"`
	Offset           int64           `json:"offset"`
	ExprParams       map[string]any  `json:"exprParams"`
	ConsistencyLevel string          `json:"consistencyLevel"`
	ID               json.RawMessage `json:"id"`
}

// query returns the rows a filter selects: [{field: value, ...}].
func (h *Handler) query(ctx context.Context, c *call) (any, error) {
	var r queryReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	templates, err := exprTemplates(r.ExprParams)
	if err != nil {
		return nil, err
	}
	limit := int64(defaultLimit)
	if r.Limit != nil {
		limit = *r.Limit
	}
	var params []*commonpb.KeyValuePair
	countOnly := len(r.OutputFields) == 1 && strings.EqualFold(strings.TrimSpace(r.OutputFields[0]), "count(*)")
	if !countOnly && limit > 0 { // as Milvus: limit 0 means no limit
		params = append(params, &commonpb.KeyValuePair{Key: "limit", Value: strconv.FormatInt(limit, 10)})
		if r.Offset > 0 {
			params = append(params, &commonpb.KeyValuePair{Key: "offset", Value: strconv.FormatInt(r.Offset, 10)})
		}
	}
	return h.runQuery(ctx, c, &milvuspb.QueryRequest{DbName: c.db, CollectionName: r.CollectionName,
		Expr: r.Filter, OutputFields: outputFieldsOrAll(r.OutputFields), PartitionNames: r.PartitionNames,
		QueryParams: params, ExprTemplateValues: templates}, r.ConsistencyLevel)
}

func outputFieldsOrAll(f []string) []string {
	if len(f) == 0 {
		return []string{"*"}
	}
	return f
}

// get returns the rows with the given primary keys.
func (h *Handler) get(ctx context.Context, c *call) (any, error) {
	var r queryReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	schema, err := h.schemaOf(ctx, c.db, r.CollectionName)
	if err != nil {
		return nil, err
	}
	templates := map[string]*schemapb.TemplateValue{}
	filter, err := pkFilter(schema, r.ID, templates)
	if err != nil {
		return nil, err
	}
	return h.runQuery(ctx, c, &milvuspb.QueryRequest{DbName: c.db, CollectionName: r.CollectionName,
		Expr: filter, OutputFields: outputFieldsOrAll(r.OutputFields), PartitionNames: r.PartitionNames,
		ExprTemplateValues: templates}, r.ConsistencyLevel)
}

func (h *Handler) runQuery(ctx context.Context, c *call, req *milvuspb.QueryRequest, level string) (any, error) {
	if err := setConsistency(level, &req.ConsistencyLevel, &req.UseDefaultConsistency); err != nil {
		return nil, err
	}
	resp, err := h.p.Query(ctx, req)
	if err != nil {
		return nil, err
	}
	n := 0
	if fds := resp.GetFieldsData(); len(fds) > 0 {
		col, err := column.FromFieldData(fds[0])
		if err != nil {
			return nil, fmt.Errorf("query result: %w", err)
		}
		n = col.Len()
	}
	rows, err := columnsToRows(resp.GetFieldsData(), n, c.allowInt64)
	if err != nil {
		return nil, fmt.Errorf("query result: %w", err)
	}
	return envelope{"data": rows, "cost": 0}, nil
}

// setConsistency sets a request's level from its name; "" uses the
// collection's default.
func setConsistency(name string, level *commonpb.ConsistencyLevel, useDefault *bool) error {
	if name == "" {
		*useDefault = true
		return nil
	}
	v, ok := commonpb.ConsistencyLevel_value[name]
	if !ok {
		return consistencyErr(name)
	}
	*level = commonpb.ConsistencyLevel(v)
	return nil
}

type searchReq struct {
	CollectionName   string            `json:"collectionName"`
	Data             []json.RawMessage `json:"data"`
	Ids              []json.RawMessage `json:"ids"`
	AnnsField        string            `json:"annsField"`
	PartitionNames   []string          `json:"partitionNames"`
	Filter           string            `json:"filter"`
	GroupingField    string            `json:"groupingField"`
	GroupSize        int64             `json:"groupSize"`
	StrictGroupSize  bool              `json:"strictGroupSize"`
	Limit            *int64            `json:"limit"`
	Offset           int64             `json:"offset"`
	OutputFields     []string          `json:"outputFields"`
	SearchParams     map[string]any    `json:"searchParams"`
	ConsistencyLevel string            `json:"consistencyLevel"`
	ExprParams       map[string]any    `json:"exprParams"`
	FunctionScore    restFunctionScore `json:"functionScore"` // function reranking (hybrid.go)
}

// search runs a vector search: {"data": [hits...], "topks": [...]}, the
// hits of all queries flattened, each with its key, "distance" and the
// output fields.
func (h *Handler) search(ctx context.Context, c *call) (any, error) {
	var r searchReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	if len(r.Ids) > 0 && len(r.Data) > 0 {
		return nil, errIDsAndData
	}
	if len(r.Ids) == 0 && len(r.Data) == 0 {
		return nil, errNoIDsNorData
	}
	templates, err := exprTemplates(r.ExprParams)
	if err != nil {
		return nil, err
	}
	schema, err := h.schemaOf(ctx, c.db, r.CollectionName)
	if err != nil {
		return nil, err
	}
	var group []byte
	var byIDs *schemapb.IDs
	if len(r.Ids) > 0 {
		if byIDs, err = searchIDs(r.Ids, primaryOf(schema)); err != nil {
			return nil, err
		}
	} else if group, err = placeholderGroup(schema, r.AnnsField, c.body); err != nil {
		return nil, err
	}
	limit := int64(defaultLimit)
	if r.Limit != nil {
		limit = *r.Limit
	}
	params, err := searchParams(&r, limit)
	if err != nil {
		return nil, err
	}
	req := &milvuspb.SearchRequest{DbName: c.db, CollectionName: r.CollectionName, PartitionNames: r.PartitionNames,
		Dsl: r.Filter, DslType: commonpb.DslType_BoolExprV1, SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: group}, OutputFields: r.OutputFields,
		SearchParams: params, Nq: int64(len(r.Data)), ExprTemplateValues: templates}
	if byIDs != nil {
		req.SearchInput = &milvuspb.SearchRequest_Ids{Ids: byIDs}
	}
	if len(r.FunctionScore.Functions) > 0 {
		if req.FunctionScore, err = functionScore(&r.FunctionScore); err != nil {
			return nil, err
		}
	}
	if err := setConsistency(r.ConsistencyLevel, &req.ConsistencyLevel, &req.UseDefaultConsistency); err != nil {
		return nil, err
	}
	resp, err := h.p.Search(ctx, req)
	if err != nil {
		return nil, err
	}
	res := resp.GetResults()
	pkName := res.GetPrimaryFieldName()
	if pkName == "" {
		for _, f := range schema.GetFields() {
			if f.GetIsPrimaryKey() {
				pkName = f.GetName()
			}
		}
	}
	rows, err := hitRows(res, pkName, c.allowInt64)
	if err != nil {
		return nil, fmt.Errorf("search result: %w", err)
	}
	topks := res.GetTopks()
	if topks == nil {
		topks = []int64{}
	}
	return envelope{"data": rows, "cost": 0, "topks": topks}, nil
}

// hitRows turns search hits into REST rows: their output fields, the
// primary key under pkName and the score as "distance".
func hitRows(res *schemapb.SearchResultData, pkName string, allowInt64 bool) ([]map[string]any, error) {
	rows, err := columnsToRows(res.GetFieldsData(), len(res.GetScores()), allowInt64)
	if err != nil {
		return nil, err
	}
	ints, strs := res.GetIds().GetIntId().GetData(), res.GetIds().GetStrId().GetData()
	for i, row := range rows {
		switch {
		case i < len(ints):
			row[pkName] = int64Value(ints[i], allowInt64)
		case i < len(strs):
			row[pkName] = strs[i]
		}
		row["distance"] = finite32(res.GetScores()[i])
	}
	return rows, nil
}

// searchedField finds the vector field a search names, or its only one,
// as Milvus's generatePlaceholderGroup (handler_v2.go:1433-1457).
func searchedField(schema *schemapb.CollectionSchema, name string) (*schemapb.FieldSchema, error) {
	var found *schemapb.FieldSchema
	for _, f := range schema.GetFields() {
		if !column.IsVector(f.GetDataType()) && f.GetDataType() != schemapb.DataType_ArrayOfVector {
			continue
		}
		switch {
		case name != "" && f.GetName() == name:
			return f, nil
		case name == "" && found == nil:
			found = f
		case name == "":
			return nil, fmt.Errorf("search without annsField, but already found multiple vector fields: [%s, %s,,,]", found.GetName(), f.GetName())
		}
	}
	if found == nil {
		return nil, fmt.Errorf("cannot find a vector field named: %s", name)
	}
	return found, nil
}

// placeholderGroup encodes the query vectors under "data" in obj (a
// search body, or one sub-search of a hybrid search) for the searched
// field, as Milvus's generatePlaceholderGroup and
// convertQueries2Placeholder (httpserver/utils.go:1313-1435): each type
// decodes the whole array with encoding/json and checks each vector's
// length against the field's dimension. The refusals are 1801 ("can only
// accept json format request, error: ..."), the vector's errors in
// merr.WrapErrParameterInvalid's form with the data's JSON text as the
// actual value.
func placeholderGroup(schema *schemapb.CollectionSchema, anns string, obj json.RawMessage) ([]byte, error) {
	field, err := searchedField(schema, anns)
	if err != nil {
		return nil, restErr(errIncorrectFormat, "%v", err)
	}
	var members map[string]json.RawMessage
	_ = json.Unmarshal(obj, &members) // bind checked the body
	data := bytes.TrimSpace(members["data"])
	t := field.GetDataType()
	var dim int64
	if t != schemapb.DataType_SparseFloatVector {
		d, _ := jsonrows.FieldDim(field)
		dim = int64(d)
	}
	if field.GetIsFunctionOutput() {
		for _, fn := range schema.GetFunctions() {
			if (fn.GetType() == schemapb.FunctionType_BM25 || fn.GetType() == schemapb.FunctionType_TextEmbedding) &&
				len(fn.GetOutputFieldNames()) > 0 && fn.GetOutputFieldNames()[0] == field.GetName() {
				t = schemapb.DataType_VarChar // searched with text
			}
		}
	}
	ph, err := queryPlaceholder(data, t, dim)
	if err != nil {
		return nil, restErr(errIncorrectFormat, "%v", err)
	}
	out, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{ph}})
	if err != nil {
		return nil, fmt.Errorf("marshal placeholder group: %w", err)
	}
	return out, nil
}

// queryPlaceholder is convertQueries2Placeholder for one type.
func queryPlaceholder(data json.RawMessage, t schemapb.DataType, dim int64) (*commonpb.PlaceholderValue, error) {
	ph := &commonpb.PlaceholderValue{Tag: "$0"}
	var err error
	switch t {
	case schemapb.DataType_FloatVector:
		ph.Type = commonpb.PlaceholderType_FloatVector
		ph.Values, err = floatQueries(data, t, dim, float32Bytes)
	case schemapb.DataType_BinaryVector:
		ph.Type = commonpb.PlaceholderType_BinaryVector
		ph.Values, err = byteQueries(data, t, dim, dim/8)
	case schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector:
		ph.Type = commonpb.PlaceholderType_Float16Vector
		if t == schemapb.DataType_BFloat16Vector {
			ph.Type = commonpb.PlaceholderType_BFloat16Vector
		}
		// Float32 numbers, converted, or base64 strings of the bytes,
		// told apart by the first vector (serializeFloatOrByteVectors).
		var rows []json.RawMessage
		_ = json.Unmarshal(data, &rows)
		switch {
		case len(rows) > 0 && len(bytes.TrimSpace(rows[0])) > 0 && bytes.TrimSpace(rows[0])[0] == '[':
			ph.Values, err = floatQueries(data, t, dim, func(fs []float32) []byte { return halfBytes(fs, t) })
		case len(rows) == 0 || (len(bytes.TrimSpace(rows[0])) > 0 && bytes.TrimSpace(rows[0])[0] == '"'):
			ph.Values, err = byteQueries(data, t, dim, dim*2)
		default:
			err = paramInvalid(t.String(), string(data), "invalid type")
		}
	case schemapb.DataType_SparseFloatVector:
		ph.Type = commonpb.PlaceholderType_SparseFloatVector
		// serializeSparseFloatVectors (httpserver/utils.go:1364-1375).
		for _, row := range sparseQueryRows(data) {
			text := gjsonText(row)
			b, perr := sparseQueryRow(text)
			if perr != nil {
				return nil, paramInvalid(t.String(), text, perr.Error())
			}
			ph.Values = append(ph.Values, b)
		}
	case schemapb.DataType_Int8Vector:
		ph.Type = commonpb.PlaceholderType_Int8Vector
		var vecs [][]int8
		if uerr := json.Unmarshal(data, &vecs); uerr != nil {
			return nil, paramInvalid(t.String(), string(data), uerr.Error())
		}
		for _, v := range vecs {
			if int64(len(v)) != dim {
				return nil, paramInvalid(t.String(), string(data), fmt.Sprintf("dimension: %d, but length of []int8: %d", dim, len(v)))
			}
			b := make([]byte, len(v))
			for i, x := range v {
				b[i] = byte(x)
			}
			ph.Values = append(ph.Values, b)
		}
	case schemapb.DataType_VarChar:
		// gjson's String() of each item: a string's text, else its JSON.
		ph.Type = commonpb.PlaceholderType_VarChar
		var rows []json.RawMessage
		_ = json.Unmarshal(data, &rows)
		for _, row := range rows {
			var text string
			if json.Unmarshal(row, &text) != nil {
				text = string(bytes.TrimSpace(row))
			}
			ph.Values = append(ph.Values, []byte(text))
		}
	default:
		// Milvus sends an empty placeholder of no type, which its proxy
		// refuses; Milvago names the type.
		return nil, errs.InvalidParameter("searching a %s field is not supported", t)
	}
	if err != nil {
		return nil, err
	}
	return ph, nil
}

// floatQueries is serializeFloatVectors: [][]float32, each of dim values.
func floatQueries(data json.RawMessage, t schemapb.DataType, dim int64, encode func([]float32) []byte) ([][]byte, error) {
	var vecs [][]float32
	if err := json.Unmarshal(data, &vecs); err != nil {
		return nil, paramInvalid(t.String(), string(data), err.Error())
	}
	out := make([][]byte, 0, len(vecs))
	for _, v := range vecs {
		if int64(len(v)) != dim {
			return nil, paramInvalid(t.String(), string(data), fmt.Sprintf("dimension: %d, but length of []float: %d", dim, len(v)))
		}
		out = append(out, encode(v))
	}
	return out, nil
}

// byteQueries is serializeByteVectors: [][]byte (base64 strings or arrays
// of bytes), each of bytesLen bytes.
func byteQueries(data json.RawMessage, t schemapb.DataType, dim, bytesLen int64) ([][]byte, error) {
	var vecs [][]byte
	if err := json.Unmarshal(data, &vecs); err != nil {
		return nil, paramInvalid(t.String(), string(data), err.Error())
	}
	for _, v := range vecs {
		if int64(len(v)) != bytesLen {
			return nil, paramInvalid(t.String(), string(v),
				fmt.Sprintf("dimension: %d, bytesLen: %d, but length of []byte: %d", dim, bytesLen, len(v)))
		}
	}
	return vecs, nil
}

// halfBytes encodes float32 values as float16 or bfloat16.
func halfBytes(fs []float32, t schemapb.DataType) []byte {
	b := make([]byte, 2*len(fs))
	for i, x := range fs {
		h := distance.Float32ToBFloat16(x)
		if t == schemapb.DataType_Float16Vector {
			h = distance.Float32ToFloat16(x)
		}
		binary.LittleEndian.PutUint16(b[2*i:], h)
	}
	return b
}

func float32Bytes(fs []float32) []byte {
	b := make([]byte, 4*len(fs))
	for j, x := range fs {
		binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
	}
	return b
}

// searchParams builds the request's key-value search parameters from the
// REST fields: annsField, limit, offset, grouping, and searchParams
// ({"metricType": ..., "params": {...}}; other keys join "params").
func searchParams(r *searchReq, limit int64) ([]*commonpb.KeyValuePair, error) {
	add := func(out []*commonpb.KeyValuePair, k, v string) []*commonpb.KeyValuePair {
		return append(out, &commonpb.KeyValuePair{Key: k, Value: v})
	}
	var out []*commonpb.KeyValuePair
	if r.AnnsField != "" {
		out = add(out, "anns_field", r.AnnsField)
	}
	out = add(out, "topk", strconv.FormatInt(limit, 10))
	out = add(out, "offset", strconv.FormatInt(r.Offset, 10))
	out = add(out, "round_decimal", "-1")
	if r.GroupingField != "" {
		out = add(out, "group_by_field", r.GroupingField)
		if r.GroupSize > 0 {
			out = add(out, "group_size", strconv.FormatInt(r.GroupSize, 10))
		}
		if r.StrictGroupSize {
			out = add(out, "strict_group_size", "true")
		}
	}
	index := map[string]any{}
	for _, k := range sortedKeys(r.SearchParams) {
		v := r.SearchParams[k]
		switch k {
		case "metricType", "metric_type":
			out = add(out, "metric_type", paramString(v))
		case "params":
			if v == nil {
				continue
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, errs.InvalidParameter("searchParams.params must be a dict") // utils.go:2291
			}
			for pk, pv := range m {
				if top, ok := r.SearchParams[pk]; ok && pk != "params" && !sameParam(top, pv) {
					// utils.go:2313-2316
					return nil, errs.InvalidParameter("%s", fmt.Sprintf("ambiguous parameter: %s, in search_param: %v, in search_param.params: %v", pk, top, pv))
				}
				index[pk] = pv
			}
		case "ignoreGrowing", "ignore_growing":
			out = add(out, "ignore_growing", paramString(v))
		default:
			index[k] = v
		}
	}
	b, err := json.Marshal(index)
	if err != nil {
		return nil, errs.InvalidParameter("searchParams: %v", err)
	}
	return add(out, "params", string(b)), nil
}

// sameParam is generateSearchParams's deepEqual: numbers by value, other
// values deeply.
func sameParam(a, b any) bool {
	na, okA := a.(json.Number)
	nb, okB := b.(json.Number)
	if okA && okB {
		fa, errA := na.Float64()
		fb, errB := nb.Float64()
		return errA == nil && errB == nil && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

// exprTemplates converts exprParams (JSON values) to filter templates.
func exprTemplates(params map[string]any) (map[string]*schemapb.TemplateValue, error) {
	out := make(map[string]*schemapb.TemplateValue, len(params))
	for k, v := range params {
		tv, err := templateValue(v)
		if err != nil {
			return nil, errs.InvalidParameter("exprParams[%s]: %v", k, err)
		}
		out[k] = tv
	}
	return out, nil
}

func templateValue(v any) (*schemapb.TemplateValue, error) {
	switch x := v.(type) {
	case bool:
		return &schemapb.TemplateValue{Val: &schemapb.TemplateValue_BoolVal{BoolVal: x}}, nil
	case string:
		return &schemapb.TemplateValue{Val: &schemapb.TemplateValue_StringVal{StringVal: x}}, nil
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return &schemapb.TemplateValue{Val: &schemapb.TemplateValue_Int64Val{Int64Val: n}}, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, err
		}
		return &schemapb.TemplateValue{Val: &schemapb.TemplateValue_FloatVal{FloatVal: f}}, nil
	case []any:
		arr, err := templateArray(x, 0)
		if err != nil {
			return nil, err
		}
		return &schemapb.TemplateValue{Val: &schemapb.TemplateValue_ArrayVal{ArrayVal: arr}}, nil
	}
	return nil, fmt.Errorf("unsupported value %v", v)
}

// templateArray converts a homogeneous JSON array (ints widen to doubles
// when mixed with floats; nested arrays up to a small depth).
func templateArray(items []any, depth int) (*schemapb.TemplateArrayValue, error) {
	if depth > 4 {
		return nil, fmt.Errorf("arrays nested too deep")
	}
	var bools []bool
	var longs []int64
	var doubles []float64
	var strs []string
	var arrays []*schemapb.TemplateArrayValue
	allInt := true
	for _, it := range items {
		switch x := it.(type) {
		case bool:
			bools = append(bools, x)
		case string:
			strs = append(strs, x)
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				return nil, err
			}
			doubles = append(doubles, f)
			if n, err := x.Int64(); err == nil {
				longs = append(longs, n)
			} else {
				allInt = false
			}
		case []any:
			a, err := templateArray(x, depth+1)
			if err != nil {
				return nil, err
			}
			arrays = append(arrays, a)
		default:
			return nil, fmt.Errorf("unsupported array element %v", it)
		}
	}
	kinds := 0
	for _, n := range []int{len(bools), len(doubles), len(strs), len(arrays)} {
		if n > 0 {
			kinds++
		}
	}
	if kinds > 1 {
		return nil, fmt.Errorf("array elements must share one type")
	}
	switch {
	case len(bools) > 0:
		return &schemapb.TemplateArrayValue{Data: &schemapb.TemplateArrayValue_BoolData{BoolData: &schemapb.BoolArray{Data: bools}}}, nil
	case len(strs) > 0:
		return &schemapb.TemplateArrayValue{Data: &schemapb.TemplateArrayValue_StringData{StringData: &schemapb.StringArray{Data: strs}}}, nil
	case len(arrays) > 0:
		return &schemapb.TemplateArrayValue{Data: &schemapb.TemplateArrayValue_ArrayData{ArrayData: &schemapb.TemplateArrayValueArray{Data: arrays}}}, nil
	case len(doubles) > 0 && !allInt:
		return &schemapb.TemplateArrayValue{Data: &schemapb.TemplateArrayValue_DoubleData{DoubleData: &schemapb.DoubleArray{Data: doubles}}}, nil
	}
	return &schemapb.TemplateArrayValue{Data: &schemapb.TemplateArrayValue_LongData{LongData: &schemapb.LongArray{Data: longs}}}, nil
}
