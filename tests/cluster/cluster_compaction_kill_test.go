//go:build linux

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
)

// shortGC makes the data coordinator collect garbage every second, with
// windows of a few seconds (the keys are Milvus's dataCoord.gc.*; the
// roles inherit the test's environment).
func shortGC(t *testing.T, missing, drop int) {
	t.Setenv("DATA_COORD_GC_INTERVAL", "1")
	t.Setenv("DATA_COORD_GC_MISSING_TOLERANCE", strconv.Itoa(missing))
	t.Setenv("DATA_COORD_GC_DROP_TOLERANCE", strconv.Itoa(drop))
}

// bucket opens the deployment's object store as the roles see it.
func bucket(c *cluster, t *testing.T, ctx context.Context) *objstore.S3 {
	t.Helper()
	objs, err := objstore.NewS3(ctx, objstore.S3Config{Endpoint: c.S3.Endpoint, Region: c.S3.Region, Bucket: "milvago",
		AccessKey: c.S3.AccessKey, SecretKey: c.S3.SecretKey, RootPath: "milvago", CreateBucket: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objs.Close() })
	return objs
}

// segmentRecords reads the data coordinator's segment records.
func segmentRecords(t *testing.T, ctx context.Context, store kv.Store) map[int64]model.Segment {
	t.Helper()
	es, err := store.List(ctx, "data/segment/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]model.Segment{}
	for _, e := range es {
		var s model.Segment
		if err := json.Unmarshal(e.Value, &s); err != nil {
			t.Fatalf("%s: %v", e.Key, err)
		}
		out[s.ID] = s
	}
	return out
}

// segmentOf returns the segment ID in a key insert_log|stats_log/{collection}/{partition}/{segment}/...
func segmentOf(key string) int64 {
	parts := strings.Split(key, "/")
	if len(parts) < 4 {
		return 0
	}
	id, _ := strconv.ParseInt(parts[3], 10, 64)
	return id
}

// collectionFiles lists the insert and stats logs of a collection.
func collectionFiles(t *testing.T, ctx context.Context, objs objstore.Store, coll int64) []string {
	t.Helper()
	var out []string
	for _, prefix := range []string{"insert_log/", "stats_log/"} {
		list, err := objs.List(ctx, prefix+strconv.FormatInt(coll, 10)+"/")
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list {
			out = append(out, o.Key)
		}
	}
	return out
}

// audit lists the whole data part of the bucket against the meta store:
// orphans are insert, stats, delta and index files no record refers to;
// missing are files a live segment, delta log or index build names that
// are not in the bucket; dropped counts segment records still kept.
type auditResult struct {
	orphans, missing []string
	dropped          int
	files            int
}

func audit(t *testing.T, ctx context.Context, objs objstore.Store, store kv.Store) auditResult {
	t.Helper()
	var r auditResult
	refs := map[string]bool{}
	live := map[string]bool{}
	segs := segmentRecords(t, ctx, store)
	for _, s := range segs {
		paths := []string{}
		for _, p := range s.Binlogs {
			paths = append(paths, p)
		}
		if s.StatsLog != "" {
			paths = append(paths, s.StatsLog)
		}
		for _, p := range paths {
			refs[p] = true
			if s.State != model.SegmentDropped {
				live[p] = true
			}
		}
		if s.State == model.SegmentDropped {
			r.dropped++
		}
	}
	deltas, err := store.List(ctx, "data/delta/")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range deltas {
		var dl model.DeltaLog
		if err := json.Unmarshal(e.Value, &dl); err != nil {
			t.Fatalf("%s: %v", e.Key, err)
		}
		refs[dl.Path], live[dl.Path] = true, true
	}
	builds, err := store.List(ctx, "index/build/")
	if err != nil {
		t.Fatal(err)
	}
	liveBuilds := map[string]bool{}
	for _, e := range builds {
		var b model.SegmentIndex
		if err := json.Unmarshal(e.Value, &b); err != nil {
			t.Fatalf("%s: %v", e.Key, err)
		}
		liveBuilds[strconv.FormatInt(b.BuildID, 10)] = true
		// A build's file is live while its segment is: the collector may
		// remove a dropped segment's builds and files while this audit
		// reads (records first, then the bucket).
		if s, ok := segs[b.SegmentID]; ok && s.State != model.SegmentDropped && b.File != "" {
			live[b.File] = true
		}
	}
	have := map[string]bool{}
	for _, prefix := range []string{"insert_log/", "stats_log/", "delta_log/", "index_files/"} {
		list, err := objs.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list {
			have[o.Key] = true
			r.files++
			if prefix == "index_files/" {
				if build, _, _ := strings.Cut(strings.TrimPrefix(o.Key, prefix), "/"); !liveBuilds[build] {
					r.orphans = append(r.orphans, o.Key)
				}
				continue
			}
			if !refs[o.Key] {
				r.orphans = append(r.orphans, o.Key)
			}
		}
	}
	for p := range live {
		if !have[p] {
			r.missing = append(r.missing, p)
		}
	}
	slices.Sort(r.orphans)
	slices.Sort(r.missing)
	return r
}

// nodeOf maps the server ID a coordinator log names to the role's name.
func nodeOf(c *cluster, t *testing.T, id string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if strconv.FormatInt(serverID(c.Roles[n], t), 10) == id {
			return n
		}
	}
	t.Fatalf("no role among %v has server ID %s", names, id)
	return ""
}

