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
// query latency of count(*), of limit 10 and of every matching row, the
// segments scanned, fully matched (statistics prove every row matches)
// and pruned per query, and checks that both runs return the same rows.
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
	// Each filter is measured three ways: count(*), limit 10 and every
	// matching row (output id). The metric besides latency is the segments
	// per query that were pruned, fully matched by their statistics (no
	// filter evaluated) and scanned.
	modes := []string{"count", "limit10", "all"}
	type result struct {
		median               time.Duration
		scanned, pruned, all float64
		rows                 []int64
		count                int64
	}
	measure := func() [][]result {
		var out [][]result
		for _, f := range filters {
			var per []result
			for _, mode := range modes {
				var lat []time.Duration
				var res result
				p0, s0 := segment.PruneCounts()
				f0 := segment.FullMatchCounts()
				const runs = 15
				for range runs {
					opt := milvusclient.NewQueryOption(name).WithFilter(f).WithConsistencyLevel(entity.ClBounded)
					switch mode {
					case "count":
						opt = opt.WithOutputFields("count(*)")
					case "limit10":
						opt = opt.WithOutputFields("id").WithLimit(10)
					default:
						opt = opt.WithOutputFields("id")
					}
					start := time.Now()
					rs, err := cli.Query(ctx, opt)
					must(t, err)
					lat = append(lat, time.Since(start))
					if mode == "count" {
						res.count = int64Col(t, rs, "count(*)")[0]
					} else {
						res.rows = int64Col(t, rs, "id")
					}
				}
				p1, s1 := segment.PruneCounts()
				f1 := segment.FullMatchCounts()
				slices.Sort(lat)
				slices.Sort(res.rows)
				res.median = lat[runs/2]
				res.scanned, res.pruned, res.all = float64(s1-s0)/runs, float64(p1-p0)/runs, float64(f1-f0)/runs
				per = append(per, res)
			}
			out = append(out, per)
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
	t.Logf("| filter | query | rows | before: ms | segments scanned / fully matched / pruned | after: ms | segments scanned / fully matched / pruned |")
	t.Logf("|---|---|---|---|---|---|---|")
	for i, f := range filters {
		for m, mode := range modes {
			b, a := before[i][m], after[i][m]
			if !slices.Equal(b.rows, a.rows) || b.count != a.count {
				t.Fatalf("%q %s: %d rows (count %d) before, %d (count %d) after", f, mode, len(b.rows), b.count, len(a.rows), a.count)
			}
			rows := int64(len(a.rows))
			if mode == "count" {
				rows = a.count
			}
			t.Logf("| `%s` | %s | %d | %.1f | %.1f / %.1f / %.1f | %.1f | %.1f / %.1f / %.1f |", f, mode, rows,
				float64(b.median.Microseconds())/1000, b.scanned, b.all, b.pruned,
				float64(a.median.Microseconds())/1000, a.scanned, a.all, a.pruned)
		}
	}
}
