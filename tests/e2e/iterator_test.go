package e2e

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// iterColl is a collection for the iterator tests: Int64 "id", Int64
// "tag" (id mod 7), three 8-d vector fields with HNSW indexes for L2, IP
// and COSINE, two shards; the first rows flushed (sealed, indexed), the
// rest growing.
type iterColl struct {
	name string
	vecs map[string][][]float32 // field -> row vectors, by id
	n    int
}

var iterMetrics = []struct {
	field  string
	metric entity.MetricType
}{{"v_l2", entity.L2}, {"v_ip", entity.IP}, {"v_cos", entity.COSINE}}

func newIterColl(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, n, sealed int) *iterColl {
	t.Helper()
	const dim = 8
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeInt64))
	for _, m := range iterMetrics {
		schema.WithField(entity.NewField().WithName(m.field).WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	}
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
	r := rand.New(rand.NewPCG(7, uint64(n)))
	c := &iterColl{name: name, vecs: map[string][][]float32{}, n: n}
	for _, m := range iterMetrics {
		c.vecs[m.field] = randomVectors(r, n, dim)
	}
	c.insert(t, ctx, cli, 0, sealed)
	flush(t, ctx, cli, name)
	c.insert(t, ctx, cli, sealed, n)
	for _, m := range iterMetrics {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, m.field, index.NewHNSWIndex(m.metric, 16, 64)))
		must(t, err)
		must(t, it.Await(ctx))
	}
	load(t, ctx, cli, name)
	return c
}

func (c *iterColl) insert(t *testing.T, ctx context.Context, cli *milvusclient.Client, lo, hi int) {
	t.Helper()
	idv, tags := make([]int64, 0, hi-lo), make([]int64, 0, hi-lo)
	for i := lo; i < hi; i++ {
		idv = append(idv, int64(i))
		tags = append(tags, int64(i%7))
	}
	opt := milvusclient.NewColumnBasedInsertOption(c.name).WithInt64Column("id", idv).WithInt64Column("tag", tags)
	for _, m := range iterMetrics {
		opt.WithFloatVectorColumn(m.field, 8, c.vecs[m.field][lo:hi])
	}
	_, err := cli.Insert(ctx, opt)
	must(t, err)
}

// scored is a row and its score for a query.
type scored struct {
	id    int64
	score float32
}

