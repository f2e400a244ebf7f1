package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/rpc"
)

// Defaults of the quick create form, as Milvus.
const (
	defaultPrimaryField = "id"
	defaultVectorField  = "vector"
	defaultMetric       = "COSINE"
	defaultMaxLength    = "65535"
)

// collectionNameReq is the body of most collection endpoints.
type collectionNameReq struct {
	CollectionName string   `json:"collectionName"`
	PartitionNames []string `json:"partitionNames"`
}

func (c *call) collectionName() (*collectionNameReq, error) {
	var r collectionNameReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return &r, nil // bind checked collectionName (CollectionNameReq)
}

type fieldSchemaReq struct {
	FieldName         string         `json:"fieldName"`
	DataType          string         `json:"dataType"`
	ElementDataType   string         `json:"elementDataType"`
	IsPrimary         bool           `json:"isPrimary"`
	IsPartitionKey    bool           `json:"isPartitionKey"`
	IsClusteringKey   bool           `json:"isClusteringKey"`
	ElementTypeParams map[string]any `json:"elementTypeParams"`
	Nullable          bool           `json:"nullable"`
	DefaultValue      any            `json:"defaultValue"`
	Description       string         `json:"description"`
}

type indexParamReq struct {
	FieldName  string         `json:"fieldName"`
	IndexName  string         `json:"indexName"`
	MetricType string         `json:"metricType"`
	IndexType  string         `json:"indexType"`
	Params     map[string]any `json:"params"`
}

type createCollectionReq struct {
	CollectionName   string      `json:"collectionName"`
	Dimension        json.Number `json:"dimension"`
	IDType           string      `json:"idType"`
	AutoID           bool        `json:"autoID"`
	MetricType       string      `json:"metricType"`
	PrimaryFieldName string      `json:"primaryFieldName"`
	VectorFieldName  string      `json:"vectorFieldName"`
	Description      string      `json:"description"`
	Schema           struct {
		Fields             []fieldSchemaReq `json:"fields"`
		Functions          []restFunction   `json:"functions"`
		AutoID             bool             `json:"autoID"`
		EnableDynamicField bool             `json:"enableDynamicField"`
	} `json:"schema"`
	IndexParams []indexParamReq `json:"indexParams"`
	Params      map[string]any  `json:"params"`
}

// createCollection creates a collection from the quick form (dimension and
// names: an Int64 or VarChar key, a float vector, a dynamic field; then an
// AUTOINDEX on the vector and a load) or from a full schema (then indexes
// from indexParams, and a load once every vector field has one).
func (h *Handler) createCollection(ctx context.Context, c *call) (any, error) {
	var r createCollectionReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	var schema *schemapb.CollectionSchema
	var indexes []indexParamReq
	quick := len(r.Schema.Fields) == 0
	if quick {
		s, idx, err := quickSchema(&r)
		if err != nil {
			return nil, err
		}
		schema, indexes = s, idx
	} else {
		s, err := fullSchema(&r)
		if err != nil {
			return nil, err
		}
		schema, indexes = s, r.IndexParams
	}
	req := &milvuspb.CreateCollectionRequest{DbName: c.db, CollectionName: r.CollectionName,
		ConsistencyLevel: commonpb.ConsistencyLevel_Bounded}
	if err := applyCreateParams(req, r.Params); err != nil {
		return nil, err
	}
	b, err := proto.Marshal(schema)
	if err != nil {
		return nil, fmt.Errorf("marshal schema: %w", err)
	}
	req.Schema = b
	if err := h.p.CreateCollection(ctx, req); err != nil {
		return nil, err
	}
	indexed := map[string]bool{}
	for _, ip := range indexes {
		if err := h.p.CreateIndex(ctx, indexRequest(c.db, r.CollectionName, ip)); err != nil {
			return nil, err
		}
		indexed[ip.FieldName] = true
	}
	if len(indexes) == 0 {
		return empty(), nil
	}
	for _, f := range schema.GetFields() {
		if column.IsVector(f.GetDataType()) && !indexed[f.GetName()] {
			return empty(), nil // Milvus loads only a fully indexed collection
		}
	}
	if err := h.p.LoadCollection(ctx, &milvuspb.LoadCollectionRequest{DbName: c.db, CollectionName: r.CollectionName}); err != nil {
		return nil, err
	}
	return empty(), nil
}

