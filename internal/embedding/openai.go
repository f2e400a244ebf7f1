package embedding

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// Milvus's API key environment variables and default endpoints.
const (
	openAIKeyEnv         = "MILVUS_OPENAI_API_KEY"
	azureOpenAIKeyEnv    = "MILVUS_AZURE_OPENAI_API_KEY"
	azureResourceNameEnv = "MILVUS_AZURE_OPENAI_RESOURCE_NAME"
	siliconflowKeyEnv    = "MILVUS_SILICONFLOW_API_KEY"

	openAIURL      = "https://api.openai.com/v1/embeddings"
	siliconflowURL = "https://api.siliconflow.cn/v1/embeddings"
	azureVersion   = "2024-06-01"
)

// openAIEmbedder calls an OpenAI-style embeddings API: OpenAI's, Azure
// OpenAI's deployments, SiliconFlow's, or any compatible server at the
// configured url.
type openAIEmbedder struct {
	s       *Service
	url     string
	headers map[string]string
	model   string
	dim     int // the `dim` parameter sent as dimensions; 0: not sent
	user    string
	batch   int
}

// newOpenAIEmbedder is Milvus's newOpenAIEmbeddingProvider (and
// NewSiliconflowEmbeddingProvider, whose API is the same).
func (s *Service) newOpenAIEmbedder(provider string, output *schemapb.FieldSchema, fieldDim int64, fn *schemapb.FunctionSchema, conf Provider) (*openAIEmbedder, error) {
	e := &openAIEmbedder{s: s, batch: 128}
	for _, p := range fn.GetParams() {
		switch strings.ToLower(p.GetKey()) {
		case modelNameParam:
			e.model = p.GetValue()
		case dimParam:
			d, err := strconv.ParseInt(p.GetValue(), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("dimension [%s] provided in Function params is not a valid int", p.GetValue())
			}
			if d != 0 && d != fieldDim {
				return nil, fmt.Errorf("function output field:[%s]'s dimension [%d] does not match the dimension [%d] provided in Function params", output.GetName(), fieldDim, d)
			}
			e.dim = int(d)
		case userParam:
			if provider != siliconflowProvider {
				e.user = p.GetValue()
			}
		}
	}
	switch provider {
	case openAIProvider:
		key, u, err := s.apiKey(fn.GetParams(), conf, openAIKeyEnv)
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, errMissingKey(openAIKeyEnv)
		}
		if u == "" {
			u = openAIURL
		}
		e.url, e.headers = u, jsonHeaders(key)
	case azureOpenAIProvider:
		key, u, err := s.apiKey(fn.GetParams(), conf, azureOpenAIKeyEnv)
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, errMissingKey(azureOpenAIKeyEnv)
		}
		if u == "" {
			name := conf.ResourceName
			if name == "" {
				name = s.cfg.Env(azureResourceNameEnv)
			}
			if name != "" {
				u = fmt.Sprintf("https://%s.openai.azure.com", name)
			}
		}
		if u == "" {
			return nil, fmt.Errorf("must configure the %s environment variable in the Milvus service", azureResourceNameEnv)
		}
		base, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		base.Path = fmt.Sprintf("/openai/deployments/%s/embeddings", e.model)
		base.RawQuery = url.Values{"api-version": {azureVersion}}.Encode()
		e.url = base.String()
		e.headers = map[string]string{"Content-Type": "application/json", "api-key": key}
	case siliconflowProvider:
		key, u, err := s.apiKey(fn.GetParams(), conf, siliconflowKeyEnv)
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, fmt.Errorf("missing credentials conifg or configure the %s environment variable in the Milvus service", siliconflowKeyEnv)
		}
		if u == "" {
			u = siliconflowURL
		}
		e.url, e.headers, e.batch = u, jsonHeaders(key), 32
	}
	return e, nil
}

func (e *openAIEmbedder) clientBatch() int { return e.batch }

// openAIRequest is the embeddings API's body.
type openAIRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	User           string   `json:"user,omitempty"`
	EncodingFormat string   `json:"encoding_format,omitempty"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

// openAIResponse is its answer.
type openAIResponse struct {
	Data []struct {
		Embedding []float32 `json:"embedding"`
		Index     int       `json:"index"`
	} `json:"data"`
}

func (e *openAIEmbedder) embed(ctx context.Context, texts []string, _ Mode) (Vectors, error) {
	req := openAIRequest{Model: e.model, Input: texts, User: e.user, EncodingFormat: "float", Dimensions: e.dim}
	var res openAIResponse
	if err := e.s.post(ctx, e.url, e.headers, req, &res); err != nil {
		return Vectors{}, err
	}
	return res.vectors(), nil
}

// vectors are the response's embeddings in input order (the API may
// answer in any order; each carries its index).
func (r *openAIResponse) vectors() Vectors {
	sort.Slice(r.Data, func(i, j int) bool { return r.Data[i].Index < r.Data[j].Index })
	out := make([][]float32, len(r.Data))
	for i, d := range r.Data {
		out[i] = d.Embedding
	}
	return floats(out)
}