// brute ranks every row passing keep by its score against q, best first,
// equal scores by id.
func (c *iterColl) brute(field string, metric entity.MetricType, q []float32, keep func(id int64) bool) []scored {
	var out []scored
	for i, v := range c.vecs[field] {
		if keep != nil && !keep(int64(i)) {
			continue
		}
		var s float32
		switch metric {
		case entity.L2:
			s = l2sq(q, v)
		case entity.IP:
			s = dot(q, v)
		default:
			s = cosine(q, v)
		}
		out = append(out, scored{int64(i), s})
	}
	higher := metric != entity.L2
	slices.SortFunc(out, func(a, b scored) int {
		c := cmp.Compare(a.score, b.score)
		if higher {
			c = -c
		}
		if c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return out
}

// drainSearch runs a search iterator to its end, checking every batch
// holds at most batch rows, and returns every hit in order.
func drainSearch(t *testing.T, ctx context.Context, it milvusclient.SearchIterator, batch int) (hits []scored, batches []int) {
	t.Helper()
	for range 100000 {
		rs, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return hits, batches
		}
		must(t, err)
		if rs.ResultCount > batch || rs.ResultCount == 0 {
			t.Fatalf("batch of %d rows, want 1..%d", rs.ResultCount, batch)
		}
		batches = append(batches, rs.ResultCount)
		for i, id := range ids(t, rs) {
			hits = append(hits, scored{id, rs.Scores[i]})
		}
	}
	t.Fatal("the iterator never ended")
	return nil, nil
}

// checkOrder checks that hits are want's rows, each once, ranked as want
// ranks them: the i-th hit's score is near the i-th best score (rows whose
// scores differ by float rounding may swap), and near its own exact score.
func checkOrder(t *testing.T, metric entity.MetricType, hits, want []scored) {
	t.Helper()
	if len(hits) != len(want) {
		t.Fatalf("%d hits, want %d", len(hits), len(want))
	}
	exact := map[int64]float32{}
	for _, w := range want {
		exact[w.id] = w.score
	}
	seen := map[int64]bool{}
	for i, h := range hits {
		if seen[h.id] {
			t.Fatalf("hit %d: id %d returned twice", i, h.id)
		}
		seen[h.id] = true
		s, ok := exact[h.id]
		if !ok {
			t.Fatalf("hit %d: id %d should not be returned", i, h.id)
		}
		if !near(h.score, s) || !near(h.score, want[i].score) {
			t.Fatalf("hit %d: id %d score %g, exact %g, rank %d's score %g", i, h.id, h.score, s, i, want[i].score)
		}
		if i > 0 {
			prev := hits[i-1].score
			if (metric == entity.L2 && h.score < prev) || (metric != entity.L2 && h.score > prev) {
				t.Fatalf("hit %d: score %g ranks before the previous hit's %g", i, h.score, prev)
			}
		}
	}
}

// TestSearchIteratorV2 drives the Go SDK's SearchIterator (search iterator
// v2: batches of search_iter_batch_size rows strictly after the previous
// batch's last score) over sealed and growing rows, for L2, IP and COSINE,
// with and without a filter and an overall limit, against brute force.
func TestSearchIteratorV2(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	c := newIterColl(t, ctx, cli, "iter_search", 1500, 900)
	q := c.vecs["v_l2"][42]

	for _, m := range iterMetrics {
		t.Run(string(m.metric), func(t *testing.T) {
			it, err := cli.SearchIterator(ctx, milvusclient.NewSearchIteratorOption(c.name, entity.FloatVector(q)).
				WithANNSField(m.field).WithBatchSize(97).WithConsistencyLevel(entity.ClStrong))
			must(t, err)
			hits, batches := drainSearch(t, ctx, it, 97)
			checkOrder(t, m.metric, hits, c.brute(m.field, m.metric, q, nil))
			if len(batches) != (c.n+96)/97 {
				t.Fatalf("%d batches, want %d", len(batches), (c.n+96)/97)
			}
		})
	}

	t.Run("filter", func(t *testing.T) {
		it, err := cli.SearchIterator(ctx, milvusclient.NewSearchIteratorOption(c.name, entity.FloatVector(q)).
			WithANNSField("v_l2").WithBatchSize(50).WithFilter("tag in [1, 4] and id >= 100").
			WithOutputFields("tag").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		var hits []scored
		for {
			rs, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			must(t, err)
			tags := int64Col(t, rs, "tag")
			for i, id := range ids(t, rs) {
				if tags[i] != id%7 {
					t.Fatalf("id %d: tag %d, want %d", id, tags[i], id%7)
				}
				hits = append(hits, scored{id, rs.Scores[i]})
			}
		}
		checkOrder(t, entity.L2, hits, c.brute("v_l2", entity.L2, q, func(id int64) bool {
			return (id%7 == 1 || id%7 == 4) && id >= 100
		}))
	})

	t.Run("limit", func(t *testing.T) {
		it, err := cli.SearchIterator(ctx, milvusclient.NewSearchIteratorOption(c.name, entity.FloatVector(q)).
			WithANNSField("v_cos").WithBatchSize(100).WithIteratorLimit(250).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		hits, batches := drainSearch(t, ctx, it, 100)
		if !slices.Equal(batches, []int{100, 100, 50}) {
			t.Fatalf("batches %v, want [100 100 50]", batches)
		}
		checkOrder(t, entity.COSINE, hits, c.brute("v_cos", entity.COSINE, q, nil)[:250])
	})

	t.Run("empty", func(t *testing.T) {
		const name = "iter_empty"
		schema := entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(8))
		must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
		indexAndLoad(t, ctx, cli, name, "vec", index.NewHNSWIndex(entity.COSINE, 8, 32))
		it, err := cli.SearchIterator(ctx, milvusclient.NewSearchIteratorOption(name, entity.FloatVector(q)).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if _, err := it.Next(ctx); !errors.Is(err, io.EOF) {
			t.Fatalf("Next on an empty collection: %v, want io.EOF", err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := cli.SearchIterator(ctx, milvusclient.NewSearchIteratorOption(c.name, entity.FloatVector(q)).
			WithANNSField("v_l2").WithOffset(5))
		wantCode(t, err, 1100, "parse iterator v2 info failed: Setting an offset is not permitted when using a search iterator v2")
		_, err = cli.SearchIterator(ctx, milvusclient.NewSearchIteratorOption(c.name, entity.FloatVector(q)).
			WithANNSField("v_l2").WithGroupByField("tag"))
		wantCode(t, err, 1100, "Not allowed to do groupBy when doing iteration")
		_, err = cli.SearchIterator(ctx, milvusclient.NewSearchIteratorOption(c.name, entity.FloatVector(q)).
			WithANNSField("v_l2").WithSearchParam("search_iter_id", "not-a-uuid"))
		wantCode(t, err, 1100, "invalid token format")
		_, err = cli.Search(ctx, milvusclient.NewSearchOption(c.name, 10, []entity.Vector{entity.FloatVector(q)}).
			WithANNSField("v_l2").WithSearchParam("search_iter_v2", "true").WithSearchParam("search_iter_batch_size", "10"))
		wantCode(t, err, 1100, "both iterator and search_iter_v2 must be set in the SDK: missing parameter")
		_, err = cli.Search(ctx, milvusclient.NewSearchOption(c.name, 10, []entity.Vector{entity.FloatVector(q)}).
			WithANNSField("v_l2").WithSearchParam("iterator", "true").WithSearchParam("search_iter_v2", "true"))
		wantCode(t, err, 1100, "batch size is required: missing parameter")
		_, err = cli.Search(ctx, milvusclient.NewSearchOption(c.name, 10, []entity.Vector{entity.FloatVector(q)}).
			WithANNSField("v_l2").WithSearchParam("iterator", "true").WithSearchParam("search_iter_v2", "true").
			WithSearchParam("search_iter_batch_size", "0"))
		wantCode(t, err, 1100, "batch size is invalid, it should be in range [1, 16384], but got 0")
		_, err = cli.Search(ctx, milvusclient.NewSearchOption(c.name, 10, []entity.Vector{entity.FloatVector(q)}).
			WithANNSField("v_l2").WithSearchParam("iterator", "true").WithSearchParam("collection_id", "12345"))
		wantCode(t, err, 1100, "collection id:12345 in the request is not consistent to that in the search context")
	})
}

// rawClient is a plain gRPC client of the MilvusService, for requests the
// Go SDK does not make (pymilvus's pinned iterators, search by ids).
func rawClient(t *testing.T, srv *server) milvuspb.MilvusServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	return milvuspb.NewMilvusServiceClient(conn)
}

func kvs(pairs ...string) []*commonpb.KeyValuePair {
	var out []*commonpb.KeyValuePair
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, &commonpb.KeyValuePair{Key: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func floatPlaceholder(t *testing.T, vecs ...[]float32) []byte {
	t.Helper()
	ph := &commonpb.PlaceholderValue{Tag: "$0", Type: commonpb.PlaceholderType_FloatVector}
	for _, v := range vecs {
		ph.Values = append(ph.Values, entity.FloatVector(v).Serialize())
	}
	b, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{ph}})
	must(t, err)
	return b
}

// TestSearchIteratorPinned iterates the way pymilvus does: the first
// page's session_ts is sent back as guarantee_timestamp, so every page reads
// at that timestamp and rows inserted meanwhile (here far from the query,
// so they would rank last) do not appear. The Go SDK sends no timestamp:
// its later pages see such rows, as with Milvus.
func TestSearchIteratorPinned(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	c := newIterColl(t, ctx, cli, "iter_pinned", 600, 300)
	q := c.vecs["v_l2"][3]
	desc, err := raw.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: c.name})
	must(t, merr.CheckRPCCall(desc, err))

	page := func(gts uint64, token string, bound *float32) *milvuspb.SearchResults {
		params := kvs("anns_field", "v_l2", "topk", "100", "iterator", "true", "search_iter_v2", "true",
			"search_iter_batch_size", "100", "collection_id", strconv.FormatInt(desc.GetCollectionID(), 10))
		if token != "" {
			params = append(params, kvs("search_iter_id", token)...)
		}
		if bound != nil {
			params = append(params, kvs("search_iter_last_bound", fmt.Sprintf("%v", *bound))...)
		}
		resp, err := raw.Search(ctx, &milvuspb.SearchRequest{
			CollectionName: c.name, Nq: 1, DslType: commonpb.DslType_BoolExprV1, SearchParams: params,
			SearchInput:        &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: floatPlaceholder(t, q)},
			GuaranteeTimestamp: gts, ConsistencyLevel: commonpb.ConsistencyLevel_Bounded,
		})
		must(t, merr.CheckRPCCall(resp, err))
		return resp
	}
	first := page(0, "", nil)
	ts := first.GetSessionTs()
	info := first.GetResults().GetSearchIteratorV2Results()
	if ts == 0 || info.GetToken() == "" {
		t.Fatalf("first page: session_ts %d, iterator info %v", ts, info)
	}
	var got []scored
	token, bound := info.GetToken(), info.GetLastBound()
	collect := func(r *milvuspb.SearchResults) {
		for i, id := range r.GetResults().GetIds().GetIntId().GetData() {
			got = append(got, scored{id, r.GetResults().GetScores()[i]})
		}
	}
	collect(first)
	// Rows far from every query: they rank after every existing row.
	far := make([][]float32, 40)
	for i := range far {
		far[i] = []float32{50, 50, 50, 50, 50, 50, 50, float32(i)}
	}
	extra := &iterColl{name: c.name, vecs: map[string][][]float32{}, n: c.n + len(far)}
	for _, m := range iterMetrics {
		extra.vecs[m.field] = append(slices.Clone(c.vecs[m.field]), far...)
	}
	extra.insert(t, ctx, cli, c.n, c.n+len(far))
	for range 100 {
		r := page(ts, token, &bound)
		if r.GetResults().GetSearchIteratorV2Results().GetToken() != token {
			t.Fatalf("token changed to %q", r.GetResults().GetSearchIteratorV2Results().GetToken())
		}
		if len(r.GetResults().GetScores()) == 0 {
			break
		}
		collect(r)
		bound = r.GetResults().GetSearchIteratorV2Results().GetLastBound()
	}
	checkOrder(t, entity.L2, got, c.brute("v_l2", entity.L2, q, nil))

	// The Go SDK's iterator, Strong: rows inserted after its first page
	// show up in later pages (Milvus pins nothing for it).
	it, err := cli.SearchIterator(ctx, milvusclient.NewSearchIteratorOption(c.name, entity.FloatVector(q)).
		WithANNSField("v_l2").WithBatchSize(200).WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	rs, err := it.Next(ctx)
	must(t, err)
	hits := []scored{}
	for i, id := range ids(t, rs) {
		hits = append(hits, scored{id, rs.Scores[i]})
	}
	more := make([][]float32, 10)
	for i := range more {
		more[i] = []float32{60, 60, 60, 60, 60, 60, 60, float32(i)}
	}
	extra2 := &iterColl{name: c.name, vecs: map[string][][]float32{}, n: extra.n + len(more)}
	for _, m := range iterMetrics {
		extra2.vecs[m.field] = append(slices.Clone(extra.vecs[m.field]), more...)
	}
	extra2.insert(t, ctx, cli, extra.n, extra2.n)
	rest, _ := drainSearch(t, ctx, it, 200)
	checkOrder(t, entity.L2, append(hits, rest...), extra2.brute("v_l2", entity.L2, q, nil))
}

// TestQueryIterator drives the Go SDK's QueryIterator (pages of "pk >
// last" in primary-key order) over Int64 and VarChar keys inserted out of
// order, sealed and growing, with a filter, output fields and a limit;
// and pymilvus's pinned form over gRPC.
func TestQueryIterator(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const n = 1000
	r := rand.New(rand.NewPCG(3, 4))
	perm := r.Perm(n)

	t.Run("Int64", func(t *testing.T) {
		const name = "qiter_int"
		schema := entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeInt64)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
		must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
		vecs := randomVectors(r, n, 4)
		insert := func(lo, hi int) {
			var idv, tags []int64
			var vs [][]float32
			for _, p := range perm[lo:hi] {
				idv, tags, vs = append(idv, int64(p)*3), append(tags, int64(p%5)), append(vs, vecs[p])
			}
			_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", idv).
				WithInt64Column("tag", tags).WithFloatVectorColumn("vec", 4, vs))
			must(t, err)
		}
		insert(0, 600)
		flush(t, ctx, cli, name)
		insert(600, n)
		indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))

		drain := func(opt milvusclient.QueryIteratorOption, batch int) (keys, tags []int64) {
			it, err := cli.QueryIterator(ctx, opt)
			must(t, err)
			for range 10000 {
				rs, err := it.Next(ctx)
				if errors.Is(err, io.EOF) {
					return keys, tags
				}
				must(t, err)
				if rs.ResultCount == 0 || rs.ResultCount > batch {
					t.Fatalf("batch of %d rows, want 1..%d", rs.ResultCount, batch)
				}
				keys = append(keys, int64Col(t, rs, "id")...)
				if rs.GetColumn("tag") != nil {
					tags = append(tags, int64Col(t, rs, "tag")...)
				}
			}
			t.Fatal("the iterator never ended")
			return nil, nil
		}
		var all, even []int64
		for i := range n {
			all = append(all, int64(i)*3)
			if i%5 == 2 {
				even = append(even, int64(i)*3)
			}
		}
		keys, _ := drain(milvusclient.NewQueryIteratorOption(name).WithBatchSize(77).WithConsistencyLevel(entity.ClStrong), 77)
		if !slices.Equal(keys, all) {
			t.Fatalf("keys %v..., want every key in order", keys[:min(10, len(keys))])
		}
		keys, tags := drain(milvusclient.NewQueryIteratorOption(name).WithBatchSize(40).WithFilter("tag == 2").
			WithOutputFields("tag").WithConsistencyLevel(entity.ClStrong), 40)
		if !slices.Equal(keys, even) {
			t.Fatalf("filtered keys %v, want %v", keys, even)
		}
		for i, tg := range tags {
			if tg != 2 {
				t.Fatalf("row %d (id %d): tag %d", i, keys[i], tg)
			}
		}
		keys, _ = drain(milvusclient.NewQueryIteratorOption(name).WithBatchSize(30).WithIteratorLimit(100).
			WithConsistencyLevel(entity.ClStrong), 30)
		if !slices.Equal(keys, all[:100]) {
			t.Fatalf("limited keys %v, want the first 100", keys)
		}

		// pymilvus: iterator pages pinned to the first page's session_ts.
		raw := rawClient(t, srv)
		page := func(expr string, gts uint64, extra ...string) *milvuspb.QueryResults {
			resp, err := raw.Query(ctx, &milvuspb.QueryRequest{CollectionName: name, Expr: expr, OutputFields: []string{"id"},
				QueryParams:        kvs(append([]string{"limit", "300", "iterator", "true", "reduce_stop_for_best", "true"}, extra...)...),
				GuaranteeTimestamp: gts, ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
			must(t, merr.CheckRPCCall(resp, err))
			return resp
		}
		keysOf := func(r *milvuspb.QueryResults) []int64 {
			for _, f := range r.GetFieldsData() {
				if f.GetFieldName() == "id" {
					return f.GetScalars().GetLongData().GetData()
				}
			}
			t.Fatal("no id field in the query result")
			return nil
		}
		first := page("", 0)
		ts := first.GetSessionTs()
		if ts == 0 {
			t.Fatal("the first iterator page has no session_ts")
		}
		got := keysOf(first)
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1, 4000, 5000}).
			WithInt64Column("tag", []int64{0, 0, 0}).WithFloatVectorColumn("vec", 4, vecs[:3]))
		must(t, err)
		for range 10 {
			r := page(fmt.Sprintf("id > %d", got[len(got)-1]), ts)
			k := keysOf(r)
			if len(k) == 0 {
				break
			}
			got = append(got, k...)
		}
		if !slices.Equal(got, all) {
			t.Fatalf("pinned iteration returned %d keys, want the %d present when it began", len(got), len(all))
		}
		// Offset and a stale collection_id.
		now := sortedCopy(append(slices.Clone(all), 1, 4000, 5000))
		if k := keysOf(page("", 0, "offset", "10")); !slices.Equal(k, now[10:310]) {
			t.Fatalf("offset 10: first key %d, %d keys", k[0], len(k))
		}
		resp, err := raw.Query(ctx, &milvuspb.QueryRequest{CollectionName: name, Expr: "id > 0",
			QueryParams: kvs("limit", "5", "iterator", "true", "collection_id", "42")})
		wantCode(t, merr.CheckRPCCall(resp, err), 1100, "Input collection id is not consistent to collectionID in the context")
		resp, err = raw.Query(ctx, &milvuspb.QueryRequest{CollectionName: name, Expr: "id > 0",
			QueryParams: kvs("limit", "5", "iterator", "maybe")})
		wantCode(t, merr.CheckRPCCall(resp, err), 1100, "value for iterator field is invalid")
	})

	t.Run("VarChar", func(t *testing.T) {
		const name = "qiter_str"
		schema := entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("key").WithDataType(entity.FieldTypeVarChar).WithMaxLength(32).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
		must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
		keysIn := make([]string, n)
		for i, p := range perm {
			keysIn[i] = fmt.Sprintf("k%d", p) // "k10" sorts before "k2"
		}
		vecs := randomVectors(r, n, 4)
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithVarcharColumn("key", keysIn[:500]).
			WithFloatVectorColumn("vec", 4, vecs[:500]))
		must(t, err)
		flush(t, ctx, cli, name)
		_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithVarcharColumn("key", keysIn[500:]).
			WithFloatVectorColumn("vec", 4, vecs[500:]))
		must(t, err)
		indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))
		it, err := cli.QueryIterator(ctx, milvusclient.NewQueryIteratorOption(name).WithBatchSize(64).
			WithOutputFields("key").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		var got []string
		for {
			rs, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			must(t, err)
			col, ok := rs.GetColumn("key").(*column.ColumnVarChar)
			if !ok {
				t.Fatalf("key column is %T", rs.GetColumn("key"))
			}
			got = append(got, col.Data()...)
		}
		want := slices.Clone(keysIn)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("got %d keys %v..., want %d in order", len(got), got[:min(5, len(got))], len(want))
		}
	})
}

