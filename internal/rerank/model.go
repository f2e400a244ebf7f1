package rerank

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// ModelProvider scores documents against a query with a model service
// (TEI's /rerank, vLLM's, ...). *embedding.Service's providers satisfy it.
type ModelProvider interface {
	// MaxBatch is the most documents one Rerank call may carry.
	MaxBatch() int
	// Rerank returns one score per doc, in docs' order.
	Rerank(ctx context.Context, query string, docs []string) ([]float32, error)
}

// ModelProviders builds the provider a model reranker's parameters name
// (Milvus's rerank newProvider: enabled provider, its parameters); nil:
// every provider is disabled.
type ModelProviders func(params []*commonpb.KeyValuePair) (ModelProvider, error)

// model is Milvus's model reranker (ModelFunction): the hits' texts of the
// input field are scored against the query's text by a model service, and
// the scores rank them (higher first).
type model struct {
	field    string
	provider ModelProvider
	queries  []string
}

func (*model) Name() string            { return ModelName }
func (m *model) InputFields() []string { return []string{m.field} }
func (*model) SupportsGroup() bool     { return true }

// Rank scores the distinct hits of lists (each key once, its text from
// where it is first seen) in batches of the provider's size.
func (m *model) Rank(ctx context.Context, lists []List, p Params) ([]Ranked, error) {
	if p.NQ > 0 && len(m.queries) != p.NQ {
		return nil, errPlain("nq must equal to queries size, but got nq [%d], queries size [%d], queries: [%v]", p.NQ, len(m.queries), m.queries)
	}
	query := m.queries[min(max(p.Query, 0), len(m.queries)-1)]
	acc := newAccumulator()
	type doc struct {
		li, pos int
		hit     Hit
	}
	var docs []doc
	seen := map[PK]bool{}
	for li, l := range lists {
		for i, h := range l.Hits {
			if !seen[h.PK] {
				seen[h.PK] = true
				docs = append(docs, doc{li, i, h})
			}
		}
	}
	batch := max(m.provider.MaxBatch(), 1)
	for lo := 0; lo < len(docs); lo += batch {
		hi := min(lo+batch, len(docs))
		texts := make([]string, 0, hi-lo)
		for _, d := range docs[lo:hi] {
			texts = append(texts, d.hit.Text)
		}
		scores, err := m.provider.Rerank(ctx, query, texts)
		if err != nil {
			return nil, err
		}
		if len(scores) != hi-lo {
			return nil, errPlain("call rerank service failed, %d docs but got %d scores", hi-lo, len(scores))
		}
		for i, d := range docs[lo:hi] {
			acc.add(d.li, d.pos, d.hit, scores[i])
		}
	}
	return acc.finish(p, true)
}

// newModel checks a model reranker's parameters in Milvus's order
// (newModelFunction, newProvider and the provider's constructor).
func newModel(schema *schemapb.CollectionSchema, f *schemapb.FunctionSchema, providers ModelProviders) (Reranker, error) {
	in, err := inputFields(schema, f)
	if err != nil {
		return nil, err
	}
	if len(in) != 1 {
		return nil, errPlain("rerank model only supports single input, but gets [%s] input", f.GetInputFieldNames())
	}
	if t := in[0].GetDataType(); t != schemapb.DataType_VarChar {
		return nil, errPlain("rerank model only support varchar, bug got [%s]", t.String())
	}
	m := &model{field: in[0].GetName()}
	if providers == nil {
		// No model service: every provider is refused as disabled.
		providers = disabledProviders
	}
	if m.provider, err = providers(f.GetParams()); err != nil {
		return nil, errPlain("%v", err)
	}
	for _, p := range f.GetParams() {
		if p.GetKey() == queriesKey {
			if err := json.Unmarshal([]byte(p.GetValue()), &m.queries); err != nil {
				return nil, errPlain("parse rerank params [queries] failed, err: %v", err)
			}
		}
	}
	if len(m.queries) == 0 {
		return nil, errPlain("rerank function lost params queries")
	}
	return m, nil
}

// disabledProviders refuses every provider the way Milvus refuses one its
// configuration disables.
func disabledProviders(params []*commonpb.KeyValuePair) (ModelProvider, error) {
	for _, p := range params {
		if strings.ToLower(p.GetKey()) == providerKey {
			return nil, errPlain("rerank provider: [%s] is disabled", strings.ToLower(p.GetValue()))
		}
	}
	return nil, errPlain("lost rerank params:%s ", providerKey)
}
