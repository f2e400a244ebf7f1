package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/datacoord"
)

// fastCompaction runs the compaction triggers and garbage collection
// every few hundred milliseconds, with short safety windows, so that a
// test sees space come back.
func fastCompaction(cfg *app.StandaloneConfig) {
	cfg.Data.Compaction = datacoord.DefaultCompaction()
	cfg.Data.Compaction.TriggerInterval = 300 * time.Millisecond
	cfg.Data.GC = datacoord.GCConfig{Enable: true, Interval: 300 * time.Millisecond, DropTolerance: 500 * time.Millisecond,
		MissingTolerance: 3 * time.Second}
}

const compactDim = 8

func createCompactionCollection(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, props map[string]string) {
	t.Helper()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeInt64)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(compactDim))
	opt := milvusclient.NewCreateCollectionOption(name, schema).WithConsistencyLevel(entity.ClStrong)
	for k, v := range props {
		opt.WithProperty(k, v)
	}
	must(t, cli.CreateCollection(ctx, opt))
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewHNSWIndex(entity.L2, 8, 32)))
	must(t, err)
	must(t, it.Await(ctx))
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	must(t, err)
	must(t, lt.Await(ctx))
}

func writeRows(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, r *rand.Rand, ids, vs []int64, upsert bool) {
	t.Helper()
	opt := milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithInt64Column("v", vs).
		WithFloatVectorColumn("vec", compactDim, randomVectors(r, len(ids), compactDim))
	var err error
	if upsert {
		_, err = cli.Upsert(ctx, opt)
	} else {
		_, err = cli.Insert(ctx, opt)
	}
	must(t, err)
}

// readAll returns every live row's id -> v at Strong consistency.
func readAll(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) map[int64]int64 {
	t.Helper()
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("id", "v").
		WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	out := map[int64]int64{}
	ids, vs := rs.GetColumn("id"), rs.GetColumn("v")
	for i := range rs.ResultCount {
		id, _ := ids.GetAsInt64(i)
		v, _ := vs.GetAsInt64(i)
		if _, dup := out[id]; dup {
			t.Fatalf("id %d returned twice", id)
		}
		out[id] = v
	}
	return out
}

func countAll(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) int64 {
	t.Helper()
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	n, err := rs.GetColumn("count(*)").GetAsInt64(0)
	must(t, err)
	return n
}

func rowCount(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) int64 {
	t.Helper()
	stats, err := cli.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption(name))
	must(t, err)
	n, err := strconv.ParseInt(stats["row_count"], 10, 64)
	must(t, err)
	return n
}

func checkModel(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, model map[int64]int64, when string) {
	t.Helper()
	got := readAll(t, ctx, cli, name)
	if len(got) != len(model) {
		t.Fatalf("%s: %d rows, model has %d", when, len(got), len(model))
	}
	for id, v := range model {
		if g, ok := got[id]; !ok || g != v {
			t.Fatalf("%s: id %d: got %d (present %v), want %d", when, id, g, ok, v)
		}
	}
	// count(*) is not deduplicated by primary key, queries are: a count
	// above the query's distinct keys means two versions of some rows
	// were served (issue 12), one below means rows were missed.
	if n := countAll(t, ctx, cli, name); n != int64(len(got)) || n != int64(len(model)) {
		t.Fatalf("%s: count(*) %d, query returned %d distinct keys, model has %d", when, n, len(got), len(model))
	}
}

// compactAndWait runs a manual compaction and waits for it.
func compactAndWait(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) int64 {
	t.Helper()
	id, err := cli.Compact(ctx, milvusclient.NewCompactOption(name))
	must(t, err)
	eventually(t, 60*time.Second, "compaction completes", func() (bool, string) {
		st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
		must(t, err)
		return st == entity.CompactionStateCompleted, fmt.Sprint(st)
	})
	return id
}

