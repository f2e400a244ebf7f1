package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
)

// clusteringCompact is the SDK's CompactOption with MajorCompaction set,
// what pymilvus's compact(is_clustering=True) sends.
type clusteringCompact struct{ name string }

func (o clusteringCompact) Request() *milvuspb.ManualCompactionRequest {
	return &milvuspb.ManualCompactionRequest{CollectionName: o.name, MajorCompaction: true}
}

func createClusteringCollection(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) {
	t.Helper()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("k").WithDataType(entity.FieldTypeInt64).WithIsClusteringKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(compactDim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithConsistencyLevel(entity.ClStrong)))
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewHNSWIndex(entity.L2, 8, 32)))
	must(t, err)
	must(t, it.Await(ctx))
	load(t, ctx, cli, name)
}

func writeKeyed(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, r *rand.Rand, ids, ks []int64, upsert bool) {
	t.Helper()
	opt := milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithInt64Column("k", ks).
		WithFloatVectorColumn("vec", compactDim, randomVectors(r, len(ids), compactDim))
	var err error
	if upsert {
		_, err = cli.Upsert(ctx, opt)
	} else {
		_, err = cli.Insert(ctx, opt)
	}
	must(t, err)
}

// keyFilter is a filter on the clustering key with its model answer.
type keyFilter struct {
	expr  string
	match func(k int64) bool
}

var keyFilters = []keyFilter{
	{"k < 3000", func(k int64) bool { return k < 3000 }},
	{"k >= 40000 and k < 41000", func(k int64) bool { return k >= 40000 && k < 41000 }},
	{"k == 77777", func(k int64) bool { return k == 77777 }},
	{"k > 95000", func(k int64) bool { return k > 95000 }},
	{"k in [5, 50000, 99999]", func(k int64) bool { return k == 5 || k == 50000 || k == 99999 }},
	{"k >= 0", func(int64) bool { return true }},
}

// checkKeyFilters runs every filter as a query (ids and k), a count and a
// filtered search, against the model.
func checkKeyFilters(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, r *rand.Rand, model map[int64]int64, when string) {
	t.Helper()
	for _, f := range keyFilters {
		want := map[int64]int64{}
		for id, k := range model {
			if f.match(k) {
				want[id] = k
			}
		}
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(f.expr).WithOutputFields("id", "k").
			WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		got := map[int64]int64{}
		gotIDs, gotKs := int64Col(t, rs, "id"), int64Col(t, rs, "k")
		for i, id := range gotIDs {
			if _, dup := got[id]; dup {
				t.Fatalf("%s: %q returned id %d twice", when, f.expr, id)
			}
			got[id] = gotKs[i]
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %q: %d rows, model %d", when, f.expr, len(got), len(want))
		}
		for id, k := range want {
			if got[id] != k {
				t.Fatalf("%s: %q: id %d has k %d, model %d", when, f.expr, id, got[id], k)
			}
		}
		cnt, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(f.expr).WithOutputFields("count(*)").
			WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if n, _ := cnt.GetColumn("count(*)").GetAsInt64(0); n != int64(len(want)) {
			t.Fatalf("%s: count(%q) %d, model %d", when, f.expr, n, len(want))
		}
		res, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.FloatVector(randomVectors(r, 1, compactDim)[0])}).
			WithConsistencyLevel(entity.ClStrong).WithANNSField("vec").WithFilter(f.expr))
		must(t, err)
		if res[0].ResultCount != min(10, len(want)) {
			t.Fatalf("%s: search %q: %d hits, %d rows match", when, f.expr, res[0].ResultCount, len(want))
		}
		for i := range res[0].ResultCount {
			id, _ := res[0].IDs.GetAsInt64(i)
			if _, ok := want[id]; !ok {
				t.Fatalf("%s: search %q returned id %d, which does not match", when, f.expr, id)
			}
		}
	}
}

