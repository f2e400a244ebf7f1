package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"

	"github.com/milvago/milvago/internal/tso"
)

// TestFaultsAutoIDVarCharEndToEnd writes to a collection whose primary key
// is an auto-ID VarChar (Milvus generates the IDs as the decimal text of
// allocated int64 IDs and returns them as str_id) through every path:
// insert, flush, query, search, the auto-ID upsert, delete by the returned
// IDs, REST; and checks that the channel still flushes for another
// collection afterwards.
func TestFaultsAutoIDVarCharEndToEnd(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, other, dim, n = "wedge_autoid_str", "wedge_autoid_other", 4, 3000
	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).
		WithVarcharPK(true, 64).WithShardNum(1)))
	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(other, dim).WithAutoID(false).WithShardNum(1)))

	r := rand.New(rand.NewPCG(7, 7))
	vecs := randomVectors(r, n, dim)
	res, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithFloatVectorColumn("vector", dim, vecs))
	must(t, err)
	if res.InsertCount != n || res.IDs.Type() != entity.FieldTypeVarChar || res.IDs.Len() != n {
		t.Fatalf("insert: count %d, ids %d of type %v; want %d VarChar", res.InsertCount, res.IDs.Len(), res.IDs.Type(), n)
	}
	ids := res.IDs.(*column.ColumnVarChar).Data()
	for _, id := range ids[:5] {
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			t.Fatalf("auto id %q is not an int64's decimal text", id)
		}
	}
	flushWithin(t, cli, name, 30*time.Second)

	count := func(coll string) int64 {
		t.Helper()
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(coll).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		c, _ := rs.GetColumn("count(*)").GetAsInt64(0)
		return c
	}
	if c := count(name); c != n {
		t.Fatalf("count(*) after flush = %d, want %d", c, n)
	}

	// Query by the returned keys, and search: both answer VarChar keys.
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithConsistencyLevel(entity.ClStrong).
		WithFilter(fmt.Sprintf("id in [%q, %q]", ids[10], ids[20])).WithOutputFields("id"))
	must(t, err)
	got := rs.GetColumn("id").(*column.ColumnVarChar).Data()
	slices.Sort(got)
	want := []string{ids[10], ids[20]}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("query by key: %v, want %v", got, want)
	}
	sr, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.FloatVector(vecs[42])}).
		WithConsistencyLevel(entity.ClStrong).WithOutputFields("id"))
	must(t, err)
	if len(sr) != 1 || sr[0].IDs.Type() != entity.FieldTypeVarChar || sr[0].IDs.Len() != 3 {
		t.Fatalf("search: %d result sets, ids %v", len(sr), sr[0].IDs)
	}
	if top, _ := sr[0].IDs.GetAsString(0); top != ids[42] {
		t.Fatalf("search top hit %q, want %q", top, ids[42])
	}

	// Upsert into an auto-ID collection: the given keys are deleted, the
	// rows get new IDs.
	ur, err := cli.Upsert(ctx, milvusclient.NewColumnBasedInsertOption(name).
		WithVarcharColumn("id", ids[:2]).WithFloatVectorColumn("vector", dim, vecs[:2]))
	must(t, err)
	if ur.UpsertCount != 2 || ur.IDs.Type() != entity.FieldTypeVarChar {
		t.Fatalf("upsert: count %d, ids of type %v", ur.UpsertCount, ur.IDs.Type())
	}
	newIDs := ur.IDs.(*column.ColumnVarChar).Data()
	if slices.Contains(newIDs, ids[0]) || slices.Contains(newIDs, ids[1]) {
		t.Fatalf("upsert kept the old keys: %v", newIDs)
	}
	if c := count(name); c != n {
		t.Fatalf("count(*) after upsert = %d, want %d", c, n)
	}

	// Delete by returned IDs.
	dr, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithStringIDs("id", ids[100:110]))
	must(t, err)
	if dr.DeleteCount != 10 {
		t.Fatalf("delete count %d, want 10", dr.DeleteCount)
	}
	if c := count(name); c != n-10 {
		t.Fatalf("count(*) after delete = %d, want %d", c, n-10)
	}

	// REST insert answers string IDs too.
	base := "http://" + srv.addr
	ins := restOK(t, base, "/entities/insert", map[string]any{"collectionName": name,
		"data": []map[string]any{{"vector": []float32{1, 2, 3, 4}}, {"vector": []float32{4, 3, 2, 1}}}}).(map[string]any)
	restIDs, _ := ins["insertIds"].([]any)
	if len(restIDs) != 2 {
		t.Fatalf("REST insert: %v", ins)
	}
	for _, id := range restIDs {
		s, ok := id.(string)
		if !ok {
			t.Fatalf("REST insert id %v is %T, want a string", id, id)
		}
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("REST auto id %q is not an int64's decimal text", s)
		}
	}
	flushWithin(t, cli, name, 30*time.Second)
	if c := count(name); c != n-10+2 {
		t.Fatalf("count(*) after REST insert and flush = %d, want %d", c, n-10+2)
	}

	// The channel still flushes for another collection.
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(other).
		WithInt64Column("id", []int64{1, 2}).WithFloatVectorColumn("vector", dim, vecs[:2]))
	must(t, err)
	flushWithin(t, cli, other, 30*time.Second)
}

