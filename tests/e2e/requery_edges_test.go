package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/proxy"
)

// requeryEdgeCollection creates name (id, v, vec of dim 4) on shards
// shards with a FLAT L2 index and properties props, and loads it.
func requeryEdgeCollection(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, shards int32, props map[string]string) {
	t.Helper()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeInt64)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
	opt := milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(shards).WithConsistencyLevel(entity.ClStrong)
	for k, v := range props {
		opt.WithProperty(k, v)
	}
	must(t, cli.CreateCollection(ctx, opt))
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.L2)))
	must(t, err)
	must(t, it.Await(ctx))
	load(t, ctx, cli, name)
}

// insertLine inserts ids with v = v and vec = (id, 0, 0, 0): the hits of
// the query (0, 0, 0, 0) come in id order.
func insertLine(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, ids []int64, v int64) {
	t.Helper()
	vs, vecs := make([]int64, len(ids)), make([][]float32, len(ids))
	for i, id := range ids {
		vs[i], vecs[i] = v, []float32{float32(id), 0, 0, 0}
	}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
		WithInt64Column("v", vs).WithFloatVectorColumn("vec", 4, vecs))
	must(t, err)
}

func idRange(from, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(from + i)
	}
	return out
}

func searchStatus(res *milvuspb.SearchResults, err error) error {
	if err == nil {
		err = merr.Error(res.GetStatus())
	}
	return err
}

// TestHybridRequeryOneTimestamp: a hybrid search's sub-searches read each
// shard at one timestamp, which its requery reads at too. Rows are deleted
// one after another, each the best hit of the query, while hybrid
// searches requery their fused hits; the second sub-search's long filter
// takes the proxy a few milliseconds to parse, so read one by one it
// would reach the shards after some deletes the first did not see, and
// the requery would miss the first's best hits (2200 inconsistent requery
// result).
func TestHybridRequeryOneTimestamp(t *testing.T) {
	standaloneOnly(t, "switches the in-process standalone's requery policy")
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "requery_hybrid_ts"
	requeryEdgeCollection(t, ctx, cli, name, 2, nil)
	const rows = 3000
	insertLine(t, ctx, cli, name, idRange(0, rows), 1)
	srv.standalone(t).SetRequeryPolicies(proxy.RequeryAlways, proxy.RequeryAlways)

	none := make([]string, 2000) // ids no row has: a filter slow to parse
	for i := range none {
		none[i] = fmt.Sprint(-1 - i)
	}
	sub := func(dsl string) *milvuspb.SearchRequest {
		return &milvuspb.SearchRequest{DslType: commonpb.DslType_BoolExprV1, Nq: 1, Dsl: dsl,
			SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: floatPlaceholder(t, []float32{0, 0, 0, 0})},
			SearchParams: kvs("anns_field", "vec", "topk", "10")}
	}
	req := &milvuspb.HybridSearchRequest{CollectionName: name,
		Requests:   []*milvuspb.SearchRequest{sub(""), sub("id not in [" + strings.Join(none, ",") + "]")},
		RankParams: kvs("limit", "10", "strategy", "rrf", "params", `{"k": 60}`), OutputFields: []string{"v", "vec"},
		ConsistencyLevel: commonpb.ConsistencyLevel_Eventually}

	var deleted atomic.Int64
	stop := make(chan struct{})
	deleter := make(chan error, 1)
	go func() {
		for id := 0; id < rows-100; id++ {
			select {
			case <-stop:
				deleter <- nil
				return
			default:
			}
			if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", []int64{int64(id)})); err != nil {
				deleter <- err
				return
			}
			deleted.Add(1)
		}
		deleter <- nil
	}()
	searches := 0
	var failure error
	for start := time.Now(); time.Since(start) < 4*time.Second && deleted.Load() < rows-100; searches++ {
		res, err := raw.HybridSearch(ctx, req)
		if err = searchStatus(res, err); err != nil {
			failure = fmt.Errorf("hybrid search %d, after %d deletes: %w", searches, deleted.Load(), err)
			break
		}
		if n := len(res.GetResults().GetScores()); n != 10 {
			failure = fmt.Errorf("hybrid search %d: %d hits, want 10", searches, n)
			break
		}
	}
	close(stop)
	must(t, <-deleter)
	if failure != nil {
		t.Fatal(failure)
	}
	if searches < 10 || deleted.Load() < 50 {
		t.Fatalf("%d hybrid searches during %d deletes: too few to race them", searches, deleted.Load())
	}
	t.Logf("%d hybrid searches during %d deletes", searches, deleted.Load())
}

