package e2e

import (
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// SCANN (with and without raw data) builds through the SDK, describes
// with the user's parameters, takes its search parameters
// (nprobe/reorder_k) and finds a stored vector first.
func TestSCANN(t *testing.T) {
	srv := startServer(t, t.TempDir())
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim, n = "scann", 8, 3000
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
	r := rand.New(rand.NewPCG(7, 8))
	vecs := randomVectors(r, n, dim)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithFloatVectorColumn("vec", dim, vecs))
	must(t, err)
	flush(t, ctx, cli, name)
	for _, tc := range []struct {
		idx    index.Index
		params map[string]string
	}{
		{index.NewSCANNIndex(entity.L2, 16, true), map[string]string{"nprobe": "16", "reorder_k": "5"}},
		{index.NewSCANNIndex(entity.L2, 16, false), map[string]string{"nprobe": "16"}},
	} {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", tc.idx))
		must(t, err)
		must(t, it.Await(ctx))
		desc, err := cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(name, "vec"))
		must(t, err)
		if got := desc.Params()["index_type"]; got != string(tc.idx.IndexType()) {
			t.Errorf("described index_type %q, want %q", got, tc.idx.IndexType())
		}
		load(t, ctx, cli, name)
		opt := milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.FloatVector(vecs[42])}).WithANNSField("vec").
			WithConsistencyLevel(entity.ClStrong)
		for k, v := range tc.params {
			opt = opt.WithSearchParam(k, v)
		}
		rs, err := cli.Search(ctx, opt)
		must(t, err)
		// Raw-vector scoring (SCANN with raw data) ranks the
		// stored vector itself first; 4-bit codes may not.
		exact := tc.idx.Params()["with_raw_data"] != "false"
		if id, _ := rs[0].IDs.GetAsInt64(0); rs[0].ResultCount != 3 || exact && id != 42 {
			t.Errorf("%s %v: first hit %d of %d", tc.idx.IndexType(), tc.idx.Params(), id, rs[0].ResultCount)
		}
		must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
		must(t, cli.DropIndex(ctx, milvusclient.NewDropIndexOption(name, "vec")))
	}
}