// segmentDirs lists the segment directories under insert_log of a
// collection, and the index build directories, in the objects directory
// (server.objectsDir).
func segmentDirs(t *testing.T, objects string, collID int64) (segs []int64, builds int) {
	t.Helper()
	root := filepath.Join(objects, "insert_log", strconv.FormatInt(collID, 10))
	readDir := func(dir string) []os.DirEntry {
		es, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			t.Logf("list %s: %v", dir, err)
		}
		return es
	}
	parts := readDir(root)
	for _, p := range parts {
		ss := readDir(filepath.Join(root, p.Name()))
		for _, s := range ss {
			id, _ := strconv.ParseInt(s.Name(), 10, 64)
			segs = append(segs, id)
		}
	}
	bs, _ := os.ReadDir(filepath.Join(objects, "index_files"))
	slices.Sort(segs)
	return segs, len(bs)
}

// settled waits until the files on disk are exactly those of the
// collection's flushed segments (one index build each) and row_count is
// exact.
func settled(t *testing.T, ctx context.Context, cli *milvusclient.Client, objects, name string, want int) {
	t.Helper()
	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	eventually(t, 90*time.Second, "files and row count settle", func() (bool, string) {
		segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
		must(t, err)
		var live []int64
		var rows int64
		for _, s := range segs {
			live = append(live, s.ID)
			rows += s.NumRows
		}
		slices.Sort(live)
		onDisk, builds := segmentDirs(t, objects, coll.ID)
		n := rowCount(t, ctx, cli, name)
		ok := slices.Equal(live, onDisk) && builds == len(live) && n == int64(want)
		return ok, fmt.Sprintf("meta segments %v, on disk %v, index builds %d, row_count %d (want %d), segment rows %d",
			live, onDisk, builds, n, want, rows)
	})
}

// TestCompactionDeletesAndGC deletes 90% of three flushed segments: the
// row count becomes exact, compaction rewrites the segments without the
// deleted rows, the old files and index files are collected, and every
// read sees exactly the live rows, before and after a restart.
func TestCompactionDeletesAndGC(t *testing.T) {
	dir := t.TempDir()
	srv := startServerWith(t, dir, fastCompaction)
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "compact90"
	createCompactionCollection(t, ctx, cli, name, nil)
	r := rand.New(rand.NewPCG(7, 7))
	model := map[int64]int64{}
	for b := range 3 {
		var ids, vs []int64
		for i := range 1000 {
			id := int64(b*1000 + i)
			ids, vs = append(ids, id), append(vs, id*3)
			model[id] = id * 3
		}
		writeRows(t, ctx, cli, name, r, ids, vs, false)
		flush(t, ctx, cli, name)
	}
	var gone []int64
	for id := range model {
		if id%10 != 0 {
			gone = append(gone, id)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", gone))
	must(t, err)
	for _, id := range gone {
		delete(model, id)
	}
	checkModel(t, ctx, cli, name, model, "after delete")
	// No Flush: the deletes reach a delete log on their own (no segment
	// is growing), the triggers count and compact them.
	settled(t, ctx, cli, srv.objectsDir(), name, len(model))
	checkModel(t, ctx, cli, name, model, "after compaction")
	// A manual compaction with nothing left to do answers -1, Completed.
	id, err := cli.Compact(ctx, milvusclient.NewCompactOption(name))
	must(t, err)
	st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
	must(t, err)
	if st != entity.CompactionStateCompleted {
		t.Fatalf("state of compaction %d: %v", id, st)
	}
	res, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 20, []entity.Vector{entity.FloatVector(randomVectors(r, 1, compactDim)[0])}).
		WithConsistencyLevel(entity.ClStrong).WithANNSField("vec"))
	must(t, err)
	for i := range res[0].ResultCount {
		id, _ := res[0].IDs.GetAsInt64(i)
		if id%10 != 0 {
			t.Fatalf("search returned deleted id %d", id)
		}
	}
	if res[0].ResultCount != 20 {
		t.Fatalf("search returned %d hits", res[0].ResultCount)
	}
	srv.stop()
	srv = startServerWith(t, dir, fastCompaction)
	cli = srv.client(t)
	checkModel(t, ctx, cli, name, model, "after restart")
	settled(t, ctx, cli, srv.objectsDir(), name, len(model))
}

