package e2e

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/proxy"
)

// TestSearchRequeryOracle: a search or hybrid search whose output fields
// are requeried by primary key after the reduce (common.requery.*Policy
// always) answers exactly as one in one phase (never), for every output
// field type, on two shards, over sealed and growing rows with deletes in
// both, with offsets, filters, partitions and group-by.
//
// On a cluster the collection's two shards are served by two query nodes
// (the test adds one to the cluster), and the policy is the proxies'
// flags: they restart with each policy while the query nodes keep the
// data loaded, so both answers come from the same segments.
func TestSearchRequeryOracle(t *testing.T) {
	srv := startServer(t, "")
	if clusterMode() {
		srv.cl.addQueryNode(t)
	}
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "requery_oracle"
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, everyTypeSchema(name)).WithShardNum(2)))
	must(t, cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, "p1")))
	r := rand.New(rand.NewPCG(11, 3))
	insertEveryType(t, ctx, cli, name, "", r, 0, 300)
	insertEveryType(t, ctx, cli, name, "p1", r, 300, 200)
	flush(t, ctx, cli, name) // sealed
	insertEveryType(t, ctx, cli, name, "", r, 500, 150)
	insertEveryType(t, ctx, cli, name, "p1", r, 650, 150) // growing
	for field, idx := range map[string]index.Index{
		"fv": index.NewHNSWIndex(entity.L2, 8, 64), "hv": index.NewFlatIndex(entity.IP), "bfv": index.NewFlatIndex(entity.IP),
		"bv": index.NewBinFlatIndex(entity.HAMMING), "iv": index.NewFlatIndex(entity.L2), "sp": index.NewSparseInvertedIndex(entity.IP, 0),
	} {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, field, idx))
		must(t, err)
		must(t, it.Await(ctx))
	}
	load(t, ctx, cli, name)
	if clusterMode() {
		checkShardsOnNodes(t, ctx, cli, raw, name, 2)
	}
	_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr("id % 7 == 3"))
	must(t, err)

	queries := randomVectors(r, 4, 4)
	search := func(field string, k int, params []*commonpb.KeyValuePair, mutate func(*milvuspb.SearchRequest)) *milvuspb.SearchRequest {
		req := &milvuspb.SearchRequest{CollectionName: name, DslType: commonpb.DslType_BoolExprV1, Nq: int64(len(queries)),
			SearchInput:      &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: floatPlaceholder(t, queries...)},
			SearchParams:     append(kvs("anns_field", field, "topk", fmt.Sprint(k), "params", `{"ef": 64}`), params...),
			ConsistencyLevel: commonpb.ConsistencyLevel_Strong, OutputFields: []string{"*"}}
		if mutate != nil {
			mutate(req)
		}
		return req
	}
	searches := map[string]*milvuspb.SearchRequest{
		"every field":      search("fv", 50, nil, nil),
		"named and $meta":  search("fv", 30, nil, func(r *milvuspb.SearchRequest) { r.OutputFields = []string{"fv", "s", "color", "j", "id"} }),
		"dynamic key only": search("fv", 30, nil, func(r *milvuspb.SearchRequest) { r.OutputFields = []string{"color"} }),
		"offset":           search("fv", 20, kvs("offset", "15"), nil),
		"filter":           search("fv", 40, nil, func(r *milvuspb.SearchRequest) { r.Dsl = "i16 > 20000 and b == true" }),
		"partition":        search("fv", 40, nil, func(r *milvuspb.SearchRequest) { r.PartitionNames = []string{"p1"} }),
		"group by":         search("fv", 10, kvs("group_by_field", "i8", "group_size", "3"), nil),
		"group by offset":  search("fv", 5, kvs("group_by_field", "s", "offset", "2"), nil),
		"round decimal":    search("fv", 25, kvs("round_decimal", "2"), nil),
		"no hits":          search("fv", 10, nil, func(r *milvuspb.SearchRequest) { r.Dsl = "id < 0" }),
	}
	hybrid := func(k int, rank []*commonpb.KeyValuePair, output ...string) *milvuspb.HybridSearchRequest {
		sub := func(dsl string) *milvuspb.SearchRequest {
			return &milvuspb.SearchRequest{DslType: commonpb.DslType_BoolExprV1, Nq: int64(len(queries)), Dsl: dsl,
				SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: floatPlaceholder(t, queries...)},
				SearchParams: kvs("anns_field", "fv", "topk", fmt.Sprint(2*k), "params", `{"ef": 64}`)}
		}
		return &milvuspb.HybridSearchRequest{CollectionName: name, Requests: []*milvuspb.SearchRequest{sub(""), sub("i64 > 0")},
			RankParams: append(kvs("limit", fmt.Sprint(k)), rank...), OutputFields: output, ConsistencyLevel: commonpb.ConsistencyLevel_Strong}
	}
	hybrids := map[string]*milvuspb.HybridSearchRequest{
		"rrf every field":    hybrid(30, kvs("strategy", "rrf", "params", `{"k": 60}`), "*"),
		"weighted named":     hybrid(20, kvs("strategy", "weighted", "params", `{"weights": [0.3, 0.7]}`, "offset", "4"), "fv", "s", "color"),
		"rrf group by":       hybrid(8, kvs("strategy", "rrf", "params", `{"k": 60}`, "group_by_field", "i8", "group_size", "2"), "hv", "ts"),
		"rrf no vector":      hybrid(15, kvs("strategy", "rrf", "params", `{"k": 60}`), "s", "j"),
		"weighted no output": hybrid(15, kvs("strategy", "weighted", "params", `{"weights": [0.5, 0.5]}`)),
	}

	answers := func(policy proxy.RequeryPolicy) (map[string]*milvuspb.SearchResults, time.Duration) {
		if clusterMode() {
			srv.cl.restartProxies(t, []string{"--common.requery.searchPolicy=" + string(policy),
				"--common.requery.hybridSearchPolicy=" + string(policy)})
		} else {
			srv.standalone(t).SetRequeryPolicies(policy, policy)
		}
		out := map[string]*milvuspb.SearchResults{}
		start := time.Now()
		for what, req := range searches {
			res, err := raw.Search(ctx, req)
			if err == nil {
				err = merr.Error(res.GetStatus())
			}
			if err != nil {
				t.Fatalf("%s: search %q: %v", policy, what, err)
			}
			out[what] = res
		}
		for what, req := range hybrids {
			res, err := raw.HybridSearch(ctx, req)
			if err == nil {
				err = merr.Error(res.GetStatus())
			}
			if err != nil {
				t.Fatalf("%s: hybrid search %q: %v", policy, what, err)
			}
			out["hybrid "+what] = res
		}
		return out, time.Since(start)
	}
	onePhase, tOne := answers(proxy.RequeryNever)
	requeried, tTwo := answers(proxy.RequeryAlways)
	t.Logf("%d searches: one phase %v, requery %v", len(onePhase), tOne.Round(time.Millisecond), tTwo.Round(time.Millisecond))
	for what, want := range onePhase {
		got := requeried[what]
		if n := len(want.GetResults().GetScores()); n == 0 && what != "no hits" {
			t.Fatalf("%s: no hits; the oracle compares nothing", what)
		}
		if len(want.GetResults().GetFieldsData()) == 0 && what != "hybrid weighted no output" {
			t.Fatalf("%s: no output fields; the oracle compares nothing", what)
		}
		if !proto.Equal(want.GetResults(), got.GetResults()) {
			t.Errorf("%s: the requeried answer differs from the one-phase one: %s", what, resultsDiff(want.GetResults(), got.GetResults()))
		}
	}
}

