// Package embeddingtest is a model service for tests: an HTTP server that
// speaks Hugging Face text-embeddings-inference's /embed and /rerank (and
// the OpenAI embeddings API at /v1/embeddings) with a real, deterministic
// embedder: each token adds a signed unit to a hashed coordinate, and the
// sum is normalised, so texts sharing words are close in cosine and the
// same text always embeds the same. Like TEI it counts tokens, refuses an
// input longer than MaxTokens with 413 Payload Too Large unless asked to
// truncate, and truncates on the right (or the left) when asked.
//
// It is for tests only: nothing in the milvago binary imports it.
package embeddingtest

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// Options shape a server.
type Options struct {
	// Dim is the embeddings' dimension; 0: 768 (Milvus's suites' default).
	Dim int
	// MaxTokens is the longest input in tokens; 0: 512.
	MaxTokens int
	// Delay is waited before each answer (to test deadlines).
	Delay time.Duration
	// APIKey, when set, is the key the hosted providers' APIs (cohere,
	// voyageai, dashscope, gemini, the rerank APIs) require: a request
	// without it is answered 401 as those services do.
	APIKey string
	// AWSAccessKey and AWSSecretKey are the credentials the Bedrock API
	// checks requests' Signature Version 4 signatures against (region and
	// service from the signature's scope).
	AWSAccessKey, AWSSecretKey string
	// GCPKey is the public key of the service account whose signed JWTs
	// the OAuth token endpoint accepts (Vertex AI).
	GCPKey *rsa.PublicKey
}

// Server is a running model service.
type Server struct {
	opts     Options
	srv      *httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	last     Request
	issued   map[string]bool // OAuth access tokens issued
}

// Start starts a server on a free local port; Close stops it.
func Start(opts Options) *Server {
	s := newServer(opts)
	s.srv = httptest.NewServer(s.Handler())
	return s
}

// Listen starts a server on l (for a standalone process).
func Listen(l net.Listener, opts Options) *Server {
	s := newServer(opts)
	s.srv = httptest.NewUnstartedServer(s.Handler())
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	return s
}

func newServer(opts Options) *Server {
	if opts.Dim <= 0 {
		opts.Dim = 768
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = 512
	}
	return &Server{opts: opts}
}

// URL is the server's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// Requests is the number of requests answered so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Handler serves /embed, /rerank, /v1/embeddings and /info.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /embed", s.embed)
	mux.HandleFunc("POST /rerank", s.rerank)
	mux.HandleFunc("POST /v1/embeddings", s.openAI)
	s.providerRoutes(mux)
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"model_id": "milvago/hashed-tokens", "max_input_length": s.opts.MaxTokens, "dim": s.opts.Dim})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.opts.Delay > 0 {
			select {
			case <-time.After(s.opts.Delay):
			case <-r.Context().Done():
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// Embed is the server's embedding of text (no truncation).
func (s *Server) Embed(text string) []float32 { return Embed(Tokens(text), s.opts.Dim) }

// Tokens splits text into lower-cased words (letters and digits).
func Tokens(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// Embed sums a signed unit per token at the token's hashed coordinate and
// normalises the sum (a zero vector for no tokens).
func Embed(tokens []string, dim int) []float32 {
	v := make([]float64, dim)
	for _, t := range tokens {
		h := fnv.New64a()
		h.Write([]byte(t))
		x := h.Sum64()
		sign := 1.0
		if x>>63 == 1 {
			sign = -1
		}
		v[int(x%uint64(dim))] += sign
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, dim)
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

type apiError struct {
	Error     string `json:"error"`
	ErrorType string `json:"error_type"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if status == http.StatusRequestEntityTooLarge {
		tooLarge(w, v)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// tooLarge answers 413 with TEI's reason phrase, "Payload Too Large"
// (net/http would write "Request Entity Too Large", and clients see the
// phrase in their errors).
func tooLarge(w http.ResponseWriter, v any) {
	body, _ := json.Marshal(v)
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = w.Write(body)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	_ = buf.Flush()
}

// tokens of one input, truncated as TEI does or refused.
func (s *Server) tokens(text string, truncate bool, direction string) ([]string, error) {
	toks := Tokens(text)
	if len(toks) <= s.opts.MaxTokens {
		return toks, nil
	}
	if !truncate {
		return nil, fmt.Errorf("Input validation error: `inputs` must have less than %d tokens. Given: %d", s.opts.MaxTokens, len(toks))
	}
	if direction == "Left" {
		return toks[len(toks)-s.opts.MaxTokens:], nil
	}
	return toks[:s.opts.MaxTokens], nil
}

// inputs is TEI's "inputs": a string or a list of strings.
type inputs []string

func (in *inputs) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*in = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*in = many
	return nil
}

func (s *Server) embed(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Inputs              inputs `json:"inputs"`
		Truncate            bool   `json:"truncate"`
		TruncationDirection string `json:"truncation_direction"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, apiError{err.Error(), "Validation"})
		return
	}
	if len(req.Inputs) == 0 {
		writeJSON(w, http.StatusUnprocessableEntity, apiError{"Input validation error: `inputs` cannot be empty", "Validation"})
		return
	}
	out := make([][]float32, len(req.Inputs))
	for i, text := range req.Inputs {
		toks, err := s.tokens(text, req.Truncate, req.TruncationDirection)
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{err.Error(), "Validation"})
			return
		}
		out[i] = Embed(toks, s.opts.Dim)
	}
	writeJSON(w, http.StatusOK, out)
}

