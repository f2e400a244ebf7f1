package embeddingtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
)

// The hosted providers' APIs, each under a prefix of its own so that one
// server answers them all (a function points at one with the provider's
// `url` configuration):
//
//	/cohere/v2/embed, /cohere/v2/rerank                  Cohere v2
//	/voyageai/v1/embeddings, /voyageai/v1/rerank        Voyage AI
//	/dashscope/api/v1/services/embeddings/text-embedding/text-embedding,
//	/dashscope/api/v1/services/rerank/text-rerank/text-rerank   DashScope
//	/gemini/v1beta/models/{model}:batchEmbedContents    Gemini API
//	/siliconflow/v1/rerank                               SiliconFlow
//	/bedrock/model/{modelId}/invoke                      Bedrock InvokeModel (SigV4)
//	/vertexai/token                                      Google OAuth 2.0 JWT bearer grant
//	/vertexai/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:predict (or :embedContent)
//
// Each checks the request as the service would (authentication header,
// required fields, allowed values) and answers the documented response
// shape with the server's embedder; int8 embeddings are the float ones
// scaled by 127 and rounded. A request the service would refuse gets a
// 400 (401 without the key) with a JSON error.

// Request is the last request a provider API received.
type Request struct {
	Path   string
	Header http.Header
	Body   map[string]any
}

// LastRequest is the last request a provider API received.
func (s *Server) LastRequest() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func (s *Server) providerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /cohere/v2/embed", s.cohereEmbed)
	mux.HandleFunc("POST /cohere/v2/rerank", s.cohereRerank)
	mux.HandleFunc("POST /voyageai/v1/embeddings", s.voyageEmbed)
	mux.HandleFunc("POST /voyageai/v1/rerank", s.voyageRerank)
	mux.HandleFunc("POST /dashscope/api/v1/services/embeddings/text-embedding/text-embedding", s.dashscopeEmbed)
	mux.HandleFunc("POST /dashscope/api/v1/services/rerank/text-rerank/text-rerank", s.dashscopeRerank)
	mux.HandleFunc("POST /gemini/v1beta/models/{call}", s.geminiEmbed)
	mux.HandleFunc("POST /siliconflow/v1/rerank", s.siliconflowRerank)
	mux.HandleFunc("POST /bedrock/model/{model}/invoke", s.bedrockInvoke)
	mux.HandleFunc("POST /vertexai/token", s.googleToken)
	mux.HandleFunc("POST /vertexai/v1/projects/{project}/locations/{location}/publishers/google/models/{call}", s.vertexAI)
}

// Int8 is the server's int8 embedding of text: Embed scaled by 127.
func (s *Server) Int8(text string) []int8 {
	f := s.Embed(text)
	out := make([]int8, len(f))
	for i, x := range f {
		out[i] = int8(math.Round(float64(x) * 127))
	}
	return out
}

// providerError is a refusal in the providers' common shape.
func providerError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]any{"message": fmt.Sprintf(format, args...)})
}

// decode records the request, checks its content type and its key (in
// header keyHeader, after prefix), and decodes its body into v.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, keyHeader, prefix string, v any) bool {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		providerError(w, http.StatusBadRequest, "read body: %v", err)
		return false
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	s.mu.Lock()
	s.last = Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: m}
	s.mu.Unlock()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		providerError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json, got %q", ct)
		return false
	}
	got := r.Header.Get(keyHeader)
	if !strings.HasPrefix(got, prefix) || (s.opts.APIKey != "" && strings.TrimPrefix(got, prefix) != s.opts.APIKey) || got == prefix {
		providerError(w, http.StatusUnauthorized, "invalid api token")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		providerError(w, http.StatusBadRequest, "invalid request: %v", err)
		return false
	}
	return true
}

// dimOf is the requested output dimension, or the server's.
func (s *Server) dimOf(d int) int {
	if d > 0 {
		return d
	}
	return s.opts.Dim
}