// TestSearchRequeryIgnoreGrowing: a search that skips growing segments
// (ignore_growing) requeries its hits over the sealed ones only. Every key
// is inserted twice, the first copy sealed (v 1), the second growing (v
// 2): such a search finds the sealed copies, and its requery must read v
// 1 as the one-phase search does, not the growing copy it did not search.
func TestSearchRequeryIgnoreGrowing(t *testing.T) {
	standaloneOnly(t, "switches the in-process standalone's requery policy")
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "requery_ignore_growing"
	requeryEdgeCollection(t, ctx, cli, name, 2, nil)
	insertLine(t, ctx, cli, name, idRange(0, 200), 1)
	flush(t, ctx, cli, name)
	insertLine(t, ctx, cli, name, idRange(0, 200), 2)

	q := floatPlaceholder(t, []float32{0, 0, 0, 0}, []float32{100, 0, 0, 0})
	search := &milvuspb.SearchRequest{CollectionName: name, DslType: commonpb.DslType_BoolExprV1, Nq: 2,
		SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: q},
		SearchParams: kvs("anns_field", "vec", "topk", "30", "ignore_growing", "true"), OutputFields: []string{"v", "vec"},
		ConsistencyLevel: commonpb.ConsistencyLevel_Strong}
	sub := &milvuspb.SearchRequest{DslType: commonpb.DslType_BoolExprV1, Nq: 2,
		SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: q},
		SearchParams: kvs("anns_field", "vec", "topk", "30")}
	hybrid := &milvuspb.HybridSearchRequest{CollectionName: name, Requests: []*milvuspb.SearchRequest{sub, proto.Clone(sub).(*milvuspb.SearchRequest)},
		RankParams: kvs("limit", "20", "strategy", "rrf", "params", `{"k": 60}`, "ignore_growing", "true"), OutputFields: []string{"v", "vec"},
		ConsistencyLevel: commonpb.ConsistencyLevel_Strong}
	answers := func(policy proxy.RequeryPolicy) [2]*milvuspb.SearchResults {
		srv.standalone(t).SetRequeryPolicies(policy, policy)
		var out [2]*milvuspb.SearchResults
		var err error
		out[0], err = raw.Search(ctx, search)
		if err = searchStatus(out[0], err); err != nil {
			t.Fatalf("%s: search: %v", policy, err)
		}
		out[1], err = raw.HybridSearch(ctx, hybrid)
		if err = searchStatus(out[1], err); err != nil {
			t.Fatalf("%s: hybrid search: %v", policy, err)
		}
		return out
	}
	onePhase, requeried := answers(proxy.RequeryNever), answers(proxy.RequeryAlways)
	for i, what := range []string{"search", "hybrid search"} {
		want, got := onePhase[i].GetResults(), requeried[i].GetResults()
		if len(want.GetScores()) == 0 {
			t.Fatalf("%s: no hits; nothing compared", what)
		}
		for _, fd := range want.GetFieldsData() {
			if fd.GetFieldName() != "v" {
				continue
			}
			for _, v := range fd.GetScalars().GetLongData().GetData() {
				if v != 1 {
					t.Fatalf("%s in one phase: v %d, a growing row, with ignore_growing", what, v)
				}
			}
		}
		if !proto.Equal(want, got) {
			t.Errorf("%s: the requeried answer differs from the one-phase one: %s", what, resultsDiff(want, got))
		}
	}
}

// TestSearchRequeryTTLExpiry: a requery evaluates the collection TTL at
// the search's time, as its first phase did: a row that expires between
// the two phases is still read. Rows expire one every few milliseconds
// while searches requery their hits; none may fail with 2200 inconsistent
// requery result.
func TestSearchRequeryTTLExpiry(t *testing.T) {
	standaloneOnly(t, "switches the in-process standalone's requery policy")
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "requery_ttl"
	const ttl = 2 * time.Second
	requeryEdgeCollection(t, ctx, cli, name, 2, map[string]string{"collection.ttl.seconds": "2"})
	srv.standalone(t).SetRequeryPolicies(proxy.RequeryAlways, proxy.RequeryAlways)
	// One row per insert, each with its own timestamp: they expire one
	// after another over about a second.
	const rows = 150
	first := time.Now()
	for id := range rows {
		insertLine(t, ctx, cli, name, []int64{int64(id)}, 1)
		time.Sleep(5 * time.Millisecond)
	}
	last := time.Now()
	search := &milvuspb.SearchRequest{CollectionName: name, DslType: commonpb.DslType_BoolExprV1, Nq: 1,
		SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: floatPlaceholder(t, []float32{0, 0, 0, 0})},
		SearchParams: kvs("anns_field", "vec", "topk", fmt.Sprint(rows)), OutputFields: []string{"v", "vec"},
		ConsistencyLevel: commonpb.ConsistencyLevel_Eventually}
	time.Sleep(time.Until(first.Add(ttl - 100*time.Millisecond)))
	searches, fewer, prev := 0, 0, rows
	for time.Now().Before(last.Add(ttl + 200*time.Millisecond)) {
		res, err := raw.Search(ctx, search)
		if err = searchStatus(res, err); err != nil {
			t.Fatalf("search %d, %v after the first insert: %v", searches, time.Since(first).Round(time.Millisecond), err)
		}
		searches++
		n := len(res.GetResults().GetScores())
		if n < prev {
			fewer++
		}
		prev = n
	}
	// A search that started before the loop's deadline may have been slow
	// enough (a loaded machine, -race) to start before the last rows
	// expired: the check that every row is gone is one made after it.
	res, err := raw.Search(ctx, search)
	if err = searchStatus(res, err); err != nil {
		t.Fatalf("search after every row expired: %v", err)
	}
	if n := len(res.GetResults().GetScores()); n != 0 {
		t.Fatalf("%d rows left after every row expired", n)
	}
	if fewer < 10 {
		t.Fatalf("%d searches saw rows expire only %d times: too few to race the expiry", searches, fewer)
	}
	t.Logf("%d searches, %d saw fewer rows than the one before", searches, fewer)
}