// flushWithin flushes a collection and fails the test unless the flush
// completes within d (a wedged data node never completes it).
func flushWithin(t *testing.T, cli *milvusclient.Client, name string, d time.Duration) {
	t.Helper()
	ctx, cancel := contextWithTimeout(testContext(t), d)
	defer cancel()
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatalf("flush %s: %v", name, err)
	}
	if err := ft.Await(ctx); err != nil {
		t.Fatalf("await flush %s: %v", name, err)
	}
}

// TestFaultsFlushFlushDrop runs Insert, Flush, Flush, DropCollection in
// quick succession (collection and partition drops), many times, and checks
// that the channel still flushes other collections afterwards.
func TestFaultsFlushFlushDrop(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const dim = 4
	const keeper = "wedge_keeper"
	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(keeper, dim).WithAutoID(false).WithShardNum(1)))
	vecs := randomVectors(rand.New(rand.NewPCG(1, 1)), 200, dim)
	keys := make([]int64, len(vecs))
	for i := range keys {
		keys[i] = int64(i)
	}
	for round := range 8 {
		name := fmt.Sprintf("wedge_ffd_%d", round)
		must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).WithAutoID(false).WithShardNum(1)))
		if round%2 == 1 {
			must(t, cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, "p")))
		}
		ins := milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", keys).WithFloatVectorColumn("vector", dim, vecs)
		if round%2 == 1 {
			ins = ins.WithPartition("p")
		}
		_, err := cli.Insert(ctx, ins)
		must(t, err)
		// Two flushes without waiting, then the drop at once.
		_, err = cli.Flush(ctx, milvusclient.NewFlushOption(name))
		must(t, err)
		_, err = cli.Flush(ctx, milvusclient.NewFlushOption(name))
		must(t, err)
		if round%2 == 1 {
			// A dropped partition whose segments were still being flushed;
			// the collection lives on and must flush again.
			must(t, cli.ReleasePartitions(ctx, milvusclient.NewReleasePartitionsOptions(name, "p")))
			must(t, cli.DropPartition(ctx, milvusclient.NewDropPartitionOption(name, "p")))
			_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
				WithInt64Column("id", keys[:3]).WithFloatVectorColumn("vector", dim, vecs[:3]))
			must(t, err)
			flushWithin(t, cli, name, 20*time.Second)
		}
		must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)))

		_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(keeper).
			WithInt64Column("id", []int64{int64(round)}).WithFloatVectorColumn("vector", dim, vecs[:1]))
		must(t, err)
		flushWithin(t, cli, keeper, 20*time.Second)
	}
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(keeper).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if c, _ := rs.GetColumn("count(*)").GetAsInt64(0); c != 8 {
		t.Fatalf("keeper count(*) = %d, want 8", c)
	}
}

// TestFaultsFarFutureGuarantee reads with a guarantee timestamp two days
// ahead: Milvus's delegator refuses it at once (queryNode.scheduler.
// maxTimestampLag, one day) with ErrChannelTSafeStalled, instead of waiting
// until the client gives up. A guarantee a little ahead is waited for.
func TestFaultsFarFutureGuarantee(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "wedge_future"
	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, 4).WithAutoID(false).WithShardNum(2)))
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1, 2}).
		WithFloatVectorColumn("vector", 4, [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}}))
	must(t, err)

	svc := cli.GetService()
	query := func(gts uint64) (*milvuspb.QueryResults, error) {
		qctx, cancel := contextWithTimeout(ctx, 30*time.Second)
		defer cancel()
		return svc.Query(qctx, &milvuspb.QueryRequest{CollectionName: name, Expr: "id > 0", OutputFields: []string{"count(*)"},
			ConsistencyLevel: commonpb.ConsistencyLevel_Customized, GuaranteeTimestamp: gts})
	}
	start := time.Now()
	resp, err := query(tso.Compose(time.Now().Add(48*time.Hour), 0))
	wantCode(t, merr.CheckRPCCall(resp, err), 505, "channel tsafe stalled[channel=", "max(24h0m0s)")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("far-future read answered after %v", d)
	}

	// Two seconds ahead: waited for, then served.
	start = time.Now()
	resp, err = query(tso.Compose(time.Now().Add(2*time.Second), 0))
	must(t, merr.CheckRPCCall(resp, err))
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Fatalf("a read 2 s ahead answered after %v, before its guarantee time", d)
	}
	for _, fd := range resp.GetFieldsData() {
		if fd.GetFieldName() == "count(*)" {
			if n := fd.GetScalars().GetLongData().GetData(); len(n) != 1 || n[0] != 2 {
				t.Fatalf("count(*) = %v, want 2", n)
			}
		}
	}
}

