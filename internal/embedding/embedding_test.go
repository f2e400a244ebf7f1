package embedding_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/embedding/embeddingtest"
)

func schema(dim string, dt schemapb.DataType, params ...string) (*schemapb.CollectionSchema, *schemapb.FunctionSchema) {
	fn := &schemapb.FunctionSchema{Name: "te", Type: schemapb.FunctionType_TextEmbedding, InputFieldNames: []string{"text"}, OutputFieldNames: []string{"vec"}}
	for i := 0; i+1 < len(params); i += 2 {
		fn.Params = append(fn.Params, &commonpb.KeyValuePair{Key: params[i], Value: params[i+1]})
	}
	return &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
		{Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{Name: "text", DataType: schemapb.DataType_VarChar},
		{Name: "vec", DataType: dt, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: dim}}},
	}, Functions: []*schemapb.FunctionSchema{fn}}, fn
}

func fast() embedding.Config {
	return embedding.Config{Timeout: 2 * time.Second, Retries: 1}
}

func TestTEIEmbedding(t *testing.T) {
	srv := embeddingtest.Start(embeddingtest.Options{Dim: 16})
	defer srv.Close()
	svc := embedding.New(fast())
	s, fn := schema("16", schemapb.DataType_FloatVector, "provider", "TEI", "endpoint", srv.URL(), "max_client_batch_size", "3",
		"ingestion_prompt", "passage: ", "search_prompt", "query: ")
	f, err := svc.NewTextEmbedding("default", s, fn)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.MaxBatch() != 15 {
		t.Errorf("max batch %d, want 5*3", f.MaxBatch())
	}
	texts := []string{"a b", "c", "d e f", "g", "h", "i j", "k"}
	before := srv.Requests()
	vecs, err := f.Insert(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests() - before; n != 3 {
		t.Errorf("%d requests, want 3 batches", n)
	}
	for i, v := range vecs.Float {
		if !slices.Equal(v, srv.Embed("passage: "+texts[i])) {
			t.Fatalf("text %d: not the ingestion-prompted embedding", i)
		}
	}
	q, err := f.Search(context.Background(), []string{"x"})
	if err != nil || !slices.Equal(q.Float[0], srv.Embed("query: x")) {
		t.Fatalf("search: %v", err)
	}
	for _, c := range []struct {
		texts []string
		want  string
	}{
		{[]string{"a", ""}, "there is an empty string in the input data, TextEmbedding function does not support empty text"},
		{slices.Repeat([]string{"w"}, 16), "embedding supports up to [15] pieces of data at a time, got [16]"},
		{[]string{strings.Repeat("w ", 513)}, "call service failed, errs:[413 Payload Too Large, "},
	} {
		if _, err := f.Insert(context.Background(), c.texts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d texts: %v, want %q", len(c.texts), err, c.want)
		}
	}
	// The wrong dimension fails the check with Milvus's text.
	s, fn = schema("8", schemapb.DataType_FloatVector, "provider", "tei", "endpoint", srv.URL())
	f, _ = svc.NewTextEmbedding("default", s, fn)
	if err := f.Check(context.Background()); err == nil || err.Error() != "the required embedding dim is [8], but the embedding obtained from the model is [16]" {
		t.Errorf("dim: %v", err)
	}
	// So does an int8 output (TEI answers floats).
	s, fn = schema("16", schemapb.DataType_Int8Vector, "provider", "tei", "endpoint", srv.URL())
	f, _ = svc.NewTextEmbedding("default", s, fn)
	if err := f.Check(context.Background()); err == nil || err.Error() != "embedding model output and field type mismatch, model output is FloatVector, field type is Int8Vector" {
		t.Errorf("int8: %v", err)
	}
}

func TestParameterErrors(t *testing.T) {
	svc := embedding.New(embedding.Config{TextEmbedding: map[string]embedding.Provider{"openai": {Disabled: true}},
		Credentials: map[string]string{"k": "sk"}})
	for _, c := range []struct {
		params []string
		want   string
	}{
		{[]string{"endpoint", "http://x"}, "the text embedding service provider parameter:[provider] was not found"},
		{[]string{"provider", "openai"}, "text embedding model provider [openai] is disabled"},
		{[]string{"provider", "zilliz"}, "zilliz client config error, lost endpoint config"},
		{[]string{"provider", "nobody"}, "unsupported text embedding service provider: [nobody] , list of supported [openai, azure_openai, dashscope, bedrock, vertexai, voyageai, cohere, siliconflow, tei, zilliz, gemini]"},
		{[]string{"provider", "tei", "max_client_batch_size", "x"}, "[max_client_batch_size param's value: x] is not a valid number"},
		{[]string{"provider", "tei", "truncate", "maybe"}, "[truncate param's value: maybe] is invalid, only supports: [true/false]"},
		{[]string{"provider", "tei", "truncation_direction", "left"}, "[truncation_direction param's value: left] is not invalid, only supports [Left/Right]"},
		{[]string{"provider", "tei", "credential", "nope"}, "nope is not a apikey crediential, can not find key: nope.apikey"},
		{[]string{"provider", "azure_openai", "credential", "k"}, "must configure the MILVUS_AZURE_OPENAI_RESOURCE_NAME environment variable in the Milvus service"},
		{[]string{"provider", "siliconflow"}, "missing credentials conifg or configure the MILVUS_SILICONFLOW_API_KEY environment variable in the Milvus service"},
	} {
		s, fn := schema("4", schemapb.DataType_FloatVector, c.params...)
		if _, err := svc.NewTextEmbedding("default", s, fn); err == nil || err.Error() != c.want {
			t.Errorf("%v: %v, want %q", c.params, err, c.want)
		}
	}
	s, fn := schema("4", schemapb.DataType_FloatVector, "provider", "tei", "endpoint", "ftp://x")
	f, err := svc.NewTextEmbedding("default", s, fn)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Check(context.Background()); err == nil || err.Error() != "endpoint: [ftp://x] is not a valid http/https link" {
		t.Errorf("ftp endpoint: %v", err)
	}
	for _, c := range []struct {
		params []string
		want   string
	}{
		{[]string{"model_name", "m"}, "missing credentials config or configure the MILVUS_OPENAI_API_KEY environment variable in the Milvus service"},
		{[]string{"credential", "k", "dim", "x"}, "dimension [x] provided in Function params is not a valid int"},
		{[]string{"credential", "k", "dim", "8"}, "function output field:[vec]'s dimension [4] does not match the dimension [8] provided in Function params"},
	} {
		s, fn := schema("4", schemapb.DataType_FloatVector, append([]string{"provider", "openai"}, c.params...)...)
		if _, err := embedding.New(embedding.Config{Credentials: map[string]string{"k": "sk"}}).NewTextEmbedding("default", s, fn); err == nil || err.Error() != c.want {
			t.Errorf("openai %v: %v, want %q", c.params, err, c.want)
		}
	}
}

// TestOpenAICompatible: the OpenAI provider at a configured url, the API
// key from a named credential, answers sorted back by index.
func TestOpenAICompatible(t *testing.T) {
	srv := embeddingtest.Start(embeddingtest.Options{Dim: 12})
	defer srv.Close()
	cfg := fast()
	cfg.TextEmbedding = map[string]embedding.Provider{"openai": {URL: srv.URL() + "/v1/embeddings", Credential: "k"}}
	cfg.Credentials = map[string]string{"k": "sk-test"}
	svc := embedding.New(cfg)
	s, fn := schema("12", schemapb.DataType_FloatVector, "provider", "openai", "model_name", "text-embedding-3-small", "dim", "12")
	f, err := svc.NewTextEmbedding("default", s, fn)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"one", "two words", "three little words"}
	vecs, err := f.Insert(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs.Float {
		if !slices.Equal(v, srv.Embed(texts[i])) {
			t.Fatalf("text %d: wrong vector (not sorted by index?)", i)
		}
	}
}

// TestAzureRequest: the Azure deployment URL, api-version and api-key.
func TestAzureRequest(t *testing.T) {
	var mu sync.Mutex
	var gotPath, gotKey, gotQuery string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotPath, gotKey, gotQuery = r.URL.Path, r.Header.Get("api-key"), r.URL.RawQuery
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"data": []map[string]any{{"index": 0, "embedding": []float32{1, 0}}}})
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	cfg := fast()
	cfg.TextEmbedding = map[string]embedding.Provider{"azure_openai": {URL: srv.URL}}
	cfg.Env = func(name string) string {
		if name == "MILVUS_AZURE_OPENAI_API_KEY" {
			return "az"
		}
		return ""
	}
	s, fn := schema("2", schemapb.DataType_FloatVector, "provider", "azure_openai", "model_name", "dep")
	f, err := embedding.New(cfg).NewTextEmbedding("default", s, fn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Search(context.Background(), []string{"q"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if gotPath != "/openai/deployments/dep/embeddings" || gotKey != "az" || gotQuery != "api-version=2024-06-01" {
		t.Errorf("request %s?%s key %q", gotPath, gotQuery, gotKey)
	}
}

// TestRetries: a failing service is tried Retries times, then the last
// error is returned; a cancelled context stops at once.
func TestRetries(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	svc := embedding.New(embedding.Config{Timeout: time.Second, Retries: 3, Backoff: 10 * time.Millisecond})
	s, fn := schema("2", schemapb.DataType_FloatVector, "provider", "tei", "endpoint", srv.URL)
	f, _ := svc.NewTextEmbedding("default", s, fn)
	_, err := f.Insert(context.Background(), []string{"x"})
	if err == nil || !strings.HasPrefix(err.Error(), "call service failed, errs:[503 Service Unavailable, busy") {
		t.Fatalf("err: %v", err)
	}
	mu.Lock()
	if calls != 3 {
		t.Errorf("%d calls, want 3", calls)
	}
	mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Insert(ctx, []string{"x"}); err == nil {
		t.Fatal("cancelled context: no error")
	}
}

func TestRerankProviders(t *testing.T) {
	svc := embedding.New(embedding.Config{Rerank: map[string]embedding.Provider{"vllm": {Disabled: true}}})
	kv := func(p ...string) []*commonpb.KeyValuePair {
		var out []*commonpb.KeyValuePair
		for i := 0; i+1 < len(p); i += 2 {
			out = append(out, &commonpb.KeyValuePair{Key: p[i], Value: p[i+1]})
		}
		return out
	}
	for _, c := range []struct {
		params []*commonpb.KeyValuePair
		want   string
	}{
		{kv("endpoint", "http://x"), "lost rerank params:provider "},
		{kv("provider", "vllm", "endpoint", "http://x"), "rerank provider: [vllm] is disabled"},
		{kv("provider", "tei", "max_client_batch_size", "0"), "[max_client_batch_size param's value: 0] must be greater than 0"},
		{kv("provider", "tei", "truncate", "x"), "Rerank params error, truncate: x is not bool type"},
		{kv("provider", "Nope"), "unknown rerank model provider:Nope"},
	} {
		if _, err := svc.NewRerankProvider(c.params, "default"); err == nil || err.Error() != c.want {
			t.Errorf("%v: %v, want %q", c.params, err, c.want)
		}
	}
	srv := embeddingtest.Start(embeddingtest.Options{Dim: 32})
	defer srv.Close()
	p, err := svc.NewRerankProvider(kv("provider", "tei", "endpoint", srv.URL(), "truncate", "true"), "default")
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"red apple", "blue car", "apple pie"}
	scores, err := p.Rerank(context.Background(), "apple", docs)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		if scores[i] != srv.Score("apple", d) {
			t.Errorf("doc %d: score %v, want %v (in docs' order)", i, scores[i], srv.Score("apple", d))
		}
	}
}
