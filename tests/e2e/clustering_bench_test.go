package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/segment"
)

// TestClusteringBenchmark measures filters on a clustering key before and
// after a clustering compaction: N rows (MILVAGO_CLUSTERING_BENCH=N, e.g.
// 1000000) with random keys, flushed every 100,000 rows (so every segment
// spans the whole key range), FLAT-indexed and loaded; segments are cut at
// 80,000 rows (maximum 100,000). For each filter it prints the median
// query latency and the segments scanned per query, and checks that both
// runs return the same rows.
//
//	MILVAGO_CLUSTERING_BENCH=1000000 go test -run TestClusteringBenchmark -v -timeout 60m ./tests/e2e
func TestClusteringBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MILVAGO_CLUSTERING_BENCH"))
	if n == 0 {
		t.Skip("set MILVAGO_CLUSTERING_BENCH=rows to run")
	}
	const name, perSegment = "clusterbench", 100000
	srv := startServerWith(t, t.TempDir(), func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.Compaction.Auto = false
		cfg.Data.MaxSegmentRows = perSegment
	})
	cli := srv.client(t)
	ctx, cancel := contextWithTimeout(t.Context(), 60*time.Minute)
	defer cancel()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("k").WithDataType(entity.FieldTypeInt64).WithIsClusteringKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(compactDim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithConsistencyLevel(entity.ClStrong)))
	r := rand.New(rand.NewPCG(4, 4))
	const batch = 20000
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		ids, ks := make([]int64, 0, hi-lo), make([]int64, 0, hi-lo)
		for id := lo; id < hi; id++ {
			ids, ks = append(ids, int64(id)), append(ks, r.Int64N(int64(n)))
		}
		writeKeyed(t, ctx, cli, name, r, ids, ks, false)
		if hi%perSegment == 0 || hi == n {
			flush(t, ctx, cli, name)
		}
	}
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.L2)))
	must(t, err)
	must(t, it.Await(ctx))
	load(t, ctx, cli, name)

	filters := []string{
		fmt.Sprintf("k == %d", n/3),
		fmt.Sprintf("k >= %d and k < %d", n/2, n/2+n/100), // 1% of the key range
		fmt.Sprintf("k < %d", n/10),                       // 10%
	}
	type result struct {
		median  time.Duration
		scanned float64
		pruned  float64
		rows    []int64
	}
	measure := func() []result {
		var out []result
		for _, f := range filters {
			var lat []time.Duration
			var rows []int64
			p0, s0 := segment.PruneCounts()
			const runs = 15
			for range runs {
				start := time.Now()
				rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(f).WithOutputFields("id").
					WithConsistencyLevel(entity.ClBounded))
				must(t, err)
				lat = append(lat, time.Since(start))
				rows = int64Col(t, rs, "id")
			}
			p1, s1 := segment.PruneCounts()
			slices.Sort(lat)
			slices.Sort(rows)
			out = append(out, result{median: lat[runs/2], scanned: float64(s1-s0) / runs, pruned: float64(p1-p0) / runs, rows: rows})
		}
		return out
	}
	before := measure()
	segsBefore, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	start := time.Now()
	id, err := cli.Compact(ctx, clusteringCompact{name})
	must(t, err)
	eventually(t, 30*time.Minute, "clustering compaction completes", func() (bool, string) {
		st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
		must(t, err)
		return st == entity.CompactionStateCompleted, fmt.Sprint(st)
	})
	took := time.Since(start)
	segsAfter, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	eventually(t, 30*time.Minute, "clustered segments serve", func() (bool, string) {
		p0, _ := segment.PruneCounts()
		_, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(filters[0]).WithOutputFields("id").
			WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		p1, _ := segment.PruneCounts()
		return p1-p0 >= int64(len(segsAfter)-1), fmt.Sprintf("%d of %d pruned", p1-p0, len(segsAfter))
	})
	after := measure()
	t.Logf("%d rows; %d segments before, %d after; clustering compaction %v", n, len(segsBefore), len(segsAfter), took.Round(time.Second))
	t.Logf("| filter | rows | before: ms | segments scanned | after: ms | segments scanned (pruned) |")
	for i, f := range filters {
		if !slices.Equal(before[i].rows, after[i].rows) {
			t.Fatalf("%q: %d rows before, %d after", f, len(before[i].rows), len(after[i].rows))
		}
		t.Logf("| `%s` | %d | %.1f | %.1f | %.1f | %.1f (%.1f) |", f, len(after[i].rows),
			float64(before[i].median.Microseconds())/1000, before[i].scanned,
			float64(after[i].median.Microseconds())/1000, after[i].scanned, after[i].pruned)
	}
}
