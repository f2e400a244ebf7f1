package embedding

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// Milvus's API key environment variables and default endpoints of the
// cohere, voyageai, dashscope and gemini providers.
const (
	cohereKeyEnv    = "MILVUS_COHERE_API_KEY"
	voyageAIKeyEnv  = "MILVUS_VOYAGEAI_API_KEY"
	dashscopeKeyEnv = "MILVUS_DASHSCOPE_API_KEY"
	geminiKeyEnv    = "MILVUS_GEMINI_API_KEY"

	cohereURL    = "https://api.cohere.com/v2/embed"
	voyageAIURL  = "https://api.voyageai.com/v1/embeddings"
	dashscopeURL = "https://dashscope.aliyuncs.com/api/v1/services/embeddings/text-embedding/text-embedding"
	geminiURL    = "https://generativelanguage.googleapis.com/v1beta/models/%s:batchEmbedContents"
)

// Provider names.
const (
	cohereProvider    = "cohere"
	voyageAIProvider  = "voyageai"
	dashscopeProvider = "dashscope"
	geminiProvider    = "gemini"
)

// Parameter keys of those providers (models/common.go).
const (
	truncationParam = "truncation"
	taskParam       = "task"
)

// modelAndDim reads the model_name and dim parameters (dim checked
// against the field's: ParseAndCheckFieldDim).
func modelAndDim(fn *schemapb.FunctionSchema, output *schemapb.FieldSchema, fieldDim int64) (string, int, error) {
	var model string
	var dim int64
	for _, p := range fn.GetParams() {
		switch strings.ToLower(p.GetKey()) {
		case modelNameParam:
			model = p.GetValue()
		case dimParam:
			d, err := strconv.ParseInt(p.GetValue(), 10, 64)
			if err != nil {
				return "", 0, fmt.Errorf("dimension [%s] provided in Function params is not a valid int", p.GetValue())
			}
			if d != 0 && d != fieldDim {
				return "", 0, fmt.Errorf("function output field:[%s]'s dimension [%d] does not match the dimension [%d] provided in Function params", output.GetName(), fieldDim, d)
			}
			dim = d
		}
	}
	return model, int(dim), nil
}

// outputType is "int8" for an Int8Vector field, else "float".
func outputType(output *schemapb.FieldSchema) string {
	if output.GetDataType() == schemapb.DataType_Int8Vector {
		return "int8"
	}
	return "float"
}

// ---- cohere ----

// cohereEmbedder calls Cohere's v2 embed API.
type cohereEmbedder struct {
	s          *Service
	url        string
	key        string
	model      string
	dim        int
	truncate   string // NONE, START or END
	outputType string // float or int8
}

// newCohereEmbedder is Milvus's NewCohereEmbeddingProvider.
func (s *Service) newCohereEmbedder(output *schemapb.FieldSchema, fieldDim int64, fn *schemapb.FunctionSchema, conf Provider) (*cohereEmbedder, error) {
	key, u, err := s.apiKey(fn.GetParams(), conf, cohereKeyEnv)
	if err != nil {
		return nil, err
	}
	e := &cohereEmbedder{s: s, truncate: "END", outputType: outputType(output)}
	if e.model, e.dim, err = modelAndDim(fn, output, fieldDim); err != nil {
		return nil, err
	}
	for _, p := range fn.GetParams() {
		if strings.ToLower(p.GetKey()) == truncateParam {
			if v := p.GetValue(); v != "NONE" && v != "START" && v != "END" {
				return nil, fmt.Errorf("illegal parameters, %s only supports [NONE, START, END]", truncateParam)
			}
			e.truncate = p.GetValue()
		}
	}
	if key == "" {
		return nil, errMissingKey(cohereKeyEnv)
	}
	if u == "" {
		u = cohereURL
	}
	e.url, e.key = u, key
	return e, nil
}

func (e *cohereEmbedder) clientBatch() int { return 96 }

// cohereEmbedRequest is the v2 embed API's body.
type cohereEmbedRequest struct {
	Model           string   `json:"model"`
	Texts           []string `json:"texts"`
	InputType       string   `json:"input_type,omitempty"`
	EmbeddingTypes  []string `json:"embedding_types"`
	Truncate        string   `json:"truncate,omitempty"`
	OutputDimension int      `json:"output_dimension,omitempty"`
}

func (e *cohereEmbedder) embed(ctx context.Context, texts []string, mode Mode) (Vectors, error) {
	// Cohere's v2.0 models take no input type.
	inputType := ""
	if !strings.HasSuffix(e.model, "v2.0") {
		inputType = "search_query"
		if mode == InsertMode {
			inputType = "search_document"
		}
	}
	req := cohereEmbedRequest{Model: e.model, Texts: texts, InputType: inputType, EmbeddingTypes: []string{e.outputType},
		Truncate: e.truncate, OutputDimension: e.dim}
	headers := map[string]string{"accept": "application/json", "Content-Type": "application/json", "Authorization": "bearer " + e.key}
	var res struct {
		ID         string `json:"id"`
		Embeddings struct {
			Float [][]float32 `json:"float"`
			Int8  [][]int8    `json:"int8"`
		} `json:"embeddings"`
	}
	if err := e.s.post(ctx, e.url, headers, req, &res); err != nil {
		return Vectors{}, err
	}
	if e.outputType == "int8" {
		return Vectors{Int8: nonNil(res.Embeddings.Int8)}, nil
	}
	return floats(res.Embeddings.Float), nil
}

