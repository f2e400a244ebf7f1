package rerank

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// Reranker names and parameter keys (Milvus's rerank package).
const (
	DecayName    = "decay"
	ModelName    = "model"
	RRFName      = "rrf"
	WeightedName = "weighted"
	boostName    = "boost"

	rerankerKey = "reranker"
	kKey        = "k"
	weightsKey  = "weights"
	normKey     = "norm_score"
	functionKey = "function"
	originKey   = "origin"
	scaleKey    = "scale"
	offsetKey   = "offset"
	decayKey    = "decay"
	scoreMode   = "score_mode"
	providerKey = "provider"
	queriesKey  = "queries"

	legacyStrategyKey = "strategy"
	legacyParamsKey   = "params"

	maxRRFK = 16384
)

// New builds the reranker of a FunctionScore (Milvus's NewFunctionScore):
// nil when it holds none (only boost functions, which rank nothing here).
// models builds model rerankers' providers (nil: all disabled).
func New(schema *schemapb.CollectionSchema, fs *schemapb.FunctionScore, models ModelProviders) (Reranker, error) {
	var out Reranker
	for _, f := range fs.GetFunctions() {
		r, err := newFunction(schema, f, models)
		if err != nil {
			return nil, err
		}
		if r == nil {
			continue
		}
		if out != nil {
			return nil, errPlain("currently only supports one rerank")
		}
		out = r
	}
	return out, nil
}

// NewLegacy builds the reranker of HybridSearch's rank params ("strategy"
// and "params", as the SDKs' RRFRanker and WeightedRanker send them):
// RRF with k=60 when no strategy is given.
func NewLegacy(schema *schemapb.CollectionSchema, rankParams []*commonpb.KeyValuePair) (Reranker, error) {
	strategy, ok := lookup(rankParams, legacyStrategyKey)
	params := map[string]any{}
	if ok {
		if strategy != RRFName && strategy != WeightedName && strategy != "invalid" {
			return nil, errPlain("unsupported rank type %s", strategy)
		}
		raw, ok := lookup(rankParams, legacyParamsKey)
		if !ok {
			return nil, errPlain("params not found in rank_params")
		}
		if err := json.Unmarshal([]byte(raw), &params); err != nil {
			return nil, errPlain("parse rerank params failed, err: %s", err)
		}
	} else {
		strategy = RRFName
	}
	f := &schemapb.FunctionSchema{Type: schemapb.FunctionType_Rerank}
	add := func(k, v string) { f.Params = append(f.Params, &commonpb.KeyValuePair{Key: k, Value: v}) }
	switch strategy {
	case RRFName:
		add(rerankerKey, RRFName)
		if v, ok := params[kKey]; ok {
			rv := reflect.ValueOf(v)
			if !rv.IsValid() || !rv.CanFloat() {
				return nil, errPlain("the type of rank param k should be float")
			}
			add(kKey, strconv.FormatFloat(rv.Float(), 'f', -1, 64))
		}
	case WeightedName:
		add(rerankerKey, WeightedName)
		if v, ok := params[weightsKey]; ok {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, errPlain("the weights param should be an array")
			}
			add(weightsKey, string(b))
		}
		if v, ok := params[normKey]; ok {
			b, isBool := v.(bool)
			if !isBool {
				return nil, errPlain("weighted rerank err, norm_score should been bool type, but [norm_score:%s]'s type is %T", v, v)
			}
			add(normKey, strconv.FormatBool(b))
		}
	default:
		return nil, errPlain("unsupported rank type %s", strategy)
	}
	return newFunction(schema, f, nil)
}

func lookup(pairs []*commonpb.KeyValuePair, key string) (string, bool) {
	for _, p := range pairs {
		if p.GetKey() == key {
			return p.GetValue(), true
		}
	}
	return "", false
}

// rerankerName is the function's "reranker" parameter, lower-cased.
func rerankerName(f *schemapb.FunctionSchema) string {
	for _, p := range f.GetParams() {
		if strings.ToLower(p.GetKey()) == rerankerKey {
			return strings.ToLower(p.GetValue())
		}
	}
	return ""
}

// newFunction is Milvus's createFunction.
func newFunction(schema *schemapb.CollectionSchema, f *schemapb.FunctionSchema, models ModelProviders) (Reranker, error) {
	if f.GetType() != schemapb.FunctionType_Rerank {
		return nil, errPlain("%s is not rerank function", f.GetType().String())
	}
	if len(f.GetOutputFieldNames()) != 0 {
		return nil, errPlain("rerank function should not have output field, but now is %d", len(f.GetOutputFieldNames()))
	}
	switch name := rerankerName(f); name {
	case DecayName:
		return newDecay(schema, f)
	case ModelName:
		return newModel(schema, f, models)
	case RRFName:
		return newRRF(schema, f)
	case WeightedName:
		return newWeighted(schema, f)
	case boostName:
		return nil, nil
	default:
		return nil, errPlain("unsupported rerank function: [%s] , list of supported [%s,%s,%s,%s]", name, DecayName, ModelName, RRFName, WeightedName)
	}
}