func (s *Server) floats(texts []string, dim int) [][]float32 {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = Embed(Tokens(t), dim)
	}
	return out
}

func quantize(v [][]float32) [][]int8 {
	out := make([][]int8, len(v))
	for i, f := range v {
		out[i] = make([]int8, len(f))
		for j, x := range f {
			out[i][j] = int8(math.Round(float64(x) * 127))
		}
	}
	return out
}

// cohereEmbed is Cohere's POST /v2/embed.
func (s *Server) cohereEmbed(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model           string   `json:"model"`
		Texts           []string `json:"texts"`
		InputType       string   `json:"input_type"`
		EmbeddingTypes  []string `json:"embedding_types"`
		Truncate        string   `json:"truncate"`
		OutputDimension int      `json:"output_dimension"`
	}
	if !s.decode(w, r, "Authorization", "bearer ", &req) {
		return
	}
	switch {
	case r.Header.Get("accept") != "application/json":
		providerError(w, http.StatusBadRequest, "accept must be application/json")
	case req.Model == "":
		providerError(w, http.StatusBadRequest, "model is required")
	case len(req.Texts) == 0 || len(req.Texts) > 96:
		providerError(w, http.StatusBadRequest, "invalid request: texts must contain between 1 and 96 items")
	case !slices.Contains([]string{"", "search_document", "search_query", "classification", "clustering"}, req.InputType):
		providerError(w, http.StatusBadRequest, "invalid input_type %q", req.InputType)
	case !slices.Contains([]string{"", "NONE", "START", "END"}, req.Truncate):
		providerError(w, http.StatusBadRequest, "invalid truncate %q", req.Truncate)
	case len(req.EmbeddingTypes) == 0:
		providerError(w, http.StatusBadRequest, "embedding_types is required")
	default:
		vecs := s.floats(req.Texts, s.dimOf(req.OutputDimension))
		embs := map[string]any{}
		for _, t := range req.EmbeddingTypes {
			switch t {
			case "float":
				embs["float"] = vecs
			case "int8":
				embs["int8"] = quantize(vecs)
			default:
				providerError(w, http.StatusBadRequest, "invalid embedding type %q", t)
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": "test", "embeddings": embs, "texts": req.Texts,
			"meta": map[string]any{"api_version": map[string]any{"version": "2"}}})
	}
}

// voyageEmbed is Voyage AI's POST /v1/embeddings.
func (s *Server) voyageEmbed(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model           string   `json:"model"`
		Input           []string `json:"input"`
		InputType       *string  `json:"input_type"`
		Truncation      *bool    `json:"truncation"`
		OutputDimension int      `json:"output_dimension"`
		OutputDtype     string   `json:"output_dtype"`
		EncodingFormat  *string  `json:"encoding_format"`
	}
	if !s.decode(w, r, "Authorization", "Bearer ", &req) {
		return
	}
	switch {
	case req.Model == "":
		providerError(w, http.StatusBadRequest, "model is required")
	case len(req.Input) == 0 || len(req.Input) > 1000:
		providerError(w, http.StatusBadRequest, "input must be a list of 1 to 1000 strings")
	case req.InputType != nil && *req.InputType != "query" && *req.InputType != "document":
		providerError(w, http.StatusBadRequest, "input_type must be query, document or null")
	case !slices.Contains([]string{"", "float", "int8", "uint8", "binary", "ubinary"}, req.OutputDtype):
		providerError(w, http.StatusBadRequest, "invalid output_dtype %q", req.OutputDtype)
	default:
		vecs := s.floats(req.Input, s.dimOf(req.OutputDimension))
		data := make([]map[string]any, len(vecs))
		int8s := quantize(vecs)
		for i := range vecs {
			// Answer in reverse order: clients must sort by index.
			d := map[string]any{"object": "embedding", "index": i, "embedding": vecs[i]}
			if req.OutputDtype == "int8" {
				d["embedding"] = int8s[i]
			}
			data[len(vecs)-1-i] = d
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": req.Model, "usage": map[string]int{"total_tokens": 0}})
	}
}