// TestCompactionRandomized runs random inserts, upserts, deletes, flushes,
// manual compactions and restarts against a model, with the automatic
// triggers and garbage collection running, checking every read; at the end
// the files on disk are exactly those of the live segments.
func TestCompactionRandomized(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := t.TempDir()
			srv := startServerWith(t, dir, fastCompaction)
			cli := srv.client(t)
			ctx := testContext(t)
			const name = "compactrand"
			createCompactionCollection(t, ctx, cli, name, nil)
			r := rand.New(rand.NewPCG(seed, 99))
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
			for step := range 50 {
				op := r.IntN(10)
				var what string
				switch {
				case op < 3:
					n := 50 + r.IntN(150)
					var ids, vs []int64
					for range n {
						ids, vs = append(ids, next), append(vs, int64(step))
						model[next] = int64(step)
						next++
					}
					writeRows(t, ctx, cli, name, r, ids, vs, false)
					what = fmt.Sprintf("insert %d", n)
				case op < 5 && len(model) > 0:
					ks := keys()
					var ids, vs []int64
					seen := map[int64]bool{}
					for range 1 + r.IntN(40) {
						id := ks[r.IntN(len(ks))]
						if seen[id] {
							continue
						}
						seen[id] = true
						ids, vs = append(ids, id), append(vs, int64(1000+step))
						model[id] = int64(1000 + step)
					}
					writeRows(t, ctx, cli, name, r, ids, vs, true)
					what = fmt.Sprintf("upsert %d", len(ids))
				case op < 7 && len(model) > 0:
					ks := keys()
					var ids []int64
					for _, id := range ks {
						if r.IntN(3) == 0 {
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
				default:
					if restarts >= 2 {
						continue
					}
					restarts++
					srv.stop()
					srv = startServerWith(t, dir, fastCompaction)
					cli = srv.client(t)
					what = "restart"
				}
				checkModel(t, ctx, cli, name, model, fmt.Sprintf("step %d (%s)", step, what))
			}
			flush(t, ctx, cli, name)
			compactAndWait(t, ctx, cli, name)
			checkModel(t, ctx, cli, name, model, "final")
			settled(t, ctx, cli, srv.objectsDir(), name, len(model))
			checkModel(t, ctx, cli, name, model, "settled")
		})
	}
}

// TestCollectionTTL hides expired rows at once and compaction removes
// them.
func TestCollectionTTL(t *testing.T) {
	dir := t.TempDir()
	srv := startServerWith(t, dir, fastCompaction)
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "ttl"
	createCompactionCollection(t, ctx, cli, name, map[string]string{"collection.ttl.seconds": "3"})
	r := rand.New(rand.NewPCG(3, 3))
	writeRows(t, ctx, cli, name, r, []int64{1, 2, 3}, []int64{1, 2, 3}, false)
	flush(t, ctx, cli, name)
	if n := countAll(t, ctx, cli, name); n != 3 {
		t.Fatalf("count before expiry: %d", n)
	}
	time.Sleep(3500 * time.Millisecond)
	writeRows(t, ctx, cli, name, r, []int64{4}, []int64{4}, false)
	// A row expires TTL after its timestamp, and in the 3 s after a
	// restart (a cluster test restarts every role for its options) the
	// timestamp oracle resumes above the window it persisted, up to 3 s
	// ahead of the clock the read's TTL is evaluated at: rows written then
	// expire up to 3 s late (as in Milvus, whose oracle persists the same
	// window). Seen failing once so, in a CI run of the cluster pass.
	eventually(t, 4*time.Second, "rows 1-3 expired", func() (bool, string) {
		got := readAll(t, ctx, cli, name)
		return len(got) == 1 && got[4] == 4, fmt.Sprintf("rows %v, want only id 4", got)
	})
	flush(t, ctx, cli, name)
	// The expired segment goes away on its own (every row expired).
	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	eventually(t, 60*time.Second, "expired segment compacted and collected", func() (bool, string) {
		segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
		must(t, err)
		var rows int64
		for _, s := range segs {
			rows += s.NumRows
		}
		onDisk, _ := segmentDirs(t, srv.objectsDir(), coll.ID)
		return rows <= 1 && len(onDisk) == len(segs), fmt.Sprintf("segments %d with %d rows, %d on disk", len(segs), rows, len(onDisk))
	})
}

