package e2e

import (
	"slices"
	"testing"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// SUBSTRUCTURE / SUPERSTRUCTURE: BIN_FLAT takes them and a search returns
// the rows that contain (are contained in) the query's bits, scored 0;
// BIN_IVF_FLAT refuses them.
func TestBinaryStructureMetrics(t *testing.T) {
	srv := startServer(t, t.TempDir())
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "structure"
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("bits").WithDataType(entity.FieldTypeBinaryVector).WithDim(8))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
		WithInt64Column("id", []int64{0, 1, 2, 3, 4}).
		WithBinaryVectorColumn("bits", 8, [][]byte{{0b1111}, {0b0011}, {0b0001}, {0b1000}, {0b0111}}))
	must(t, err)
	flush(t, ctx, cli, name)
	_, err = cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "bits", index.NewBinIvfFlatIndex(entity.SUBSTRUCTURE, 2)))
	wantCode(t, err, 1100, "SUBSTRUCTURE")
	for _, tc := range []struct {
		metric entity.MetricType
		want   []int64
	}{
		{entity.SUBSTRUCTURE, []int64{0, 1, 4}},
		{entity.SUPERSTRUCTURE, []int64{1, 2}},
	} {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "bits", index.NewBinFlatIndex(tc.metric)))
		must(t, err)
		must(t, it.Await(ctx))
		load(t, ctx, cli, name)
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 5, []entity.Vector{entity.BinaryVector{0b0011}}).
			WithANNSField("bits").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		var got []int64
		for i := range rs[0].ResultCount {
			id, _ := rs[0].IDs.GetAsInt64(i)
			got = append(got, id)
			if rs[0].Scores[i] != 0 {
				t.Errorf("%s: row %d scored %g", tc.metric, id, rs[0].Scores[i])
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: rows %v, want %v", tc.metric, got, tc.want)
		}
		must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
		must(t, cli.DropIndex(ctx, milvusclient.NewDropIndexOption(name, "bits")))
	}
}
