package embeddingtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// googleToken is Google's OAuth 2.0 token endpoint for a service
// account's JWT bearer grant: the RS256 JWT must verify with GCPKey, be
// addressed to this endpoint and ask for the cloud-platform scope.
func (s *Server) googleToken(w http.ResponseWriter, r *http.Request) {
	fail := func(desc string) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": desc})
	}
	if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		fail("form body expected")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail("unsupported grant_type")
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 || s.opts.GCPKey == nil {
		fail("Invalid JWT")
		return
	}
	var header map[string]string
	var claims map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil || header["alg"] != "RS256" {
		fail("Invalid JWT")
		return
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(s.opts.GCPKey, crypto.SHA256, digest[:], sig) != nil {
		fail("Invalid JWT Signature.")
		return
	}
	exp, _ := claims["exp"].(float64)
	if claims["aud"] != "http://"+r.Host+"/vertexai/token" || claims["scope"] != "https://www.googleapis.com/auth/cloud-platform" ||
		claims["iss"] == "" || int64(exp) < time.Now().Unix() {
		fail("Invalid JWT claims")
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "ya29." + hex.EncodeToString(b)
	s.mu.Lock()
	if s.issued == nil {
		s.issued = map[string]bool{}
	}
	s.issued[tok] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})
}

// vertexAI is a Vertex AI publisher model's :predict (text embedding
// models) or :embedContent (Gemini embedding models), for a bearer token
// the token endpoint issued.
func (s *Server) vertexAI(w http.ResponseWriter, r *http.Request) {
	call := r.PathValue("call")
	var m map[string]any
	raw := map[string]json.RawMessage{}
	_ = json.NewDecoder(r.Body).Decode(&raw)
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &m)
	s.mu.Lock()
	s.last = Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: m}
	ok := s.issued[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": 401, "status": "UNAUTHENTICATED",
			"message": "Request had invalid authentication credentials."}})
		return
	}
	bad := func(msg string) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "status": "INVALID_ARGUMENT", "message": msg}})
	}
	tasks := []string{"", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"}
	switch {
	case strings.HasSuffix(call, ":predict"):
		var req struct {
			Instances []struct {
				TaskType string `json:"task_type"`
				Content  string `json:"content"`
			} `json:"instances"`
			Parameters struct {
				OutputDimensionality int `json:"outputDimensionality"`
			} `json:"parameters"`
		}
		if json.Unmarshal(b, &req) != nil || len(req.Instances) == 0 || len(req.Instances) > 250 {
			bad("instances must hold 1 to 250 items")
			return
		}
		preds := make([]map[string]any, len(req.Instances))
		for i, in := range req.Instances {
			if !slices.Contains(tasks, in.TaskType) {
				bad("Unable to parse task_type " + in.TaskType)
				return
			}
			toks := Tokens(in.Content)
			preds[i] = map[string]any{"embeddings": map[string]any{"values": Embed(toks, s.dimOf(req.Parameters.OutputDimensionality)),
				"statistics": map[string]any{"truncated": false, "token_count": len(toks)}}}
		}
		writeJSON(w, http.StatusOK, map[string]any{"predictions": preds, "metadata": map[string]int{"billableCharacterCount": 0}})
	case strings.HasSuffix(call, ":embedContent"):
		var req struct {
			Content struct {
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"content"`
			TaskType             string `json:"taskType"`
			OutputDimensionality int    `json:"outputDimensionality"`
		}
		if json.Unmarshal(b, &req) != nil || len(req.Content.Parts) != 1 || !slices.Contains(tasks, req.TaskType) {
			bad("content must hold one text part and a valid taskType")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"embedding": map[string]any{
			"values": Embed(Tokens(req.Content.Parts[0].Text), s.dimOf(req.OutputDimensionality))}})
	default:
		bad("unknown method " + call)
	}
}