// bigSchema is a collection of 128-dimensional vectors, one shard: its
// compaction writes one large segment, which takes long enough to kill
// the data node writing it.
func bigCollection(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, vdim, shards int) int64 {
	t.Helper()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(int64(vdim)))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(int32(shards))); err != nil {
		t.Fatalf("create collection %s: %v", name, err)
	}
	if _, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "v", index.NewFlatIndex(entity.L2))); err != nil {
		t.Fatalf("create index: %v", err)
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("load await: %v", err)
	}
	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	if err != nil {
		t.Fatal(err)
	}
	return coll.ID
}

// bigVector is row id's vector: reproducible, so a search for it finds it.
func bigVector(id, vdim int) []float32 {
	r := rand.New(rand.NewPCG(uint64(id), 99))
	v := make([]float32, vdim)
	for j := range v {
		v[j] = r.Float32()
	}
	return v
}

func insertBig(ctx context.Context, cli *milvusclient.Client, name string, from, n, vdim int) error {
	ids := make([]int64, n)
	tags := make([]string, n)
	vecs := make([][]float32, n)
	for i := range ids {
		ids[i], tags[i], vecs[i] = int64(from+i), "t"+strconv.Itoa((from+i)%7), bigVector(from+i, vdim)
	}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
		WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", vdim, vecs))
	return err
}

// checkRowsByPK queries ids: each present one once with its tag, the
// absent ones not at all.
func checkRowsByPK(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, ids []int64, present func(int64) bool) {
	t.Helper()
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(idsFilter(ids)).WithOutputFields("tag").
		WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("query by id: %v", err)
	}
	got := map[int64]int{}
	for i := range rs.ResultCount {
		id, _ := rs.GetColumn("id").GetAsInt64(i)
		tag, _ := rs.GetColumn("tag").GetAsString(i)
		if want := "t" + strconv.FormatInt(id%7, 10); tag != want {
			t.Fatalf("row %d: tag %q, want %q", id, tag, want)
		}
		got[id]++
	}
	for _, id := range ids {
		want := 0
		if present(id) {
			want = 1
		}
		if got[id] != want {
			t.Fatalf("row %d found %d times, want %d", id, got[id], want)
		}
	}
}