func quickSchema(r *createCollectionReq) (*schemapb.CollectionSchema, []indexParamReq, error) {
	if len(r.Schema.Functions) > 0 {
		return nil, nil, paramInvalid("schema", "functions", "functions are not supported for quickly create collection")
	}
	// bind refused a dimension that is not an int32 (CollectionReq.Dimension);
	// a negative one is the proxy's to refuse, as in Milvus.
	if r.Dimension == "" || r.Dimension == "0" {
		return nil, nil, paramInvalid("collectionName & dimension", "collectionName",
			"dimension is required for quickly create collection(default metric type: "+defaultMetric+")")
	}
	dim, err := strconv.ParseInt(string(r.Dimension), 10, 32)
	if err != nil {
		return nil, nil, fmt.Errorf("dimension %s: %w", r.Dimension, err)
	}
	pkName, vecName, metric := r.PrimaryFieldName, r.VectorFieldName, r.MetricType
	if pkName == "" {
		pkName = defaultPrimaryField
	}
	if vecName == "" {
		vecName = defaultVectorField
	}
	if metric == "" {
		metric = defaultMetric
	}
	pk := &schemapb.FieldSchema{FieldID: 100, Name: pkName, IsPrimaryKey: true, AutoID: r.AutoID, DataType: schemapb.DataType_Int64}
	switch r.IDType {
	case "", "Int64", "int64":
	case "VarChar", "Varchar":
		pk.DataType = schemapb.DataType_VarChar
		maxLen := defaultMaxLength
		if v, ok := r.Params["max_length"]; ok {
			maxLen = paramString(v)
		}
		pk.TypeParams = []*commonpb.KeyValuePair{{Key: "max_length", Value: maxLen}}
	default:
		return nil, nil, paramInvalid("Int64, Varchar", r.IDType, "idType can only be [Int64, VarChar], default: Int64")
	}
	schema := &schemapb.CollectionSchema{
		Name: r.CollectionName, Description: r.Description, EnableDynamicField: true,
		Fields: []*schemapb.FieldSchema{pk, {FieldID: 101, Name: vecName, DataType: schemapb.DataType_FloatVector,
			TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: strconv.FormatInt(dim, 10)}}}},
	}
	return schema, []indexParamReq{{FieldName: vecName, IndexName: vecName, MetricType: metric}}, nil
}

func fullSchema(r *createCollectionReq) (*schemapb.CollectionSchema, error) {
	schema := &schemapb.CollectionSchema{Name: r.CollectionName, Description: r.Description,
		EnableDynamicField: r.Schema.EnableDynamicField}
	// Milvus converts the functions before the fields, with
	// genFunctionSchema alone: its binding does not descend into the
	// slice, so a function without a name or fields reaches the proxy
	// (handler_v2.go:1910-1922).
	for i := range r.Schema.Functions {
		fn, err := functionSchema(&r.Schema.Functions[i])
		if err != nil {
			return nil, err
		}
		schema.Functions = append(schema.Functions, fn)
	}
	for i, f := range r.Schema.Fields {
		dt, ok := schemapb.DataType_value[f.DataType]
		if !ok {
			return nil, paramInvalidText("invalid parameter, data type %s is invalid(case sensitive).", f.DataType)
		}
		fs := &schemapb.FieldSchema{FieldID: int64(100 + i), Name: f.FieldName, DataType: schemapb.DataType(dt),
			IsPrimaryKey: f.IsPrimary, IsPartitionKey: f.IsPartitionKey, IsClusteringKey: f.IsClusteringKey,
			Nullable: f.Nullable, Description: f.Description}
		if f.IsPrimary {
			fs.AutoID = r.Schema.AutoID
		}
		if fs.DataType == schemapb.DataType_Array {
			et, ok := schemapb.DataType_value[f.ElementDataType]
			if !ok {
				return nil, paramInvalidText("invalid parameter, element data type %s is invalid(case sensitive).", f.ElementDataType)
			}
			fs.ElementType = schemapb.DataType(et)
		}
		for _, k := range sortedKeys(f.ElementTypeParams) {
			fs.TypeParams = append(fs.TypeParams, &commonpb.KeyValuePair{Key: k, Value: paramString(f.ElementTypeParams[k])})
		}
		if f.DefaultValue != nil {
			dv, err := defaultValue(fs.DataType, f.DefaultValue)
			if err != nil {
				return nil, paramInvalidText("convert defaultValue fail, err:%v", err)
			}
			fs.DefaultValue = dv
		}
		schema.Fields = append(schema.Fields, fs)
	}
	return schema, nil
}