// insertEveryType inserts n rows of everyTypeSchema with ids from, from
// .. from+n-1, into partition ("" the default one).
func insertEveryType(t *testing.T, ctx context.Context, cli *milvusclient.Client, name, partition string, r *rand.Rand, from, n int) {
	t.Helper()
	ids := make([]int64, n)
	bs, i8s, i16s, i32s, i64s := make([]bool, n), make([]int8, n), make([]int16, n), make([]int32, n), make([]int64, n)
	fls, dbs, ss, js := make([]float32, n), make([]float64, n), make([]string, n), make([][]byte, n)
	ais, ass, gs, tss, colors := make([][]int64, n), make([][]string, n), make([]string, n), make([]string, n), make([]string, n)
	hvs, bfvs := make([][]float32, n), make([][]float32, n)
	bvs, ivs := make([][]byte, n), make([][]int8, n)
	sps := make([]entity.SparseEmbedding, n)
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for j := range n {
		i := from + j
		ids[j] = int64(i)
		bs[j], i8s[j], i16s[j], i32s[j], i64s[j] = i%2 == 0, int8(i%11-5), int16(100*i), int32(-70000*i), int64(i)<<40
		fls[j], dbs[j], ss[j] = float32(i)/4, float64(i)*1.5e10, fmt.Sprintf("str-%03d", i%40)
		js[j] = []byte(fmt.Sprintf(`{"k":%d,"tags":["t%d"],"nested":{"x":%d}}`, i, i%3, i%5))
		ais[j], ass[j] = []int64{int64(i), int64(2 * i)}[:1+i%2], []string{fmt.Sprint("a", i)}
		gs[j] = fmt.Sprintf("POINT (%d %d)", i, -i)
		tss[j] = base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		colors[j] = []string{"red", "green", "blue"}[i%3]
		hvs[j] = []float32{float32(i % 64), 0.5, -1, 2}
		bfvs[j] = []float32{-float32(i % 64), 1, 0.25, 4}
		bvs[j] = []byte{byte(i), byte(255 - i)}
		ivs[j] = []int8{int8(i % 100), -1, 2, int8(-(i % 100))}
		se, err := entity.NewSliceSparseEmbedding([]uint32{uint32(i % 50), uint32(i%50 + 100)}, []float32{1, 0.5})
		must(t, err)
		sps[j] = se
	}
	opt := milvusclient.NewColumnBasedInsertOption(name).
		WithInt64Column("id", ids).WithBoolColumn("b", bs).WithInt8Column("i8", i8s).WithInt16Column("i16", i16s).
		WithInt32Column("i32", i32s).WithInt64Column("i64", i64s).
		WithColumns(column.NewColumnFloat("fl", fls), column.NewColumnDouble("db", dbs), column.NewColumnJSONBytes("j", js),
			column.NewColumnInt64Array("ai", ais), column.NewColumnVarCharArray("as", ass),
			column.NewColumnGeometryWKT("g", gs), isoColumn{column.NewColumnVarChar("ts", tss)},
			column.NewColumnSparseVectors("sp", sps), column.NewColumnVarChar("color", colors)).
		WithVarcharColumn("s", ss).
		WithFloatVectorColumn("fv", 4, randomVectors(r, n, 4)).WithFloat16VectorColumn("hv", 4, hvs).WithBFloat16VectorColumn("bfv", 4, bfvs).
		WithBinaryVectorColumn("bv", 16, bvs).WithInt8VectorColumn("iv", 4, ivs)
	if partition != "" {
		opt = opt.WithPartition(partition)
	}
	if _, err := cli.Insert(ctx, opt); err != nil {
		t.Fatalf("insert %d rows from %d: %v", n, from, err)
	}
}