// TestClusterCompactionNodeKilled kills (SIGKILL) the data node running a
// compaction while it writes the compacted segment: the data coordinator
// sends the compaction to the other data node, which redoes it under the
// same target segment. The compaction completes, the target is registered
// once (count(*) exact, every row found by its primary key once, none of
// the deleted ones), and garbage collection, run with short windows,
// deletes the sources' files and the killed attempt's partial files:
// afterwards every file in the bucket is one a record refers to, and
// every file a record names is there.
func TestClusterCompactionNodeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	// Only the manual compaction runs (no trigger racing it).
	t.Setenv("DATA_COORD_COMPACTION_ENABLE_AUTO_COMPACTION", "false")
	shortGC(t, 3, 2)
	c, _ := startClusterWith(t, clusterOpts{logLevel: "debug", storageNodes: 1},
		"mixcoord", "streamingnode", "datanode-1:datanode", "datanode-2:datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	store := meta(c, t, ctx)
	objs := bucket(c, t, ctx)
	mixLog := c.Roles["mixcoord"].LogPath()

	const name, vdim, segs, per = "compactkill", 128, 8, 8000
	coll := bigCollection(t, ctx, cli, name, vdim, 1)
	for s := range segs {
		if err := insertBig(ctx, cli, name, s*per, per, vdim); err != nil {
			t.Fatalf("insert: %v", err)
		}
		flushAwait(t, ctx, cli, name)
	}
	const total = segs * per
	deleted := func(id int64) bool { return id%10 == 3 }
	var gone []int64
	for id := range int64(total) {
		if deleted(id) {
			gone = append(gone, id)
		}
	}
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", gone)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	flushAwait(t, ctx, cli, name) // the deletes in delta logs: the compaction drops those rows
	live := int64(total - len(gone))
	if got := count(t, ctx, cli, name, ""); got != live {
		t.Fatalf("count(*) before compaction %d, want %d", got, live)
	}
	before := segmentRecords(t, ctx, store)

	jobID, err := cli.Compact(ctx, milvusclient.NewCompactOption(name))
	if err != nil {
		t.Fatalf("compact: %v", err)
	}
	// Kill the data node as soon as the compacted segment's first file is
	// in the bucket: it is mid-write.
	var target int64
	var dispatchedTo string
	for deadline := time.Now().Add(2 * time.Minute); target == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the compaction wrote no file in 2 minutes")
		}
		for _, f := range collectionFiles(t, ctx, objs, coll) {
			if _, known := before[segmentOf(f)]; !known {
				target = segmentOf(f)
				break
			}
		}
	}
	m := logMatches(t, mixLog, `msg="compaction dispatched".* node=(\d+)`)
	if len(m) == 0 {
		t.Fatal("no compaction dispatched in the coordinator's log")
	}
	dispatchedTo = nodeOf(c, t, m[len(m)-1], "datanode-1", "datanode-2")
	c.Roles[dispatchedTo].Kill()
	killed := time.Now()
	var partial []string
	for _, f := range collectionFiles(t, ctx, objs, coll) {
		if segmentOf(f) == target {
			partial = append(partial, f)
		}
	}
	t.Logf("killed %s while it wrote segment %d (%d files in the bucket)", dispatchedTo, target, len(partial))

	deadline := time.Now().Add(3 * time.Minute)
	for {
		st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(jobID))
		if err != nil {
			t.Fatalf("compaction state: %v", err)
		}
		if st == entity.CompactionStateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("compaction %d still %v", jobID, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	completed := time.Since(killed)
	retries := logMatches(t, mixLog, `msg="compaction failed on a data node; sending it to another"`)
	committed := logMatches(t, mixLog, `msg="compaction committed".* target=(\d+)`)
	t.Logf("compaction %d completed %v after the kill; retries %d; committed targets %v", jobID, completed.Round(time.Millisecond), len(retries), committed)
	if len(retries) == 0 {
		t.Fatal("the compaction was not sent to another data node (it finished before the kill?)")
	}
	if len(committed) != 1 || committed[0] != strconv.FormatInt(target, 10) {
		t.Fatalf("committed targets %v, want [%d] once", committed, target)
	}

	// One segment, holding every live row once.
	after := segmentRecords(t, ctx, store)
	seg, ok := after[target]
	if !ok || seg.State != model.SegmentFlushed || seg.NumRows != live {
		t.Fatalf("target %d: %+v, want flushed with %d rows", target, seg, live)
	}
	for id := range before {
		if s, ok := after[id]; ok && s.State != model.SegmentDropped {
			t.Fatalf("source segment %d is still %v", id, s.State)
		}
	}
	eventually(t, 2*time.Minute, "the compacted segment to serve alone", func() error {
		infos, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
		if err != nil {
			return err
		}
		var rows int64
		for _, s := range infos {
			rows += s.NumRows
		}
		if len(infos) != 1 || rows != live {
			return fmt.Errorf("%d segments holding %d rows, want 1 holding %d", len(infos), rows, live)
		}
		if got := count(t, ctx, cli, name, ""); got != live {
			t.Fatalf("count(*) %d, want %d", got, live)
		}
		return nil
	})
	sample := []int64{0, 1, 3, 13, 4000, 7999, 8003, 31_337, 42_013, 63_999, total - 7}
	checkRowsByPK(t, ctx, cli, name, sample, func(id int64) bool { return !deleted(id) })
	for _, id := range []int{5, 40_001} {
		if err := searchFinds(ctx, cli, name, bigVector(id, vdim), int64(id)); err != nil {
			t.Fatalf("search for row %d: %v", id, err)
		}
	}

	// Garbage collection: the sources go after the drop tolerance, the
	// killed attempt's files after the missing tolerance; nothing live.
	// (A source's record goes once its channel's checkpoint passed it: a
	// later insert and flush move the checkpoint.)
	if err := insertBig(ctx, cli, name, total, 10, vdim); err != nil {
		t.Fatal(err)
	}
	flushAwait(t, ctx, cli, name)
	var last auditResult
	eventually(t, 90*time.Second, "garbage collection to leave only referenced files", func() error {
		last = audit(t, ctx, objs, store)
		if len(last.missing) > 0 {
			t.Fatalf("files of live records deleted: %v", last.missing)
		}
		if len(last.orphans) > 0 || last.dropped > 0 {
			return fmt.Errorf("%d orphan files (%v), %d dropped segments kept", len(last.orphans), last.orphans, last.dropped)
		}
		return nil
	})
	left := 0
	now := map[string]bool{}
	for _, f := range collectionFiles(t, ctx, objs, coll) {
		now[f] = true
	}
	final := segmentRecords(t, ctx, store)[target]
	for _, f := range partial {
		if now[f] && !slices.Contains(append(mapValues(final.Binlogs), final.StatsLog), f) {
			left++
		}
	}
	if left > 0 {
		t.Fatalf("%d files of the killed attempt left", left)
	}
	t.Logf("bucket after GC: %d data files, all referenced; the killed attempt's %d files gone", last.files, len(partial))
	if got := count(t, ctx, cli, name, ""); got != live+10 {
		t.Fatalf("count(*) after GC %d, want %d", got, live+10)
	}
	checkRowsByPK(t, ctx, cli, name, sample, func(id int64) bool { return !deleted(id) })
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