// TestFaultsRefusals checks Milvus 2.6's answers to out-of-range DDL,
// load and search parameters, and to NaN/Inf vectors.
func TestFaultsRefusals(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const dim = 4

	t.Run("shards_num", func(t *testing.T) {
		// Milvus 2.6 (ddl_callbacks_create_collection): shards_num <= 0
		// means the default, one shard; above proxy.maxShardNum is refused.
		for _, n := range []int32{0, -1} {
			name := fmt.Sprintf("wedge_shards_%d", -n)
			must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).WithShardNum(n)))
			coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
			must(t, err)
			if coll.ShardNum != 1 {
				t.Fatalf("shards_num %d: collection has %d shards, want 1", n, coll.ShardNum)
			}
		}
		err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("wedge_shards_17", dim).WithShardNum(17))
		wantCode(t, err, 65535, "maximum shards's number should be limited to 16")
	})

	t.Run("replica_number", func(t *testing.T) {
		// Milvus 2.6 (getDefaultResourceGroupsAndReplicaNumber): a replica
		// number <= 0 means the configured one, else 1.
		const name = "wedge_replicas"
		must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim)))
		must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
		for _, n := range []int32{0, -3} {
			lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name).WithReplica(int(n)))
			must(t, err)
			must(t, lt.Await(ctx))
			must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
		}
	})

	t.Run("collection.ttl.seconds", func(t *testing.T) {
		for _, c := range []struct{ v, frag string }{
			{"abc", "collection TTL is not a valid positive integer"},
			{"1.5", "collection TTL is not a valid positive integer"},
			{"-2", "collection TTL is out of range, expect [-1, 3155760000], got -2"},
			{"3155760001", "collection TTL is out of range"},
		} {
			err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("wedge_ttl", dim).
				WithProperty("collection.ttl.seconds", c.v))
			wantCode(t, err, 1100, c.frag)
		}
		must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("wedge_ttl", dim).
			WithProperty("collection.ttl.seconds", "-1")))
		err := cli.AlterCollectionProperties(ctx, milvusclient.NewAlterCollectionPropertiesOption("wedge_ttl").
			WithProperty("collection.ttl.seconds", "x"))
		wantCode(t, err, 1100, "collection TTL is not a valid positive integer")
		err = cli.AlterCollectionProperties(ctx, milvusclient.NewAlterCollectionPropertiesOption("wedge_ttl").
			WithProperty("collection.ttl.seconds", "-7"))
		wantCode(t, err, 1100, "collection TTL is out of range")
	})

	t.Run("search params and vectors", func(t *testing.T) {
		// Index parameters are checked where an index is searched (a
		// sealed, indexed segment), as knowhere checks them.
		indexed := func(name string, idx index.Index) {
			schema := entity.NewSchema().WithName(name).
				WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
				WithField(entity.NewField().WithName("vector").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
			must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
			vecs := randomVectors(rand.New(rand.NewPCG(3, 3)), 5000, dim)
			ids := make([]int64, len(vecs))
			for i := range ids {
				ids[i] = int64(i)
			}
			_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
				WithFloatVectorColumn("vector", dim, vecs))
			must(t, err)
			flush(t, ctx, cli, name)
			indexAndLoad(t, ctx, cli, name, "vector", idx)
		}
		indexed("wedge_hnsw", index.NewHNSWIndex(entity.L2, 8, 32))
		indexed("wedge_ivf", index.NewIvfFlatIndex(entity.L2, 4))
		q := []entity.Vector{entity.FloatVector{1, 0, 0, 0}}
		search := func(name string, vecs []entity.Vector, params map[string]any) error {
			ap := index.NewCustomAnnParam()
			for k, v := range params {
				ap.WithExtraParam(k, v)
			}
			_, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 2, vecs).WithConsistencyLevel(entity.ClStrong).WithAnnParam(ap))
			return err
		}
		must(t, search("wedge_hnsw", q, map[string]any{"ef": 16}))
		must(t, search("wedge_ivf", q, map[string]any{"nprobe": 2}))
		for _, c := range []struct {
			name   string
			params map[string]any
			frag   string
		}{
			{"wedge_hnsw", map[string]any{"ef": "abc"}, "param 'ef' (abc) should be an integer"},
			{"wedge_hnsw", map[string]any{"ef": 0}, "param 'ef' (0) should be in range"},
			{"wedge_hnsw", map[string]any{"ef": 1}, "ef(1) should be larger than k(2)"},
			{"wedge_ivf", map[string]any{"nprobe": 0}, "param 'nprobe' (0) should be in range"},
			{"wedge_ivf", map[string]any{"nprobe": 65537}, "param 'nprobe' (65537) should be in range"},
			{"wedge_ivf", map[string]any{"nprobe": "x"}, "param 'nprobe' (x) should be an integer"},
			{"wedge_hnsw", map[string]any{"radius": "abc"}, "param 'radius' (abc) should be a number"},
			{"wedge_hnsw", map[string]any{"radius": "NaN"}, "param 'radius' (NaN) should be a finite number"},
			{"wedge_ivf", map[string]any{"radius": "inf"}, "should be a finite number"},
		} {
			err := search(c.name, q, c.params)
			if err == nil || !strings.Contains(err.Error(), c.frag) {
				t.Fatalf("search %s with %v: %v, want an error with %q", c.name, c.params, err, c.frag)
			}
		}
		nan, inf := float32(math.NaN()), float32(math.Inf(1))
		for _, v := range []entity.Vector{entity.FloatVector{nan, 0, 0, 0}, entity.FloatVector{0, 0, -inf, 0}} {
			wantCode(t, search("wedge_hnsw", []entity.Vector{v}, nil), 65535, "is not a number or infinity")
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("wedge_hnsw").WithInt64Column("id", []int64{99}).
			WithFloatVectorColumn("vector", dim, [][]float32{{0, inf, 0, 0}}))
		wantCode(t, err, 65535, "is not a number or infinity")
	})
}

