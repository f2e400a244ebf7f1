package embedding_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/embedding/embeddingtest"
)

// hosted is a provider's route on the test server.
var hosted = map[string]string{
	"cohere":    "/cohere/v2/embed",
	"voyageai":  "/voyageai/v1/embeddings",
	"dashscope": "/dashscope/api/v1/services/embeddings/text-embedding/text-embedding",
	"gemini":    "/gemini/v1beta/models/gemini-embedding-001:batchEmbedContents",
}

// hostedService points every hosted provider at srv, with the API key
// from the credential "k".
func hostedService(srv *embeddingtest.Server) *embedding.Service {
	cfg := fast()
	cfg.Credentials = map[string]string{"k": "secret"}
	cfg.TextEmbedding = map[string]embedding.Provider{}
	for p, path := range hosted {
		cfg.TextEmbedding[p] = embedding.Provider{URL: srv.URL() + path, Credential: "k"}
	}
	return embedding.New(cfg)
}

// TestHostedProviders: each provider sends the request Milvus's client
// sends (URL, authentication header, body fields, insert vs search input
// type) and reads the documented answer back in the texts' order.
func TestHostedProviders(t *testing.T) {
	srv := embeddingtest.Start(embeddingtest.Options{Dim: 16, APIKey: "secret"})
	defer srv.Close()
	svc := hostedService(srv)
	for _, c := range []struct {
		provider string
		params   []string
		auth     [2]string // header, value
		insert   map[string]any
		search   map[string]any
	}{
		{"cohere", []string{"model_name", "embed-english-v3.0", "dim", "16"}, [2]string{"Authorization", "bearer secret"},
			map[string]any{"model": "embed-english-v3.0", "input_type": "search_document", "embedding_types": []any{"float"}, "truncate": "END", "output_dimension": 16.0},
			map[string]any{"input_type": "search_query"}},
		{"voyageai", []string{"model_name", "voyage-3", "truncation", "true"}, [2]string{"Authorization", "Bearer secret"},
			map[string]any{"model": "voyage-3", "input_type": "document", "truncation": true, "output_dtype": "float"},
			map[string]any{"input_type": "query"}},
		{"dashscope", []string{"model_name", "text-embedding-v3", "dim", "16"}, [2]string{"Authorization", "Bearer secret"},
			map[string]any{"model": "text-embedding-v3", "parameters": map[string]any{"text_type": "document", "dimension": 16.0, "output_type": "dense"}},
			map[string]any{"parameters": map[string]any{"text_type": "query", "dimension": 16.0, "output_type": "dense"}}},
		{"gemini", []string{"model_name", "models/gemini-embedding-001", "dim", "16"}, [2]string{"x-goog-api-key", "secret"},
			nil, nil},
	} {
		t.Run(c.provider, func(t *testing.T) {
			s, fn := schema("16", schemapb.DataType_FloatVector, append([]string{"provider", c.provider}, c.params...)...)
			f, err := svc.NewTextEmbedding("default", s, fn)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			texts := []string{"the first text", "a second one", "three"}
			vecs, err := f.Insert(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vecs.Float {
				if !slices.Equal(v, srv.Embed(texts[i])) {
					t.Fatalf("text %d: not the model's vector", i)
				}
			}
			req := srv.LastRequest()
			if req.Path != hosted[c.provider] || req.Header.Get(c.auth[0]) != c.auth[1] {
				t.Errorf("request to %s with %s %q", req.Path, c.auth[0], req.Header.Get(c.auth[0]))
			}
			checkBody(t, "insert", req.Body, c.insert)
			if _, err := f.Search(context.Background(), []string{"q"}); err != nil {
				t.Fatal(err)
			}
			checkBody(t, "search", srv.LastRequest().Body, c.search)
		})
	}
	// Gemini's per-text requests.
	s, fn := schema("16", schemapb.DataType_FloatVector, "provider", "gemini", "model_name", "gemini-embedding-001")
	f, err := svc.NewTextEmbedding("default", s, fn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Search(context.Background(), []string{"q1", "q2"}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.LastRequest().Body["requests"].([]any)
	first := reqs[0].(map[string]any)
	if len(reqs) != 2 || first["model"] != "models/gemini-embedding-001" || first["taskType"] != "RETRIEVAL_QUERY" ||
		first["content"].(map[string]any)["parts"].([]any)[0].(map[string]any)["text"] != "q1" || first["outputDimensionality"] != nil {
		t.Errorf("gemini request: %v", reqs)
	}
}

// checkBody checks that body holds want's fields.
func checkBody(t *testing.T, what string, body, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if fmt.Sprint(body[k]) != fmt.Sprint(v) {
			t.Errorf("%s: body[%s] = %v, want %v (body %v)", what, k, body[k], v, body)
		}
	}
}

// TestInt8Providers: voyageai and cohere fill an Int8Vector field with
// the models' int8 embeddings (output_dtype / embedding_types int8);
// the float-only providers fail the check with Milvus's text.
func TestInt8Providers(t *testing.T) {
	srv := embeddingtest.Start(embeddingtest.Options{Dim: 8, APIKey: "secret"})
	defer srv.Close()
	svc := hostedService(srv)
	for _, p := range []string{"voyageai", "cohere"} {
		s, fn := schema("8", schemapb.DataType_Int8Vector, "provider", p, "model_name", "m")
		f, err := svc.NewTextEmbedding("default", s, fn)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Check(context.Background()); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		vecs, err := f.Insert(context.Background(), []string{"alpha beta", "gamma"})
		if err != nil {
			t.Fatal(err)
		}
		if vecs.Float != nil || len(vecs.Int8) != 2 || !slices.Equal(vecs.Int8[1], srv.Int8("gamma")) {
			t.Errorf("%s: int8 vectors %v", p, vecs)
		}
		body := srv.LastRequest().Body
		if got := fmt.Sprintf("%v %v", body["output_dtype"], body["embedding_types"]); got != map[string]string{"voyageai": "int8 <nil>", "cohere": "<nil> [int8]"}[p] {
			t.Errorf("%s: body %v", p, body)
		}
	}
	s, fn := schema("8", schemapb.DataType_Int8Vector, "provider", "dashscope", "model_name", "m")
	f, err := svc.NewTextEmbedding("default", s, fn)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Check(context.Background()); err == nil || err.Error() != "embedding model output and field type mismatch, model output is FloatVector, field type is Int8Vector" {
		t.Errorf("dashscope into int8: %v", err)
	}
	s, fn = schema("8", schemapb.DataType_Int8Vector, "provider", "gemini", "model_name", "m")
	if _, err := svc.NewTextEmbedding("default", s, fn); err == nil || err.Error() != "Gemini embedding only supports FloatVector field, got Int8Vector" {
		t.Errorf("gemini into int8: %v", err)
	}
}

// TestHostedProviderErrors: Milvus's parameter checks and texts, the API
// key from the environment, and a refused request.
func TestHostedProviderErrors(t *testing.T) {
	svc := embedding.New(fast())
	for _, c := range []struct {
		params []string
		want   string
	}{
		{[]string{"provider", "cohere"}, "missing credentials config or configure the MILVUS_COHERE_API_KEY environment variable in the Milvus service"},
		{[]string{"provider", "voyageai"}, "missing credentials config or configure the MILVUS_VOYAGEAI_API_KEY environment variable in the Milvus service"},
		{[]string{"provider", "dashscope"}, "missing credentials config or configure the MILVUS_DASHSCOPE_API_KEY environment variable in the Milvus service"},
		{[]string{"provider", "gemini", "model_name", "m"}, "missing credentials config or configure the MILVUS_GEMINI_API_KEY environment variable in the Milvus service"},
		{[]string{"provider", "gemini"}, "model_name is required for Gemini embedding provider"},
		{[]string{"provider", "cohere", "truncate", "MIDDLE"}, "illegal parameters, truncate only supports [NONE, START, END]"},
		{[]string{"provider", "voyageai", "truncation", "x"}, "[truncation param's value: x] is invalid, only supports: [true/false]"},
		{[]string{"provider", "dashscope", "dim", "5"}, "function output field:[vec]'s dimension [4] does not match the dimension [5] provided in Function params"},
		{[]string{"provider", "cohere", "credential", "none"}, "none is not a apikey crediential, can not find key: none.apikey"},
	} {
		s, fn := schema("4", schemapb.DataType_FloatVector, c.params...)
		if _, err := svc.NewTextEmbedding("default", s, fn); err == nil || err.Error() != c.want {
			t.Errorf("%v: %v, want %q", c.params, err, c.want)
		}
	}
	// The key from MILVUS_VOYAGEAI_API_KEY (or its MILVUSAI_ spelling); a
	// wrong key is the service's 401.
	srv := embeddingtest.Start(embeddingtest.Options{Dim: 4, APIKey: "right"})
	defer srv.Close()
	for _, env := range []map[string]string{{"MILVUS_VOYAGEAI_API_KEY": "right"}, {"MILVUSAI_VOYAGEAI_API_KEY": "right"}, {"MILVUS_VOYAGEAI_API_KEY": "wrong"}} {
		cfg := fast()
		cfg.TextEmbedding = map[string]embedding.Provider{"voyageai": {URL: srv.URL() + hosted["voyageai"]}}
		cfg.Env = func(n string) string { return env[n] }
		s, fn := schema("4", schemapb.DataType_FloatVector, "provider", "voyageai", "model_name", "m")
		f, err := embedding.New(cfg).NewTextEmbedding("default", s, fn)
		if err != nil {
			t.Fatal(err)
		}
		err = f.Check(context.Background())
		if wrong := env["MILVUS_VOYAGEAI_API_KEY"] == "wrong"; (err != nil) != wrong ||
			(wrong && !strings.HasPrefix(err.Error(), "call service failed, errs:[401 Unauthorized, ")) {
			t.Errorf("env %v: %v", env, err)
		}
	}
}

// TestHostedRerankers: cohere, voyageai, siliconflow and ali (DashScope)
// rerank through their APIs, scores back in the documents' order.
func TestHostedRerankers(t *testing.T) {
	srv := embeddingtest.Start(embeddingtest.Options{Dim: 32, APIKey: "secret"})
	defer srv.Close()
	cfg := fast()
	cfg.Credentials = map[string]string{"k": "secret"}
	cfg.Rerank = map[string]embedding.Provider{
		"cohere":      {URL: srv.URL() + "/cohere/v2/rerank", Credential: "k"},
		"voyageai":    {URL: srv.URL() + "/voyageai/v1/rerank", Credential: "k"},
		"siliconflow": {URL: srv.URL() + "/siliconflow/v1/rerank", Credential: "k"},
		"ali":         {URL: srv.URL() + "/dashscope/api/v1/services/rerank/text-rerank/text-rerank", Credential: "k"},
	}
	svc := embedding.New(cfg)
	kv := func(p ...string) []*commonpb.KeyValuePair {
		var out []*commonpb.KeyValuePair
		for i := 0; i+1 < len(p); i += 2 {
			out = append(out, &commonpb.KeyValuePair{Key: p[i], Value: p[i+1]})
		}
		return out
	}
	docs := []string{"red apple", "blue car", "apple pie", "green apple tree"}
	for _, p := range []string{"cohere", "voyageai", "siliconflow", "ali"} {
		r, err := svc.NewRerankProvider(kv("provider", p, "model_name", "rerank-m", "max_client_batch_size", "8"), "default")
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if r.MaxBatch() != 8 {
			t.Errorf("%s: max batch %d", p, r.MaxBatch())
		}
		scores, err := r.Rerank(context.Background(), "apple", docs)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for i, d := range docs {
			if scores[i] != srv.Score("apple", d) {
				t.Errorf("%s: doc %d: score %v, want %v", p, i, scores[i], srv.Score("apple", d))
			}
		}
		body := srv.LastRequest().Body
		if p == "ali" {
			body = body["input"].(map[string]any)
		}
		if body["query"] != "apple" || len(body["documents"].([]any)) != len(docs) {
			t.Errorf("%s: body %v", p, srv.LastRequest().Body)
		}
	}
	bare := embedding.New(fast())
	for _, c := range []struct {
		params []*commonpb.KeyValuePair
		want   string
	}{
		{kv("provider", "cohere", "model_name", "m"), "missing credentials config or configure the MILVUS_COHERE_API_KEY environment variable in the Milvus service"},
		{kv("provider", "siliconflow", "model_name", "m"), "missing credentials conifg or configure the MILVUS_SILICONFLOW_API_KEY environment variable in the Milvus service"},
		{kv("provider", "ali"), "ali rerank model name is required"},
		{kv("provider", "voyageai", "credential", "k"), "k is not a apikey crediential, can not find key: k.apikey"},
	} {
		if _, err := bare.NewRerankProvider(c.params, "default"); err == nil || err.Error() != c.want {
			t.Errorf("%v: %v, want %q", c.params, err, c.want)
		}
	}
	for _, c := range []struct {
		params []*commonpb.KeyValuePair
		want   string
	}{
		{kv("provider", "cohere", "model_name", "m", "max_tokens_per_doc", "x"), "[max_tokens_per_doc param's value: x] is not a valid number"},
		{kv("provider", "voyageai", "model_name", "m", "truncation", "x"), "[truncation param's value: x] is invalid, only supports: [true/false]"},
		{kv("provider", "siliconflow", "model_name", "m", "overlap_tokens", "x"), "[overlap_tokens param's value: x] is not a valid number"},
		{kv("provider", "voyageai"), "voyageai rerank model name is required"},
	} {
		if _, err := svc.NewRerankProvider(c.params, "default"); err == nil || err.Error() != c.want {
			t.Errorf("%v: %v, want %q", c.params, err, c.want)
		}
	}
}

// TestBedrock: one signed InvokeModel per text, the model ID escaped as
// the AWS SDK sends it, the AWS credentials from a named credential or
// the environment; a wrong secret is Bedrock's 403.
func TestBedrock(t *testing.T) {
	srv := embeddingtest.Start(embeddingtest.Options{Dim: 8, AWSAccessKey: "AKIDTEST", AWSSecretKey: "s3cret"})
	defer srv.Close()
	cfg := fast()
	cfg.CredentialValues = map[string]string{"aws.access_key_id": "AKIDTEST", "aws.secret_access_key": "s3cret",
		"bad.access_key_id": "AKIDTEST", "bad.secret_access_key": "wrong"}
	cfg.TextEmbedding = map[string]embedding.Provider{"bedrock": {URL: srv.URL() + "/bedrock"}}
	svc := embedding.New(cfg)
	s, fn := schema("8", schemapb.DataType_FloatVector, "provider", "bedrock", "model_name", "amazon.titan-embed-text-v2:0",
		"region", "us-east-1", "credential", "aws", "dim", "8", "normalize", "false")
	f, err := svc.NewTextEmbedding("default", s, fn)
	if err != nil {
		t.Fatal(err)
	}
	if f.MaxBatch() != 5 {
		t.Errorf("max batch %d, want 5 (one text per request)", f.MaxBatch())
	}
	before := srv.Requests()
	texts := []string{"one text", "two texts", "three"}
	vecs, err := f.Insert(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests() - before; n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	for i, v := range vecs.Float {
		if !slices.Equal(v, srv.Embed(texts[i])) {
			t.Fatalf("text %d: not the model's vector", i)
		}
	}
	req := srv.LastRequest()
	if req.Path != "/bedrock/model/amazon.titan-embed-text-v2%3A0/invoke" || fmt.Sprint(req.Body) != "map[dimensions:8 inputText:three]" ||
		!strings.HasPrefix(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
		t.Errorf("request %s %v %v", req.Path, req.Body, req.Header)
	}
	// The environment's keys; a wrong secret.
	cfg.Env = func(n string) string {
		return map[string]string{"MILVUS_BEDROCK_ACCESS_KEY_ID": "AKIDTEST", "MILVUS_BEDROCK_SECRET_ACCESS_KEY": "s3cret"}[n]
	}
	for cred, ok := range map[string]bool{"": true, "bad": false} {
		params := []string{"provider", "bedrock", "model_name", "amazon.titan-embed-text-v2:0", "region", "us-east-1"}
		if cred != "" {
			params = append(params, "credential", cred)
		}
		s, fn := schema("8", schemapb.DataType_FloatVector, params...)
		f, err := embedding.New(cfg).NewTextEmbedding("default", s, fn)
		if err != nil {
			t.Fatal(err)
		}
		err = f.Check(context.Background())
		if (err == nil) != ok || (!ok && !strings.Contains(err.Error(), "403 Forbidden")) {
			t.Errorf("credential %q: %v", cred, err)
		}
	}
	for _, c := range []struct {
		params []string
		want   string
	}{
		{[]string{"normalize", "maybe"}, "illegal [normalize:maybe] param"},
		{[]string{"credential", "nope"}, "nope is not a aksk crediential, can not find key: nope.access_key_id"},
		{[]string{"region", "us-east-1"}, "missing credentials config or configure the MILVUS_BEDROCK_ACCESS_KEY_ID environment variable in the Milvus service"},
	} {
		s, fn := schema("8", schemapb.DataType_FloatVector, append([]string{"provider", "bedrock", "model_name", "m"}, c.params...)...)
		if _, err := embedding.New(fast()).NewTextEmbedding("default", s, fn); err == nil || err.Error() != c.want {
			t.Errorf("%v: %v, want %q", c.params, err, c.want)
		}
	}
	noRegion := fast()
	noRegion.CredentialValues = cfg.CredentialValues
	s, fn = schema("8", schemapb.DataType_FloatVector, "provider", "bedrock", "model_name", "m", "credential", "aws")
	if _, err := embedding.New(noRegion).NewTextEmbedding("default", s, fn); err == nil || err.Error() != "missing AWS Service region. Please pass `region` param" {
		t.Errorf("no region: %v", err)
	}
}
