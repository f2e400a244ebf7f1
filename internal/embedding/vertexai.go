package embedding

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// Vertex AI's environment variable, parameters and tasks.
const (
	vertexAIProvider   = "vertexai"
	vertexAIKeyFileEnv = "MILVUS_GOOGLE_APPLICATION_CREDENTIALS"
	locationParam      = "location"
	projectIDParam     = "projectid"
	vertexDocRetrieval = "DOC_RETRIEVAL"
	vertexCodeRetrival = "CODE_RETRIEVAL"
	vertexSTS          = "STS"
	vertexScope        = "https://www.googleapis.com/auth/cloud-platform"
	googleTokenURL     = "https://oauth2.googleapis.com/token"
)

// vertexAIEmbedder calls a Vertex AI text embedding model's :predict (or,
// for gemini-embedding-2 models, :embedContent one text at a time) with
// an OAuth token of the service account in the credential JSON.
type vertexAIEmbedder struct {
	s       *Service
	url     string
	jsonKey []byte
	dim     int
	task    string
	gemini  bool
}

// newVertexAIEmbedder is Milvus's NewVertexAIEmbeddingProvider.
func (s *Service) newVertexAIEmbedder(output *schemapb.FieldSchema, fieldDim int64, fn *schemapb.FunctionSchema, conf Provider) (*vertexAIEmbedder, error) {
	model, dim, err := modelAndDim(fn, output, fieldDim)
	if err != nil {
		return nil, err
	}
	location, project := "", ""
	e := &vertexAIEmbedder{s: s, dim: dim}
	for _, p := range fn.GetParams() {
		switch strings.ToLower(p.GetKey()) {
		case locationParam:
			location = p.GetValue()
		case projectIDParam:
			project = p.GetValue()
		case taskParam:
			e.task = p.GetValue()
		}
	}
	if e.task == "" {
		e.task = vertexDocRetrieval
	}
	if location == "" {
		location = "us-central1"
	}
	model = strings.TrimPrefix(model, "models/")
	e.gemini = strings.HasPrefix(model, "gemini-embedding-2")
	e.url = conf.URL
	if e.url == "" {
		method := "predict"
		if e.gemini {
			method = "embedContent"
		}
		e.url = fmt.Sprintf("https://%s-aiplatform.googleapis.com/v1/projects/%s/locations/%s/publishers/google/models/%s:%s", location, project, location, model, method)
	}
	if name := lookupLower(fn.GetParams(), credentialParam); name != "" {
		if e.jsonKey, err = s.gcpCredential(name); err != nil {
			return nil, err
		}
	}
	if e.jsonKey == nil && conf.Credential != "" {
		if e.jsonKey, err = s.gcpCredential(conf.Credential); err != nil {
			return nil, err
		}
	}
	if e.jsonKey == nil {
		path := s.cfg.Env(vertexAIKeyFileEnv)
		if path == "" {
			return nil, errors.New("VetexAI credentials file path is empty")
		}
		if e.jsonKey, err = os.ReadFile(path); err != nil { //nolint:gosec // the operator's configured path
			return nil, fmt.Errorf("Vertexai: read credentials file failed, %v", err) //nolint:staticcheck // Milvus's text
		}
	}
	return e, nil
}

// gcpCredential is Milvus's Credentials.GetGcpCredential: the base64 of a
// service account's JSON key.
func (s *Service) gcpCredential(name string) ([]byte, error) {
	k := name + ".credential_json"
	v, ok := s.cfg.CredentialValues[k]
	if !ok {
		return nil, fmt.Errorf("%s is not a gcp crediential, can not find key: %s ", name, k)
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("parse gcp credential:%s faild, err: %s", name, err)
	}
	return b, nil
}

func (e *vertexAIEmbedder) clientBatch() int {
	if e.gemini {
		return 1
	}
	return 128
}

// taskType is Milvus's getTaskType.
func (e *vertexAIEmbedder) taskType(mode Mode) string {
	if e.gemini {
		if e.task != "" && e.task != vertexDocRetrieval {
			return e.task
		}
		if mode == InsertMode {
			return "RETRIEVAL_DOCUMENT"
		}
		return "RETRIEVAL_QUERY"
	}
	switch e.task {
	case vertexDocRetrieval:
		if mode == SearchMode {
			return "RETRIEVAL_QUERY"
		}
		return "RETRIEVAL_DOCUMENT"
	case vertexCodeRetrival:
		if mode == SearchMode {
			return "CODE_RETRIEVAL_QUERY"
		}
		return "RETRIEVAL_DOCUMENT"
	case vertexSTS:
		return "SEMANTIC_SIMILARITY"
	}
	return ""
}