// TestClusteringCompaction is the clustering key's oracle test: rows with
// random keys are written in four flushes (each segment spans the whole
// key range, so no filter on the key can skip one), some deleted and
// upserted with a new key. Every filter on the key answers as the model
// does before and after a clustering compaction (Compact with
// MajorCompaction, as is_clustering sends) and after a restart; after it,
// the segments cover disjoint key ranges and the query nodes skip most of
// them for a narrow filter.
func TestClusteringCompaction(t *testing.T) {
	dir := t.TempDir()
	configure := func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.MaxSegmentRows = 1000 // clustering cuts at 800 rows
	}
	srv := startServerWith(t, dir, configure)
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "clustered"
	createClusteringCollection(t, ctx, cli, name)
	r := rand.New(rand.NewPCG(11, 3))
	model := map[int64]int64{}
	for b := range 4 {
		var ids, ks []int64
		for i := range 900 {
			id := int64(b*900 + i)
			k := r.Int64N(100000)
			ids, ks = append(ids, id), append(ks, k)
			model[id] = k
		}
		writeKeyed(t, ctx, cli, name, r, ids, ks, false)
		flush(t, ctx, cli, name)
	}
	var gone []int64
	for id := range model {
		if id%7 == 0 {
			gone = append(gone, id)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", gone))
	must(t, err)
	for _, id := range gone {
		delete(model, id)
	}
	var up, upKs []int64
	for id := int64(1); id < 3600; id += 97 {
		if _, ok := model[id]; ok {
			up, upKs = append(up, id), append(upKs, r.Int64N(100000))
			model[id] = upKs[len(upKs)-1]
		}
	}
	writeKeyed(t, ctx, cli, name, r, up, upKs, true)
	flush(t, ctx, cli, name)
	checkKeyFilters(t, ctx, cli, name, r, model, "before clustering")

	before, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	id, err := cli.Compact(ctx, clusteringCompact{name})
	must(t, err)
	if id <= 0 {
		t.Fatalf("clustering compaction id %d", id)
	}
	eventually(t, 90*time.Second, "clustering compaction completes", func() (bool, string) {
		st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
		must(t, err)
		return st == entity.CompactionStateCompleted, fmt.Sprint(st)
	})
	var oldIDs []int64
	for _, s := range before {
		oldIDs = append(oldIDs, s.ID)
	}
	// The new segments serve once their indexes are built: wait until no
	// source is loaded any more, checking the answers all along.
	eventually(t, 90*time.Second, "clustered segments serve", func() (bool, string) {
		checkKeyFilters(t, ctx, cli, name, r, model, "during handoff")
		segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
		must(t, err)
		var rows int64
		for _, s := range segs {
			if slices.Contains(oldIDs, s.ID) {
				return false, fmt.Sprintf("source %d still flushed", s.ID)
			}
			rows += s.NumRows
		}
		if rows != int64(len(model)) || len(segs) < len(model)/1000 {
			return false, fmt.Sprintf("%d segments, %d rows (model %d)", len(segs), rows, len(model))
		}
		p0, _ := pruneCounts(t, srv, "scalar")
		countAll(t, ctx, cli, name) // no filter: nothing to prune
		_, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("k == 77777").WithOutputFields("id").
			WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		p1, _ := pruneCounts(t, srv, "scalar")
		// One segment at most holds 77777: the others are skipped.
		return p1-p0 >= int64(len(segs)-1), fmt.Sprintf("%d of %d segments pruned", p1-p0, len(segs))
	})
	checkKeyFilters(t, ctx, cli, name, r, model, "after clustering")
	checkModelKeys(t, ctx, cli, name, model)

	srv.stop()
	srv = startServerWith(t, dir, configure)
	cli = srv.client(t)
	checkKeyFilters(t, ctx, cli, name, r, model, "after restart")

	// A collection without a clustering key has nothing to cluster: -1.
	const plain = "notclustered"
	createCompactionCollection(t, ctx, cli, plain, nil)
	writeRows(t, ctx, cli, plain, r, []int64{1, 2}, []int64{1, 2}, false)
	flush(t, ctx, cli, plain)
	if id, err := cli.Compact(ctx, clusteringCompact{plain}); err != nil || id != -1 {
		t.Fatalf("clustering a collection without a clustering key: %d %v", id, err)
	}
}

func checkModelKeys(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, model map[int64]int64) {
	t.Helper()
	if n := countAll(t, ctx, cli, name); n != int64(len(model)) {
		t.Fatalf("count(*) %d, model %d", n, len(model))
	}
	if n := rowCount(t, ctx, cli, name); n != int64(len(model)) {
		t.Fatalf("row_count %d, model %d", n, len(model))
	}
}

// TestRESTClusteringCompaction: REST compact with "isClustering" runs a
// clustering compaction.
func TestRESTClusteringCompaction(t *testing.T) {
	srv := startServerWith(t, "", func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.Compaction.Auto = false
		cfg.Data.MaxSegmentRows = 10
	})
	cli := srv.client(t)
	ctx := testContext(t)
	base := "http://" + srv.addr
	const name = "restclustered"
	createClusteringCollection(t, ctx, cli, name)
	r := rand.New(rand.NewPCG(5, 5))
	model := map[int64]int64{}
	for b := range 2 {
		var ids, ks []int64
		for i := range 10 {
			id := int64(b*10 + i)
			ids, ks = append(ids, id), append(ks, int64((i*7+b)%20))
			model[id] = ks[len(ks)-1]
		}
		writeKeyed(t, ctx, cli, name, r, ids, ks, false)
		flush(t, ctx, cli, name)
	}
	data := restOK(t, base, "/collections/compact", map[string]any{"collectionName": name, "isClustering": true}).(map[string]any)
	id := restInt(t, data["compactionID"])
	if id <= 0 {
		t.Fatalf("compaction id %d", id)
	}
	eventually(t, 30*time.Second, "REST clustering compaction completes", func() (bool, string) {
		st := restOK(t, base, "/collections/get_compaction_state", map[string]any{"jobID": id}).(map[string]any)
		return st["state"] == "Completed" && restInt(t, st["completedPlanNumber"]) == 1, fmt.Sprint(st)
	})
	segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	// 20 rows cut at 8 (rows of one key kept together): 3 segments.
	if len(segs) != 3 {
		t.Fatalf("segments after clustering 20 rows: %+v", segs)
	}
	// Whether the clustered segments serve yet or not, every row is
	// there once.
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("k >= 0").WithOutputFields("id", "k").
		WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	gotIDs, gotKs := int64Col(t, rs, "id"), int64Col(t, rs, "k")
	got := map[int64]int64{}
	for i, id := range gotIDs {
		got[id] = gotKs[i]
	}
	if len(got) != len(model) || len(gotIDs) != len(model) {
		t.Fatalf("%d rows (%d distinct), model %d", len(gotIDs), len(got), len(model))
	}
	for id, k := range model {
		if got[id] != k {
			t.Fatalf("id %d: k %d, model %d", id, got[id], k)
		}
	}
}

