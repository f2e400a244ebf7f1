package proxy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"maps"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/bm25"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/index"
)

// Search parameter keys (Milvus's proxy constants and the Go SDK's spXxx).
const (
	annsFieldKey    = "anns_field"
	topKKey         = "topk"
	limitKey        = "limit"
	offsetKey       = "offset"
	metricTypeKey   = "metric_type"
	searchParamsKey = "params"
	roundDecimalKey = "round_decimal"
	groupByFieldKey = "group_by_field"
	groupSizeKey    = "group_size"
	strictGroupKey  = "strict_group_size"
	ignoreGrowingKy = "ignore_growing"
	jsonPathKey     = "json_path"
	jsonTypeKey     = "json_type"
	strictCastKey   = "strict_cast"
)

// searchSpec is a validated search request: which field, how many hits and
// the query vectors, ready for the shard leaders.
type searchSpec struct {
	FieldID int64
	Field   *schemapb.FieldSchema
	// Metric is the metric to rank by: the request's, which must equal the
	// index's, or the index's when the request names none.
	Metric index.Metric
	// TopK is the number of hits the user asked for per query; Offset hits
	// are skipped first, so each shard must return TopK+Offset.
	TopK, Offset int
	// RoundDecimal is -1 (no rounding) or 0..6 digits for the scores.
	RoundDecimal int
	// Params are the index search parameters ("ef", "nprobe", "radius",
	// "range_filter", "drop_ratio_search", ...) flattened to strings.
	Params map[string]string
	// Queries holds the NQ query vectors: float vectors (FloatVector and, converted,
	// Float16/BFloat16/Int8 vectors), binary vectors or sparse rows.
	Queries index.Dataset
	NQ      int
	// EmbListLens is, for a search of an embedding list field, the number
	// of vectors of each query list (Queries holds them all).
	EmbListLens []int
	// GroupByField is the field (or dynamic key) to group hits by; "" for none.
	GroupByField string
	// GroupByFieldID is the field GroupByField names, or the dynamic field's
	// ID when it names a dynamic key (then GroupByField is the key).
	GroupByFieldID int64
	// GroupSize is the number of hits per group (1..10); StrictGroupSize
	// asks for groups to be filled to GroupSize.
	GroupSize       int
	StrictGroupSize bool
	// GroupJSONPath, GroupJSONType and GroupStrictCast say how a JSON
	// group-by field (or the dynamic field) is read: the json_path's keys
	// (none: the whole document), the json_type cast (None: the value's
	// JSON text) and strict_cast (segment.GroupBy).
	GroupJSONPath   []string
	GroupJSONType   schemapb.DataType
	GroupStrictCast bool
	IgnoreGrowing   bool
}

// kvLookup returns the value of key in Milvus's repeated key-value pairs
// (the first occurrence, as funcutil.GetAttrByKeyFromRepeatedKV).
func kvLookup(pairs []*commonpb.KeyValuePair, key string) (string, bool) {
	for _, p := range pairs {
		if p.GetKey() == key {
			return p.GetValue(), true
		}
	}
	return "", false
}

// limitRangeError is Milvus's validateLimit text.
func limitRangeError(maxTopK int, v int64) string {
	return "it should be in range [1, " + strconv.Itoa(maxTopK) + "], but got " + strconv.FormatInt(v, 10)
}

