package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"slices"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/embedding/embeddingtest"
)

// TestHostedProvidersEndToEnd: text_embedding functions of the hosted
// providers (voyageai and cohere into Int8Vector fields, cohere,
// dashscope, gemini, bedrock and vertexai into FloatVector fields) and a cohere model reranker, through
// the SDK against the test server's copies of those APIs, with the API
// key from a configured credential.
func TestHostedProvidersEndToEnd(t *testing.T) {
	gcp, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	api := embeddingtest.Start(embeddingtest.Options{Dim: teDim, APIKey: "secret", AWSAccessKey: "AKIDTEST", AWSSecretKey: "s3cret", GCPKey: &gcp.PublicKey})
	der, err := x509.MarshalPKCS8PrivateKey(gcp)
	must(t, err)
	saKey, _ := json.Marshal(map[string]string{"type": "service_account", "client_email": "milvus@p.iam.gserviceaccount.com",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "token_uri": api.URL() + "/vertexai/token"})
	defer api.Close()
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		p := func(path string) embedding.Provider {
			return embedding.Provider{URL: api.URL() + path, Credential: "hosted"}
		}
		c.Public.Models = embedding.Config{Timeout: 5 * time.Second, Retries: 1, Credentials: map[string]string{"hosted": "secret"},
			CredentialValues: map[string]string{"hosted.access_key_id": "AKIDTEST", "hosted.secret_access_key": "s3cret",
				"hosted.credential_json": base64.StdEncoding.EncodeToString(saKey)},
			TextEmbedding: map[string]embedding.Provider{
				"voyageai":  p("/voyageai/v1/embeddings"),
				"cohere":    p("/cohere/v2/embed"),
				"dashscope": p("/dashscope/api/v1/services/embeddings/text-embedding/text-embedding"),
				"gemini":    p("/gemini/v1beta/models/gemini-embedding-001:batchEmbedContents"),
				"bedrock":   p("/bedrock"),
				"vertexai":  p("/vertexai/v1/projects/p/locations/us-central1/publishers/google/models/text-embedding-005:predict"),
			},
			Rerank: map[string]embedding.Provider{"cohere": p("/cohere/v2/rerank")}}
	})
	cli := srv.client(t)
	ctx := testContext(t)
	texts := []string{"the quick brown fox", "a lazy dog sleeps", "vector databases store embeddings", "brown bears eat fish"}
	ids := []int64{0, 1, 2, 3}
	for _, c := range []struct {
		provider, model string
		int8            bool
	}{
		{"voyageai", "voyage-3.5", true},
		{"cohere", "embed-v4.0", true},
		{"cohere", "embed-english-v3.0", false},
		{"dashscope", "text-embedding-v3", false},
		{"gemini", "gemini-embedding-001", false},
		{"bedrock", "amazon.titan-embed-text-v2:0", false},
		{"vertexai", "text-embedding-005", false},
	} {
		name := "hosted_" + c.provider
		dt := entity.FieldTypeFloatVector
		if c.int8 {
			name += "_int8"
			dt = entity.FieldTypeInt8Vector
		}
		fn := entity.NewFunction().WithName("te").WithInputFields("text").WithOutputFields("vec").
			WithType(entity.FunctionTypeTextEmbedding).WithParam("provider", c.provider).WithParam("model_name", c.model)
		if c.provider == "bedrock" {
			fn.WithParam("region", "us-east-1")
		}
		schema := entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("text").WithDataType(entity.FieldTypeVarChar).WithMaxLength(512)).
			WithField(entity.NewField().WithName("vec").WithDataType(dt).WithDim(teDim)).
			WithFunction(fn)
		if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)); err != nil {
			t.Fatalf("%s: create: %v", name, err)
		}
		if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithVarcharColumn("text", texts)); err != nil {
			t.Fatalf("%s: insert: %v", name, err)
		}
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewHNSWIndex(entity.COSINE, 16, 64)))
		must(t, err)
		must(t, it.Await(ctx))
		lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
		must(t, err)
		must(t, lt.Await(ctx))

		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("vec").WithConsistencyLevel(entity.ClStrong))
		if err != nil || rs.ResultCount != len(texts) {
			t.Fatalf("%s: query: %v", name, err)
		}
		got := rs.GetColumn("id").(*column.ColumnInt64).Data()
		for i, id := range got {
			if c.int8 {
				if v := rs.GetColumn("vec").(*column.ColumnInt8Vector).Data()[i]; !slices.Equal(v, api.Int8(texts[id])) {
					t.Fatalf("%s: row %d: not the model's int8 vector", name, id)
				}
			} else if v := rs.GetColumn("vec").(*column.ColumnFloatVector).Data()[i]; !slices.Equal(v, api.Embed(texts[id])) {
				t.Fatalf("%s: row %d: not the model's vector", name, id)
			}
		}
		opt := milvusclient.NewSearchOption(name, 2, []entity.Vector{entity.Text("lazy dog")}).WithANNSField("vec").
			WithConsistencyLevel(entity.ClStrong).WithOutputFields("text")
		if c.provider == "cohere" && !c.int8 {
			opt.WithFunctionReranker(entity.NewFunction().WithName("rr").WithType(entity.FunctionTypeRerank).WithInputFields("text").
				WithParam("reranker", "model").WithParam("provider", "cohere").WithParam("model_name", "rerank-v3.5").
				WithParam("queries", []string{"brown fox"}))
		}
		res, err := cli.Search(ctx, opt)
		if err != nil {
			t.Fatalf("%s: search: %v", name, err)
		}
		want := int64(1)
		if c.provider == "cohere" && !c.int8 {
			want = 0 // the reranker ranks the two hits by "brown fox"
		}
		if hits := res[0].IDs.(*column.ColumnInt64).Data(); len(hits) != 2 || hits[0] != want {
			t.Fatalf("%s: search hits %v, want %d first", name, hits, want)
		}
	}
}
