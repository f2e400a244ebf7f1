package e2e

import (
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
)

// TestSearchByIDsBM25: a search by primary keys of a BM25 function's
// output searches with the rows' texts, as Milvus 2.6's searchByPK does
// (impl.go: the function's input field is fetched and sent as VarChar
// placeholders); the answer equals a full-text search with those texts.
// Before, Milvago sent the stored sparse vectors and the BM25 search
// refused them ("please provide varchar/text for BM25 Function based
// search, got SparseFloatVector").
func TestSearchByIDsBM25(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "by_ids_bm25"
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, ftsSchema(name))))
	texts := []string{"the quick brown fox", "a lazy dog sleeps", "quick quick dogs run", "brown bears and foxes", "the dog and the fox"}
	ids := []int64{0, 1, 2, 3, 4}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithVarcharColumn("text", texts))
	must(t, err)
	indexAndLoad(t, ctx, cli, name, "sparse", index.NewSparseInvertedIndex(entity.BM25, 0))

	keys := []int64{2, 0}
	resp, err := raw.Search(ctx, &milvuspb.SearchRequest{CollectionName: name, DslType: commonpb.DslType_BoolExprV1,
		SearchParams:     kvs("topk", "3", "anns_field", "sparse", "metric_type", "BM25"),
		SearchInput:      &milvuspb.SearchRequest_Ids{Ids: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: keys}}}},
		ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
	must(t, merr.CheckRPCCall(resp, err))
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.Text(texts[2]), entity.Text(texts[0])}).
		WithANNSField("sparse").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	res := resp.GetResults()
	var wantIDs []int64
	var wantScores []float32
	for _, r := range rs {
		wantIDs = append(wantIDs, r.IDs.(*column.ColumnInt64).Data()...)
		wantScores = append(wantScores, r.Scores...)
	}
	if got := res.GetIds().GetIntId().GetData(); !slices.Equal(got, wantIDs) || !slices.Equal(res.GetScores(), wantScores) {
		t.Fatalf("by ids: %v %v; by text: %v %v", got, res.GetScores(), wantIDs, wantScores)
	}
	if got := res.GetIds().GetIntId().GetData(); got[0] != 2 || got[res.GetTopks()[0]] != 0 {
		t.Fatalf("each row's text finds the row first: %v (topks %v)", got, res.GetTopks())
	}
}
