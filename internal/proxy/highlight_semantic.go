package proxy

// Semantic highlighting, as Milvus 2.6 does it (internal/proxy/highlighter.go
// SemanticHighlighter, internal/util/function/highlight): the highlighter
// (type Semantic) names input_fields (VarChar/Text fields, or dynamic field
// keys) and one query text per search query ("queries"); after the search,
// each query's hits' texts of each field are sent, with the query, to a
// model service (the "zilliz" gRPC provider, function.models.zilliz.*),
// which answers the sentences of each text that answer the query and their
// scores. Those become the hit's HighlightData fragments and scores.

import (
	"context"
	"encoding/json"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/jsonrows"
)

// HighlightModels builds a semantic highlighter's model provider from its
// params, for a request of database db.
type HighlightModels func(params []*commonpb.KeyValuePair, db string) (embedding.HighlightProvider, error)

// semanticHighlighter is a parsed Semantic highlighter.
type semanticHighlighter struct {
	provider embedding.HighlightProvider
	queries  []string
	fields   []*schemapb.FieldSchema // schema fields, in input_fields order
	dynNames []string                // keys of the dynamic field
	dynField *schemapb.FieldSchema   // $meta, when dynNames is not empty
}

// newSemanticHighlighter is Milvus's NewSemanticHighlight, with its checks
// in its order and its texts.
func newSemanticHighlighter(schema *schemapb.CollectionSchema, params []*commonpb.KeyValuePair, db string, models HighlightModels) (*semanticHighlighter, error) {
	var queries, inputs []string
	for _, p := range params {
		switch p.GetKey() {
		case "queries":
			if err := json.Unmarshal([]byte(p.GetValue()), &queries); err != nil {
				return nil, errPlain("parse queries failed, err: %v", err)
			}
		case "input_fields":
			if err := json.Unmarshal([]byte(p.GetValue()), &inputs); err != nil {
				return nil, errPlain("parse input_field failed, err: %v", err)
			}
		}
	}
	if len(queries) == 0 {
		return nil, errPlain("queries is required")
	}
	if len(inputs) == 0 {
		return nil, errPlain("input_field is required")
	}
	h := &semanticHighlighter{queries: queries}
	var dyn *schemapb.FieldSchema
	for _, f := range schema.GetFields() {
		if f.GetIsDynamic() {
			dyn = f
		}
	}
	for _, name := range inputs {
		f := fieldByName(schema, name)
		if f != nil && !f.GetIsDynamic() {
			if t := f.GetDataType(); t != schemapb.DataType_VarChar && t != schemapb.DataType_Text {
				return nil, errPlain("input_field %s is not a VarChar or Text field", name)
			}
			h.fields = append(h.fields, f)
			continue
		}
		if !schema.GetEnableDynamicField() || dyn == nil {
			return nil, errPlain("input_field %s not found in schema", name)
		}
		h.dynNames = append(h.dynNames, name)
		h.dynField = dyn
	}
	if models == nil {
		return nil, errPlain("zilliz client config error, lost endpoint config")
	}
	p, err := models(params, db)
	if err != nil {
		return nil, errPlain("%v", err)
	}
	h.provider = p
	return h, nil
}

// requiredFields are the fields the search must fetch for the highlighter.
func (h *semanticHighlighter) requiredFields() []*schemapb.FieldSchema {
	out := append([]*schemapb.FieldSchema(nil), h.fields...)
	if h.dynField != nil {
		out = append(out, h.dynField)
	}
	return out
}