// dashscopeEmbed is DashScope's text-embedding service.
func (s *Server) dashscopeEmbed(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string `json:"model"`
		Input struct {
			Texts []string `json:"texts"`
		} `json:"input"`
		Parameters struct {
			TextType   string `json:"text_type"`
			Dimension  int    `json:"dimension"`
			OutputType string `json:"output_type"`
		} `json:"parameters"`
	}
	if !s.decode(w, r, "Authorization", "Bearer ", &req) {
		return
	}
	switch {
	case req.Model == "":
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "InvalidParameter", "message": "Model not exist.", "request_id": "test"})
	case len(req.Input.Texts) == 0 || len(req.Input.Texts) > 25:
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "InvalidParameter", "message": "batch size is invalid, it should not be larger than 25.", "request_id": "test"})
	case req.Parameters.TextType != "" && req.Parameters.TextType != "query" && req.Parameters.TextType != "document":
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "InvalidParameter", "message": "text_type is invalid", "request_id": "test"})
	case req.Parameters.OutputType != "" && req.Parameters.OutputType != "dense" && req.Parameters.OutputType != "sparse" && req.Parameters.OutputType != "dense&sparse":
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "InvalidParameter", "message": "output_type is invalid", "request_id": "test"})
	default:
		vecs := s.floats(req.Input.Texts, s.dimOf(req.Parameters.Dimension))
		embs := make([]map[string]any, len(vecs))
		for i, v := range vecs {
			embs[len(vecs)-1-i] = map[string]any{"text_index": i, "embedding": v}
		}
		writeJSON(w, http.StatusOK, map[string]any{"output": map[string]any{"embeddings": embs},
			"usage": map[string]int{"total_tokens": 0}, "request_id": "test"})
	}
}