// defaultValue converts a JSON default value for a field type, refusing a
// value of the wrong JSON type with convertDefaultValue's texts
// (httpserver/utils.go:1840-1940).
func defaultValue(t schemapb.DataType, v any) (*schemapb.ValueField, error) {
	num, isNum := v.(json.Number)
	wrong := func(as string) error {
		shown := v
		if isNum {
			shown = string(num)
		}
		return errs.InvalidParameter(`cannot use "%v"(type: %s) as %s default value`, shown, jsonTypeName(v), as)
	}
	switch t {
	case schemapb.DataType_Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, wrong("bool")
		}
		return &schemapb.ValueField{Data: &schemapb.ValueField_BoolData{BoolData: b}}, nil
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
		x, err := num.Float64()
		if !isNum || err != nil {
			// Milvus's text has the stray quote (utils.go:1861).
			return nil, errs.InvalidParameter(`cannot use ""%v"(type: %s) as int default value`, v, jsonTypeName(v))
		}
		return &schemapb.ValueField{Data: &schemapb.ValueField_IntData{IntData: int32(x)}}, nil
	case schemapb.DataType_Int64:
		n, err := num.Int64()
		if !isNum || err != nil {
			x, ferr := num.Float64()
			if !isNum || ferr != nil {
				return nil, wrong("long")
			}
			n = int64(x)
		}
		return &schemapb.ValueField{Data: &schemapb.ValueField_LongData{LongData: n}}, nil
	case schemapb.DataType_Float, schemapb.DataType_Double:
		x, err := num.Float64()
		if !isNum || err != nil {
			return nil, wrong("float")
		}
		if t == schemapb.DataType_Float {
			return &schemapb.ValueField{Data: &schemapb.ValueField_FloatData{FloatData: float32(x)}}, nil
		}
		return &schemapb.ValueField{Data: &schemapb.ValueField_DoubleData{DoubleData: x}}, nil
	case schemapb.DataType_VarChar, schemapb.DataType_String, schemapb.DataType_Geometry, schemapb.DataType_Timestamptz:
		s, ok := v.(string)
		if !ok {
			switch t {
			case schemapb.DataType_Geometry:
				return nil, wrong("geometry")
			case schemapb.DataType_Timestamptz:
				return nil, errs.InvalidParameterValue("string", v, "Wrong defaultValue type")
			}
			return nil, wrong("string")
		}
		return &schemapb.ValueField{Data: &schemapb.ValueField_StringData{StringData: s}}, nil
	}
	return nil, errs.InvalidParameter("Unexpected default value type: %s", t)
}

// applyCreateParams reads the create request's params: consistencyLevel,
// shardsNum, partitionsNum, ttlSeconds and any other key as a property.
func applyCreateParams(req *milvuspb.CreateCollectionRequest, params map[string]any) error {
	for _, k := range sortedKeys(params) {
		v := paramString(params[k])
		switch k {
		case "consistencyLevel":
			lvl, ok := commonpb.ConsistencyLevel_value[v]
			if !ok {
				return paramInvalid("Strong, Session, Bounded, Eventually, Customized", v,
					"consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized], default: Bounded")
			}
			req.ConsistencyLevel = commonpb.ConsistencyLevel(lvl)
		case "shardsNum":
			// Milvus ignores a shardsNum that is not an integer
			// (handler_v2.go:2000-2004).
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				req.ShardsNum = int32(n)
			}
		case "partitionsNum":
			// Milvus ignores a partitionsNum that is not an integer
			// (handler_v2.go:1969-1972).
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
				req.NumPartitions = n
			}
		case "ttlSeconds":
			req.Properties = append(req.Properties, &commonpb.KeyValuePair{Key: "collection.ttl.seconds", Value: v})
		case "max_length":
			// read by the quick form
		default:
			req.Properties = append(req.Properties, &commonpb.KeyValuePair{Key: k, Value: v})
		}
	}
	return nil
}

func (h *Handler) listCollections(ctx context.Context, c *call) (any, error) {
	resp, err := h.lists.ShowCollections(ctx, &milvuspb.ShowCollectionsRequest{DbName: c.db})
	if err != nil {
		return nil, err
	}
	if err := rpc.ErrorOf(resp.GetStatus()); err != nil {
		return nil, err
	}
	return nonNil(resp.GetCollectionNames()), nil
}