// TestSearchByIDs sends Milvus 2.6's search by primary keys (SearchRequest
// ids instead of vectors; the Go SDK v2.6.2 cannot build one) and checks
// the answers against searches with the rows' vectors, and the errors.
func TestSearchByIDs(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	c := newIterColl(t, ctx, cli, "by_ids", 400, 250)

	search := func(ids *schemapb.IDs, params ...string) (*milvuspb.SearchResults, error) {
		resp, err := raw.Search(ctx, &milvuspb.SearchRequest{
			CollectionName: c.name, DslType: commonpb.DslType_BoolExprV1, SearchParams: kvs(append([]string{"topk", "5"}, params...)...),
			SearchInput: &milvuspb.SearchRequest_Ids{Ids: ids}, ConsistencyLevel: commonpb.ConsistencyLevel_Strong,
		})
		return resp, merr.CheckRPCCall(resp, err)
	}
	intIDs := func(k ...int64) *schemapb.IDs {
		return &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: k}}}
	}
	keys := []int64{317, 5, 260} // unsorted, sealed and growing rows
	for _, m := range iterMetrics {
		resp, err := search(intIDs(keys...), "anns_field", m.field)
		must(t, err)
		res := resp.GetResults()
		if res.GetNumQueries() != 3 || !slices.Equal(res.GetTopks(), []int64{5, 5, 5}) {
			t.Fatalf("%s: nq %d topks %v", m.field, res.GetNumQueries(), res.GetTopks())
		}
		got := res.GetIds().GetIntId().GetData()
		for qi, k := range keys {
			want := c.brute(m.field, m.metric, c.vecs[m.field][k], nil)[:5]
			if m.metric != entity.IP && got[qi*5] != k { // IP: a longer row may beat the row itself
				t.Fatalf("%s: query %d (id %d): best hit %d, want the row itself", m.field, qi, k, got[qi*5])
			}
			for j := range 5 {
				if s := res.GetScores()[qi*5+j]; !near(s, want[j].score) {
					t.Fatalf("%s: query %d hit %d: score %g, want %g", m.field, qi, j, s, want[j].score)
				}
			}
		}
	}
	_, err := search(intIDs(5, 999999, 7, 888888), "anns_field", "v_l2")
	wantCode(t, err, 1100, "some of the provided primary key IDs do not exist: missing IDs = [999999 888888]")
	_, err = search(intIDs(5, 6, 5), "anns_field", "v_l2")
	wantCode(t, err, 1100, "duplicate IDs found in search request")
	_, err = search(&schemapb.IDs{IdField: &schemapb.IDs_StrId{StrId: &schemapb.StringArray{Data: []string{"a"}}}}, "anns_field", "v_l2")
	wantCode(t, err, 1100, "primary key is int64, but IDs type mismatch")
	_, err = search(intIDs(5))
	wantCode(t, err, 1100, "multiple vector fields exist, please specify anns_field in search_params")
	_, err = search(intIDs(5), "anns_field", "nope")
	wantCode(t, err, 1700, "vector field not found in schema")
	_, err = search(intIDs(5), "anns_field", "tag")
	wantCode(t, err, 1100, "field (tag) to search is not of vector data type")

	// REST v2: "ids" instead of "data".
	hits := restRows(t, restOK(t, "http://"+srv.addr, "/entities/search", map[string]any{"collectionName": c.name,
		"ids": []any{317, "5"}, "annsField": "v_l2", "limit": 3, "consistencyLevel": "Strong"}))
	if len(hits) != 6 || restInt(t, hits[0]["id"]) != 317 || restInt(t, hits[3]["id"]) != 5 {
		t.Fatalf("REST search by ids: %v", hits)
	}
	m := restPost(t, "http://"+srv.addr, "/entities/search", map[string]any{"collectionName": c.name, "ids": []int{1}, "data": [][]float32{{1}}})
	if restCode(m) != 1100 || !strings.Contains(fmt.Sprint(m["message"]), "mutually exclusive") {
		t.Fatalf("REST ids and data: %v", m)
	}
	restWantCode(t, "http://"+srv.addr, "/entities/search", map[string]any{"collectionName": c.name}, 1802)
	restWantCode(t, "http://"+srv.addr, "/entities/search", map[string]any{"collectionName": c.name, "ids": []any{1.5}, "annsField": "v_l2"}, 1100)

	// A deleted row is not found either.
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption(c.name).WithInt64IDs("id", []int64{5}))
	must(t, err)
	_, err = search(intIDs(5, 6), "anns_field", "v_l2")
	wantCode(t, err, 1100, "missing IDs = [5]")
}

