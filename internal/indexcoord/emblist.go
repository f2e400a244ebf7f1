package indexcoord

import (
	"maps"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

// Indexes of embedding list fields (struct array vector sub-fields,
// DataType ArrayOfVector). As Milvus 2.6 does, each segment's index is an
// HNSW graph over the rows' vectors with the element metric of the MAX_SIM
// metric (index.EmbList, built by the index node); a search takes the
// nearest elements' rows as candidates and ranks them by exact MAX_SIM.

// embListIndexTypes are the index types Milvago accepts on an embedding
// list field: the HNSW family knowhere builds for them, and AUTOINDEX.
var embListIndexTypes = map[string]bool{
	"": true, index.TypeAutoIndex: true, index.TypeHNSW: true, index.TypeHNSWSQ: true, "HNSW_PQ": true, "HNSW_PRQ": true,
}

// embListMetrics is Milvus's indexparamcheck.EmbListMetrics.
const embListMetrics = "[MAX_SIM MAX_SIM_COSINE MAX_SIM_L2 MAX_SIM_IP MAX_SIM_HAMMING MAX_SIM_JACCARD]"

// validateEmbList checks an index of an embedding list field and returns
// its resolved parameters: AUTOINDEX becomes HNSW, a missing metric
// MAX_SIM_COSINE (Milvus maps AUTOINDEX's COSINE to it).
func validateEmbList(f *schemapb.FieldSchema, params map[string]string) (map[string]string, error) {
	typ := strings.ToUpper(params["index_type"])
	if !embListIndexTypes[typ] || (typ != "" && typ != index.TypeAutoIndex && !builds(typ)) {
		return nil, errs.InvalidParameter("data type %s can't build with this index %s", f.GetDataType(), params["index_type"])
	}
	if typ == "" || typ == index.TypeAutoIndex {
		typ = index.TypeHNSW
	}
	metric := index.Metric(strings.ToUpper(params["metric_type"]))
	if metric == "" {
		metric = index.MaxSimCosine
	}
	// A MAX_SIM metric, or (for element-level search, one query vector
	// against each row's elements) the float element metrics COSINE, IP
	// and L2.
	element := index.EmbListIndexElement(metric)
	if element == "" || metric == index.Hamming || metric == index.Jaccard {
		return nil, errs.InvalidParameter("metric type %s not found or not supported, supported: %s", params["metric_type"], embListMetrics)
	}
	build := map[string]string{}
	for k, v := range params {
		if k != "index_type" && k != "metric_type" {
			build[k] = v
		}
	}
	if _, err := index.New(index.Spec{Type: typ, Metric: element, Dim: dimOf(f), Params: build}); err != nil {
		return nil, errs.InvalidParameter("%v", err)
	}
	out := map[string]string{}
	maps.Copy(out, params)
	out["index_type"], out["metric_type"] = typ, string(metric)
	return out, nil
}

// builds reports whether Milvago can build an index of type typ.
func builds(typ string) bool {
	_, ok := index.KindOf(typ)
	return ok
}