func (h *Handler) hasCollection(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	has, err := h.p.HasCollection(ctx, &milvuspb.HasCollectionRequest{DbName: c.db, CollectionName: r.CollectionName})
	if err != nil {
		return nil, err
	}
	return map[string]bool{"has": has}, nil
}

func (h *Handler) describeCollection(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	coll, err := h.p.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{DbName: c.db, CollectionName: r.CollectionName})
	if err != nil {
		return nil, err
	}
	schema := coll.GetSchema()
	autoID := false
	fields := []map[string]any{}
	subFields := map[int64]bool{} // struct array sub-fields: not fields of their own (Milvus lists only schema.fields)
	for _, sf := range schema.GetStructArrayFields() {
		for _, f := range sf.GetFields() {
			subFields[f.GetFieldID()] = true
		}
	}
	for _, f := range schema.GetFields() {
		if f.GetIsDynamic() || subFields[f.GetFieldID()] {
			continue
		}
		if f.GetIsPrimaryKey() {
			autoID = f.GetAutoID()
		}
		fields = append(fields, describeField(f))
	}
	load := ""
	if st, err := h.p.GetLoadState(ctx, &milvuspb.GetLoadStateRequest{DbName: c.db, CollectionName: r.CollectionName}); err == nil {
		load = st.GetState().String()
	}
	indexes := []map[string]any{}
	if idx, err := h.p.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{DbName: c.db, CollectionName: r.CollectionName}); err == nil {
		for _, d := range idx.GetIndexDescriptions() {
			indexes = append(indexes, map[string]any{"fieldName": d.GetFieldName(), "indexName": d.GetIndexName(),
				"metricType": kv(d.GetParams(), "metric_type")})
		}
	}
	return map[string]any{
		"collectionName":     coll.GetCollectionName(),
		"collectionID":       int64Value(coll.GetCollectionID(), c.allowInt64),
		"dbName":             coll.GetDbName(),
		"description":        schema.GetDescription(),
		"autoId":             autoID,
		"fields":             fields,
		"functions":          describeFunctions(schema.GetFunctions()),
		"indexes":            indexes,
		"load":               load,
		"shardsNum":          coll.GetShardsNum(),
		"partitionsNum":      coll.GetNumPartitions(),
		"consistencyLevel":   coll.GetConsistencyLevel().String(),
		"enableDynamicField": schema.GetEnableDynamicField(),
		"properties":         kvList(coll.GetProperties()),
		"aliases":            nonNil(coll.GetAliases()),
		"createdTime":        coll.GetCreatedUtcTimestamp(),
	}, nil
}

func describeField(f *schemapb.FieldSchema) map[string]any {
	m := map[string]any{
		"name":          f.GetName(),
		"id":            f.GetFieldID(),
		"type":          f.GetDataType().String(),
		"primaryKey":    f.GetIsPrimaryKey(),
		"partitionKey":  f.GetIsPartitionKey(),
		"clusteringKey": f.GetIsClusteringKey(),
		"autoId":        f.GetAutoID(),
		"nullable":      f.GetNullable(),
		"description":   f.GetDescription(),
	}
	if len(f.GetTypeParams()) > 0 {
		m["params"] = kvList(f.GetTypeParams())
	}
	if f.GetDataType() == schemapb.DataType_Array {
		m["elementType"] = f.GetElementType().String()
	}
	if dv := f.GetDefaultValue(); dv != nil {
		switch d := dv.GetData().(type) {
		case *schemapb.ValueField_BoolData:
			m["defaultValue"] = d.BoolData
		case *schemapb.ValueField_IntData:
			m["defaultValue"] = d.IntData
		case *schemapb.ValueField_LongData:
			m["defaultValue"] = d.LongData
		case *schemapb.ValueField_FloatData:
			m["defaultValue"] = d.FloatData
		case *schemapb.ValueField_DoubleData:
			m["defaultValue"] = d.DoubleData
		case *schemapb.ValueField_StringData:
			m["defaultValue"] = d.StringData
		}
	}
	if f.GetIsFunctionOutput() {
		m["isFunctionOutput"] = true
	}
	return m
}

