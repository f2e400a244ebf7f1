package embedding_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/embedding/embeddingtest"
)

func startZilliz(t *testing.T, opts embeddingtest.ZillizOptions) *embeddingtest.ZillizServer {
	t.Helper()
	srv, err := embeddingtest.StartZilliz(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func zillizService(srv *embeddingtest.ZillizServer) *embedding.Service {
	cfg := fast()
	cfg.Zilliz = embedding.ZillizConfig{Endpoint: srv.Addr(), InstanceID: "in01-test"}
	return embedding.New(cfg)
}

// TestZillizEmbedding: the zilliz provider sends the texts with every
// function param but model_deployment_id (plus input_type document or
// query) to the TextEmbeddingService, 64 texts a call, naming the
// instance, the deployment and the database in the call's metadata
// (gzip-compressed, as Milvus's client); the little-endian float answers
// become the vectors, in the texts' order.
func TestZillizEmbedding(t *testing.T) {
	srv := startZilliz(t, embeddingtest.ZillizOptions{Dim: 8, Deployments: []string{"dep-1"}})
	svc := zillizService(srv)
	s, fn := schema("8", schemapb.DataType_FloatVector, "provider", "Zilliz", "model_deployment_id", "dep-1", "truncation", "true")
	f, err := svc.NewTextEmbedding("db1", s, fn)
	if err != nil {
		t.Fatal(err)
	}
	if f.MaxBatch() != 5*64 {
		t.Errorf("max batch %d, want %d", f.MaxBatch(), 5*64)
	}
	if err := f.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	texts := make([]string, 130)
	for i := range texts {
		texts[i] = fmt.Sprintf("document number %d", i)
	}
	vecs, err := f.Insert(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if vecs.Len() != len(texts) || vecs.Int8 != nil {
		t.Fatalf("%d vectors (int8 %v)", vecs.Len(), vecs.Int8 != nil)
	}
	for i, text := range texts {
		if !slices.Equal(vecs.Float[i], srv.Embed(text)) {
			t.Fatalf("vector %d is not the embedding of %q", i, text)
		}
	}
	q, err := f.Search(context.Background(), []string{"number 7"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.Float[0], srv.Embed("number 7")) {
		t.Error("query vector")
	}

	calls := srv.Calls()
	var sizes []int
	for _, c := range calls {
		sizes = append(sizes, len(c.Texts))
		if c.Method != "Embedding" || c.InstanceID != "in01-test" || c.Deployment != "dep-1" || c.DB != "db1" || c.Encoding != "gzip" {
			t.Errorf("call %+v", c)
		}
	}
	if want := []int{1, 64, 64, 2, 1}; !slices.Equal(sizes, want) {
		t.Errorf("call sizes %v, want %v", sizes, want)
	}
	doc := map[string]string{"provider": "Zilliz", "truncation": "true", "input_type": "document"}
	if !maps.Equal(calls[1].Params, doc) {
		t.Errorf("insert params %v, want %v", calls[1].Params, doc)
	}
	if got := calls[4].Params["input_type"]; got != "query" {
		t.Errorf("search input_type %q", got)
	}
}

// TestZillizEmbeddingErrors: a missing endpoint is Milvus's config error;
// a disabled provider is refused; the service's refusals fail the call
// with the service's message; a wrong dimension fails only the check.
func TestZillizEmbeddingErrors(t *testing.T) {
	s, fn := schema("8", schemapb.DataType_FloatVector, "provider", "zilliz", "model_deployment_id", "dep-1")
	if _, err := embedding.New(fast()).NewTextEmbedding("default", s, fn); err == nil || err.Error() != "zilliz client config error, lost endpoint config" {
		t.Errorf("no endpoint: %v", err)
	}
	srv := startZilliz(t, embeddingtest.ZillizOptions{Dim: 8, Deployments: []string{"dep-1"}})
	cfg := fast()
	cfg.Zilliz = embedding.ZillizConfig{Endpoint: srv.Addr()}
	cfg.TextEmbedding = map[string]embedding.Provider{"zilliz": {Disabled: true}}
	if _, err := embedding.New(cfg).NewTextEmbedding("default", s, fn); err == nil || err.Error() != "text embedding model provider [zilliz] is disabled" {
		t.Errorf("disabled: %v", err)
	}

	cfg = fast()
	cfg.Zilliz = embedding.ZillizConfig{Endpoint: srv.Addr()}
	svc := embedding.New(cfg)
	_, other := schema("8", schemapb.DataType_FloatVector, "provider", "zilliz", "model_deployment_id", "dep-2")
	f, err := svc.NewTextEmbedding("default", s, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Check(context.Background()); err == nil || !strings.Contains(err.Error(), `model deployment "dep-2" not found`) {
		t.Errorf("unknown deployment: %v", err)
	}
	if c := srv.Calls(); len(c) != 1 || c[0].InstanceID != "by-dev" {
		t.Errorf("default instance id: %+v", c)
	}

	wrong, fn := schema("4", schemapb.DataType_FloatVector, "provider", "zilliz", "model_deployment_id", "dep-1")
	if f, err = svc.NewTextEmbedding("default", wrong, fn); err != nil {
		t.Fatal(err)
	}
	// Milvus's zilliz provider leaves the dimension to the function's
	// check; an insert or a search passes the model's vectors on as they
	// are (the proxy's column and placeholder checks refuse them).
	if err := f.Check(context.Background()); err == nil || err.Error() != "the dim set in the schema is inconsistent with the dim of the model, dim in schema is 4, dim of model is 8" {
		t.Errorf("check dim: %v", err)
	}
	if v, err := f.Insert(context.Background(), []string{"a"}); err != nil || v.Len() != 1 || len(v.Float[0]) != 8 {
		t.Errorf("insert of a model of another dim: %v, %+v", err, v)
	}
	if v, err := f.Search(context.Background(), []string{"a", "b"}); err != nil || v.Len() != 2 || len(v.Float[1]) != 8 {
		t.Errorf("search of a model of another dim: %v, %+v", err, v)
	}
	i8, fn := schema("8", schemapb.DataType_Int8Vector, "provider", "zilliz", "model_deployment_id", "dep-1")
	if f, err = svc.NewTextEmbedding("default", i8, fn); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(context.Background()); err == nil || err.Error() != "embedding model output and field type mismatch, model output is FloatVector, field type is Int8Vector" {
		t.Errorf("int8: %v", err)
	}
}

// TestZillizRerank: the zilliz reranker sends the query and the documents
// with its params but model_deployment_id and max_client_batch_size to
// the RerankService and returns its scores in the documents' order.
func TestZillizRerank(t *testing.T) {
	srv := startZilliz(t, embeddingtest.ZillizOptions{Dim: 16, Deployments: []string{"rr"}})
	svc := zillizService(srv)
	kv := func(p ...string) []*commonpb.KeyValuePair {
		var out []*commonpb.KeyValuePair
		for i := 0; i+1 < len(p); i += 2 {
			out = append(out, &commonpb.KeyValuePair{Key: p[i], Value: p[i+1]})
		}
		return out
	}
	p, err := svc.NewRerankProvider(kv("reranker", "model", "provider", "zilliz", "model_deployment_id", "rr", "max_client_batch_size", "2", "queries", `["fox"]`), "db2")
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxBatch() != 2 {
		t.Errorf("max batch %d", p.MaxBatch())
	}
	docs := []string{"a quick fox", "nothing"}
	scores, err := p.Rerank(context.Background(), "fox", docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 2 || scores[0] != srv.Score("fox", docs[0]) || scores[1] != srv.Score("fox", docs[1]) || scores[0] <= scores[1] {
		t.Errorf("scores %v", scores)
	}
	c := srv.Calls()[0]
	want := map[string]string{"reranker": "model", "provider": "zilliz", "queries": `["fox"]`}
	if c.Method != "Rerank" || c.Query != "fox" || !slices.Equal(c.Texts, docs) || c.DB != "db2" || c.Deployment != "rr" || !maps.Equal(c.Params, want) {
		t.Errorf("call %+v", c)
	}
	if p, err = svc.NewRerankProvider(kv("provider", "zilliz"), "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Rerank(context.Background(), "q", docs); err == nil || !strings.Contains(err.Error(), `model deployment "" not found`) {
		t.Errorf("no deployment: %v", err)
	}
	for params, want := range map[string]string{
		"0": "[max_client_batch_size param's value: 0] must be greater than 0",
		"x": "[max_client_batch_size param's value: x] is not a valid number",
	} {
		if _, err := svc.NewRerankProvider(kv("provider", "zilliz", "max_client_batch_size", params), "default"); err == nil || err.Error() != want {
			t.Errorf("%s: %v", params, err)
		}
	}
	if _, err := embedding.New(fast()).NewRerankProvider(kv("provider", "zilliz"), "default"); err == nil || err.Error() != "zilliz client config error, lost endpoint config" {
		t.Errorf("no endpoint: %v", err)
	}
	cfg := fast()
	cfg.Zilliz = embedding.ZillizConfig{Endpoint: srv.Addr()}
	cfg.Rerank = map[string]embedding.Provider{"zilliz": {Disabled: true}}
	if _, err := embedding.New(cfg).NewRerankProvider(kv("provider", "zilliz"), "default"); err == nil || err.Error() != "rerank provider: [zilliz] is disabled" {
		t.Errorf("disabled: %v", err)
	}
}

// TestZillizHighlight: the semantic highlighter's provider sends the query
// and the documents with every param but model_deployment_id and
// max_client_batch_size to the HighlightService, naming the deployment and
// the database in the metadata; each result's sentences and scores come
// back in the documents' order. A deployment the service does not serve
// is refused with the service's status.
func TestZillizHighlight(t *testing.T) {
	srv := startZilliz(t, embeddingtest.ZillizOptions{Deployments: []string{"hl-1"}})
	svc := zillizService(srv)
	params := []*commonpb.KeyValuePair{{Key: "model_deployment_id", Value: "hl-1"},
		{Key: "max_client_batch_size", Value: "8"}, {Key: "threshold", Value: "0.5"}}
	p, err := svc.NewHighlightProvider(params, "db1")
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxBatch() != 8 {
		t.Errorf("max batch %d, want 8", p.MaxBatch())
	}
	docs := []string{"A fox runs. The dog sleeps.", "Nothing here."}
	sentences, scores, err := p.Highlight(context.Background(), "fox", docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(sentences) != 2 || !slices.Equal(sentences[0], []string{"A fox runs"}) || len(sentences[1]) != 0 ||
		len(scores[0]) != 1 || scores[0][0] != float32(1)/3 || len(scores[1]) != 0 {
		t.Fatalf("highlights %q scores %v", sentences, scores)
	}
	calls := srv.Calls()
	last := calls[len(calls)-1]
	if last.Method != "Highlight" || last.Deployment != "hl-1" || last.DB != "db1" || last.Query != "fox" ||
		!maps.Equal(last.Params, map[string]string{"threshold": "0.5"}) {
		t.Errorf("call %+v", last)
	}

	other, err := svc.NewHighlightProvider([]*commonpb.KeyValuePair{{Key: "model_deployment_id", Value: "hl-2"}}, "db1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Highlight(context.Background(), "fox", docs); err == nil || !strings.Contains(err.Error(), `model deployment "hl-2" not found`) {
		t.Errorf("unserved deployment: %v", err)
	}
}