// TestRESTCompaction drives compaction through RESTful API v2's
// collections/compact and collections/get_compaction_state.
func TestRESTCompaction(t *testing.T) {
	srv := startServerWith(t, "", func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.Compaction.Auto = false // the manual job does the work
	})
	cli := srv.client(t)
	ctx := testContext(t)
	base := "http://" + srv.addr
	const name = "restcompact"
	createCompactionCollection(t, ctx, cli, name, nil)
	r := rand.New(rand.NewPCG(5, 5))
	for b := range 2 {
		ids := []int64{int64(2 * b), int64(2*b + 1)}
		writeRows(t, ctx, cli, name, r, ids, ids, false)
		flush(t, ctx, cli, name)
	}
	data := restOK(t, base, "/collections/compact", map[string]any{"collectionName": name}).(map[string]any)
	id := restInt(t, data["compactionID"])
	if id <= 0 {
		t.Fatalf("compaction id %d", id)
	}
	eventually(t, 30*time.Second, "REST compaction completes", func() (bool, string) {
		st := restOK(t, base, "/collections/get_compaction_state", map[string]any{"jobID": id}).(map[string]any)
		return st["state"] == "Completed" && restInt(t, st["completedPlanNumber"]) == 1, fmt.Sprint(st)
	})
	segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	if len(segs) != 1 || segs[0].NumRows != 4 {
		t.Fatalf("segments after merging two: %+v", segs)
	}
	restWantCode(t, base, "/collections/compact", map[string]any{"collectionName": "nope"}, 100)
}

// TestCompactionHandoffNoGap reads without pause while segments are
// compacted and the result is handed off: no read misses a row or sees
// one twice.
func TestCompactionHandoffNoGap(t *testing.T) {
	srv := startServerWith(t, "", func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.Compaction.Auto = false
	})
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "nogap"
	createCompactionCollection(t, ctx, cli, name, nil)
	r := rand.New(rand.NewPCG(8, 8))
	model := map[int64]int64{}
	for b := range 3 {
		var ids []int64
		for i := range 500 {
			id := int64(b*500 + i)
			ids = append(ids, id)
			model[id] = id
		}
		writeRows(t, ctx, cli, name, r, ids, ids, false)
		flush(t, ctx, cli, name)
	}
	var gone []int64
	for id := range int64(1500) {
		if id%7 == 0 {
			gone = append(gone, id)
			delete(model, id)
		}
	}
	_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", gone))
	must(t, err)
	stop := make(chan struct{})
	errc := make(chan error, 1)
	reads := 0
	go func() {
		defer close(errc)
		for {
			select {
			case <-stop:
				return
			default:
			}
			rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("id").
				WithConsistencyLevel(entity.ClStrong))
			if err != nil {
				errc <- err
				return
			}
			seen := map[int64]bool{}
			col := rs.GetColumn("id")
			for i := range rs.ResultCount {
				id, _ := col.GetAsInt64(i)
				if seen[id] {
					errc <- fmt.Errorf("read %d: id %d twice", reads, id)
					return
				}
				seen[id] = true
			}
			if len(seen) != len(model) {
				errc <- fmt.Errorf("read %d: %d rows, want %d", reads, len(seen), len(model))
				return
			}
			reads++
		}
	}()
	// The deletes reach a delete log a moment after the call: a
	// compaction that ran before leaves them to the next one.
	eventually(t, 60*time.Second, "compacted segment served", func() (bool, string) {
		compactAndWait(t, ctx, cli, name)
		segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
		must(t, err)
		var desc []string
		for _, s := range segs {
			desc = append(desc, fmt.Sprintf("%d:%d rows", s.ID, s.NumRows))
		}
		return len(segs) == 1 && segs[0].NumRows == int64(len(model)), fmt.Sprint(desc)
	})
	time.Sleep(time.Second) // reads after the handoff
	close(stop)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if reads < 5 {
		t.Fatalf("only %d reads", reads)
	}
	t.Logf("%d reads during compaction and handoff", reads)
	checkModel(t, ctx, cli, name, model, "after handoff")
}