// parseSearchRequest validates a Search request against a collection schema
// as Milvus 2.6 does (searchTask.PreExecute, parseSearchInfo and the checks
// segcore applies to the placeholder group), in that order. indexMetric
// reports the metric of the index built on a vector field.
func parseSearchRequest(lim Limits, schema *schemapb.CollectionSchema, req *milvuspb.SearchRequest, indexMetric func(fieldID int64) (index.Metric, bool)) (*searchSpec, error) {
	params := req.GetSearchParams()
	group := &commonpb.PlaceholderGroup{}
	if err := proto.Unmarshal(req.GetPlaceholderGroup(), group); err != nil {
		return nil, errPlain("%v", err)
	}
	nq := req.GetNq()
	if nq == 0 {
		for _, ph := range group.GetPlaceholders() {
			nq += int64(len(ph.GetValues()))
		}
	}
	if nq <= 0 || nq > int64(lim.NQ) {
		return nil, errPlain("nq [%d] is invalid, nq (number of search vector per search request) should be in range [1, %d], but got %d", nq, lim.NQ, nq)
	}

	annsField, _ := kvLookup(params, annsFieldKey)
	if annsField == "" {
		var vecs []*schemapb.FieldSchema
		for _, f := range schema.GetFields() {
			// Milvus's GetVectorFieldSchemas: struct array embedding lists count.
			if column.IsVector(f.GetDataType()) || f.GetDataType() == schemapb.DataType_ArrayOfVector {
				vecs = append(vecs, f)
			}
		}
		switch len(vecs) {
		case 0:
			return nil, errPlain("%s not found in schema", annsFieldKey)
		case 1:
			annsField = vecs[0].GetName()
		default:
			return nil, errPlain("multiple anns_fields exist, please specify a anns_field in search_params")
		}
	}

	spec := &searchSpec{NQ: int(nq), RoundDecimal: defaultRoundDecimal, GroupSize: 1}
	if err := parseSearchInfo(lim.TopK, schema, params, spec); err != nil {
		return nil, err
	}

	field := fieldByName(schema, annsField)
	if field == nil || field.GetIsDynamic() {
		return nil, errPlain("failed to get field schema by name: fieldName(%s) not found", annsField)
	}
	if field.GetDataType() == schemapb.DataType_ArrayOfVector {
		return parseEmbListSearch(spec, field, group, req, indexMetric)
	}
	if !column.IsVector(field.GetDataType()) {
		return nil, errInvalidMsg("failed to create query plan: field (%s) to search is not of vector data type", annsField)
	}
	if spec.GroupByField != "" && field.GetDataType() == schemapb.DataType_BinaryVector {
		return nil, errPlain("not support search_group_by operation based on binary vector column")
	}
	spec.Field, spec.FieldID = field, field.GetFieldID()

	metric, _ := kvLookup(params, metricTypeKey)
	metric = strings.ToUpper(strings.TrimSpace(metric))
	built, hasIndex := index.Metric(""), false
	if indexMetric != nil {
		built, hasIndex = indexMetric(field.GetFieldID())
	}
	switch {
	case hasIndex && metric != "" && !strings.EqualFold(metric, string(built)):
		return nil, errPlain("metric type not match: invalid parameter[expected=%s][actual=%s]", built, metric)
	case hasIndex:
		spec.Metric = built
	case metric != "":
		if !metricFits(index.Metric(metric), field.GetDataType()) {
			return nil, errPlain("data_type %s mismatch with metric_type %s", field.GetDataType(), metric)
		}
		spec.Metric = index.Metric(metric)
	default:
		spec.Metric = defaultMetric(field.GetDataType())
	}

	if len(group.GetPlaceholders()) != 1 {
		return nil, errInvalidMsg("the number of placeholders must be 1, but got %d", len(group.GetPlaceholders()))
	}
	if bm25.IsOutput(schema, field.GetFieldID()) {
		name, _ := kvLookup(params, "analyzer_name")
		queries, err := bm25Queries(schema, field, spec, group.GetPlaceholders()[0], int(nq), name)
		if err != nil {
			return nil, err
		}
		spec.Queries = queries
		return spec, nil
	}
	queries, err := decodeQueries(group.GetPlaceholders()[0], field, int(nq))
	if err != nil {
		return nil, err
	}
	spec.Queries = queries
	return spec, nil
}

