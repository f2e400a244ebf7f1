package e2e

import (
	"slices"
	"strings"
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

// TestZillizProviderEndToEnd: a text_embedding function and a model
// reranker of Milvus 2.6's zilliz provider, through the SDK in a database
// of their own, against the test gRPC model service configured as
// function.models.zilliz.endpoint: the insert stores the service's
// vectors, a text search embeds its query, the reranker orders the hits by
// the service's scores, and every call names the instance, the deployment
// and the database; a deployment the service does not serve fails the
// creation with Milvus's check-function error.
func TestZillizProviderEndToEnd(t *testing.T) {
	model, err := embeddingtest.StartZilliz(embeddingtest.ZillizOptions{Dim: teDim, Deployments: []string{"emb-1", "rr-1"}})
	must(t, err)
	defer model.Close()
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		c.Public.Models = embedding.Config{Timeout: 5 * time.Second, Retries: 1,
			Zilliz: embedding.ZillizConfig{Endpoint: model.Addr()}}
	})
	ctx := testContext(t)
	must(t, srv.client(t).CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("zdb")))
	cli := dbClient(t, srv, "zdb")

	const name = "zilliz_te"
	schemaWith := func(deployment string) *entity.Schema {
		return entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("text").WithDataType(entity.FieldTypeVarChar).WithMaxLength(512)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(teDim)).
			WithFunction(entity.NewFunction().WithName("te").WithInputFields("text").WithOutputFields("vec").
				WithType(entity.FunctionTypeTextEmbedding).WithParam("provider", "zilliz").WithParam("model_deployment_id", deployment))
	}
	err = cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schemaWith("nope")))
	if err == nil || !strings.Contains(err.Error(), "check function [te:TextEmbedding] failed, the err is:") ||
		!strings.Contains(err.Error(), `model deployment \"nope\" not found`) && !strings.Contains(err.Error(), `model deployment "nope" not found`) {
		t.Fatalf("unknown deployment: %v", err)
	}
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schemaWith("emb-1"))))

	texts := []string{"the quick brown fox", "a lazy dog sleeps", "vector databases store embeddings", "brown bears eat fish"}
	ids := []int64{0, 1, 2, 3}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithVarcharColumn("text", texts)); err != nil {
		t.Fatalf("insert: %v", err)
	}
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewHNSWIndex(entity.COSINE, 16, 64)))
	must(t, err)
	must(t, it.Await(ctx))
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	must(t, err)
	must(t, lt.Await(ctx))

	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("vec").WithConsistencyLevel(entity.ClStrong))
	if err != nil || rs.ResultCount != len(texts) {
		t.Fatalf("query: %v", err)
	}
	for i, id := range rs.GetColumn("id").(*column.ColumnInt64).Data() {
		if v := rs.GetColumn("vec").(*column.ColumnFloatVector).Data()[i]; !slices.Equal(v, model.Embed(texts[id])) {
			t.Fatalf("row %d: not the model's vector", id)
		}
	}

	search := func(rerank bool) []int64 {
		opt := milvusclient.NewSearchOption(name, 2, []entity.Vector{entity.Text("lazy dog")}).WithANNSField("vec").
			WithConsistencyLevel(entity.ClStrong).WithOutputFields("text")
		if rerank {
			opt.WithFunctionReranker(entity.NewFunction().WithName("rr").WithType(entity.FunctionTypeRerank).WithInputFields("text").
				WithParam("reranker", "model").WithParam("provider", "zilliz").WithParam("model_deployment_id", "rr-1").
				WithParam("queries", []string{"brown fox"}))
		}
		res, err := cli.Search(ctx, opt)
		if err != nil {
			t.Fatalf("search (rerank %v): %v", rerank, err)
		}
		return res[0].IDs.(*column.ColumnInt64).Data()
	}
	plain := search(false)
	if len(plain) != 2 || plain[0] != 1 {
		t.Fatalf("search hits %v, want 1 first", plain)
	}
	reranked := search(true)
	want := slices.Clone(plain)
	slices.SortFunc(want, func(a, b int64) int {
		sa, sb := model.Score("brown fox", texts[a]), model.Score("brown fox", texts[b])
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	if !slices.Equal(reranked, want) {
		t.Fatalf("reranked hits %v, want %v (by the model's scores)", reranked, want)
	}

	var methods []string
	for _, c := range model.Calls() {
		if c.Deployment == "nope" {
			continue
		}
		methods = append(methods, c.Method)
		if c.InstanceID != "by-dev" || c.DB != "zdb" || c.Encoding != "gzip" {
			t.Errorf("call %s: instance %q db %q encoding %q", c.Method, c.InstanceID, c.DB, c.Encoding)
		}
		switch c.Method {
		case "Embedding":
			if c.Deployment != "emb-1" {
				t.Errorf("embedding deployment %q", c.Deployment)
			}
		case "Rerank":
			if c.Deployment != "rr-1" || c.Query != "brown fox" {
				t.Errorf("rerank call %+v", c)
			}
		}
	}
	// check (create), insert, the two searches' queries, the rerank.
	if want := []string{"Embedding", "Embedding", "Embedding", "Embedding", "Rerank"}; !slices.Equal(methods, want) {
		t.Errorf("calls %v, want %v", methods, want)
	}
}
