package embedding

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
)

// RerankProvider scores documents against a query with a model service.
type RerankProvider interface {
	// MaxBatch is the most documents one call may carry.
	MaxBatch() int
	// Rerank returns one score per doc, in docs' order.
	Rerank(ctx context.Context, query string, docs []string) ([]float32, error)
}

// NewRerankProvider builds a model reranker's provider from its function
// parameters, as Milvus's rerank newProvider: tei, vllm, cohere,
// voyageai, siliconflow, ali (DashScope) and zilliz (the gRPC model
// service of function.models.zilliz, told the request's database db).
func (s *Service) NewRerankProvider(params []*commonpb.KeyValuePair, db string) (RerankProvider, error) {
	for _, p := range params {
		if strings.ToLower(p.GetKey()) != providerParam {
			continue
		}
		provider := strings.ToLower(p.GetValue())
		conf := s.cfg.Rerank[provider]
		if conf.Disabled {
			return nil, fmt.Errorf("rerank provider: [%s] is disabled", provider)
		}
		switch provider {
		case teiProvider:
			return s.newTEIReranker(params, conf)
		case vllmProvider:
			return s.newVLLMReranker(params, conf)
		case siliconflowProvider, cohereProvider, voyageAIProvider, aliProvider:
			return s.newHostedReranker(provider, params, conf)
		case zillizProvider:
			return s.newZillizReranker(params, db)
		default:
			return nil, fmt.Errorf("unknown rerank model provider:%s", p.GetValue())
		}
	}
	return nil, fmt.Errorf("lost rerank params:%s ", providerParam)
}

func lookupLower(params []*commonpb.KeyValuePair, key string) string {
	for _, p := range params {
		if strings.ToLower(p.GetKey()) == key {
			return p.GetValue()
		}
	}
	return ""
}

// parseMaxBatch is Milvus's rerank parseMaxBatch.
func parseMaxBatch(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1, fmt.Errorf("[%s param's value: %s] is not a valid number", maxClientBatchSizeParam, v)
	}
	if n <= 0 {
		return -1, fmt.Errorf("[%s param's value: %s] must be greater than 0", maxClientBatchSizeParam, v)
	}
	return n, nil
}

// newTEIReranker is Milvus's newTeiProvider.
func (s *Service) newTEIReranker(params []*commonpb.KeyValuePair, conf Provider) (*teiReranker, error) {
	key, _, err := s.apiKey(params, conf, "")
	if err != nil {
		return nil, err
	}
	r := &teiReranker{s: s, apiKey: key, batch: 32, params: map[string]any{}}
	for _, p := range params {
		switch strings.ToLower(p.GetKey()) {
		case endpointParam:
			r.endpoint = p.GetValue()
		case maxClientBatchSizeParam:
			if r.batch, err = parseMaxBatch(p.GetValue()); err != nil {
				return nil, err
			}
		case truncateParam:
			b, err := strconv.ParseBool(p.GetValue())
			if err != nil {
				return nil, fmt.Errorf("Rerank params error, %s: %s is not bool type", truncateParam, p.GetValue()) //nolint:staticcheck // Milvus's text
			}
			r.params[truncateParam] = b
		case truncationDirectionParam:
			if d := p.GetValue(); d != "Left" && d != "Right" {
				return nil, fmt.Errorf("[%s param's value: %s] is not invalid, only supports [Left/Right]", truncationDirectionParam, p.GetValue())
			}
			r.params[truncationDirectionParam] = p.GetValue()
		}
	}
	return r, nil
}

// vllmReranker calls vLLM's /rerank.
type vllmReranker struct {
	s      *Service
	url    string
	apiKey string
	params map[string]any // truncate_prompt_tokens
	batch  int
}

// newVLLMReranker is Milvus's newVllmProvider.
func (s *Service) newVLLMReranker(params []*commonpb.KeyValuePair, conf Provider) (*vllmReranker, error) {
	r := &vllmReranker{s: s, batch: 32, params: map[string]any{}}
	endpoint := ""
	var err error
	for _, p := range params {
		switch strings.ToLower(p.GetKey()) {
		case endpointParam:
			endpoint = p.GetValue()
		case maxClientBatchSizeParam:
			if r.batch, err = parseMaxBatch(p.GetValue()); err != nil {
				return nil, err
			}
		case vllmTruncateParam:
			n, err := strconv.ParseInt(p.GetValue(), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("Rerank params error, %s: %s is not a number", vllmTruncateParam, p.GetValue()) //nolint:staticcheck // Milvus's text
			}
			r.params[vllmTruncateParam] = n
		}
	}
	if endpoint == "" {
		return nil, fmt.Errorf("rerank function lost params endpoint")
	}
	if r.apiKey, _, err = s.apiKey(params, conf, ""); err != nil {
		return nil, err
	}
	u, err := baseURL(endpoint)
	if err != nil {
		return nil, err
	}
	u.Path = "/rerank"
	r.url = u.String()
	return r, nil
}

func (r *vllmReranker) MaxBatch() int { return r.batch }

// Rerank scores docs against query, one score per doc in docs' order.
func (r *vllmReranker) Rerank(ctx context.Context, query string, docs []string) ([]float32, error) {
	req := map[string]any{"query": query, "documents": docs}
	for k, v := range r.params {
		req[k] = v
	}
	var res struct {
		Results []struct {
			Index          int     `json:"index"`
			RelevanceScore float32 `json:"relevance_score"`
		} `json:"results"`
	}
	if err := r.s.post(ctx, r.url, jsonHeaders(r.apiKey), req, &res); err != nil {
		return nil, err
	}
	sort.Slice(res.Results, func(i, j int) bool { return res.Results[i].Index < res.Results[j].Index })
	scores := make([]float32, len(res.Results))
	for i, it := range res.Results {
		scores[i] = it.RelevanceScore
	}
	return scores, nil
}