// highlight computes the highlight results of a search page (Milvus's
// semanticHighlightOperator.run).
func (h *semanticHighlighter) highlight(ctx context.Context, data *schemapb.SearchResultData) ([]*commonpb.HighlightResult, error) {
	out := []*commonpb.HighlightResult{}
	topks := data.GetTopks()
	for _, f := range h.fields {
		texts, ok := fieldStrings(data, f.GetFieldID())
		if !ok {
			return nil, errPlain("get highlight failed, text field not in output field %d", f.GetFieldID())
		}
		r, err := h.process(ctx, f.GetName(), texts, topks)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(h.dynNames) > 0 {
		var meta [][]byte
		found := false
		for _, fd := range data.GetFieldsData() {
			if fd.GetFieldId() == h.dynField.GetFieldID() || fd.GetFieldName() == jsonrows.MetaKey {
				meta, found = fd.GetScalars().GetJsonData().GetData(), true
				break
			}
		}
		if !found {
			return nil, errPlain("get highlight failed, dynamic field ($meta) not in output field")
		}
		byName, err := dynamicTexts(meta, h.dynNames)
		if err != nil {
			return nil, err
		}
		for _, name := range h.dynNames {
			r, err := h.process(ctx, name, byName[name], topks)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// process is Milvus's SemanticHighlight.Process for one field: query i is
// asked about its own topks[i] hits.
func (h *semanticHighlighter) process(ctx context.Context, field string, texts []string, topks []int64) (*commonpb.HighlightResult, error) {
	if len(h.queries) != len(topks) {
		return nil, errPlain("nq must equal to queries size, but got nq [%d], queries size [%d], queries: [%v]", len(topks), len(h.queries), h.queries)
	}
	res := &commonpb.HighlightResult{FieldName: field, Datas: make([]*commonpb.HighlightData, 0, len(texts))}
	start := int64(0)
	for i, q := range h.queries {
		end := start + topks[i]
		if end > int64(len(texts)) {
			return nil, errPlain("get highlight failed, %d texts for %d hits", len(texts), end)
		}
		docs := texts[start:end]
		start = end
		if len(docs) == 0 {
			continue
		}
		sentences, scores, err := h.provider.Highlight(ctx, q, docs)
		if err != nil {
			return nil, errPlain("%v", err)
		}
		if len(sentences) != len(docs) || len(scores) != len(docs) {
			return nil, errPlain("highlights size must equal to documents size, but got highlights size [%d], scores size [%d], documents size [%d]", len(sentences), len(scores), len(docs))
		}
		for j := range docs {
			res.Datas = append(res.Datas, &commonpb.HighlightData{Fragments: sentences[j], Scores: scores[j]})
		}
	}
	return res, nil
}

func fieldStrings(data *schemapb.SearchResultData, id int64) ([]string, bool) {
	for _, fd := range data.GetFieldsData() {
		if fd.GetFieldId() == id {
			return fd.GetScalars().GetStringData().GetData(), true
		}
	}
	return nil, false
}

// dynamicTexts reads the string value of each name from each row's $meta
// JSON (Milvus's extractMultipleDynamicFieldTexts): a missing key or an
// empty row gives "", a value that is not a string fails.
func dynamicTexts(rows [][]byte, names []string) (map[string][]string, error) {
	out := make(map[string][]string, len(names))
	for _, n := range names {
		out[n] = make([]string, len(rows))
	}
	for i, row := range rows {
		if len(row) == 0 {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(row, &m); err != nil {
			if !json.Valid(row) {
				return nil, errPlain("failed to unmarshal JSON at index %d: invalid JSON", i)
			}
			continue // valid JSON that is not an object holds no keys
		}
		for _, n := range names {
			v, ok := m[n]
			if !ok {
				continue
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, errPlain("dynamic field %s is not a string type, got %s", n, jsonTypeName(v))
			}
			out[n][i] = s
		}
	}
	return out, nil
}

// jsonTypeName is gjson's name of a JSON value's type.
func jsonTypeName(v json.RawMessage) string {
	for _, c := range v {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case 'n':
			return "Null"
		case 't':
			return "True"
		case 'f':
			return "False"
		case '"':
			return "String"
		case '{', '[':
			return "JSON"
		default:
			return "Number"
		}
	}
	return "Null"
}
