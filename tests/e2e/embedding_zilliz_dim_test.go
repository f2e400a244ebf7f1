package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/embedding/embeddingtest"
)

// TestZillizModelOfAnotherDim: a zilliz model whose vectors are longer
// than the output field's dim is refused as Milvus 2.6 refuses it. The
// creation check fails with the check's text; with the check disabled
// the collection is created, and the provider (which, unlike the others,
// does not check the dimension) hands the vectors on, so an insert fails
// the column check (two rows' worth of floats for one row) and a search
// the placeholder check.
func TestZillizModelOfAnotherDim(t *testing.T) {
	model, err := embeddingtest.StartZilliz(embeddingtest.ZillizOptions{Dim: 8, Deployments: []string{"emb"}})
	must(t, err)
	defer model.Close()
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		c.Public.Models = embedding.Config{Timeout: 5 * time.Second, Retries: 1,
			Zilliz: embedding.ZillizConfig{Endpoint: model.Addr()}}
	})
	ctx := testContext(t)
	cli := srv.client(t)
	const name = "zilliz_dim"
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("text").WithDataType(entity.FieldTypeVarChar).WithMaxLength(512)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(4)).
		WithFunction(entity.NewFunction().WithName("te").WithInputFields("text").WithOutputFields("vec").
			WithType(entity.FunctionTypeTextEmbedding).WithParam("provider", "zilliz").WithParam("model_deployment_id", "emb"))
	err = cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema))
	if err == nil || !strings.Contains(err.Error(), "check function [te:TextEmbedding] failed, the err is: the dim set in the schema is inconsistent with the dim of the model, dim in schema is 4, dim of model is 8") {
		t.Fatalf("create: %v", err)
	}
	// The collection takes supplied vectors too, so that the search below
	// has a segment to search (without one Milvus returns no hits).
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithProperty("disable_func_runtime_check", true).
		WithProperty("collection.function.allowInsertNonBM25FunctionOutputs", true)))

	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1}).WithVarcharColumn("text", []string{"one"}))
	if err == nil || !strings.Contains(err.Error(), "the num_rows (2) of field (vec) is not equal to passed num_rows (1)") {
		t.Fatalf("insert: %v", err)
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{2}).WithVarcharColumn("text", []string{"two"}).
		WithFloatVectorColumn("vec", 4, [][]float32{{1, 0, 0, 0}})); err != nil {
		t.Fatalf("insert of a supplied vector: %v", err)
	}
	_, err = cli.Flush(ctx, milvusclient.NewFlushOption(name))
	must(t, err)

	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.COSINE)))
	must(t, err)
	must(t, it.Await(ctx))
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	must(t, err)
	must(t, lt.Await(ctx))
	_, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.Text("one")}).WithANNSField("vec"))
	if err == nil || !strings.Contains(err.Error(), "vector dimension mismatch, expected vector size(byte) 16, actual 32.") {
		t.Fatalf("search: %v", err)
	}
}
