package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"

	"github.com/milvago/milvago/internal/failpoint"
)

// TestReadPathErrorPrefixes (issue 9) checks the reason a client reads of
// a shard's refusal (a partition not loaded), whichever path made the
// read: a search iterator's page (a searchTask), a query iterator's page
// (a queryTask), a search by primary keys (its vectors read by a queryTask
// first: impl.go handleIfSearchByPK, node.query) and a search's requery
// (a queryTask too: search_pipeline.go requeryOperator.requery, whose
// status the search returns as it is). Milvus wraps the node's refusal in
// the shard call's "fail to search on QueryNode N: " or "fail to Query on
// QueryNode N: " (task_search.go:1084, task_query.go:752), the load
// balancer's "failed to search/query delegator N for channel C: "
// (lb_policy.go:302) and the task's "failed to search: " or "failed to
// query: " (task_search.go:886, task_query.go:609); merr.Status's reason
// is the text of the wrapper next to the root (previousLastError), so
// each path reads the shard call's prefix and the refusal, code 201. A
// requery and a search by keys read "fail to Query", a query's.
func TestReadPathErrorPrefixes(t *testing.T) {
	standaloneOnly(t, "arms a failpoint in the in-process standalone")
	// The requery row holds its search before the requery while the test
	// releases the partition the search read.
	t.Setenv(failpoint.EnvVar, "proxy.search.requery=1*sleep(4s)")
	srv := startServer(t, "")
	base := "http://" + srv.addr
	const coll = "read_prefix"
	restOK(t, base, "/collections/create", map[string]any{"collectionName": coll, "dimension": 4})
	restOK(t, base, "/collections/release", map[string]any{"collectionName": coll})
	restOK(t, base, "/partitions/create", map[string]any{"collectionName": coll, "partitionName": "p1"})
	restOK(t, base, "/partitions/create", map[string]any{"collectionName": coll, "partitionName": "p2"})
	restOK(t, base, "/partitions/create", map[string]any{"collectionName": coll, "partitionName": "p3"})
	// p3 stays loaded: the collection is loaded when p1 and p2 are not.
	restOK(t, base, "/partitions/load", map[string]any{"collectionName": coll, "partitionNames": []string{"p1", "p2", "p3"}})
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	for _, p := range []string{"p1", "p2"} {
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(coll).WithPartition(p).
			WithInt64Column("id", idsFor(p)).WithFloatVectorColumn("vector", 4, [][]float32{{0, 0, 0, 1}, {0, 0, 1, 0}}))
		must(t, err)
	}
	restOK(t, base, "/partitions/release", map[string]any{"collectionName": coll, "partitionNames": []string{"p2"}})
	p1 := restPartitionID(t, srv, coll, "p1")
	p2 := restPartitionID(t, srv, coll, "p2")
	_, leader := restFirstShard(t, srv, coll)
	shard := func(op string, partition int64) string {
		return fmt.Sprintf("fail to %s on QueryNode %d: partition not loaded[partition=%d]", op, leader, partition)
	}
	check := func(what string, err error, want string) {
		t.Helper()
		if code := merr.Code(err); code != 201 || err == nil || err.Error() != want {
			t.Errorf("%s: code %d, %v; want 201 %s", what, code, err, want)
		}
	}
	q := entity.FloatVector{0, 0, 0, 1}

	_, err := cli.SearchIterator(ctx, milvusclient.NewSearchIteratorOption(coll, q).WithPartitions("p2").
		WithANNSField("vector").WithBatchSize(1))
	check("search iterator", err, shard("search", p2))

	it, err := cli.QueryIterator(ctx, milvusclient.NewQueryIteratorOption(coll).WithPartitions("p2").WithBatchSize(1))
	if err == nil {
		_, err = it.Next(ctx)
	}
	check("query iterator", err, shard("Query", p2))

	sr, err := raw.Search(ctx, &milvuspb.SearchRequest{CollectionName: coll, DslType: commonpb.DslType_BoolExprV1,
		PartitionNames: []string{"p2"}, SearchParams: kvs("topk", "2", "anns_field", "vector"),
		SearchInput:      &milvuspb.SearchRequest_Ids{Ids: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: idsFor("p2")[:1]}}}},
		ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
	check("search by ids", searchStatus(sr, err), shard("Query", p2))

	// Requery: a search of p1 with a vector output field requeries (the
	// default policy, outputvector); p1 is released while the search is
	// held before its requery.
	done := make(chan error, 1)
	go func() {
		sr, err := raw.Search(ctx, &milvuspb.SearchRequest{CollectionName: coll, DslType: commonpb.DslType_BoolExprV1, Nq: 1,
			PartitionNames: []string{"p1"}, SearchParams: kvs("topk", "2", "anns_field", "vector"), OutputFields: []string{"vector"},
			SearchInput:      &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: floatPlaceholder(t, q)},
			ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
		done <- searchStatus(sr, err)
	}()
	time.Sleep(time.Second)
	restOK(t, base, "/partitions/release", map[string]any{"collectionName": coll, "partitionNames": []string{"p1"}})
	check("requery", <-done, shard("Query", p1))
}

// idsFor is the two keys inserted in partition p.
func idsFor(p string) []int64 {
	if p == "p1" {
		return []int64{1, 2}
	}
	return []int64{3, 4}
}
