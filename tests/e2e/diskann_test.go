package e2e

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// DISKANN builds through the SDK with the server's DiskIndex build parameters,
// takes search_list (refusing one below topk with knowhere's text) and
// finds stored vectors first.
//
// Each step has its own bound (diskannStep) instead of testContext's
// 2 minutes for the whole test: the insert, flush and first of then three
// index builds of 6,000 rows alone took 134 s under -race on the loaded
// 2-core machine (2026-12-06, testContext ran out in the first Await);
// what the bounds measure is each build, load and search of Milvago.
func TestDISKANN(t *testing.T) {
	standaloneOnly(t, "checks the in-process server's memory mappings of its index files (/proc/self/smaps)")
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := diskannStep(t, time.Minute)
	const name, dim, n = "diskann", 16, 6000 // above the brute-force cut-off, so the index answers
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
	r := rand.New(rand.NewPCG(3, 4))
	vecs := randomVectors(r, n, dim)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithFloatVectorColumn("vec", dim, vecs))
	must(t, err)
	flush(t, diskannStep(t, time.Minute), cli, name)

	// As in Milvus, DISKANN's build parameters come from the server's
	// common.DiskIndex settings: a user's max_degree is replaced, not
	// refused. That index is the L2 round's (every check below runs on
	// it); COSINE's is built with the SDK's DiskANN index. One build per
	// metric: a build of 6,000 rows is most of this test's CPU under -race.
	own := index.NewGenericIndex("vec", map[string]string{"index_type": "DISKANN", "metric_type": "L2", "max_degree": "600"})
	for _, metric := range []entity.MetricType{entity.L2, entity.COSINE} {
		var idx index.Index = index.NewDiskANNIndex(metric)
		if metric == entity.L2 {
			idx = own
		}
		bctx := diskannStep(t, diskannBuildBound)
		it, err := cli.CreateIndex(bctx, milvusclient.NewCreateIndexOption(name, "vec", idx))
		must(t, err)
		must(t, it.Await(bctx))
		load(t, diskannStep(t, time.Minute), cli, name)
		ctx := diskannStep(t, time.Minute) // this metric's searches, release and drop
		// The query node reads DISKANN's vectors and graph in place: it
		// maps the index file with readahead off (MADV_RANDOM).
		if rr := randomReadMappings(t, dir); len(rr) == 0 {
			t.Errorf("%s: no mapping under the server's directory is advised random-read (VmFlags rr)", metric)
		}
		for _, row := range []int{0, 42, n - 1} {
			opt := milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.FloatVector(vecs[row])}).WithANNSField("vec").
				WithConsistencyLevel(entity.ClStrong).WithAnnParam(index.NewDiskAnnParam(50))
			rs, err := cli.Search(ctx, opt)
			must(t, err)
			if id, _ := rs[0].IDs.GetAsInt64(0); rs[0].ResultCount != 10 || id != int64(row) {
				t.Errorf("%s: row %d: first hit %d of %d", metric, row, id, rs[0].ResultCount)
			}
		}
		opt := milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.FloatVector(vecs[1])}).WithANNSField("vec").
			WithAnnParam(index.NewDiskAnnParam(5))
		if _, err := cli.Search(ctx, opt); err == nil || !strings.Contains(err.Error(), "should be larger than k(10)") {
			t.Errorf("%s: search_list 5 < topk 10: %v", metric, err)
		}
		must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
		must(t, cli.DropIndex(ctx, milvusclient.NewDropIndexOption(name, "vec")))
	}
}

// diskannBuildBound bounds one DISKANN build of the test's 6,000 rows of
// 16 dimensions (CreateIndex to Await): tens of seconds under -race on a
// loaded 2-core machine, far under it without.
const diskannBuildBound = 90 * time.Second

// diskannStep is a context for one step of TestDISKANN, bounded by d from
// when the step starts.
func diskannStep(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// randomReadMappings lists the files under dir that this process maps with
// the random-read advice (VmFlags "rr" in /proc/self/smaps).
func randomReadMappings(t *testing.T, dir string) []string {
	raw, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	var out []string
	path := ""
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			path = ""
			if len(f) >= 6 {
				path = f[5]
			}
			continue
		}
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok && strings.HasPrefix(path, dir) && slices.Contains(strings.Fields(rest), "rr") {
			out = append(out, path)
		}
	}
	return out
}