// TestServerVersion: the SDK sees a Milvus 2.6 version.
func TestServerVersion(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	v, err := cli.GetServerVersion(testContext(t), milvusclient.NewGetServerVersionOption())
	must(t, err)
	if v != "v2.6.8" {
		t.Fatalf("server version %q, want v2.6.8", v)
	}
}

// TestSearchIteratorTies: 300 rows over only 10 distinct vectors, so every
// score is shared by 30 rows and most pages end inside a run of equal
// scores. Milvus starts each page strictly after the previous page's last
// score and loses the rest of such a run; Milvago remembers which keys a
// page returned at its bound and returns the others first, so the Go SDK's
// iterator sees every row once.
func TestSearchIteratorTies(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	for _, varchar := range []bool{false, true} {
		t.Run(fmt.Sprintf("varchar=%v", varchar), func(t *testing.T) { iterateTies(t, cli, varchar) })
	}
}

func iterateTies(t *testing.T, cli *milvusclient.Client, varchar bool) {
	ctx := testContext(t)
	const n = 300
	name := fmt.Sprintf("iter_ties_%v", varchar)
	pkf := entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)
	if varchar {
		pkf = entity.NewField().WithName("id").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16).WithIsPrimaryKey(true)
	}
	schema := entity.NewSchema().WithName(name).WithField(pkf).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
	r := rand.New(rand.NewPCG(9, 9))
	base := randomVectors(r, 10, 4)
	idv := make([]int64, n)
	strs := make([]string, n)
	vecs := make([][]float32, n)
	for i := range idv {
		idv[i], strs[i], vecs[i] = int64(i), fmt.Sprintf("r%d", i), base[i%10]
	}
	insert := func(lo, hi int) {
		opt := milvusclient.NewColumnBasedInsertOption(name).WithFloatVectorColumn("vec", 4, vecs[lo:hi])
		if varchar {
			opt.WithVarcharColumn("id", strs[lo:hi])
		} else {
			opt.WithInt64Column("id", idv[lo:hi])
		}
		_, err := cli.Insert(ctx, opt)
		must(t, err)
	}
	insert(0, 150)
	flush(t, ctx, cli, name)
	insert(150, n)
	indexAndLoad(t, ctx, cli, name, "vec", index.NewHNSWIndex(entity.L2, 8, 32))
	for _, batch := range []int{7, 30, 64} {
		it, err := cli.SearchIterator(ctx, milvusclient.NewSearchIteratorOption(name, entity.FloatVector(base[3])).
			WithBatchSize(batch).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		seen := map[int]bool{}
		var prev float32
		for {
			rs, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			must(t, err)
			for i := range rs.ResultCount {
				var row int
				if varchar {
					s, err := rs.IDs.GetAsString(i)
					must(t, err)
					row, err = strconv.Atoi(s[1:])
					must(t, err)
				} else {
					v, err := rs.IDs.GetAsInt64(i)
					must(t, err)
					row = int(v)
				}
				if seen[row] {
					t.Fatalf("batch %d: row %d returned twice", batch, row)
				}
				seen[row] = true
				score := rs.Scores[i]
				if want := l2sq(base[3], vecs[row]); !near(score, want) || score < prev {
					t.Fatalf("batch %d: row %d score %g, exact %g, previous %g", batch, row, score, want, prev)
				}
				prev = score
			}
		}
		if len(seen) != n {
			t.Fatalf("batch %d: %d rows, want %d", batch, len(seen), n)
		}
	}
}