func (e *vertexAIEmbedder) embed(ctx context.Context, texts []string, mode Mode) (Vectors, error) {
	token, err := e.s.googleToken(ctx, e.jsonKey)
	if err != nil {
		return Vectors{}, err
	}
	headers := jsonHeaders(token)
	task := e.taskType(mode)
	if e.gemini {
		out := make([][]float32, 0, len(texts))
		for _, t := range texts {
			req := map[string]any{"content": map[string]any{"parts": []map[string]string{{"text": t}}}}
			if task != "" {
				req["taskType"] = task
			}
			if e.dim > 0 {
				req["outputDimensionality"] = e.dim
			}
			var res struct {
				Embedding struct {
					Values []float32 `json:"values"`
				} `json:"embedding"`
			}
			if err := e.s.post(ctx, e.url, headers, req, &res); err != nil {
				return Vectors{}, err
			}
			out = append(out, res.Embedding.Values)
		}
		return floats(out), nil
	}
	type instance struct {
		TaskType string `json:"task_type,omitempty"`
		Content  string `json:"content"`
	}
	req := struct {
		Instances  []instance `json:"instances"`
		Parameters struct {
			OutputDimensionality int `json:"outputDimensionality,omitempty"`
		} `json:"parameters,omitempty"`
	}{}
	for _, t := range texts {
		req.Instances = append(req.Instances, instance{TaskType: task, Content: t})
	}
	req.Parameters.OutputDimensionality = e.dim
	var res struct {
		Predictions []struct {
			Embeddings struct {
				Values []float32 `json:"values"`
			} `json:"embeddings"`
		} `json:"predictions"`
	}
	if err := e.s.post(ctx, e.url, headers, req, &res); err != nil {
		return Vectors{}, err
	}
	out := make([][]float32, len(res.Predictions))
	for i, p := range res.Predictions {
		out[i] = p.Embeddings.Values
	}
	return floats(out), nil
}

// tokenCache holds the OAuth tokens of service accounts until shortly
// before they expire.
type tokenCache struct {
	mu     sync.Mutex
	tokens map[string]cachedToken
}

type cachedToken struct {
	token   string
	expires time.Time
}

// googleToken is an access token for the service account in jsonKey
// (OAuth 2.0 JWT bearer grant, RS256, scope cloud-platform), as
// golang.org/x/oauth2/google's CredentialsFromJSON gives Milvus.
func (s *Service) googleToken(ctx context.Context, jsonKey []byte) (string, error) {
	var key struct {
		Type         string `json:"type"`
		ClientEmail  string `json:"client_email"`
		PrivateKey   string `json:"private_key"`
		PrivateKeyID string `json:"private_key_id"`
		TokenURI     string `json:"token_uri"`
	}
	if err := json.Unmarshal(jsonKey, &key); err != nil {
		return "", fmt.Errorf("failed to find credentials: %v", err)
	}
	if key.Type != "service_account" {
		return "", fmt.Errorf("failed to find credentials: unsupported credentials type %q (Milvago reads service_account keys)", key.Type)
	}
	if key.TokenURI == "" {
		key.TokenURI = googleTokenURL
	}
	sum := sha256.Sum256(jsonKey)
	cacheKey := string(sum[:])
	s.tokens.mu.Lock()
	if t, ok := s.tokens.tokens[cacheKey]; ok && time.Now().Before(t.expires) {
		s.tokens.mu.Unlock()
		return t.token, nil
	}
	s.tokens.mu.Unlock()
	block, _ := pem.Decode([]byte(key.PrivateKey))
	if block == nil {
		return "", errors.New("failed to find credentials: private key is not PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			return "", fmt.Errorf("failed to find credentials: %v", err)
		}
	}
	rsaKey, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return "", errors.New("failed to find credentials: private key is not RSA")
	}
	now := time.Now()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	header := map[string]string{"alg": "RS256", "typ": "JWT"}
	if key.PrivateKeyID != "" {
		header["kid"] = key.PrivateKeyID
	}
	unsigned := enc(header) + "." + enc(map[string]any{"iss": key.ClientEmail, "scope": vertexScope, "aud": key.TokenURI,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	digest := sha256.Sum256([]byte(unsigned))
	sig, err := rsa.SignPKCS1v15(nil, rsaKey, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("failed to get token: %v", err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)}}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, key.TokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("failed to get token: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := s.cfg.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("failed to get token: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("failed to get token: oauth2: cannot fetch token: %s\nResponse: %s", res.Status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("failed to get token: oauth2: server response missing access_token")
	}
	if tok.ExpiresIn > 60 {
		s.tokens.mu.Lock()
		if s.tokens.tokens == nil {
			s.tokens.tokens = map[string]cachedToken{}
		}
		s.tokens.tokens[cacheKey] = cachedToken{tok.AccessToken, now.Add(time.Duration(tok.ExpiresIn-60) * time.Second)}
		s.tokens.mu.Unlock()
	}
	return tok.AccessToken, nil
}
