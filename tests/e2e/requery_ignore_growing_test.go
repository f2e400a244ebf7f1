package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/failpoint"
)

// TestRequeryIgnoreGrowingSealedBetween (issue 11): a search with
// ignore_growing whose requery runs after the growing segment it skipped
// was sealed reads the row it found, not a newer row of the same key in
// that segment. Key 7 is flushed with v 1 at (7, 0, 0, 0), then inserted
// again (Milvus allows a key twice) with v 2 far away, (1000, 0, 0, 0), in
// a growing segment. A search near (7, 0, 0, 0) with ignore_growing finds
// the sealed row; the proxy holds it before its requery (the failpoint
// proxy.search.requery) while the growing segment is flushed and sealed
// in the shard; the requery must still answer v 1 and the vector the
// search scored (before the fix it read the newly sealed segment too and
// answered v 2, the newer row of key 7, which the search never saw).
func TestRequeryIgnoreGrowingSealedBetween(t *testing.T) {
	standaloneOnly(t, "arms a failpoint in the in-process standalone (tests/cluster has the cluster's)")
	const hold = 8 * time.Second
	t.Setenv(failpoint.EnvVar, "proxy.search.requery=1*sleep("+hold.String()+")")
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "requery_ignore_growing_sealed"
	requeryEdgeCollection(t, ctx, cli, name, 1, nil)
	insertLine(t, ctx, cli, name, idRange(0, 20), 1)
	flush(t, ctx, cli, name)
	// Key 7 again, v 2, far from the query: only the sealed row is near it.
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{7}).
		WithInt64Column("v", []int64{2}).WithFloatVectorColumn("vec", 4, [][]float32{{1000, 0, 0, 0}}))
	must(t, err)

	count := func(params ...string) int64 {
		t.Helper()
		res, err := raw.Query(ctx, &milvuspb.QueryRequest{CollectionName: name, OutputFields: []string{"count(*)"},
			QueryParams: kvs(params...), ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
		must(t, statusErr(res.GetStatus(), err))
		return res.GetFieldsData()[0].GetScalars().GetLongData().GetData()[0]
	}
	if n := count("ignore_growing", "true"); n != 20 {
		t.Fatalf("sealed rows before the search: %d, want 20", n)
	}

	type answer struct {
		res *milvuspb.SearchResults
		err error
		at  time.Time
	}
	done := make(chan answer, 1)
	start := time.Now()
	go func() {
		res, err := raw.Search(ctx, &milvuspb.SearchRequest{CollectionName: name, DslType: commonpb.DslType_BoolExprV1, Nq: 1,
			SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: floatPlaceholder(t, []float32{7, 0, 0, 0})},
			SearchParams: kvs("anns_field", "vec", "topk", "1", "ignore_growing", "true"), OutputFields: []string{"v", "vec"},
			ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
		done <- answer{res, searchStatus(res, err), time.Now()}
	}()
	// While the search waits before its requery, the growing segment with
	// key 7's second row is sealed.
	time.Sleep(500 * time.Millisecond)
	flush(t, ctx, cli, name)
	eventually(t, time.Minute, "the growing rows sealed", func() (bool, string) {
		n := count("ignore_growing", "true")
		return n == 21, fmt.Sprintf("%d sealed rows, want 21", n)
	})
	sealed := time.Now()
	a := <-done
	if a.err != nil {
		t.Fatalf("search: %v", a.err)
	}
	if !a.at.After(sealed) {
		t.Fatalf("the search answered %v after it was sent, before the segment was sealed (%v): the requery did not run after the seal",
			a.at.Sub(start), sealed.Sub(start))
	}
	r := a.res.GetResults()
	if ids := r.GetIds().GetIntId().GetData(); len(ids) != 1 || ids[0] != 7 {
		t.Fatalf("hits %v, want key 7 (its sealed row)", ids)
	}
	if d := r.GetScores(); len(d) != 1 || d[0] != 0 {
		t.Fatalf("scores %v, want 0 (the sealed row at the query vector)", d)
	}
	for _, fd := range r.GetFieldsData() {
		switch fd.GetFieldName() {
		case "v":
			if v := fd.GetScalars().GetLongData().GetData(); len(v) != 1 || v[0] != 1 {
				t.Fatalf("v of key 7: %v, want [1], the row the search found (2 is the row sealed between the phases, which the search skipped as growing)", v)
			}
		case "vec":
			if vec := fd.GetVectors().GetFloatVector().GetData(); len(vec) != 4 || vec[0] != 7 {
				t.Fatalf("vec of key 7: %v, want [7 0 0 0], the vector the search scored", vec)
			}
		}
	}
}
