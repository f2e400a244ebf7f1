package proxy

import (
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// Index types Milvus 2.6 knows (knowhere's vector indexes, the scalar
// index checkers and AUTOINDEX). A type outside these lists is "invalid
// index type"; a known type Milvago cannot build fails later, in the index
// coordinator.
var (
	milvusVectorIndexTypes = map[string]bool{
		"FLAT": true, "IVF_FLAT": true, "IVF_PQ": true, "IVF_SQ8": true, "IVF_RABITQ": true, "IVF_HNSW": true,
		"HNSW": true, "HNSW_SQ": true, "HNSW_PQ": true, "HNSW_PRQ": true, "DISKANN": true, "AISAQ": true,
		"SCANN": true, "SCANN_DVR": true, "BIN_FLAT": true, "BIN_IVF_FLAT": true, "MINHASH_LSH": true,
		"SPARSE_INVERTED_INDEX": true, "SPARSE_WAND": true,
		"GPU_IVF_FLAT": true, "GPU_IVF_PQ": true, "GPU_CAGRA": true, "GPU_BRUTE_FORCE": true,
	}
	milvusScalarIndexTypes = map[string]bool{
		"STL_SORT": true, "TRIE": true, "Trie": true, "BITMAP": true, "INVERTED": true, "NGRAM": true, "RTREE": true,
	}
)

// Metrics each vector kind accepts (indexparamcheck.FloatVectorMetrics and friends).
var (
	floatVectorMetrics  = []string{"L2", "IP", "COSINE"}
	sparseVectorMetrics = []string{"IP", "BM25"}
	binaryVectorMetrics = []string{"HAMMING", "JACCARD", "SUBSTRUCTURE", "SUPERSTRUCTURE", "MHJACCARD"}
)

// checkIndexParams is the static part of Milvus 2.6's
// createIndexTask.parseIndexParams (internal/proxy/task_index.go), in its
// order and with its texts: duplicated keys, unknown index types, vector
// index types on scalar fields, a missing metric and a metric the vector
// type does not support. flat is the flattened parameters (see
// flattenIndexParams).
func checkIndexParams(field *schemapb.FieldSchema, extra []*commonpb.KeyValuePair, flat map[string]string) error {
	normalizeJSONIndexParams(flat)
	seen := map[string]bool{}
	for _, kv := range extra {
		if seen[kv.GetKey()] {
			return errInvalidMsg("duplicated index param (key=%s) (value=%s) found", kv.GetKey(), kv.GetValue())
		}
		seen[kv.GetKey()] = true
	}
	typ, hasType := flat["index_type"]
	if hasType && typ != "" && typ != "AUTOINDEX" && !milvusVectorIndexTypes[typ] && !milvusScalarIndexTypes[typ] {
		return errInvalidValue("valid index", "invalid index type: "+typ, "")
	}
	invalidParams := func(reason string) error {
		return errInvalidValue("valid index params", "invalid index params", reason)
	}
	if field.GetDataType() == schemapb.DataType_ArrayOfVector {
		return checkEmbListIndexParams(field, typ, flat)
	}
	if !column.IsVector(field.GetDataType()) {
		if milvusVectorIndexTypes[typ] {
			// checkTrain: vecIndexChecker.CheckValidDataType
			return invalidParams("index " + typ + " only supports vector data type")
		}
		if msg := scalarIndexMismatch(typ, field); msg != "" {
			return invalidParams(msg)
		}
		if msg := scalarIndexTrainError(typ, field, flat); msg != "" {
			return invalidParams(msg)
		}
		return nil
	}
	metric, hasMetric := flat["metric_type"]
	// Milvus compares metric names exactly; Milvago also takes lower case.
	upper := strings.ToUpper(metric)
	if hasType && typ != "" && typ != "AUTOINDEX" && !hasMetric {
		return invalidParams("metric type not set for vector index")
	}
	if !hasMetric {
		return nil // AUTOINDEX picks the metric
	}
	switch t := field.GetDataType(); {
	case t == schemapb.DataType_SparseFloatVector:
		if !containsString(sparseVectorMetrics, upper) {
			return invalidParams("only IP&BM25 is the supported metric type for sparse index")
		}
		if upper == "BM25" && !field.GetIsFunctionOutput() {
			return invalidParams("only BM25 Function output field support BM25 metric type")
		}
	case t == schemapb.DataType_BinaryVector:
		if !containsString(binaryVectorMetrics, upper) {
			return invalidParams("binary vector index does not support metric type: " + metric)
		}
	case t == schemapb.DataType_Int8Vector:
		if !containsString(floatVectorMetrics, upper) {
			return invalidParams("int vector index does not support metric type: " + metric)
		}
	default:
		if !containsString(floatVectorMetrics, upper) {
			return invalidParams("float vector index does not support metric type: " + metric)
		}
	}
	if kind := vectorIndexKind(typ); kind != "" && kind != vectorKind(field.GetDataType()) {
		// checkTrain: CheckVecIndexWithDataTypeExist
		return invalidParams("data type " + field.GetDataType().String() + " can't build with this index " + typ)
	}
	if hasType && milvusScalarIndexTypes[typ] {
		// checkTrain: CheckVecIndexWithDataTypeExist
		return invalidParams("data type " + field.GetDataType().String() + " can't build with this index " + strings.ToUpper(typ))
	}
	return nil
}

// vectorIndexKind is the kind of vector a Milvus index type serves
// ("float", "binary" or "sparse"), "" for AUTOINDEX and non-vector types.
func vectorIndexKind(typ string) string {
	switch {
	case !milvusVectorIndexTypes[typ]:
		return ""
	case typ == "BIN_FLAT" || typ == "BIN_IVF_FLAT" || typ == "MINHASH_LSH":
		return "binary"
	case typ == "SPARSE_INVERTED_INDEX" || typ == "SPARSE_WAND":
		return "sparse"
	}
	return "float"
}

// vectorKind is the kind of a vector field's type (int8 vectors take the
// float indexes Milvus builds for them).
func vectorKind(t schemapb.DataType) string {
	switch t {
	case schemapb.DataType_BinaryVector:
		return "binary"
	case schemapb.DataType_SparseFloatVector:
		return "sparse"
	}
	return "float"
}

// scalarIndexMismatch is the scalar index checkers' CheckValidDataType
// (internal/util/indexparamcheck/*_checker.go): why a scalar index type
// cannot index field, or "".
func scalarIndexMismatch(typ string, field *schemapb.FieldSchema) string {
	t := field.GetDataType()
	arithmetic := t == schemapb.DataType_Int8 || t == schemapb.DataType_Int16 || t == schemapb.DataType_Int32 ||
		t == schemapb.DataType_Int64 || t == schemapb.DataType_Float || t == schemapb.DataType_Double
	str := t == schemapb.DataType_VarChar || t == schemapb.DataType_String || t == schemapb.DataType_Text
	integer := t == schemapb.DataType_Int8 || t == schemapb.DataType_Int16 || t == schemapb.DataType_Int32 || t == schemapb.DataType_Int64
	switch strings.ToUpper(typ) {
	case "STL_SORT":
		if !arithmetic && !str && t != schemapb.DataType_Timestamptz {
			return "STL_SORT are only supported on numeric, varchar or timestamptz field, got " + t.String()
		}
	case "TRIE":
		if !str {
			return "TRIE are only supported on varchar field"
		}
	case "INVERTED":
		if t != schemapb.DataType_Bool && !arithmetic && !str && t != schemapb.DataType_Array && t != schemapb.DataType_JSON {
			return "INVERTED are not supported on " + t.String() + " field"
		}
	case "BITMAP":
		if field.GetIsPrimaryKey() {
			return "create bitmap index on primary key not supported"
		}
		if t != schemapb.DataType_Bool && !integer && !str && t != schemapb.DataType_Array {
			return "bitmap index are only supported on bool, int, string and array field"
		}
		if e := field.GetElementType(); t == schemapb.DataType_Array && e != schemapb.DataType_Bool && e != schemapb.DataType_VarChar &&
			e != schemapb.DataType_Int8 && e != schemapb.DataType_Int16 && e != schemapb.DataType_Int32 && e != schemapb.DataType_Int64 {
			return "bitmap index are only supported on bool, int, string for array field"
		}
	case "NGRAM":
		if !str && t != schemapb.DataType_JSON {
			return "ngram index can only be created on VARCHAR or JSON field"
		}
	}
	return ""
}
