package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/querynode"
)

// TestVectorClusteringBenchmark measures search latency and recall before
// and after a clustering compaction on a vector clustering key, with and
// without search-time pruning: N rows (MILVAGO_VECCLUST_BENCH=N, e.g.
// 200000) of 128 dimensions around 256 random centres, HNSW (M 16,
// efConstruction 100, ef 64), segments sealed at 6 MB (so N=200000, 100 MB
// of vectors, gets 17 centroids, Milvus's rule with a 6 MB segment), 200
// queries of nq 1, top 10, recall against the exact answer.
//
//	MILVAGO_VECCLUST_BENCH=200000 go test -run TestVectorClusteringBenchmark -v -timeout 60m ./tests/e2e
func TestVectorClusteringBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MILVAGO_VECCLUST_BENCH"))
	if n == 0 {
		t.Skip("set MILVAGO_VECCLUST_BENCH=rows to run")
	}
	const dim, centresN, nq, k = 128, 256, 200, 10
	dir := t.TempDir()
	prune := querynode.PruneConfig{Enable: true, FilterRatio: 2}
	configure := func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.Compaction.Auto = false
		cfg.Data.Compaction.Clustering.Key.EnableVectorKey = true
		cfg.Data.MaxSegmentBytes = 6 << 20
		p := prune
		p.Key = cfg.Data.Compaction.Clustering.Key
		cfg.Prune = &p
	}
	srv := startServerWith(t, dir, configure)
	cli := srv.client(t)
	ctx, cancel := contextWithTimeout(t.Context(), 60*time.Minute)
	defer cancel()
	const name = "vecclustbench"
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim).WithIsClusteringKey(true))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithConsistencyLevel(entity.ClStrong)))
	r := rand.New(rand.NewPCG(9, 9))
	centres := make([][]float32, centresN)
	for i := range centres {
		centres[i] = make([]float32, dim)
		for j := range centres[i] {
			centres[i][j] = float32(r.NormFloat64() * 4)
		}
	}
	point := func() []float32 {
		c := centres[r.IntN(centresN)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = c[j] + float32(r.NormFloat64())
		}
		return v
	}
	data := make([]float32, 0, n*dim)
	const batch = 10000
	start := time.Now()
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		ids := make([]int64, 0, hi-lo)
		vecs := make([][]float32, 0, hi-lo)
		for id := lo; id < hi; id++ {
			v := point()
			ids, vecs = append(ids, int64(id)), append(vecs, v)
			data = append(data, v...)
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithFloatVectorColumn("vec", dim, vecs))
		must(t, err)
	}
	flush(t, ctx, cli, name)
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewHNSWIndex(entity.L2, 16, 100)))
	must(t, err)
	must(t, it.Await(ctx))
	load(t, ctx, cli, name)
	t.Logf("inserted, indexed and loaded %d rows in %v", n, time.Since(start))
	queries := make([][]float32, nq)
	truth := make([][]int64, nq)
	for i := range queries {
		queries[i] = point()
		type hit struct {
			id int64
			d  float32
		}
		hits := make([]hit, n)
		for j := range n {
			hits[j] = hit{int64(j), distance.L2Sq(queries[i], data[j*dim:(j+1)*dim])}
		}
		sort.Slice(hits, func(a, b int) bool { return hits[a].d < hits[b].d })
		for _, h := range hits[:k] {
			truth[i] = append(truth[i], h.id)
		}
	}
	measure := func(cli *milvusclient.Client, what string) {
		segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
		must(t, err)
		p0, k0 := querynode.CentroidPruneCounts()
		var lat []time.Duration
		hit := 0
		for round := range 2 { // the first round warms up
			for i, q := range queries {
				t0 := time.Now()
				res, err := cli.Search(ctx, milvusclient.NewSearchOption(name, k, []entity.Vector{entity.FloatVector(q)}).
					WithANNSField("vec").WithSearchParam("ef", "64"))
				must(t, err)
				if round == 0 {
					continue
				}
				lat = append(lat, time.Since(t0))
				for j := range res[0].ResultCount {
					id, _ := res[0].IDs.GetAsInt64(j)
					if slices.Contains(truth[i], id) {
						hit++
					}
				}
			}
		}
		p1, k1 := querynode.CentroidPruneCounts()
		slices.Sort(lat)
		searched := float64(len(segs))
		if p1-p0+k1-k0 > 0 {
			searched = float64(k1-k0) / float64(2*nq)
		}
		t.Logf("BENCH %s: %d segments, %.1f searched per query, median %v, p99 %v, recall@%d %.4f", what, len(segs),
			searched, lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*99/100].Round(10*time.Microsecond), k, float64(hit)/float64(nq*k))
	}
	measure(cli, "before clustering")
	before, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	start = time.Now()
	id, err := cli.Compact(ctx, clusteringCompact{name})
	must(t, err)
	eventually(t, 40*time.Minute, "clustering compaction completes", func() (bool, string) {
		st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
		must(t, err)
		return st == entity.CompactionStateCompleted, fmt.Sprint(st)
	})
	compacted := time.Since(start)
	var oldIDs []int64
	for _, s := range before {
		oldIDs = append(oldIDs, s.ID)
	}
	eventually(t, 40*time.Minute, "clustered segments serve", func() (bool, string) {
		segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
		must(t, err)
		for _, s := range segs {
			if slices.Contains(oldIDs, s.ID) {
				return false, fmt.Sprintf("source %d still flushed", s.ID)
			}
		}
		p0, k0 := querynode.CentroidPruneCounts()
		_, err = cli.Search(ctx, milvusclient.NewSearchOption(name, k, []entity.Vector{entity.FloatVector(queries[0])}).WithANNSField("vec"))
		must(t, err)
		p1, k1 := querynode.CentroidPruneCounts()
		return p1-p0+k1-k0 == int64(len(segs)), fmt.Sprintf("%d of %d clustered segments loaded", p1-p0+k1-k0, len(segs))
	})
	t.Logf("BENCH clustering compaction of %d rows: %v, %v until every clustered segment served indexed", n, compacted, time.Since(start))
	measure(cli, "after clustering, pruning ratio 2")
	for _, c := range []struct {
		what string
		cfg  querynode.PruneConfig
	}{
		{"after clustering, pruning ratio 1", querynode.PruneConfig{Enable: true, FilterRatio: 1}},
		{"after clustering, no pruning", querynode.PruneConfig{FilterRatio: 2}},
	} {
		srv.stop()
		prune = c.cfg
		srv = startServerWith(t, dir, configure)
		cli = srv.client(t)
		eventually(t, 10*time.Minute, "loaded after restart", func() (bool, string) {
			_, err := cli.Search(ctx, milvusclient.NewSearchOption(name, k, []entity.Vector{entity.FloatVector(queries[0])}).WithANNSField("vec"))
			return err == nil, fmt.Sprint(err)
		})
		measure(cli, c.what)
	}
}
