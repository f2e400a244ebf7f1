package coordrpc_test

import (
	"context"
	"reflect"
	"testing"

	"google.golang.org/grpc"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/indexcoord"
	"github.com/milvago/milvago/internal/indexnode"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/storage"
)

// TestAnalyzeCoordRoundTrip: an analyze task created, read, listed and
// dropped through the client is the task the index coordinator holds;
// its refusal keeps its code.
func TestAnalyzeCoordRoundTrip(t *testing.T) {
	ctx := context.Background()
	objs := objstore.NewMemory()
	b, err := storage.EncodeColumn(&column.FloatVector{Dim: 2, Data: []float32{0, 0, 1, 1, 10, 10, 11, 11}})
	if err != nil {
		t.Fatal(err)
	}
	if err := objs.Put(ctx, "insert_log/1/2/3/101/4", b); err != nil {
		t.Fatal(err)
	}
	a, err := indexcoord.NewAnalyses(ctx, indexcoord.AnalysesDeps{KV: kv.NewMemory(), Worker: indexnode.New(objs, nil)})
	if err != nil {
		t.Fatal(err)
	}
	cli := coordrpc.NewAnalyzeCoordClient(serve(t, func(g *grpc.Server) { coordrpc.RegisterAnalyzeCoord(g, a) }))
	task := model.AnalyzeTask{ID: 9, CollectionID: 1, PartitionID: 2, FieldID: 101, Dim: 2, SegmentIDs: []int64{3},
		Binlogs: []string{"insert_log/1/2/3/101/4"}, NumClusters: 2, TrainRatio: 0.5}
	if err := cli.CreateAnalysis(ctx, task); err != nil {
		t.Fatal(err)
	}
	gotR, okR, err := cli.Analysis(ctx, 9)
	gotD, _, _ := a.Analysis(ctx, 9)
	if err != nil || !okR || !reflect.DeepEqual(gotR, gotD) || gotR.State != commonpb.IndexState_Unissued {
		t.Fatalf("analysis over the wire %+v (%v %v), direct %+v", gotR, okR, err, gotD)
	}
	if _, ok, err := cli.Analysis(ctx, 10); ok || err != nil {
		t.Fatalf("unknown analysis: %v %v", ok, err)
	}
	listR, err := cli.ListAnalyses(ctx)
	listD, _ := a.ListAnalyses(ctx)
	if err != nil || !reflect.DeepEqual(listR, listD) {
		t.Fatalf("list over the wire %+v (%v), direct %+v", listR, err, listD)
	}
	bad := task
	bad.ID, bad.NumClusters = 11, 0
	errR, errD := cli.CreateAnalysis(ctx, bad), a.CreateAnalysis(ctx, bad)
	if errR == nil || errD == nil || errs.CodeOf(errR) != errs.CodeOf(errD) {
		t.Fatalf("invalid task: remote %v, direct %v", errR, errD)
	}
	if err := cli.DropAnalyses(ctx, []int64{9}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Analysis(ctx, 9); ok {
		t.Fatal("dropped over the wire, still there")
	}
}