// inputFields checks the function's input fields as Milvus's newRerankBase.
func inputFields(schema *schemapb.CollectionSchema, f *schemapb.FunctionSchema) ([]*schemapb.FieldSchema, error) {
	hasPK := false
	for _, fs := range schema.GetFields() {
		hasPK = hasPK || fs.GetIsPrimaryKey()
	}
	if !hasPK {
		return nil, errPlain("collection %s can not found pk field", schema.GetName())
	}
	names := f.GetInputFieldNames()
	var out []*schemapb.FieldSchema
	for _, name := range names {
		if name == "" {
			return nil, errPlain("rerank input field name cannot be empty string")
		}
		n := 0
		for _, o := range names {
			if o == name {
				n++
			}
		}
		if n > 1 {
			return nil, errPlain("each function input field should be used exactly once in the same function, input field: %s", name)
		}
		i := slices.IndexFunc(schema.GetFields(), func(fs *schemapb.FieldSchema) bool { return fs.GetName() == name })
		if i < 0 {
			return nil, errPlain("function input field not found: %s", name)
		}
		field := schema.GetFields()[i]
		if field.GetNullable() {
			return nil, errPlain("function input field cannot be nullable: field %s", field.GetName())
		}
		out = append(out, field)
	}
	return out, nil
}

func newRRF(schema *schemapb.CollectionSchema, f *schemapb.FunctionSchema) (Reranker, error) {
	in, err := inputFields(schema, f)
	if err != nil {
		return nil, err
	}
	if len(in) != 0 {
		return nil, errPlain("the rrf function does not support input parameters, but got %s", f.GetInputFieldNames())
	}
	k := 60.0
	for _, p := range f.GetParams() {
		if strings.ToLower(p.GetKey()) == kKey {
			if k, err = strconv.ParseFloat(p.GetValue(), 64); err != nil {
				return nil, errPlain("param k:%s is not a number", p.GetValue())
			}
		}
	}
	if k <= 0 || k >= maxRRFK {
		return nil, errPlain("the rank params k should be in range (0, %d)", maxRRFK)
	}
	return &rrf{k: float32(k)}, nil
}

func newWeighted(schema *schemapb.CollectionSchema, f *schemapb.FunctionSchema) (Reranker, error) {
	in, err := inputFields(schema, f)
	if err != nil {
		return nil, err
	}
	if len(in) != 0 {
		return nil, errPlain("the weighted function does not support input parameters, but got %s", f.GetInputFieldNames())
	}
	w := &weighted{}
	for _, p := range f.GetParams() {
		switch strings.ToLower(p.GetKey()) {
		case weightsKey:
			if err := json.Unmarshal([]byte(p.GetValue()), &w.weights); err != nil {
				return nil, errPlain("parse %s param failed, weight should be []float, bug got: %s", weightsKey, p.GetValue())
			}
			for _, x := range w.weights {
				if x < 0 || x > 1 {
					return nil, errPlain("rank param weight should be in range [0, 1]")
				}
			}
		case normKey:
			if w.norm, err = strconv.ParseBool(p.GetValue()); err != nil {
				return nil, errPlain("%s params must be true/false, bug got %s", normKey, p.GetValue())
			}
		}
	}
	if len(w.weights) == 0 {
		return nil, errPlain("%s not found", weightsKey)
	}
	return w, nil
}

func newDecay(schema *schemapb.CollectionSchema, f *schemapb.FunctionSchema) (Reranker, error) {
	in, err := inputFields(schema, f)
	if err != nil {
		return nil, err
	}
	if len(in) != 1 {
		return nil, errPlain("decay function only supports single input, but gets [%s] input", f.GetInputFieldNames())
	}
	switch t := in[0].GetDataType(); t {
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32, schemapb.DataType_Int64,
		schemapb.DataType_Timestamptz, schemapb.DataType_Float, schemapb.DataType_Double:
	default:
		return nil, errPlain("decay rerank: unsupported input field type:%s, only support numeric field", t.String())
	}
	d := &decay{field: in[0].GetName(), decay: 0.5, merge: "max"}
	var fnName string
	var hasOrigin, hasScale bool
	num := func(name, v string) (float64, error) {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, errPlain("param %s:%s is not a number", name, v)
		}
		return x, nil
	}
	for _, p := range f.GetParams() {
		v := p.GetValue()
		switch strings.ToLower(p.GetKey()) {
		case functionKey:
			fnName = v
		case originKey:
			if d.origin, err = num(originKey, v); err != nil {
				return nil, err
			}
			hasOrigin = true
		case scaleKey:
			if d.scale, err = num(scaleKey, v); err != nil {
				return nil, err
			}
			hasScale = true
		case offsetKey:
			if d.offset, err = num(offsetKey, v); err != nil {
				return nil, err
			}
		case decayKey:
			if d.decay, err = num(decayKey, v); err != nil {
				return nil, err
			}
		case normKey:
			if d.norm, err = strconv.ParseBool(v); err != nil {
				return nil, errPlain("%s params must be true/false, bug got %s", normKey, v)
			}
		case scoreMode:
			switch m := strings.ToLower(v); m {
			case "max", "avg", "sum":
				d.merge = m
			default:
				return nil, errPlain("unsupported score mode: [%s], only supports: [max, avg, sum]", v)
			}
		}
	}
	switch {
	case !hasOrigin:
		return nil, errPlain("decay function lost param: origin")
	case !hasScale:
		return nil, errPlain("decay function lost param: scale")
	case d.scale <= 0:
		return nil, errPlain("decay function param: scale must > 0, but got %f", d.scale)
	case d.offset < 0:
		return nil, errPlain("decay function param: offset must >= 0, but got %f", d.offset)
	case d.decay <= 0 || d.decay >= 1:
		return nil, errPlain("decay function param: decay must 0 < decay < 1, but got %f", d.decay)
	}
	switch fnName {
	case "gauss":
		d.fn = gaussDecay
	case "exp":
		d.fn = expDecay
	case "linear":
		d.fn = linearDecay
	default:
		return nil, errPlain("invalid decay function: %s, only support [%s,%s,%s]", DecayName, "gauss", "linear", "exp")
	}
	return d, nil
}
