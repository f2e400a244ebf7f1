package embedding_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/embedding/embeddingtest"
)

// serviceAccount is the JSON key of a service account with key k whose
// tokens come from tokenURI.
func serviceAccount(t *testing.T, k *rsa.PrivateKey, tokenURI string) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "p", "private_key_id": "kid1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "milvus@p.iam.gserviceaccount.com", "token_uri": tokenURI})
	return b
}

// TestVertexAI: the service account's JWT is exchanged for a token
// (cached across calls), :predict carries the instances with Milvus's
// task types, gemini-embedding-2 models use :embedContent one text at a
// time; the key comes from a credential or the file
// MILVUS_GOOGLE_APPLICATION_CREDENTIALS names.
func TestVertexAI(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := embeddingtest.Start(embeddingtest.Options{Dim: 8, GCPKey: &k.PublicKey})
	defer srv.Close()
	key := serviceAccount(t, k, srv.URL()+"/vertexai/token")
	models := srv.URL() + "/vertexai/v1/projects/p/locations/us-central1/publishers/google/models/"
	cfg := fast()
	cfg.CredentialValues = map[string]string{"gcp.credential_json": base64.StdEncoding.EncodeToString(key), "broken.credential_json": "%%"}
	cfg.TextEmbedding = map[string]embedding.Provider{"vertexai": {URL: models + "text-embedding-005:predict"}}
	svc := embedding.New(cfg)
	s, fn := schema("8", schemapb.DataType_FloatVector, "provider", "vertexai", "model_name", "text-embedding-005",
		"projectid", "p", "credential", "gcp", "task", "CODE_RETRIEVAL")
	f, err := svc.NewTextEmbedding("default", s, fn)
	if err != nil {
		t.Fatal(err)
	}
	before := srv.Requests()
	texts := []string{"func main", "package embedding"}
	vecs, err := f.Insert(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs.Float {
		if !slices.Equal(v, srv.Embed(texts[i])) {
			t.Fatalf("text %d: not the model's vector", i)
		}
	}
	if got := fmt.Sprint(srv.LastRequest().Body["instances"]); got != "[map[content:func main task_type:RETRIEVAL_DOCUMENT] map[content:package embedding task_type:RETRIEVAL_DOCUMENT]]" {
		t.Errorf("instances %s", got)
	}
	if _, err := f.Search(context.Background(), []string{"q"}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(srv.LastRequest().Body["instances"]); got != "[map[content:q task_type:CODE_RETRIEVAL_QUERY]]" {
		t.Errorf("search instances %s", got)
	}
	if n := srv.Requests() - before; n != 3 {
		t.Errorf("%d requests, want 3 (one token, then two calls)", n)
	}

	// A Gemini model from the key file, one text per :embedContent.
	path := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.TextEmbedding = map[string]embedding.Provider{"vertexai": {URL: models + "gemini-embedding-2:embedContent"}}
	cfg.Env = func(n string) string { return map[string]string{"MILVUS_GOOGLE_APPLICATION_CREDENTIALS": path}[n] }
	s, fn = schema("8", schemapb.DataType_FloatVector, "provider", "vertexai", "model_name", "gemini-embedding-2", "dim", "8")
	f, err = embedding.New(cfg).NewTextEmbedding("default", s, fn)
	if err != nil {
		t.Fatal(err)
	}
	if f.MaxBatch() != 5 {
		t.Errorf("gemini max batch %d, want 5", f.MaxBatch())
	}
	if vecs, err := f.Search(context.Background(), []string{"a b", "c"}); err != nil || !slices.Equal(vecs.Float[1], srv.Embed("c")) {
		t.Fatalf("gemini: %v", err)
	}
	if b := srv.LastRequest().Body; b["taskType"] != "RETRIEVAL_QUERY" || b["outputDimensionality"] != 8.0 {
		t.Errorf("gemini body %v", b)
	}

	for _, c := range []struct {
		env    map[string]string
		params []string
		want   string
	}{
		{nil, nil, "VetexAI credentials file path is empty"},
		{map[string]string{"MILVUS_GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent"}, nil, "Vertexai: read credentials file failed, open /nonexistent: no such file or directory"},
		{nil, []string{"credential", "none"}, "none is not a gcp crediential, can not find key: none.credential_json "},
		{nil, []string{"credential", "broken"}, "parse gcp credential:broken faild, err: illegal base64 data at input byte 0"},
	} {
		cfg := fast()
		cfg.CredentialValues = map[string]string{"broken.credential_json": "%%"}
		cfg.Env = func(n string) string { return c.env[n] }
		s, fn := schema("8", schemapb.DataType_FloatVector, append([]string{"provider", "vertexai", "model_name", "m"}, c.params...)...)
		if _, err := embedding.New(cfg).NewTextEmbedding("default", s, fn); err == nil || err.Error() != c.want {
			t.Errorf("%v %v: %v, want %q", c.env, c.params, err, c.want)
		}
	}
	// A key the token endpoint does not know.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	cfg = fast()
	cfg.CredentialValues = map[string]string{"x.credential_json": base64.StdEncoding.EncodeToString(serviceAccount(t, other, srv.URL()+"/vertexai/token"))}
	cfg.TextEmbedding = map[string]embedding.Provider{"vertexai": {URL: models + "text-embedding-005:predict"}}
	s, fn = schema("8", schemapb.DataType_FloatVector, "provider", "vertexai", "model_name", "m", "credential", "x")
	f, err = embedding.New(cfg).NewTextEmbedding("default", s, fn)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Check(context.Background()); err == nil || err.Error()[:40] != "failed to get token: oauth2: cannot fetc" {
		t.Errorf("unknown key: %v", err)
	}
}
