package app

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/indexcoord"
	"github.com/milvago/milvago/internal/indexnode"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
	"github.com/milvago/milvago/internal/session"
	"github.com/milvago/milvago/internal/storage"
)

// stallingStore is an object store whose mappings wait until the call is
// cancelled: an index node busy reading its input when it dies.
type stallingStore struct {
	objstore.Store
	started chan struct{}
}

func (s stallingStore) Map(ctx context.Context, key string) (objstore.Mapping, error) {
	close(s.started)
	<-ctx.Done()
	return nil, ctx.Err()
}

// serveIndexNode serves an index node over gRPC on a local TCP port.
func serveIndexNode(t *testing.T, objs objstore.Store) (*grpc.Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	workerrpc.RegisterIndexNode(g, indexnode.New(objs, nil))
	go g.Serve(l)
	t.Cleanup(g.Stop)
	return g, l.Addr().String()
}

// TestAnalyzeTaskIndexNodeDies: two index node processes serve gRPC; the
// pool dispatches an analyze task to the first, whose server stops while
// the task reads its input (the process dies). The call fails as
// unavailable, the index coordinator's task is dispatched again and the
// pool sends it to the live node, where it finishes: two attempts, the
// centroids file written.
func TestAnalyzeTaskIndexNodeDies(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	objs := objstore.NewMemory()
	vec := &column.FloatVector{Dim: 2}
	for i := range 200 {
		vec.Data = append(vec.Data, float32(i%2*50)+float32(i)/1000, float32(i%2*50))
	}
	b, err := storage.EncodeColumn(vec)
	if err != nil {
		t.Fatal(err)
	}
	if err := objs.Put(ctx, "insert_log/1/2/3/101/4", b); err != nil {
		t.Fatal(err)
	}
	stall := stallingStore{objs, make(chan struct{})}
	first, addr1 := serveIndexNode(t, stall)
	_, addr2 := serveIndexNode(t, objs)
	pool := newIndexNodePool(slog.New(slog.DiscardHandler), nil)
	defer pool.close()
	pool.set([]session.Info{{ServerID: 1, Address: addr1}, {ServerID: 2, Address: addr2}})
	a, err := indexcoord.NewAnalyses(ctx, indexcoord.AnalysesDeps{KV: kv.NewMemory(), Worker: pool, Slots: pool.slots})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	task := model.AnalyzeTask{ID: 7, CollectionID: 1, PartitionID: 2, FieldID: 101, Dim: 2, SegmentIDs: []int64{3},
		Binlogs: []string{"insert_log/1/2/3/101/4"}, NumClusters: 2, TrainRatio: 1}
	if err := a.CreateAnalysis(ctx, task); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stall.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the task did not reach the first index node")
	}
	first.Stop()
	deadline := time.Now().Add(20 * time.Second)
	var got model.AnalyzeTask
	for {
		got, _, _ = a.Analysis(ctx, 7)
		if got.State == commonpb.IndexState_Finished || got.State == commonpb.IndexState_Failed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task still %v", got.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got.State != commonpb.IndexState_Finished || got.Attempts != 2 || got.NumCentroids != 2 || got.NumRows != 200 {
		t.Fatalf("after the index node died: %+v", got)
	}
	if _, err := objs.Get(ctx, got.CentroidsFile); err != nil {
		t.Fatalf("centroids file: %v", err)
	}
}
