package embedding

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// Bedrock's environment variables and parameters (models/common.go).
const (
	bedrockProvider     = "bedrock"
	bedrockAccessKeyEnv = "MILVUS_BEDROCK_ACCESS_KEY_ID"
	bedrockSecretEnv    = "MILVUS_BEDROCK_SECRET_ACCESS_KEY"
	regionParam         = "region"
	normalizeParam      = "normalize"
	bedrockService      = "bedrock"
)

// bedrockEmbedder calls Amazon Bedrock's InvokeModel for a Titan text
// embedding model, one text per request (as Milvus), signed with AWS
// Signature Version 4.
type bedrockEmbedder struct {
	s         *Service
	base      string // https://bedrock-runtime.<region>.amazonaws.com, or the configured url
	region    string
	accessKey string
	secretKey string
	model     string
	dim       int
	normalize bool
	now       func() time.Time
}

// newBedrockEmbedder is Milvus's NewBedrockEmbeddingProvider: parameters
// first, then the AWS credentials (the function's `credential`, the
// provider's, or MILVUS_BEDROCK_ACCESS_KEY_ID and
// MILVUS_BEDROCK_SECRET_ACCESS_KEY), then the region.
func (s *Service) newBedrockEmbedder(output *schemapb.FieldSchema, fieldDim int64, fn *schemapb.FunctionSchema, conf Provider) (*bedrockEmbedder, error) {
	e := &bedrockEmbedder{s: s, normalize: true, now: time.Now}
	var err error
	if e.model, e.dim, err = modelAndDim(fn, output, fieldDim); err != nil {
		return nil, err
	}
	for _, p := range fn.GetParams() {
		switch strings.ToLower(p.GetKey()) {
		case regionParam:
			e.region = p.GetValue()
		case normalizeParam:
			switch strings.ToLower(p.GetValue()) {
			case "false":
				e.normalize = false
			case "true":
				e.normalize = true
			default:
				return nil, fmt.Errorf("illegal [%s:%s] param", normalizeParam, p.GetValue())
			}
		}
	}
	name := lookupLower(fn.GetParams(), credentialParam)
	if name != "" {
		if e.accessKey, e.secretKey, err = s.aksk(name); err != nil {
			return nil, err
		}
	}
	if e.accessKey == "" && e.secretKey == "" && conf.Credential != "" {
		if e.accessKey, e.secretKey, err = s.aksk(conf.Credential); err != nil {
			return nil, err
		}
	}
	if e.accessKey == "" {
		e.accessKey = s.cfg.Env(bedrockAccessKeyEnv)
	}
	if e.secretKey == "" {
		e.secretKey = s.cfg.Env(bedrockSecretEnv)
	}
	if e.accessKey == "" {
		return nil, errMissingKey(bedrockAccessKeyEnv)
	}
	if e.secretKey == "" {
		return nil, errMissingKey(bedrockSecretEnv)
	}
	if e.region == "" {
		return nil, errors.New("missing AWS Service region. Please pass `region` param")
	}
	e.base = conf.URL
	if e.base == "" {
		e.base = fmt.Sprintf("https://bedrock-runtime.%s.amazonaws.com", e.region)
	}
	return e, nil
}

// aksk is Milvus's Credentials.GetAKSKCredential.
func (s *Service) aksk(name string) (string, string, error) {
	id, ok := s.cfg.CredentialValues[name+".access_key_id"]
	if !ok {
		return "", "", fmt.Errorf("%s is not a aksk crediential, can not find key: %s", name, name+".access_key_id")
	}
	secret, ok := s.cfg.CredentialValues[name+".secret_access_key"]
	if !ok {
		return "", "", fmt.Errorf("%s is not a aksk crediential, can not find key: %s", name, name+".secret_access_key")
	}
	return id, secret, nil
}

func (e *bedrockEmbedder) clientBatch() int { return 1 }

// bedrockRequest is a Titan text embedding model's body.
type bedrockRequest struct {
	InputText  string `json:"inputText"`
	Dimensions int    `json:"dimensions,omitempty"`
	Normalize  bool   `json:"normalize,omitempty"`
}

func (e *bedrockEmbedder) embed(ctx context.Context, texts []string, _ Mode) (Vectors, error) {
	out := make([][]float32, 0, len(texts))
	escaped := awsEscape(e.model)
	url := strings.TrimSuffix(e.base, "/") + "/model/" + escaped + "/invoke"
	for _, t := range texts {
		var res struct {
			Embedding           []float32 `json:"embedding"`
			InputTextTokenCount int       `json:"inputTextTokenCount"`
		}
		sign := func(r *http.Request, body []byte) {
			// Send the model ID escaped as the AWS SDK does (":" as %3A).
			r.URL.RawPath = r.URL.Path[:strings.LastIndex(r.URL.Path, "/model/")] + "/model/" + escaped + "/invoke"
			signV4(r, body, e.accessKey, e.secretKey, e.region, bedrockService, e.now())
		}
		err := e.s.postWith(ctx, url, map[string]string{"Content-Type": "application/json"}, sign,
			bedrockRequest{InputText: t, Dimensions: e.dim, Normalize: e.normalize}, &res)
		if err != nil {
			return Vectors{}, err
		}
		out = append(out, res.Embedding)
	}
	return floats(out), nil
}

// awsEscape is SigV4's URI encoding: every byte but the unreserved
// characters A-Z a-z 0-9 - _ . ~ as %XX.
func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// signV4 signs r (whose body is body) with AWS Signature Version 4:
// X-Amz-Date and an Authorization header over the request's headers and
// host. As for every AWS service but S3, the canonical URI is the escaped
// path escaped once more.
func signV4(r *http.Request, body []byte, accessKey, secretKey, region, service string, now time.Time) {
	amzDate := now.UTC().Format("20060102T150405Z")
	date := amzDate[:8]
	r.Header.Set("X-Amz-Date", amzDate)
	headers := map[string]string{"host": r.URL.Host}
	for k, v := range r.Header {
		if lk := strings.ToLower(k); lk != "authorization" && lk != "user-agent" {
			headers[lk] = strings.Join(v, ",")
		}
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, k := range names {
		canonHeaders.WriteString(k + ":" + strings.Join(strings.Fields(headers[k]), " ") + "\n")
	}
	signed := strings.Join(names, ";")
	segments := strings.Split(r.URL.EscapedPath(), "/")
	for i, seg := range segments {
		segments[i] = awsEscape(seg)
	}
	uri := strings.Join(segments, "/")
	if uri == "" {
		uri = "/"
	}
	payload := sha256.Sum256(body)
	canonical := strings.Join([]string{r.Method, uri, canonicalQuery(r), canonHeaders.String(), signed, hex.EncodeToString(payload[:])}, "\n")
	scope := date + "/" + region + "/" + service + "/aws4_request"
	hashed := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(hashed[:])
	key := hmacSHA256([]byte("AWS4"+secretKey), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
}

// canonicalQuery is the query's parameters sorted and escaped.
func canonicalQuery(r *http.Request) string {
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			parts = append(parts, awsEscape(k)+"="+awsEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