// Score is the reranker's relevance of doc to query: the cosine of their
// embeddings mapped to [0, 1].
func (s *Server) Score(query, doc string) float32 {
	return score(Embed(Tokens(query), s.opts.Dim), Embed(Tokens(doc), s.opts.Dim))
}

func score(q, d []float32) float32 {
	var dot float32
	for i := range q {
		dot += q[i] * d[i]
	}
	return (1 + dot) / 2
}

func (s *Server) rerank(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query               string   `json:"query"`
		Texts               []string `json:"texts"`
		Truncate            bool     `json:"truncate"`
		TruncationDirection string   `json:"truncation_direction"`
		ReturnText          bool     `json:"return_text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, apiError{err.Error(), "Validation"})
		return
	}
	if len(req.Texts) == 0 {
		writeJSON(w, http.StatusUnprocessableEntity, apiError{"`texts` cannot be empty", "Validation"})
		return
	}
	qt, err := s.tokens(req.Query, req.Truncate, req.TruncationDirection)
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{err.Error(), "Validation"})
		return
	}
	q := Embed(qt, s.opts.Dim)
	type item struct {
		Index int     `json:"index"`
		Score float32 `json:"score"`
		Text  string  `json:"text,omitempty"`
	}
	out := make([]item, len(req.Texts))
	for i, text := range req.Texts {
		dt, err := s.tokens(text, req.Truncate, req.TruncationDirection)
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{err.Error(), "Validation"})
			return
		}
		out[i] = item{Index: i, Score: score(q, Embed(dt, s.opts.Dim))}
		if req.ReturnText {
			out[i].Text = text
		}
	}
	// TEI answers best first.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) openAI(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model      string `json:"model"`
		Input      inputs `json:"input"`
		Dimensions int    `json:"dimensions"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"message": err.Error(), "type": "invalid_request_error"}})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"message": "missing API key", "type": "invalid_request_error"}})
		return
	}
	dim := s.opts.Dim
	if req.Dimensions > 0 {
		dim = req.Dimensions
	}
	type datum struct {
		Object    string    `json:"object"`
		Embedding []float32 `json:"embedding"`
		Index     int       `json:"index"`
	}
	data := make([]datum, len(req.Input))
	// Answer in reverse order: clients must sort by index.
	for i, text := range req.Input {
		data[len(data)-1-i] = datum{"embedding", Embed(Tokens(text), dim), i}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": req.Model, "usage": map[string]int{"prompt_tokens": 0, "total_tokens": 0}})
}