// nonNil keeps an empty int8 answer int8 (a nil slice reads as floats).
func nonNil(v [][]int8) [][]int8 {
	if v == nil {
		return [][]int8{}
	}
	return v
}

// ---- voyageai ----

// voyageAIEmbedder calls Voyage AI's embeddings API.
type voyageAIEmbedder struct {
	s          *Service
	url        string
	key        string
	model      string
	dim        int
	truncation bool
	outputType string // float or int8
}

// newVoyageAIEmbedder is Milvus's NewVoyageAIEmbeddingProvider.
func (s *Service) newVoyageAIEmbedder(output *schemapb.FieldSchema, fieldDim int64, fn *schemapb.FunctionSchema, conf Provider) (*voyageAIEmbedder, error) {
	key, u, err := s.apiKey(fn.GetParams(), conf, voyageAIKeyEnv)
	if err != nil {
		return nil, err
	}
	e := &voyageAIEmbedder{s: s, outputType: outputType(output)}
	if e.model, e.dim, err = modelAndDim(fn, output, fieldDim); err != nil {
		return nil, err
	}
	for _, p := range fn.GetParams() {
		if strings.ToLower(p.GetKey()) == truncationParam {
			if e.truncation, err = strconv.ParseBool(p.GetValue()); err != nil {
				return nil, fmt.Errorf("[%s param's value: %s] is invalid, only supports: [true/false]", truncationParam, p.GetValue())
			}
		}
	}
	if key == "" {
		return nil, errMissingKey(voyageAIKeyEnv)
	}
	if u == "" {
		u = voyageAIURL
	}
	e.url, e.key = u, key
	return e, nil
}

func (e *voyageAIEmbedder) clientBatch() int { return 128 }

// voyageAIRequest is the embeddings API's body.
type voyageAIRequest struct {
	Model           string   `json:"model"`
	Input           []string `json:"input"`
	InputType       string   `json:"input_type,omitempty"`
	Truncation      bool     `json:"truncation,omitempty"`
	OutputDimension int      `json:"output_dimension,omitempty"`
	OutputDtype     string   `json:"output_dtype,omitempty"`
}

func (e *voyageAIEmbedder) embed(ctx context.Context, texts []string, mode Mode) (Vectors, error) {
	inputType := "query"
	if mode == InsertMode {
		inputType = "document"
	}
	req := voyageAIRequest{Model: e.model, Input: texts, InputType: inputType, Truncation: e.truncation, OutputDimension: e.dim, OutputDtype: e.outputType}
	headers := jsonHeaders(e.key)
	if e.outputType == "int8" {
		var res struct {
			Data []struct {
				Embedding []int8 `json:"embedding"`
				Index     int    `json:"index"`
			} `json:"data"`
		}
		if err := e.s.post(ctx, e.url, headers, req, &res); err != nil {
			return Vectors{}, err
		}
		sort.Slice(res.Data, func(i, j int) bool { return res.Data[i].Index < res.Data[j].Index })
		out := make([][]int8, len(res.Data))
		for i, d := range res.Data {
			out[i] = d.Embedding
		}
		return Vectors{Int8: out}, nil
	}
	var res openAIResponse // the same shape
	if err := e.s.post(ctx, e.url, headers, req, &res); err != nil {
		return Vectors{}, err
	}
	return res.vectors(), nil
}

// ---- dashscope ----

// dashscopeEmbedder calls Alibaba Cloud DashScope's text-embedding API.
type dashscopeEmbedder struct {
	s     *Service
	url   string
	key   string
	model string
	dim   int
	batch int
}

// newDashscopeEmbedder is Milvus's NewAliDashScopeEmbeddingProvider.
func (s *Service) newDashscopeEmbedder(output *schemapb.FieldSchema, fieldDim int64, fn *schemapb.FunctionSchema, conf Provider) (*dashscopeEmbedder, error) {
	key, u, err := s.apiKey(fn.GetParams(), conf, dashscopeKeyEnv)
	if err != nil {
		return nil, err
	}
	e := &dashscopeEmbedder{s: s, batch: 25}
	if e.model, e.dim, err = modelAndDim(fn, output, fieldDim); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, errMissingKey(dashscopeKeyEnv)
	}
	if u == "" {
		u = dashscopeURL
	}
	if e.model == "text-embedding-v3" {
		e.batch = 6
	}
	e.url, e.key = u, key
	return e, nil
}

func (e *dashscopeEmbedder) clientBatch() int { return e.batch }

