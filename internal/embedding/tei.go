package embedding

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// teiEmbedder calls Hugging Face text-embeddings-inference's /embed.
type teiEmbedder struct {
	s                   *Service
	endpoint            string // checked at the first call, as Milvus does
	apiKey              string
	ingestionPrompt     string
	searchPrompt        string
	truncate            bool
	truncationDirection string
	batch               int
}

// newTEIEmbedder is Milvus's NewTEIEmbeddingProvider.
func (s *Service) newTEIEmbedder(fn *schemapb.FunctionSchema, conf Provider) (*teiEmbedder, error) {
	e := &teiEmbedder{s: s, batch: 32}
	var err error
	for _, p := range fn.GetParams() {
		switch strings.ToLower(p.GetKey()) {
		case endpointParam:
			e.endpoint = p.GetValue()
		case ingestionPromptParam:
			e.ingestionPrompt = p.GetValue()
		case searchPromptParam:
			e.searchPrompt = p.GetValue()
		case maxClientBatchSizeParam:
			if e.batch, err = strconv.Atoi(p.GetValue()); err != nil {
				return nil, fmt.Errorf("[%s param's value: %s] is not a valid number", maxClientBatchSizeParam, p.GetValue())
			}
		case truncationDirectionParam:
			if e.truncationDirection = p.GetValue(); e.truncationDirection != "Left" && e.truncationDirection != "Right" {
				return nil, fmt.Errorf("[%s param's value: %s] is not invalid, only supports [Left/Right]", truncationDirectionParam, p.GetValue())
			}
		case truncateParam:
			if e.truncate, err = strconv.ParseBool(p.GetValue()); err != nil {
				return nil, fmt.Errorf("[%s param's value: %s] is invalid, only supports: [true/false]", truncateParam, p.GetValue())
			}
		}
	}
	if e.batch <= 0 {
		// Milvus loops forever on a batch of 0; refuse it instead.
		return nil, fmt.Errorf("[%s param's value: %d] must be greater than 0", maxClientBatchSizeParam, e.batch)
	}
	if e.apiKey, _, err = s.apiKey(fn.GetParams(), conf, ""); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *teiEmbedder) clientBatch() int { return e.batch }

// teiEmbedRequest is TEI's /embed body.
type teiEmbedRequest struct {
	Inputs              []string `json:"inputs"`
	Truncate            bool     `json:"truncate,omitempty"`
	TruncationDirection string   `json:"truncation_direction,omitempty"`
}

func (e *teiEmbedder) embed(ctx context.Context, texts []string, mode Mode) (Vectors, error) {
	u, err := baseURL(e.endpoint)
	if err != nil {
		return Vectors{}, err
	}
	u.Path = "/embed"
	prompt := e.ingestionPrompt
	if mode == SearchMode {
		prompt = e.searchPrompt
	}
	req := teiEmbedRequest{Inputs: texts, Truncate: e.truncate, TruncationDirection: e.truncationDirection}
	if prompt != "" {
		req.Inputs = make([]string, len(texts))
		for i, t := range texts {
			req.Inputs[i] = prompt + t
		}
	}
	var out [][]float32
	if err := e.s.post(ctx, u.String(), jsonHeaders(e.apiKey), req, &out); err != nil {
		return Vectors{}, err
	}
	return floats(out), nil
}

// teiReranker calls TEI's /rerank.
type teiReranker struct {
	s        *Service
	endpoint string
	apiKey   string
	params   map[string]any // truncate, truncation_direction
	batch    int
}

func (r *teiReranker) MaxBatch() int { return r.batch }

// teiRerankItem is one item of TEI's /rerank answer.
type teiRerankItem struct {
	Index int     `json:"index"`
	Score float32 `json:"score"`
}

// Rerank scores docs against query, one score per doc in docs' order.
func (r *teiReranker) Rerank(ctx context.Context, query string, docs []string) ([]float32, error) {
	u, err := baseURL(r.endpoint)
	if err != nil {
		return nil, err
	}
	u.Path = "/rerank"
	req := map[string]any{"query": query, "texts": docs}
	for k, v := range r.params {
		req[k] = v
	}
	var items []teiRerankItem
	if err := r.s.post(ctx, u.String(), jsonHeaders(r.apiKey), req, &items); err != nil {
		return nil, err
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Index < items[j].Index })
	scores := make([]float32, len(items))
	for i, it := range items {
		scores[i] = it.Score
	}
	return scores, nil
}
