package e2e

import (
	"testing"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestPartitionKeyManualPartitions: a partition-key collection refuses
// hand-made partitions and partition names in reads with Milvus 2.6's
// errors: create/drop/load/release partition and search are plain errors (code 65535,
// legacy UnexpectedError), query is invalid parameter (1100). The Node
// SDK's PartitionKey suite checks the legacy codes.
func TestPartitionKeyManualPartitions(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "pk_manual", 4
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tenant").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16).WithIsPartitionKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithNumPartitions(3)))
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1, 2}).
		WithVarcharColumn("tenant", []string{"a", "b"}).WithFloatVectorColumn("vec", dim, [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}}))
	must(t, err)
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))

	wantCode(t, cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, "p")), 65535,
		"disable create partition if partition key mode is used")
	wantCode(t, cli.DropPartition(ctx, milvusclient.NewDropPartitionOption(name, "_default_0")), 65535,
		"disable drop partition if partition key mode is used")
	_, err = cli.LoadPartitions(ctx, milvusclient.NewLoadPartitionsOption(name, "_default_0"))
	wantCode(t, err, 65535, "disable load partitions if partition key mode is used")
	wantCode(t, cli.ReleasePartitions(ctx, milvusclient.NewReleasePartitionsOptions(name, "_default_0")), 65535,
		"disable release partitions if partition key mode is used")
	_, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`tenant == "a"`).WithPartitions("p"))
	wantCode(t, err, 1100, "not support manually specifying the partition names if partition key mode is used")
	_, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 1, []entity.Vector{entity.FloatVector{1, 0, 0, 0}}).WithPartitions("p"))
	wantCode(t, err, 65535, "not support manually specifying the partition names if partition key mode is used")
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`tenant == "a"`).WithOutputFields("id").
		WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if rs.ResultCount != 1 {
		t.Fatalf("query without partitions: %d rows, want 1", rs.ResultCount)
	}
}