// TestClusteringRandomized runs random inserts, upserts (with a new key),
// deletes, flushes, mix and clustering compactions and restarts on a
// collection with a clustering key, with the automatic triggers and
// garbage collection running: every filter on the key answers as the
// model does after every step.
func TestClusteringRandomized(t *testing.T) {
	dir := t.TempDir()
	configure := func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.MaxSegmentRows = 300
	}
	srv := startServerWith(t, dir, configure)
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "clusterrand"
	createClusteringCollection(t, ctx, cli, name)
	r := rand.New(rand.NewPCG(21, 8))
	model := map[int64]int64{}
	next := int64(0)
	keys := func() []int64 {
		out := make([]int64, 0, len(model))
		for id := range model {
			out = append(out, id)
		}
		slices.Sort(out)
		return out
	}
	restarts := 0
	for step := range 30 {
		var what string
		switch op := r.IntN(12); {
		case op < 3:
			n := 100 + r.IntN(300)
			var ids, ks []int64
			for range n {
				ids, ks = append(ids, next), append(ks, r.Int64N(100000))
				model[next] = ks[len(ks)-1]
				next++
			}
			writeKeyed(t, ctx, cli, name, r, ids, ks, false)
			what = fmt.Sprintf("insert %d", n)
		case op < 5 && len(model) > 0:
			ks := keys()
			var ids, nk []int64
			seen := map[int64]bool{}
			for range 1 + r.IntN(40) {
				id := ks[r.IntN(len(ks))]
				if !seen[id] {
					seen[id] = true
					ids, nk = append(ids, id), append(nk, r.Int64N(100000))
					model[id] = nk[len(nk)-1]
				}
			}
			writeKeyed(t, ctx, cli, name, r, ids, nk, true)
			what = fmt.Sprintf("upsert %d", len(ids))
		case op < 7 && len(model) > 0:
			var ids []int64
			for _, id := range keys() {
				if r.IntN(4) == 0 {
					ids = append(ids, id)
					delete(model, id)
				}
			}
			if len(ids) > 0 {
				_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", ids))
				must(t, err)
			}
			what = fmt.Sprintf("delete %d", len(ids))
		case op < 8:
			flush(t, ctx, cli, name)
			what = "flush"
		case op < 9:
			compactAndWait(t, ctx, cli, name)
			what = "compact"
		case op < 11:
			id, err := cli.Compact(ctx, clusteringCompact{name})
			must(t, err)
			if id > 0 {
				eventually(t, 60*time.Second, "clustering compaction completes", func() (bool, string) {
					st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
					must(t, err)
					return st == entity.CompactionStateCompleted, fmt.Sprint(st)
				})
			}
			what = "cluster"
		default:
			if restarts >= 2 {
				continue
			}
			restarts++
			srv.stop()
			srv = startServerWith(t, dir, configure)
			cli = srv.client(t)
			what = "restart"
		}
		checkKeyFilters(t, ctx, cli, name, r, model, fmt.Sprintf("step %d (%s)", step, what))
	}
	flush(t, ctx, cli, name)
	id, err := cli.Compact(ctx, clusteringCompact{name})
	must(t, err)
	eventually(t, 60*time.Second, "final clustering compaction completes", func() (bool, string) {
		st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
		must(t, err)
		return st == entity.CompactionStateCompleted, fmt.Sprint(st)
	})
	checkKeyFilters(t, ctx, cli, name, r, model, "final")
	eventually(t, 60*time.Second, "row count exact", func() (bool, string) {
		n := rowCount(t, ctx, cli, name)
		return n == int64(len(model)), fmt.Sprintf("row_count %d, model %d", n, len(model))
	})
}

