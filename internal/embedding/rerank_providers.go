package embedding

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
)

// Rerank providers and parameters of the hosted rerank APIs.
const (
	aliProvider          = "ali"
	maxTokensPerDocParam = "max_tokens_per_doc"
	maxChunksPerDocParam = "max_chunks_per_doc"
	overlapTokensParam   = "overlap_tokens"

	cohereRerankURL      = "https://api.cohere.com/v2/rerank"
	voyageAIRerankURL    = "https://api.voyageai.com/v1/rerank"
	dashscopeRerankURL   = "https://dashscope.aliyuncs.com/api/v1/services/rerank/text-rerank/text-rerank"
	siliconflowRerankURL = "https://api.siliconflow.cn/v1/rerank"
)

// hostedReranker calls one of the hosted rerank APIs (Cohere, Voyage AI,
// SiliconFlow, DashScope): a model name, a query and the documents in,
// one {index, relevance_score} per document out.
type hostedReranker struct {
	s        *Service
	provider string
	url      string
	headers  map[string]string
	model    string
	batch    int
}

func (r *hostedReranker) MaxBatch() int { return r.batch }

// rankItem is one scored document.
type rankItem struct {
	Index          int     `json:"index"`
	RelevanceScore float32 `json:"relevance_score"`
}

// Rerank scores docs against query, one score per doc in docs' order.
// As Milvus's clients do, the request carries the model, the query and
// the documents only (the providers' other parameters are checked but
// not sent).
func (r *hostedReranker) Rerank(ctx context.Context, query string, docs []string) ([]float32, error) {
	var items []rankItem
	switch r.provider {
	case aliProvider:
		req := map[string]any{"model": r.model, "input": map[string]any{"query": query, "documents": docs}}
		var res struct {
			Output struct {
				Results []rankItem `json:"results"`
			} `json:"output"`
		}
		if err := r.s.post(ctx, r.url, r.headers, req, &res); err != nil {
			return nil, err
		}
		items = res.Output.Results
	case voyageAIProvider:
		var res struct {
			Data []rankItem `json:"data"`
		}
		if err := r.s.post(ctx, r.url, r.headers, map[string]any{"model": r.model, "query": query, "documents": docs}, &res); err != nil {
			return nil, err
		}
		items = res.Data
	default: // cohere, siliconflow
		var res struct {
			Results []rankItem `json:"results"`
		}
		if err := r.s.post(ctx, r.url, r.headers, map[string]any{"model": r.model, "query": query, "documents": docs}, &res); err != nil {
			return nil, err
		}
		items = res.Results
	}
	if len(items) != len(docs) {
		return nil, fmt.Errorf("rerank failed, the number of documents and scores does not match documents:[%d], scores:[%d]", len(docs), len(items))
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Index < items[j].Index })
	scores := make([]float32, len(items))
	for i, it := range items {
		scores[i] = it.RelevanceScore
	}
	return scores, nil
}

// newHostedReranker is Milvus's newCohereProvider, newVoyageaiProvider,
// newSiliconflowProvider and newAliProvider, in their order of checks.
func (s *Service) newHostedReranker(provider string, params []*commonpb.KeyValuePair, conf Provider) (*hostedReranker, error) {
	env, u := map[string][2]string{
		cohereProvider:      {cohereKeyEnv, cohereRerankURL},
		voyageAIProvider:    {voyageAIKeyEnv, voyageAIRerankURL},
		siliconflowProvider: {siliconflowKeyEnv, siliconflowRerankURL},
		aliProvider:         {dashscopeKeyEnv, dashscopeRerankURL},
	}[provider], ""
	key, u, err := s.apiKey(params, conf, env[0])
	if err != nil {
		return nil, err
	}
	if u == "" {
		u = env[1]
	}
	r := &hostedReranker{s: s, provider: provider, url: u, batch: 128, headers: jsonHeaders(key)}
	switch provider {
	case cohereProvider:
		if key == "" {
			return nil, errMissingKey(cohereKeyEnv)
		}
		r.headers = map[string]string{"accept": "application/json", "Content-Type": "application/json", "Authorization": "bearer " + key}
	case voyageAIProvider:
		if key == "" {
			return nil, errMissingKey(voyageAIKeyEnv)
		}
	case siliconflowProvider:
		if key == "" {
			return nil, fmt.Errorf("missing credentials conifg or configure the %s environment variable in the Milvus service", siliconflowKeyEnv)
		}
	case aliProvider:
		// Milvus's DashScope rerank client takes an empty key.
		r.headers = map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + key}
	}
	for _, p := range params {
		switch strings.ToLower(p.GetKey()) {
		case modelNameParam:
			r.model = p.GetValue()
		case maxClientBatchSizeParam:
			if r.batch, err = parseMaxBatch(p.GetValue()); err != nil {
				return nil, err
			}
		case maxTokensPerDocParam:
			if provider == cohereProvider {
				if _, err := strconv.Atoi(p.GetValue()); err != nil {
					return nil, fmt.Errorf("[%s param's value: %s] is not a valid number", maxTokensPerDocParam, p.GetValue())
				}
			}
		case truncationParam:
			if provider == voyageAIProvider {
				if _, err := strconv.ParseBool(p.GetValue()); err != nil {
					return nil, fmt.Errorf("[%s param's value: %s] is invalid, only supports: [true/false]", truncationParam, p.GetValue())
				}
			}
		case maxChunksPerDocParam, overlapTokensParam:
			if provider == siliconflowProvider {
				if _, err := strconv.Atoi(p.GetValue()); err != nil {
					return nil, fmt.Errorf("[%s param's value: %s] is not a valid number", strings.ToLower(p.GetKey()), p.GetValue())
				}
			}
		}
	}
	if r.model == "" {
		return nil, fmt.Errorf("%s rerank model name is required", provider)
	}
	return r, nil
}
