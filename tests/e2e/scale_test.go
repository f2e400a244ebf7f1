package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestLargeRequests sends an insert bigger than one log message (it is
// split), a search with nq 64, and uses a partition-key
// collection.
func TestLargeRequests(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)

	t.Run("big insert and nq", func(t *testing.T) {
		const name, dim, n = "big", 512, 2000 // 4 MB of vectors in one shard: two log messages
		schema := entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
		must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
		r := rand.New(rand.NewPCG(99, 1))
		vecs := randomVectors(r, n, dim)
		idsIn := make([]int64, n)
		for i := range idsIn {
			idsIn[i] = int64(i)
		}
		res, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", idsIn).
			WithFloatVectorColumn("vec", dim, vecs))
		must(t, err)
		if res.InsertCount != n {
			t.Fatalf("insert count %d", res.InsertCount)
		}
		indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if c, _ := qr.GetColumn("count(*)").GetAsInt64(0); c != n {
			t.Fatalf("count = %d, want %d", c, n)
		}
		const nq = 64
		qs := make([]entity.Vector, nq)
		for i := range qs {
			qs[i] = entity.FloatVector(vecs[i*31])
		}
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 20, qs).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if len(rs) != nq {
			t.Fatalf("%d result sets, want %d", len(rs), nq)
		}
		for i := range rs {
			got := ids(t, rs[i])
			if len(got) != 20 || got[0] != int64(i*31) {
				t.Fatalf("query %d: %d hits, first %v", i, len(got), got[:1])
			}
		}
	})

	t.Run("partition key", func(t *testing.T) {
		const name, dim = "tenants", 4
		schema := entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("tenant").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16).WithIsPartitionKey(true)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
		must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithNumPartitions(8)))
		parts, err := cli.ListPartitions(ctx, milvusclient.NewListPartitionOption(name))
		must(t, err)
		if len(parts) != 8 {
			t.Fatalf("partition-key collection has partitions %v, want 8", parts)
		}
		for i, p := range parts { // Milvus's names; there is no plain _default
			if want := fmt.Sprintf("_default_%d", i); p != want {
				t.Fatalf("partition %d is %q, want %q (all: %v)", i, p, want, parts)
			}
		}
		if err := cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, "manual")); err == nil {
			t.Fatal("created a partition by hand in a partition-key collection")
		}
		r := rand.New(rand.NewPCG(5, 6))
		const n = 200
		idsIn := make([]int64, n)
		tenants := make([]string, n)
		for i := range idsIn {
			idsIn[i] = int64(i)
			tenants[i] = fmt.Sprintf("tenant-%d", i%10)
		}
		vecs := randomVectors(r, n, dim)
		_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", idsIn).
			WithVarcharColumn("tenant", tenants).WithFloatVectorColumn("vec", dim, vecs))
		must(t, err)
		indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 50, []entity.Vector{entity.FloatVector(vecs[0])}).
			WithFilter(`tenant == "tenant-3"`).WithOutputFields("tenant").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		got := ids(t, rs[0])
		if len(got) != 20 {
			t.Fatalf("tenant-3 search: %d hits, want 20", len(got))
		}
		for i, id := range got {
			if tn, _ := rs[0].GetColumn("tenant").GetAsString(i); id%10 != 3 || tn != "tenant-3" {
				t.Fatalf("tenant-3 search returned id %d of %q", id, tn)
			}
		}
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`tenant in ["tenant-1", "tenant-2"]`).
			WithOutputFields("id").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		want := []int64{}
		for i := range n {
			if i%10 == 1 || i%10 == 2 {
				want = append(want, int64(i))
			}
		}
		if got := sortedCopy(int64Col(t, qr, "id")); !slices.Equal(got, want) {
			t.Fatalf("tenant 1, 2 query: %d ids, want %d", len(got), len(want))
		}
		del, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr(`tenant == "tenant-1"`))
		must(t, err)
		if del.DeleteCount != 20 {
			t.Fatalf("delete tenant-1 removed %d, want 20", del.DeleteCount)
		}
		qr, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if c, _ := qr.GetColumn("count(*)").GetAsInt64(0); c != n-20 {
			t.Fatalf("count after deleting a tenant = %d", c)
		}
	})
}