// parseSearchInfo reads topk, offset, round_decimal, params and group_by
// the way Milvus's parseSearchInfo does (its plain errors have code 65535).
func parseSearchInfo(maxTopK int, schema *schemapb.CollectionSchema, params []*commonpb.KeyValuePair, spec *searchSpec) error {
	topKStr, ok := kvLookup(params, topKKey)
	if !ok {
		if topKStr, ok = kvLookup(params, limitKey); !ok {
			return errPlain("%s not found in search_params", topKKey)
		}
	}
	topK, err := strconv.ParseInt(strings.TrimSpace(topKStr), 0, 64)
	if err != nil {
		return errPlain("%s [%s] is invalid", topKKey, topKStr)
	}
	if topK <= 0 || topK > int64(maxTopK) {
		return errPlain("%s [%d] is invalid, %s", topKKey, topK, limitRangeError(maxTopK, topK))
	}
	var offset int64
	if s, ok := kvLookup(params, offsetKey); ok {
		if offset, err = strconv.ParseInt(strings.TrimSpace(s), 0, 64); err != nil {
			return errPlain("%s [%s] is invalid", offsetKey, s)
		}
		if offset != 0 && (offset < 0 || offset > int64(maxTopK)) {
			return errPlain("%s [%d] is invalid, %s", offsetKey, offset, limitRangeError(maxTopK, offset))
		}
	}
	if sum := topK + offset; sum > int64(maxTopK) {
		return errPlain("%s+%s [%d] is invalid, %s", offsetKey, topKKey, sum, limitRangeError(maxTopK, sum))
	}
	spec.TopK, spec.Offset = int(topK), int(offset)

	roundStr, ok := kvLookup(params, roundDecimalKey)
	if !ok {
		roundStr = "-1"
	}
	round, err := strconv.ParseInt(strings.TrimSpace(roundStr), 0, 64)
	if err != nil || (round != -1 && (round < 0 || round > 6)) {
		return errPlain("%s [%s] is invalid, should be -1 or an integer in range [0, 6]", roundDecimalKey, roundStr)
	}
	spec.RoundDecimal = int(round)

	paramStr, _ := kvLookup(params, searchParamsKey)
	if spec.Params, err = flattenSearchParams(paramStr); err != nil {
		return err
	}

	if name, ok := kvLookup(params, groupByFieldKey); ok && name != "" {
		f := fieldByName(schema, name)
		if f == nil {
			f = dynamicField(schema)
		}
		if f == nil {
			return errWithField(errs.ErrFieldNotFound, "field", name, "groupBy field not found in schema")
		}
		spec.GroupByField, spec.GroupByFieldID = name, f.GetFieldID()
	}
	if s, ok := kvLookup(params, groupSizeKey); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
		if err != nil {
			return errInvalidMsg("failed to parse input group size:%s", s)
		}
		if n <= 0 {
			return errInvalidMsg("input group size:%d is negative, failed to do search_groupby", n)
		}
		if n > maxGroupSize {
			return errInvalidMsg("input group size:%d exceeds configured max group size:%d", n, maxGroupSize)
		}
		spec.GroupSize = int(n)
	}
	if s, ok := kvLookup(params, strictGroupKey); ok {
		spec.StrictGroupSize, _ = strconv.ParseBool(s)
	}
	if err := parseGroupJSON(params, schema, spec); err != nil {
		return err
	}
	if spec.GroupByField != "" {
		if _, ok := spec.Params["radius"]; ok {
			return errInvalidValue("", "", "Not allowed to do range-search when doing search-group-by")
		}
	}
	if s, ok := kvLookup(params, ignoreGrowingKy); ok {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errPlain("parse ignore growing field failed")
		}
		spec.IgnoreGrowing = b
	}
	return nil
}

// searchParamsCache holds the flattened form of the "params" strings seen
// last: a client sends the same one or two (`{"ef":64}`) with every
// search, and parsing them as JSON was the proxy's biggest cost per search
// (7-9% of its CPU). Bounded: when full it starts again empty.
var searchParamsCache = struct {
	sync.RWMutex
	m map[string]map[string]string
}{m: map[string]map[string]string{}}

const searchParamsCacheSize = 256

// flattenSearchParams turns the "params" JSON object into string values:
// numbers and booleans keep their JSON text, strings lose their quotes,
// nested values stay JSON. A string parsed before is not parsed again;
// the caller gets its own copy of the map.
func flattenSearchParams(s string) (map[string]string, error) {
	searchParamsCache.RLock()
	cached, ok := searchParamsCache.m[s]
	searchParamsCache.RUnlock()
	if ok {
		return maps.Clone(cached), nil
	}
	out, err := parseSearchParams(s)
	if err != nil || len(s) > 4096 {
		return out, err
	}
	searchParamsCache.Lock()
	if len(searchParamsCache.m) >= searchParamsCacheSize {
		clear(searchParamsCache.m)
	}
	searchParamsCache.m[s] = maps.Clone(out)
	searchParamsCache.Unlock()
	return out, nil
}

func parseSearchParams(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errInvalidMsg("search params %s is not a json object", s)
	}
	if _, err := dec.Token(); err != io.EOF { // `{"ef": 64} x` is not one object either
		return nil, errInvalidMsg("search params %s is not a json object", s)
	}
	for k, raw := range m {
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && raw[0] == '"' {
			var str string
			if err := json.Unmarshal(raw, &str); err == nil {
				out[k] = str
				continue
			}
		}
		out[k] = string(raw)
	}
	return out, nil
}