// TestCollectionTTLAltered sets a TTL on a loaded collection: reads hide
// the expired rows at once.
func TestCollectionTTLAltered(t *testing.T) {
	srv := startServerWith(t, "", fastCompaction)
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "ttlalter"
	createCompactionCollection(t, ctx, cli, name, nil)
	r := rand.New(rand.NewPCG(4, 4))
	writeRows(t, ctx, cli, name, r, []int64{1, 2}, []int64{1, 2}, false)
	time.Sleep(4 * time.Second)
	writeRows(t, ctx, cli, name, r, []int64{3}, []int64{3}, false)
	must(t, cli.AlterCollectionProperties(ctx, milvusclient.NewAlterCollectionPropertiesOption(name).WithProperty("collection.ttl.seconds", 3)))
	if got := readAll(t, ctx, cli, name); len(got) != 1 || got[3] != 3 {
		t.Fatalf("rows with a 3 s TTL: %v, want only id 3", got)
	}
	must(t, cli.DropCollectionProperties(ctx, milvusclient.NewDropCollectionPropertiesOption(name, "collection.ttl.seconds")))
	if n := countAll(t, ctx, cli, name); n != 3 {
		t.Fatalf("count without TTL: %d", n)
	}
}

// TestCompactionStateWithPlans reports each plan's sources and target
// through GetCompactionStateWithPlans, and an unknown job as Completed.
func TestCompactionStateWithPlans(t *testing.T) {
	srv := startServerWith(t, "", func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.Compaction.Auto = false
	})
	cli := srv.client(t)
	raw := rawService(t, srv)
	ctx := testContext(t)
	const name = "withplans"
	createCompactionCollection(t, ctx, cli, name, nil)
	r := rand.New(rand.NewPCG(6, 6))
	var sources []int64
	for b := range 2 {
		ids := []int64{int64(2 * b), int64(2*b + 1)}
		writeRows(t, ctx, cli, name, r, ids, ids, false)
		flush(t, ctx, cli, name)
	}
	segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	for _, s := range segs {
		sources = append(sources, s.ID)
	}
	slices.Sort(sources)
	resp, err := raw.ManualCompaction(ctx, &milvuspb.ManualCompactionRequest{CollectionName: name})
	must(t, err)
	if resp.GetStatus().GetCode() != 0 || resp.GetCompactionPlanCount() != 1 {
		t.Fatalf("manual compaction: %v", resp)
	}
	var plans *milvuspb.GetCompactionPlansResponse
	eventually(t, 30*time.Second, "plans complete", func() (bool, string) {
		plans, err = raw.GetCompactionStateWithPlans(ctx, &milvuspb.GetCompactionPlansRequest{CompactionID: resp.GetCompactionID()})
		must(t, err)
		return plans.GetState() == commonpb.CompactionState_Completed, plans.String()
	})
	mi := plans.GetMergeInfos()
	if len(mi) != 1 || !slices.Equal(mi[0].GetSources(), sources) || mi[0].GetTarget() == 0 {
		t.Fatalf("merge infos %v, want sources %v", mi, sources)
	}
	st, err := raw.GetCompactionState(ctx, &milvuspb.GetCompactionStateRequest{CompactionID: 12345})
	must(t, err)
	if st.GetState() != commonpb.CompactionState_Completed || st.GetExecutingPlanNo() != 0 {
		t.Fatalf("unknown job: %v", st)
	}
	bad, err := raw.ManualCompaction(ctx, &milvuspb.ManualCompactionRequest{CollectionName: "nope"})
	must(t, err)
	if bad.GetStatus().GetCode() != 100 {
		t.Fatalf("compaction of a missing collection: %v", bad.GetStatus())
	}
}
