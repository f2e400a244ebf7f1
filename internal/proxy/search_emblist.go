package proxy

import (
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/segment"
)

// embListPlaceholder maps an EmbList placeholder type to the element type
// of the vectors it carries.
func embListPlaceholder(t commonpb.PlaceholderType) schemapb.DataType {
	switch t {
	case commonpb.PlaceholderType_EmbListFloatVector:
		return schemapb.DataType_FloatVector
	case commonpb.PlaceholderType_EmbListFloat16Vector:
		return schemapb.DataType_Float16Vector
	case commonpb.PlaceholderType_EmbListBFloat16Vector:
		return schemapb.DataType_BFloat16Vector
	case commonpb.PlaceholderType_EmbListBinaryVector:
		return schemapb.DataType_BinaryVector
	case commonpb.PlaceholderType_EmbListInt8Vector:
		return schemapb.DataType_Int8Vector
	}
	return schemapb.DataType_None
}

// isEmbListMetric reports whether m is one of Milvus's EmbListMetrics.
func isEmbListMetric(m index.Metric) bool { return segment.EmbListElementMetric(m) != "" }

// parseEmbListSearch finishes parseSearchRequest for a search of an
// embedding list field (a struct array's vector sub-field): no range,
// grouping or iterator search (Milvus 2.6's parseSearchInfo, in that
// order; element-level searches too), a MAX_SIM
// metric, and one EmbList placeholder value per query.
func parseEmbListSearch(spec *searchSpec, field *schemapb.FieldSchema, group *commonpb.PlaceholderGroup, req *milvuspb.SearchRequest, indexMetric func(int64) (index.Metric, bool)) (*searchSpec, error) {
	name := field.GetName()
	if _, ok := spec.Params["radius"]; ok {
		return nil, errInvalidValue("", "", "range search is not supported for vector array (embedding list) fields, fieldName:->"+name)
	}
	// Milvus 2.6 refuses grouping for every search of an embedding list
	// field, element-level ones included (parseSearchInfo step 7, before it
	// looks at the placeholder); master lifted this, 2.6 did not.
	if spec.GroupByField != "" {
		return nil, errInvalidValue("", "", "group by search is not supported for vector array (embedding list) fields, fieldName:->"+name)
	}
	if v, ok := kvLookup(req.GetSearchParams(), "iterator"); ok && strings.EqualFold(v, "true") {
		return nil, errInvalidValue("", "", "search iterator is not supported for vector array (embedding list) fields, fieldName:->"+name)
	}
	spec.Field, spec.FieldID = field, field.GetFieldID()

	if len(group.GetPlaceholders()) != 1 {
		return nil, errInvalidMsg("the number of placeholders must be 1, but got %d", len(group.GetPlaceholders()))
	}
	ph := group.GetPlaceholders()[0]
	// A plain float vector query is an element-level search: each query
	// vector against every element of the rows' lists, a row scoring its
	// best element under an element metric (COSINE, IP, L2).
	elementLevel := ph.GetType() == commonpb.PlaceholderType_FloatVector && field.GetElementType() == schemapb.DataType_FloatVector

	metric, _ := kvLookup(req.GetSearchParams(), metricTypeKey)
	metric = strings.ToUpper(strings.TrimSpace(metric))
	built, hasIndex := index.Metric(""), false
	if indexMetric != nil {
		built, hasIndex = indexMetric(field.GetFieldID())
	}
	switch {
	case hasIndex && metric != "" && !index.SameEmbListScoring(built, index.Metric(metric)):
		return nil, errPlain("metric type not match: invalid parameter[expected=%s][actual=%s]", built, metric)
	case metric != "":
		if elementLevel != (index.ElementMaxSim(index.Metric(metric)) != "") {
			return nil, errPlain("data_type %s mismatch with metric_type %s", field.GetDataType(), metric)
		}
		spec.Metric = index.Metric(metric)
	case hasIndex && elementLevel && index.ElementMaxSim(built) == "":
		spec.Metric = index.EmbListElement(built) // a MAX_SIM index: its element metric
	case hasIndex && !elementLevel && index.ElementMaxSim(built) != "":
		spec.Metric = index.ElementMaxSim(built) // an element index: its MAX_SIM metric
	case hasIndex:
		spec.Metric = built
	case elementLevel:
		spec.Metric = index.Cosine
	default:
		spec.Metric = index.MaxSimCosine
	}

	if elem := embListPlaceholder(ph.GetType()); !elementLevel && elem != field.GetElementType() {
		return nil, errPlain("vector type must be the same, field %s - type %s, search info type %s",
			name, segcoreVectorType(field.GetElementType()), ph.GetType())
	}
	if len(ph.GetValues()) != spec.NQ {
		return nil, errInvalidValue(spec.NQ, len(ph.GetValues()), "the number of query vectors does not match nq")
	}
	dim := fieldDim(field)
	if elementLevel {
		for _, v := range ph.GetValues() {
			if len(v) != 4*dim {
				return nil, errPlain("vector dimension mismatch, expected vector size(byte) %d, actual %d.", 4*dim, len(v))
			}
		}
	}
	queries, lens, err := segment.EmbListDataset(ph.GetValues(), field.GetElementType(), dim)
	if err != nil {
		return nil, err
	}
	spec.Queries, spec.EmbListLens = queries, lens
	return spec, nil
}

// checkEmbListIndexParams is createIndexTask.parseIndexParams for an
// embedding list field: a vector index type (or AUTOINDEX) and, when
// given, a MAX_SIM metric or one its element type accepts.
func checkEmbListIndexParams(field *schemapb.FieldSchema, typ string, flat map[string]string) error {
	invalidParams := func(reason string) error {
		return errInvalidValue("valid index params", "invalid index params", reason)
	}
	if milvusScalarIndexTypes[typ] {
		return invalidParams("data type " + field.GetDataType().String() + " can't build with this index " + strings.ToUpper(typ))
	}
	metric, hasMetric := flat["metric_type"]
	if typ != "" && typ != "AUTOINDEX" && !hasMetric {
		return invalidParams("metric type not set for vector index")
	}
	if !hasMetric || isEmbListMetric(index.Metric(strings.ToUpper(metric))) {
		return nil
	}
	if !containsString(floatVectorMetrics, strings.ToUpper(metric)) {
		return invalidParams("array of vector with float element type does not support metric type: " + metric)
	}
	return nil
}
