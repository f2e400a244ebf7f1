package e2e

import (
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

func randomVectors(r *rand.Rand, n, dim int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, dim)
		for j := range out[i] {
			out[i][j] = r.Float32()
		}
	}
	return out
}

// TestSDKHelloFlow is the Go SDK's own hello flow: create, insert, index,
// load, search with a filter, query, delete, query again, drop.
func TestSDKHelloFlow(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim, n = "hello_milvago", 16, 2000

	if v, err := cli.GetServerVersion(ctx, milvusclient.NewGetServerVersionOption()); err != nil || v == "" {
		t.Fatalf("GetServerVersion = %q, %v", v, err)
	}
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("random").WithDataType(entity.FieldTypeDouble)).
		WithField(entity.NewField().WithName("embeddings").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)); err != nil {
		t.Fatalf("create collection: %v", err)
	}
	has, err := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption(name))
	if err != nil || !has {
		t.Fatalf("HasCollection = %v, %v", has, err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]int64, n)
	randoms := make([]float64, n)
	for i := range ids {
		ids[i] = int64(i)
		randoms[i] = float64(i) / n
	}
	vecs := randomVectors(r, n, dim)
	res, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
		WithInt64Column("id", ids).WithColumns().
		WithFloatVectorColumn("embeddings", dim, vecs).
		WithColumns(columnDouble("random", randoms)))
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	if res.InsertCount != n || res.IDs.Len() != n {
		t.Fatalf("insert result: count %d ids %d", res.InsertCount, res.IDs.Len())
	}
	flush, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := flush.Await(ctx); err != nil {
		t.Fatalf("flush await: %v", err)
	}
	idx, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "embeddings", index.NewHNSWIndex(entity.L2, 16, 64)))
	if err != nil {
		t.Fatalf("create index: %v", err)
	}
	if err := idx.Await(ctx); err != nil {
		t.Fatalf("index await: %v", err)
	}
	load, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := load.Await(ctx); err != nil {
		t.Fatalf("load await: %v", err)
	}

	// Search for inserted vectors: each must find itself first at distance 0.
	queries := []entity.Vector{entity.FloatVector(vecs[10]), entity.FloatVector(vecs[1500])}
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 5, queries).
		WithANNSField("embeddings").WithOutputFields("random").
		WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(rs) != 2 {
		t.Fatalf("got %d result sets, want 2", len(rs))
	}
	for qi, want := range []int64{10, 1500} {
		got, _ := rs[qi].IDs.GetAsInt64(0)
		if rs[qi].ResultCount != 5 || got != want || rs[qi].Scores[0] != 0 {
			t.Fatalf("query %d: count %d first id %d score %v", qi, rs[qi].ResultCount, got, rs[qi].Scores[0])
		}
		rnd, err := rs[qi].GetColumn("random").GetAsDouble(0)
		if err != nil || rnd != randoms[want] {
			t.Fatalf("query %d: output field random = %v, %v", qi, rnd, err)
		}
	}
	// Filtered search never returns filtered rows.
	rs, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 10, queries[:1]).
		WithFilter("random > 0.5").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("filtered search: %v", err)
	}
	for i := 0; i < rs[0].ResultCount; i++ {
		id, _ := rs[0].IDs.GetAsInt64(i)
		if randoms[id] <= 0.5 {
			t.Fatalf("filtered search returned id %d with random %v", id, randoms[id])
		}
	}

	// Query, delete, query again.
	qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id in [1, 2, 3]").
		WithOutputFields("id", "random").WithConsistencyLevel(entity.ClStrong))
	if err != nil || qr.ResultCount != 3 {
		t.Fatalf("query: %v rows, %v", qr.ResultCount, err)
	}
	del, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr("id in [1, 2]"))
	if err != nil || del.DeleteCount != 2 {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	qr, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id in [1, 2, 3]").
		WithOutputFields("id").WithConsistencyLevel(entity.ClStrong))
	if err != nil || qr.ResultCount != 1 {
		t.Fatalf("query after delete: %d rows, %v", qr.ResultCount, err)
	}
	count, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	if c, _ := count.GetColumn("count(*)").GetAsInt64(0); c != n-2 {
		t.Fatalf("count(*) = %d, want %d", c, n-2)
	}
	if err := cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)); err != nil {
		t.Fatalf("drop: %v", err)
	}
	if has, _ := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption(name)); has {
		t.Fatal("collection still exists after drop")
	}
}