// geminiEmbed is the Gemini API's models/{model}:batchEmbedContents.
func (s *Server) geminiEmbed(w http.ResponseWriter, r *http.Request) {
	model, ok := strings.CutSuffix(r.PathValue("call"), ":batchEmbedContents")
	if !ok {
		providerError(w, http.StatusNotFound, "unknown method %s", r.PathValue("call"))
		return
	}
	var req struct {
		Requests []struct {
			Model   string `json:"model"`
			Content struct {
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"content"`
			TaskType             string `json:"taskType"`
			OutputDimensionality int    `json:"outputDimensionality"`
		} `json:"requests"`
	}
	if !s.decode(w, r, "x-goog-api-key", "", &req) {
		return
	}
	if len(req.Requests) == 0 || len(req.Requests) > 100 {
		providerError(w, http.StatusBadRequest, "requests must hold 1 to 100 items")
		return
	}
	tasks := []string{"", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"}
	embs := make([]map[string]any, len(req.Requests))
	for i, q := range req.Requests {
		if q.Model != "models/"+model {
			providerError(w, http.StatusBadRequest, "Model names should match: %q in the request, %q in the URL", q.Model, "models/"+model)
			return
		}
		if !slices.Contains(tasks, q.TaskType) {
			providerError(w, http.StatusBadRequest, "Invalid value at 'requests[%d].task_type' (%s)", i, q.TaskType)
			return
		}
		if len(q.Content.Parts) != 1 {
			providerError(w, http.StatusBadRequest, "content must hold one text part")
			return
		}
		embs[i] = map[string]any{"values": Embed(Tokens(q.Content.Parts[0].Text), s.dimOf(q.OutputDimensionality))}
	}
	writeJSON(w, http.StatusOK, map[string]any{"embeddings": embs})
}

// rerankScores are the reranker's scores of docs for query, best first,
// as {index, relevance_score} items.
func (s *Server) rerankScores(query string, docs []string, topN int) []map[string]any {
	q := Embed(Tokens(query), s.opts.Dim)
	items := make([]map[string]any, len(docs))
	for i, d := range docs {
		items[i] = map[string]any{"index": i, "relevance_score": score(q, Embed(Tokens(d), s.opts.Dim))}
	}
	slices.SortStableFunc(items, func(a, b map[string]any) int {
		x, y := a["relevance_score"].(float32), b["relevance_score"].(float32)
		switch {
		case x > y:
			return -1
		case x < y:
			return 1
		}
		return 0
	})
	if topN > 0 && topN < len(items) {
		items = items[:topN]
	}
	return items
}

// cohereRerank is Cohere's POST /v2/rerank.
func (s *Server) cohereRerank(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model           string   `json:"model"`
		Query           string   `json:"query"`
		Documents       []string `json:"documents"`
		TopN            int      `json:"top_n"`
		MaxTokensPerDoc int      `json:"max_tokens_per_doc"`
	}
	if !s.decode(w, r, "Authorization", "bearer ", &req) {
		return
	}
	if req.Model == "" || req.Query == "" || len(req.Documents) == 0 {
		providerError(w, http.StatusBadRequest, "model, query and documents are required")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": "test", "results": s.rerankScores(req.Query, req.Documents, req.TopN),
		"meta": map[string]any{"api_version": map[string]any{"version": "2"}, "billed_units": map[string]int{"search_units": 1}}})
}

// voyageRerank is Voyage AI's POST /v1/rerank.
func (s *Server) voyageRerank(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model      string   `json:"model"`
		Query      string   `json:"query"`
		Documents  []string `json:"documents"`
		TopK       int      `json:"top_k"`
		Truncation *bool    `json:"truncation"`
	}
	if !s.decode(w, r, "Authorization", "Bearer ", &req) {
		return
	}
	if req.Model == "" || req.Query == "" || len(req.Documents) == 0 || len(req.Documents) > 1000 {
		providerError(w, http.StatusBadRequest, "model, query and 1 to 1000 documents are required")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": s.rerankScores(req.Query, req.Documents, req.TopK),
		"model": req.Model, "usage": map[string]int{"total_tokens": 0}})
}

// dashscopeRerank is DashScope's text-rerank service.
func (s *Server) dashscopeRerank(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string `json:"model"`
		Input struct {
			Query     string   `json:"query"`
			Documents []string `json:"documents"`
		} `json:"input"`
		Parameters map[string]any `json:"parameters"`
	}
	if !s.decode(w, r, "Authorization", "Bearer ", &req) {
		return
	}
	if req.Model == "" || req.Input.Query == "" || len(req.Input.Documents) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "InvalidParameter", "message": "model, query and documents are required", "request_id": "test"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"output": map[string]any{"results": s.rerankScores(req.Input.Query, req.Input.Documents, 0)},
		"usage": map[string]int{"total_tokens": 0}, "request_id": "test"})
}

// siliconflowRerank is SiliconFlow's POST /v1/rerank.
func (s *Server) siliconflowRerank(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model            string   `json:"model"`
		Query            string   `json:"query"`
		Documents        []string `json:"documents"`
		TopN             int      `json:"top_n"`
		ReturnDocuments  *bool    `json:"return_documents"`
		MaxChunksPerDoc  int      `json:"max_chunks_per_doc"`
		OverlapTokens    int      `json:"overlap_tokens"`
		InstructionField string   `json:"instruction"`
	}
	if !s.decode(w, r, "Authorization", "Bearer ", &req) {
		return
	}
	if req.Model == "" || req.Query == "" || len(req.Documents) == 0 {
		providerError(w, http.StatusBadRequest, "model, query and documents are required")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": "test", "results": s.rerankScores(req.Query, req.Documents, req.TopN),
		"tokens": map[string]int{"input_tokens": 0, "output_tokens": 0}})
}