// metricFits reports whether Milvus accepts metric m for vectors of type t.
func metricFits(m index.Metric, t schemapb.DataType) bool {
	switch t {
	case schemapb.DataType_FloatVector, schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector, schemapb.DataType_Int8Vector:
		return m == index.L2 || m == index.IP || m == index.Cosine
	case schemapb.DataType_BinaryVector:
		return m == index.Hamming || m == index.Jaccard || m == "SUBSTRUCTURE" || m == "SUPERSTRUCTURE"
	case schemapb.DataType_SparseFloatVector:
		return m == index.IP || m == index.BM25
	}
	return false
}

// defaultMetric is the metric of a field searched without an index or a
// metric_type: AUTOINDEX's defaults in Milvus 2.6.
func defaultMetric(t schemapb.DataType) index.Metric {
	switch t {
	case schemapb.DataType_BinaryVector:
		return index.Hamming
	case schemapb.DataType_SparseFloatVector:
		return index.IP
	}
	return index.Cosine
}

// segcoreVectorType is the name segcore gives a vector type in its errors.
func segcoreVectorType(t schemapb.DataType) string {
	switch t {
	case schemapb.DataType_FloatVector:
		return "VECTOR_FLOAT"
	case schemapb.DataType_BinaryVector:
		return "VECTOR_BINARY"
	case schemapb.DataType_Float16Vector:
		return "VECTOR_FLOAT16"
	case schemapb.DataType_BFloat16Vector:
		return "VECTOR_BFLOAT16"
	case schemapb.DataType_SparseFloatVector:
		return "VECTOR_SPARSE_U32_F32"
	case schemapb.DataType_Int8Vector:
		return "VECTOR_INT8"
	}
	return strings.ToUpper(t.String())
}

// placeholderDataType maps a placeholder type to the vector type it carries.
func placeholderDataType(t commonpb.PlaceholderType) schemapb.DataType {
	switch t {
	case commonpb.PlaceholderType_FloatVector:
		return schemapb.DataType_FloatVector
	case commonpb.PlaceholderType_BinaryVector:
		return schemapb.DataType_BinaryVector
	case commonpb.PlaceholderType_Float16Vector:
		return schemapb.DataType_Float16Vector
	case commonpb.PlaceholderType_BFloat16Vector:
		return schemapb.DataType_BFloat16Vector
	case commonpb.PlaceholderType_SparseFloatVector:
		return schemapb.DataType_SparseFloatVector
	case commonpb.PlaceholderType_Int8Vector:
		return schemapb.DataType_Int8Vector
	case commonpb.PlaceholderType_VarChar:
		return schemapb.DataType_VarChar
	}
	return schemapb.DataType_None
}

// decodeQueries checks the placeholder's type and sizes against the field
// and decodes its values into a Dataset. Float32 queries against a
// Float16/BFloat16 field are accepted (Milvus converts them).
func decodeQueries(ph *commonpb.PlaceholderValue, field *schemapb.FieldSchema, nq int) (index.Dataset, error) {
	ft := field.GetDataType()
	pt := placeholderDataType(ph.GetType())
	values := ph.GetValues()
	compatible := pt == ft || (pt == schemapb.DataType_FloatVector && (ft == schemapb.DataType_Float16Vector || ft == schemapb.DataType_BFloat16Vector))
	if !compatible {
		return index.Dataset{}, &segcoreQueryError{errPlain("vector type must be the same, field %s - type %s, search info type %s",
			field.GetName(), segcoreVectorType(ft), segcoreVectorType(pt))}
	}
	if len(values) != nq {
		return index.Dataset{}, errInvalidValue(nq, len(values), "the number of query vectors does not match nq")
	}
	if ft == schemapb.DataType_SparseFloatVector {
		if err := validateSparseQueries(values); err != nil {
			return index.Dataset{}, err
		}
		rows := make([][]byte, len(values))
		copy(rows, values)
		return index.Dataset{Sparse: rows}, nil
	}
	dim := fieldDim(field)
	width := column.VectorRowBytes(pt, dim)
	for _, v := range values {
		if len(v) != width || width == 0 {
			return index.Dataset{}, &segcoreQueryError{errPlain("vector dimension mismatch, expected vector size(byte) %d, actual %d.", width, len(v))}
		}
	}
	if pt == schemapb.DataType_BinaryVector {
		out := make([]byte, 0, width*nq)
		for _, v := range values {
			out = append(out, v...)
		}
		return index.Dataset{Dim: dim, Binary: out}, nil
	}
	out := make([]float32, dim*nq)
	for i, v := range values {
		row := out[i*dim : (i+1)*dim]
		switch pt {
		case schemapb.DataType_FloatVector:
			for j := range row {
				row[j] = math.Float32frombits(binary.LittleEndian.Uint32(v[4*j:]))
			}
		case schemapb.DataType_Float16Vector:
			distance.Float16sToFloat32s(row, v)
		case schemapb.DataType_BFloat16Vector:
			distance.BFloat16sToFloat32s(row, v)
		case schemapb.DataType_Int8Vector:
			for j := range row {
				row[j] = float32(int8(v[j]))
			}
		}
	}
	// A NaN or infinite component would rank every row arbitrarily:
	// refused as Milvus's validate_util refuses it in inserted vectors.
	if err := verifyFloats(out); err != nil {
		return index.Dataset{}, err
	}
	return index.Dataset{Dim: dim, Float: out}, nil
}