// TestFaultsLoadProgress loops the scenarios that left GetLoadingProgress
// at 0 (dropping a partition of a loaded collection; loading a collection
// with no data yet) and checks that every load completes and that the
// first query after it answers at once.
func TestFaultsLoadProgress(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := loopContext(t) // faults_timing_test.go
	const dim = 4
	rounds := 30
	if testing.Short() {
		rounds = 5
	}
	vecs := randomVectors(rand.New(rand.NewPCG(5, 5)), 100, dim)
	keys := make([]int64, len(vecs))
	for i := range keys {
		keys[i] = int64(i)
	}
	waitLoaded := func(name string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			resp, err := cli.GetService().GetLoadingProgress(ctx, &milvuspb.GetLoadingProgressRequest{CollectionName: name})
			must(t, merr.CheckRPCCall(resp, err))
			p := resp.GetProgress()
			if p == 100 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: loading progress %d after 15 s", name, p)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// awaitLoad bounds a LoadCollection's Await as waitLoaded bounds the
	// progress: 15 s for this load, not what is left of the test's context.
	awaitLoad := func(lt milvusclient.LoadTask) {
		t.Helper()
		lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		must(t, lt.Await(lctx))
	}
	firstQuery := func(name string, want int64) {
		t.Helper()
		start := time.Now()
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%s: first query after load took %v", name, d)
		}
		if c, _ := rs.GetColumn("count(*)").GetAsInt64(0); c != want {
			t.Fatalf("%s: count(*) = %d, want %d", name, c, want)
		}
	}
	for round := range rounds {
		// A collection with no data yet.
		empty := fmt.Sprintf("wedge_lp_empty_%d", round)
		must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(empty, dim).WithAutoID(false)))
		waitLoaded(empty)
		firstQuery(empty, 0)
		must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(empty)))
		lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(empty))
		must(t, err)
		awaitLoad(lt)
		waitLoaded(empty)
		firstQuery(empty, 0)

		// A loaded collection whose partition is dropped.
		name := fmt.Sprintf("wedge_lp_part_%d", round)
		must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).WithAutoID(false)))
		must(t, cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, "p")))
		_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithPartition("p").
			WithInt64Column("id", keys).WithFloatVectorColumn("vector", dim, vecs))
		must(t, err)
		_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
			WithInt64Column("id", []int64{1000}).WithFloatVectorColumn("vector", dim, vecs[:1]))
		must(t, err)
		if round%2 == 0 {
			flush(t, ctx, cli, name)
		}
		waitLoaded(name)
		must(t, cli.ReleasePartitions(ctx, milvusclient.NewReleasePartitionsOptions(name, "p")))
		must(t, cli.DropPartition(ctx, milvusclient.NewDropPartitionOption(name, "p")))
		waitLoaded(name)
		firstQuery(name, 1)
		must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
		lt, err = cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
		must(t, err)
		awaitLoad(lt)
		waitLoaded(name)
		firstQuery(name, 1)
		must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)))
		must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(empty)))
	}
}
