package workerrpc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/datanode"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
)

// TestImportRoundTrip runs import jobs as a cluster does: datacoord has
// the data node execute them over DataNodeImports, and the data node
// reports progress over DataCoordImports. A job's rows land in flushed
// segments registered with datacoord; a bad file fails the job with the
// reader's reason.
func TestImportRoundTrip(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := kv.NewMemory()
	log := logbroker.NewMemory(logbroker.MemoryConfig{})
	objects := objstore.NewMemory()
	t.Cleanup(func() { log.Close(); store.Close() })
	root, err := rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store})
	if err != nil {
		t.Fatal(err)
	}
	data, err := datacoord.New(ctx, datacoord.Default(), datacoord.Deps{KV: store, IDs: root})
	if err != nil {
		t.Fatal(err)
	}
	jobs := coordrpc.NewImportsClient(serve(t, func(g *grpc.Server) { coordrpc.RegisterImports(g, data) }))
	dn := datanode.New(datanode.Deps{Log: log, Objects: objects, Coord: data, IDs: root, Collections: root, Imports: jobs})
	exec := workerrpc.NewImportsClient(serve(t, func(g *grpc.Server) { workerrpc.RegisterImports(g, dn) }))
	if err := data.SetImportExecutor(ctx, exec); err != nil {
		t.Fatal(err)
	}
	coll, err := root.CreateCollection(ctx, contract.CreateCollectionRequest{ShardsNum: 2, Schema: &schemapb.CollectionSchema{Name: "c",
		Fields: []*schemapb.FieldSchema{
			{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
			{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := objects.Put(ctx, "in/rows.json", []byte(`[{"id": 1, "v": [1, 2]}, {"id": 2, "v": [3, 4]}, {"id": 3, "v": [5, 6]}]`)); err != nil {
		t.Fatal(err)
	}
	if err := objects.Put(ctx, "in/short.csv", []byte("id,v\n4\n")); err != nil {
		t.Fatal(err)
	}
	ts, err := root.AllocTimestamp(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	run := func(file string) contract.ImportJob {
		t.Helper()
		id, err := jobs.CreateImport(ctx, contract.ImportJob{CollectionID: coll.ID, CollectionName: "c", Files: [][]string{{file}}, TS: ts})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			job, ok, err := jobs.ImportJob(ctx, id)
			if err != nil || !ok {
				t.Fatalf("job %d: %v, %v", id, ok, err)
			}
			if job.State == contract.ImportCompleted || job.State == contract.ImportFailed {
				return job
			}
		}
		t.Fatalf("job %d did not end", id)
		return contract.ImportJob{}
	}

	job := run("in/rows.json")
	if job.State != contract.ImportCompleted || job.ImportedRows != 3 || job.Progress != 100 || len(job.Segments) == 0 {
		t.Fatalf("job = %+v", job)
	}
	var rows int64
	for _, id := range job.Segments {
		seg, ok, err := data.Segment(ctx, id)
		if err != nil || !ok {
			t.Fatalf("segment %d: %v, %v", id, ok, err)
		}
		rows += seg.NumRows
	}
	if rows != 3 {
		t.Fatalf("imported segments hold %d rows, want 3", rows)
	}

	bad := run("in/short.csv")
	if bad.State != contract.ImportFailed || !strings.Contains(bad.Reason, "the number of fields in the row is not equal to the header") || len(bad.Segments) != 0 {
		t.Fatalf("bad job = %+v", bad)
	}
}
