package embeddingtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// bedrockInvoke is Bedrock's InvokeModel for a Titan text embedding
// model: the request must carry a valid AWS Signature Version 4 for
// service bedrock with the server's credentials.
func (s *Server) bedrockInvoke(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		providerError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	s.mu.Lock()
	s.last = Request{Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: m}
	s.mu.Unlock()
	if err := s.checkSigV4(r, body); err != nil {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": err.Error()})
		return
	}
	var req struct {
		InputText  string `json:"inputText"`
		Dimensions int    `json:"dimensions"`
		Normalize  *bool  `json:"normalize"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.InputText == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": fmt.Sprintf("Malformed input request: %v", err)})
		return
	}
	if r.PathValue("model") == "" || r.Header.Get("Content-Type") != "application/json" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "model ID and a JSON content type are required"})
		return
	}
	toks := Tokens(req.InputText)
	writeJSON(w, http.StatusOK, map[string]any{"embedding": Embed(toks, s.dimOf(req.Dimensions)), "inputTextTokenCount": len(toks)})
}

// checkSigV4 recomputes the request's signature from its signed headers.
func (s *Server) checkSigV4(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("missing Authentication Token")
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || cred[0] != s.opts.AWSAccessKey || cred[3] != "bedrock" || cred[4] != "aws4_request" {
		return fmt.Errorf("The security token included in the request is invalid.")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if len(amzDate) != 16 || amzDate[:8] != cred[1] {
		return fmt.Errorf("missing or mismatched X-Amz-Date")
	}
	names := strings.Split(fields["SignedHeaders"], ";")
	if !sort.StringsAreSorted(names) {
		return fmt.Errorf("signed headers are not sorted")
	}
	var canon strings.Builder
	for _, n := range names {
		v := r.Header.Get(n)
		if n == "host" {
			v = r.Host
		}
		canon.WriteString(n + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	segs := strings.Split(r.URL.EscapedPath(), "/")
	for i, seg := range segs {
		segs[i] = uriEncode(seg)
	}
	payload := sha256.Sum256(body)
	canonical := strings.Join([]string{r.Method, strings.Join(segs, "/"), "", canon.String(), fields["SignedHeaders"], hex.EncodeToString(payload[:])}, "\n")
	hashed := sha256.Sum256([]byte(canonical))
	scope := strings.Join(cred[1:], "/")
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(hashed[:])
	key := []byte("AWS4" + s.opts.AWSSecretKey)
	for _, part := range cred[1:] {
		key = mac(key, part)
	}
	if want := hex.EncodeToString(mac(key, toSign)); !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return fmt.Errorf("The request signature we calculated does not match the signature you provided.")
	}
	return nil
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// uriEncode is SigV4's URI encoding of one path segment.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
