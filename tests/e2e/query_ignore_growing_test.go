package e2e

import (
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
)

// TestQueryIgnoreGrowing: a query or count with ignore_growing in its
// query params reads the sealed segments only, as Milvus's queryTask
// (isIgnoreGrowing); a value that is not a bool is refused with Milvus's
// plain error. Keys 0-199 are flushed (v 1), keys 200-299 stay growing
// (v 2).
func TestQueryIgnoreGrowing(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "query_ignore_growing"
	requeryEdgeCollection(t, ctx, cli, name, 2, nil)
	insertLine(t, ctx, cli, name, idRange(0, 200), 1)
	flush(t, ctx, cli, name)
	insertLine(t, ctx, cli, name, idRange(200, 100), 2)

	query := func(expr string, outputs []string, params ...string) *milvuspb.QueryResults {
		t.Helper()
		res, err := raw.Query(ctx, &milvuspb.QueryRequest{CollectionName: name, Expr: expr, OutputFields: outputs,
			QueryParams: kvs(params...), ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
		must(t, statusErr(res.GetStatus(), err))
		return res
	}
	count := func(params ...string) int64 {
		t.Helper()
		res := query("", []string{"count(*)"}, params...)
		return res.GetFieldsData()[0].GetScalars().GetLongData().GetData()[0]
	}
	if n := count(); n != 300 {
		t.Fatalf("count(*): %d, want 300 (sealed and growing)", n)
	}
	if n := count("ignore_growing", "true"); n != 200 {
		t.Fatalf("count(*) with ignore_growing: %d, want the 200 sealed rows", n)
	}
	if n := count("ignore_growing", "false"); n != 300 {
		t.Fatalf("count(*) with ignore_growing false: %d, want 300", n)
	}
	ids := func(res *milvuspb.QueryResults) []int64 {
		for _, fd := range res.GetFieldsData() {
			if fd.GetFieldName() == "id" {
				return fd.GetScalars().GetLongData().GetData()
			}
		}
		t.Fatal("no id field in the query result")
		return nil
	}
	if got := ids(query("v == 2", []string{"id"})); len(got) != 100 {
		t.Fatalf("v == 2: %d rows, want the 100 growing ones", len(got))
	}
	if got := ids(query("v == 2", []string{"id"}, "ignore_growing", "true")); len(got) != 0 {
		t.Fatalf("v == 2 with ignore_growing: %d rows (%v), want none: they are all growing", len(got), got[:min(len(got), 5)])
	}
	if got := ids(query("id >= 0", []string{"id"}, "ignore_growing", "true", "limit", "1000")); len(got) != 200 {
		t.Fatalf("id >= 0 with ignore_growing: %d rows, want the 200 sealed ones", len(got))
	}

	res, err := raw.Query(ctx, &milvuspb.QueryRequest{CollectionName: name, Expr: "id >= 0", OutputFields: []string{"id"},
		QueryParams: kvs("ignore_growing", "x")})
	wantCode(t, statusErr(res.GetStatus(), err), 65535, "parse ignore growing field failed")
}