// parseQueryParams reads a Query's "limit" and "offset" as Milvus does.
// Without a limit it returns limit -1 (unlimited); the caller must then
// reject a query without a filter ("empty expression should be used with
// limit") and a count(*) with a limit ("count entities with pagination is
// not allowed"). Other keys ("reduce_stop_for_best", "iterator", ...) are
// ignored.
func parseQueryParams(maxQueryResultWindow int, params []*commonpb.KeyValuePair) (limit, offset int, err error) {
	limitStr, ok := kvLookup(params, limitKey)
	if !ok {
		return -1, 0, nil
	}
	l, perr := strconv.ParseInt(strings.TrimSpace(limitStr), 0, 64)
	if perr != nil {
		return 0, 0, errPlain("%s [%s] is invalid", limitKey, limitStr)
	}
	var o int64
	if s, ok := kvLookup(params, offsetKey); ok {
		if o, perr = strconv.ParseInt(strings.TrimSpace(s), 0, 64); perr != nil {
			return 0, 0, errPlain("%s [%s] is invalid", offsetKey, s)
		}
	}
	switch {
	case o < 0:
		return 0, 0, errPlain("invalid max query result window, %s [%d] is invalid, should be gte than 0", offsetKey, o)
	case l <= 0:
		return 0, 0, errPlain("invalid max query result window, %s [%d] is invalid, should be greater than 0", limitKey, l)
	case o+l > int64(maxQueryResultWindow):
		return 0, 0, errPlain("invalid max query result window, (offset+limit) should be in range [1, %d], but got %d", maxQueryResultWindow, o+l)
	}
	return int(l), int(o), nil
}

// queryIgnoreGrowing reads a Query's "ignore_growing" parameter, as Milvus
// 2.6's isIgnoreGrowing (a plain error, 65535, when it is not a bool).
func queryIgnoreGrowing(params []*commonpb.KeyValuePair) (bool, error) {
	s, ok := kvLookup(params, ignoreGrowingKy)
	if !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, errPlain("parse ignore growing field failed")
	}
	return b, nil
}

// parseGroupJSON reads json_path, json_type and strict_cast as Milvus's
// parseGroupByInfo does: the path must name the group-by field (a dynamic
// key names the dynamic field), an unknown json_type is ignored, and a
// strict_cast that is not a bool is false.
func parseGroupJSON(params []*commonpb.KeyValuePair, schema *schemapb.CollectionSchema, spec *searchSpec) error {
	if path, ok := kvLookup(params, jsonPathKey); ok && path != "" {
		id, keys, err := expr.ParseIdentifier(schema, path)
		if err != nil {
			return errs.InvalidParameter("%v", err)
		}
		if id != spec.GroupByFieldID {
			return errs.Plain("fieldID not match with field name")
		}
		spec.GroupJSONPath = keys
	}
	if s, ok := kvLookup(params, jsonTypeKey); ok {
		if t, known := schemapb.DataType_value[s]; known {
			spec.GroupJSONType = schemapb.DataType(t)
		}
	}
	if s, ok := kvLookup(params, strictCastKey); ok {
		spec.GroupStrictCast, _ = strconv.ParseBool(s)
	}
	return nil
}