func (h *Handler) dropCollection(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	return empty(), h.p.DropCollection(ctx, &milvuspb.DropCollectionRequest{DbName: c.db, CollectionName: r.CollectionName})
}

func (h *Handler) collectionStats(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	resp, err := h.p.GetCollectionStatistics(ctx, &milvuspb.GetCollectionStatisticsRequest{DbName: c.db, CollectionName: r.CollectionName})
	if err != nil {
		return nil, err
	}
	return rowCount(resp.GetStats()), nil
}

func rowCount(stats []*commonpb.KeyValuePair) map[string]any {
	v := kv(stats, "row_count")
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return map[string]any{"rowCount": n}
	}
	return map[string]any{"rowCount": v}
}

func (h *Handler) loadCollection(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	return empty(), h.p.LoadCollection(ctx, &milvuspb.LoadCollectionRequest{DbName: c.db, CollectionName: r.CollectionName})
}

func (h *Handler) releaseCollection(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	return empty(), h.p.ReleaseCollection(ctx, &milvuspb.ReleaseCollectionRequest{DbName: c.db, CollectionName: r.CollectionName})
}

// loadState answers {"loadState": ..., "loadProgress": ...} (no progress
// when not loaded), for the collection or the named partitions.
func (h *Handler) loadState(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	st, err := h.p.GetLoadState(ctx, &milvuspb.GetLoadStateRequest{DbName: c.db, CollectionName: r.CollectionName, PartitionNames: r.PartitionNames})
	if err != nil {
		return nil, err
	}
	switch st.GetState() {
	case commonpb.LoadState_LoadStateNotExist:
		return nil, errs.CollectionNotFound(r.CollectionName)
	case commonpb.LoadState_LoadStateNotLoad:
		return map[string]any{"loadState": st.GetState().String()}, nil
	}
	progress := int64(-1)
	if p, err := h.p.GetLoadingProgress(ctx, &milvuspb.GetLoadingProgressRequest{DbName: c.db, CollectionName: r.CollectionName, PartitionNames: r.PartitionNames}); err == nil {
		progress = p.GetProgress()
	}
	state := commonpb.LoadState_LoadStateLoading
	if progress >= 100 {
		state = commonpb.LoadState_LoadStateLoaded
	}
	return map[string]any{"loadState": state.String(), "loadProgress": progress}, nil
}

func (h *Handler) flush(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	_, err = h.p.Flush(ctx, &milvuspb.FlushRequest{DbName: c.db, CollectionNames: []string{r.CollectionName}})
	return empty(), err
}

// kv returns the value of key in key-value pairs ("" if absent).
func kv(pairs []*commonpb.KeyValuePair, key string) string {
	for _, p := range pairs {
		if p.GetKey() == key {
			return p.GetValue()
		}
	}
	return ""
}

func kvList(pairs []*commonpb.KeyValuePair) []map[string]string {
	out := make([]map[string]string, 0, len(pairs))
	for _, p := range pairs {
		out = append(out, map[string]string{"key": p.GetKey(), "value": p.GetValue()})
	}
	return out
}

// paramString renders a JSON parameter value as Milvus's string params do.
func paramString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

type propertiesReq struct {
	CollectionName string         `json:"collectionName"`
	Properties     map[string]any `json:"properties"`
	PropertyKeys   []string       `json:"propertyKeys"`
}

// alterProperties sets collection properties ({"properties": {k: v}}).
func (h *Handler) alterProperties(ctx context.Context, c *call) (any, error) {
	var r propertiesReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	// No properties reach the proxy, which refuses them as Milvus's
	// rootcoord does (CollectionReqWithProperties does not require them).
	req := &milvuspb.AlterCollectionRequest{DbName: c.db, CollectionName: r.CollectionName}
	for _, k := range sortedKeys(r.Properties) {
		req.Properties = append(req.Properties, &commonpb.KeyValuePair{Key: k, Value: paramString(r.Properties[k])})
	}
	return empty(), h.p.AlterCollection(ctx, req)
}

// dropProperties removes collection properties ({"propertyKeys": [...]}).
func (h *Handler) dropProperties(ctx context.Context, c *call) (any, error) {
	var r propertiesReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return empty(), h.p.AlterCollection(ctx, &milvuspb.AlterCollectionRequest{DbName: c.db, CollectionName: r.CollectionName, DeleteKeys: r.PropertyKeys})
}
