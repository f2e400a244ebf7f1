package coordrpc_test

import (
	"context"
	"reflect"
	"testing"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
)

// TestImportsRoundTrip carries import jobs through the data coordinator's
// import service: every field of a job survives, a missing job is "not
// found" rather than an error, and listing filters by collection.
func TestImportsRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newCoords(t) // no executor: jobs stay Pending
	cli := coordrpc.NewImportsClient(serve(t, func(g *grpc.Server) { coordrpc.RegisterImports(g, c.data) }))
	job := contract.ImportJob{DBName: "db1", CollectionID: 7, CollectionName: "docs", PartitionName: "p1",
		Files: [][]string{{"a/rows.json"}, {"n/id.npy", "n/v.npy"}}, Options: map[string]string{"sep": ";"}, TS: 12345}
	id, err := cli.CreateImport(ctx, job)
	if err != nil || id == 0 {
		t.Fatalf("CreateImport = %d, %v", id, err)
	}
	other, err := cli.CreateImport(ctx, contract.ImportJob{CollectionID: 8, Files: [][]string{{"b.csv"}}, TS: 1})
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := cli.ImportJob(ctx, id)
	if err != nil || !ok {
		t.Fatalf("ImportJob = %v, %v", ok, err)
	}
	want, _, err := c.data.ImportJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ImportJob over gRPC = %+v, want %+v", got, want)
	}
	if got.State != contract.ImportPending || !reflect.DeepEqual(got.Files, job.Files) || got.Options["sep"] != ";" || got.TS != 12345 || got.PartitionName != "p1" {
		t.Fatalf("job = %+v", got)
	}
	if _, ok, err := cli.ImportJob(ctx, 999999); err != nil || ok {
		t.Fatalf("missing job: %v, %v", ok, err)
	}
	jobs, err := cli.ListImports(ctx, 8)
	if err != nil || len(jobs) != 1 || jobs[0].ID != other {
		t.Fatalf("ListImports(8) = %+v, %v", jobs, err)
	}
	if jobs, err := cli.ListImports(ctx, 0); err != nil || len(jobs) != 2 {
		t.Fatalf("ListImports(0) = %+v, %v", jobs, err)
	}
	// Progress of a job that is not running is ignored.
	if err := cli.UpdateImportProgress(ctx, id, 50, 10); err != nil {
		t.Fatal(err)
	}
	if j, _, _ := cli.ImportJob(ctx, id); j.Progress != 0 || j.ImportedRows != 0 {
		t.Fatalf("progress of a pending job recorded: %+v", j)
	}
}