// dashscopeRequest is the text-embedding API's body.
type dashscopeRequest struct {
	Model string `json:"model"`
	Input struct {
		Texts []string `json:"texts"`
	} `json:"input"`
	Parameters struct {
		TextType   string `json:"text_type,omitempty"`
		Dimension  int    `json:"dimension,omitempty"`
		OutputType string `json:"output_type,omitempty"`
	} `json:"parameters,omitempty"`
}

func (e *dashscopeEmbedder) embed(ctx context.Context, texts []string, mode Mode) (Vectors, error) {
	var req dashscopeRequest
	req.Model = e.model
	req.Input.Texts = texts
	req.Parameters.TextType = "document"
	if mode == SearchMode {
		req.Parameters.TextType = "query"
	}
	req.Parameters.Dimension = e.dim
	req.Parameters.OutputType = "dense"
	var res struct {
		Output struct {
			Embeddings []struct {
				TextIndex int       `json:"text_index"`
				Embedding []float32 `json:"embedding"`
			} `json:"embeddings"`
		} `json:"output"`
		RequestID string `json:"request_id"`
	}
	if err := e.s.post(ctx, e.url, jsonHeaders(e.key), req, &res); err != nil {
		return Vectors{}, err
	}
	embs := res.Output.Embeddings
	sort.Slice(embs, func(i, j int) bool { return embs[i].TextIndex < embs[j].TextIndex })
	out := make([][]float32, len(embs))
	for i, d := range embs {
		out[i] = d.Embedding
	}
	return floats(out), nil
}

// ---- gemini ----

// geminiEmbedder calls the Gemini API's batchEmbedContents.
type geminiEmbedder struct {
	s        *Service
	url      string
	key      string
	model    string // without the models/ prefix
	dim      int
	taskType string // the task parameter; "": RETRIEVAL_DOCUMENT or RETRIEVAL_QUERY
}

// newGeminiEmbedder is Milvus's NewGeminiEmbeddingProvider.
func (s *Service) newGeminiEmbedder(output *schemapb.FieldSchema, fieldDim int64, fn *schemapb.FunctionSchema, conf Provider) (*geminiEmbedder, error) {
	if output.GetDataType() != schemapb.DataType_FloatVector {
		return nil, fmt.Errorf("Gemini embedding only supports FloatVector field, got %s", output.GetDataType()) //nolint:staticcheck // Milvus's text
	}
	key, u, err := s.apiKey(fn.GetParams(), conf, geminiKeyEnv)
	if err != nil {
		return nil, err
	}
	e := &geminiEmbedder{s: s}
	if e.model, e.dim, err = modelAndDim(fn, output, fieldDim); err != nil {
		return nil, err
	}
	e.taskType = lookupLower(fn.GetParams(), taskParam)
	if e.model == "" {
		return nil, fmt.Errorf("model_name is required for Gemini embedding provider")
	}
	e.model = strings.TrimPrefix(e.model, "models/")
	if key == "" {
		return nil, errMissingKey(geminiKeyEnv)
	}
	if u == "" {
		u = fmt.Sprintf(geminiURL, e.model)
	}
	e.url, e.key = u, key
	return e, nil
}

func (e *geminiEmbedder) clientBatch() int { return 32 }

// geminiEmbedRequest is one text of batchEmbedContents.
type geminiEmbedRequest struct {
	Model   string `json:"model"`
	Content struct {
		Parts []geminiPart `json:"parts"`
	} `json:"content"`
	TaskType             string `json:"taskType,omitempty"`
	OutputDimensionality int    `json:"outputDimensionality,omitempty"`
}

type geminiPart struct {
	Text string `json:"text"`
}

func (e *geminiEmbedder) embed(ctx context.Context, texts []string, mode Mode) (Vectors, error) {
	task := e.taskType
	if task == "" {
		task = "RETRIEVAL_QUERY"
		if mode == InsertMode {
			task = "RETRIEVAL_DOCUMENT"
		}
	}
	reqs := make([]geminiEmbedRequest, len(texts))
	for i, t := range texts {
		reqs[i].Model = "models/" + e.model
		reqs[i].Content.Parts = []geminiPart{{Text: t}}
		reqs[i].TaskType = task
		reqs[i].OutputDimensionality = e.dim
	}
	headers := map[string]string{"Content-Type": "application/json", "x-goog-api-key": e.key}
	var res struct {
		Embeddings []struct {
			Values []float32 `json:"values"`
		} `json:"embeddings"`
	}
	if err := e.s.post(ctx, e.url, headers, map[string]any{"requests": reqs}, &res); err != nil {
		return Vectors{}, err
	}
	out := make([][]float32, len(res.Embeddings))
	for i, d := range res.Embeddings {
		out[i] = d.Values
	}
	return floats(out), nil
}

// errMissingKey is Milvus's error for a provider with no API key in the
// function, the config file or the environment variable env.
func errMissingKey(env string) error {
	return fmt.Errorf("missing credentials config or configure the %s environment variable in the Milvus service", env)
}