// TestCompactionRestartInTheMiddle stops the server right after starting
// a clustering compaction: after the restart GetCompactionState still
// answers for the job, which completes (its plan had committed, or is run
// again), every read matches the model, and a new clustering compaction
// works.
func TestCompactionRestartInTheMiddle(t *testing.T) {
	dir := t.TempDir()
	configure := func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.Compaction.Auto = false
		cfg.Data.MaxSegmentRows = 2000
	}
	srv := startServerWith(t, dir, configure)
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "restartmid"
	createClusteringCollection(t, ctx, cli, name)
	r := rand.New(rand.NewPCG(31, 4))
	model := map[int64]int64{}
	for b := range 3 {
		var ids, ks []int64
		for i := range 3000 {
			id := int64(b*3000 + i)
			ids, ks = append(ids, id), append(ks, r.Int64N(100000))
			model[id] = ks[len(ks)-1]
		}
		writeKeyed(t, ctx, cli, name, r, ids, ks, false)
		flush(t, ctx, cli, name)
	}
	id, err := cli.Compact(ctx, clusteringCompact{name})
	must(t, err)
	if id <= 0 {
		t.Fatalf("compaction id %d", id)
	}
	srv.stop()
	srv = startServerWith(t, dir, configure)
	cli = srv.client(t)
	eventually(t, 60*time.Second, "the job of before the restart completes", func() (bool, string) {
		st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
		must(t, err)
		return st == entity.CompactionStateCompleted, fmt.Sprint(st)
	})
	checkKeyFilters(t, ctx, cli, name, r, model, "after the restart")
	checkModelKeys(t, ctx, cli, name, model)
	id2, err := cli.Compact(ctx, clusteringCompact{name})
	must(t, err)
	if id2 > 0 {
		eventually(t, 60*time.Second, "clustering compaction after the restart completes", func() (bool, string) {
			st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id2))
			must(t, err)
			return st == entity.CompactionStateCompleted, fmt.Sprint(st)
		})
	}
	checkKeyFilters(t, ctx, cli, name, r, model, "after the second clustering")
}