// resultsDiff names where two search results differ: the first field
// whose data differs, or the part outside the fields.
func resultsDiff(a, b *schemapb.SearchResultData) string {
	if len(a.GetFieldsData()) != len(b.GetFieldsData()) {
		return fmt.Sprintf("%d fields, %d fields", len(a.GetFieldsData()), len(b.GetFieldsData()))
	}
	for i, fa := range a.GetFieldsData() {
		if fb := b.GetFieldsData()[i]; !proto.Equal(fa, fb) {
			return fmt.Sprintf("field %s:\n%s\n---\n%s", fa.GetFieldName(), short(prototext.Format(fa)), short(prototext.Format(fb)))
		}
	}
	ac, bc := proto.Clone(a).(*schemapb.SearchResultData), proto.Clone(b).(*schemapb.SearchResultData)
	ac.FieldsData, bc.FieldsData = nil, nil
	return fmt.Sprintf("outside the fields:\n%s\n---\n%s", short(prototext.Format(ac)), short(prototext.Format(bc)))
}

func short(s string) string {
	if len(s) > 1500 {
		return s[:1500] + "..."
	}
	return s
}

// checkShardsOnNodes fails t unless the loaded collection name's shards
// are led by nodes distinct query nodes and its sealed segments are
// served by as many (DescribeReplica, GetQuerySegmentInfo).
func checkShardsOnNodes(t *testing.T, ctx context.Context, cli *milvusclient.Client, raw milvuspb.MilvusServiceClient, name string, nodes int) {
	t.Helper()
	rs, err := cli.DescribeReplica(ctx, milvusclient.NewDescribeReplicaOption(name))
	must(t, err)
	leaders := map[int64]bool{}
	for _, r := range rs {
		for _, sh := range r.Shards {
			leaders[sh.ShardLeader] = true
		}
	}
	qs, err := raw.GetQuerySegmentInfo(ctx, &milvuspb.GetQuerySegmentInfoRequest{CollectionName: name})
	if err == nil {
		err = merr.Error(qs.GetStatus())
	}
	must(t, err)
	serving := map[int64]bool{}
	for _, info := range qs.GetInfos() {
		for _, n := range append(info.GetNodeIds(), info.GetNodeID()) {
			serving[n] = true
		}
	}
	delete(serving, 0)
	if len(leaders) != nodes || len(serving) != nodes {
		t.Fatalf("%s: shards led by query nodes %v, sealed segments served by %v; want %d nodes", name, slices.Sorted(maps.Keys(leaders)),
			slices.Sorted(maps.Keys(serving)), nodes)
	}
}
