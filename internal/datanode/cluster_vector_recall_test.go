package datanode

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/analysis"
	"github.com/milvago/milvago/internal/annbench"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
)

// prunedRecall is the recall@topk of exact searches that read only the
// clusters a pruned search reads, against the data set's ground truth.
// The clusters are the segments of a vector clustering compaction (one
// per cluster, its centroid in its stats log) and the choice is the query
// node's (querynode/prune.go, Milvus's FilterSegmentsByVector): clusters
// ranked by the query's squared L2 to their centroid, the first
// int(sqrt(clusters) x ratio) searched, and more until they hold topk
// rows. It also returns the mean share of rows searched.
func prunedRecall(p vectorPlan, base []float32, dim int, queries []float32, gt []int32, gtK, topk int, ratio float64) (recall, searched float64) {
	nq := len(queries) / dim
	type cand struct {
		c    int
		dist float32
	}
	cands := make([]cand, len(p.centroids))
	target := min(int(math.Sqrt(float64(len(p.centroids)))*ratio), len(p.centroids))
	hits, read := 0, 0
	for q := range nq {
		qv := queries[q*dim : (q+1)*dim]
		for c := range p.centroids {
			cands[c] = cand{c: c, dist: distance.L2Sq(qv, p.centroids[c])}
		}
		slices.SortStableFunc(cands, func(a, b cand) int { return cmp.Compare(a.dist, b.dist) })
		var rows []int
		for j, c := range cands {
			rows = append(rows, p.groups[c.c]...)
			if len(rows) >= topk && j+1 >= target {
				break
			}
		}
		read += len(rows)
		type hit struct {
			row  int
			dist float32
		}
		hs := make([]hit, len(rows))
		for i, r := range rows {
			hs[i] = hit{r, distance.L2Sq(qv, base[r*dim:(r+1)*dim])}
		}
		slices.SortFunc(hs, func(a, b hit) int { return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.row, b.row)) })
		truth := gt[q*gtK : q*gtK+topk]
		for _, h := range hs[:min(topk, len(hs))] {
			if slices.Contains(truth, int32(h.row)) {
				hits++
			}
		}
	}
	return float64(hits) / float64(nq*topk), float64(read) / float64(nq*(len(base)/dim))
}

// inertia is the k-means objective of a plan: the mean squared L2 from a
// row to its cluster's centroid.
func inertia(p vectorPlan, base []float32, dim int) float64 {
	var sum float64
	n := 0
	for c, g := range p.groups {
		for _, r := range g {
			sum += float64(distance.L2Sq(base[r*dim:(r+1)*dim], p.centroids[c]))
			n++
		}
	}
	return sum / float64(n)
}

// TestVectorClusteringRecallDatasets measures what the clustering
// compaction's analysis gives a pruned search on real data: recall@10 of a
// search that reads only the clusters the query node keeps, at pruning
// ratios (queryNode.defaultSegmentFilterRatio, the nprobe of centroid
// pruning) 0.5, 1 and 2, with 16 and 64 centroids, seeded by k-means++ (the
// analysis) and by random rows (before), averaged over three plan seeds;
// the search without pruning reads every row and has recall 1. The data
// sets are /work/shared/data's fashion-mnist-10k (L2) and glove-100-10k
// (normalised, so L2 ranks as its IP ground truth; MILVAGO_DATA names
// another root), the first 200 queries of each. By default only
// glove-100-10k with k-means++ and one seed runs (seconds);
// MILVAGO_VECCLUST_RECALL=full runs the whole comparison (two minutes on
// two busy cores). It asserts the bounds of the k-means++ analysis
// measured here (docs/benchmarks.md, "fence12"), with a margin.
//
//	MILVAGO_VECCLUST_RECALL=full go test -run TestVectorClusteringRecallDatasets -v ./internal/datanode/
func TestVectorClusteringRecallDatasets(t *testing.T) {
	if testing.Short() {
		t.Skip("clusters a 10k-row data set")
	}
	full := os.Getenv("MILVAGO_VECCLUST_RECALL") == "full"
	seedings, seeds := []bool{false}, uint64(1)
	if full {
		seedings, seeds = []bool{true, false}, 3
	}
	const nQueries = 200 // the first of the data set's 1000
	root := cmp.Or(os.Getenv("MILVAGO_DATA"), "/work/shared/data")
	// Lower bounds of the mean recall@10 of the k-means++ analysis, by data
	// set, centroids and ratio (measured: docs/benchmarks.md, fence12).
	bounds := map[string]float64{}
	sets := []string{"glove-100-10k"}
	if full {
		sets = []string{"fashion-mnist-10k", "glove-100-10k"}
	}
	ratios := []float64{0.5, 1, 2}
	ran := 0
	for _, set := range sets {
		dir := filepath.Join(root, set)
		base, dim, n, err := annbench.ReadFvecs(filepath.Join(dir, "base.fvecs"))
		if err != nil {
			t.Logf("%s: %v", set, err)
			continue
		}
		queries, _, _, err := annbench.ReadFvecs(filepath.Join(dir, "query.fvecs"))
		if err != nil {
			t.Fatal(err)
		}
		gt, gtK, _, err := annbench.ReadIvecs(filepath.Join(dir, "gt.ivecs"))
		if err != nil {
			t.Fatal(err)
		}
		queries = queries[:min(len(queries), nQueries*dim)]
		ran++
		key := &column.FloatVector{Dim: dim, Data: base}
		for _, k := range []int{16, 64} {
			for _, random := range seedings {
				var rec [3]float64
				var read [3]float64
				var obj float64
				for seed := uint64(1); seed <= seeds; seed++ {
					p, err := planVectorClustersBy(context.Background(), key,
						analysis.Params{NumClusters: k, TrainRatio: 0.8, Seed: seed, RandomSeeding: random}, 0.01)
					if err != nil {
						t.Fatal(err)
					}
					obj += inertia(p, base, dim) / float64(seeds)
					for i, ratio := range ratios {
						r, s := prunedRecall(p, base, dim, queries, gt, gtK, 10, ratio)
						rec[i] += r / float64(seeds)
						read[i] += s / float64(seeds)
					}
				}
				seeding := "k-means++"
				if random {
					seeding = "random"
				}
				var cells []string
				for i, ratio := range ratios {
					cells = append(cells, fmt.Sprintf("ratio %.1f: recall %.3f (%.0f%% read)", ratio, rec[i], 100*read[i]))
					if !random {
						bounds[fmt.Sprintf("%s/%d/%.1f", set, k, ratio)] = rec[i]
					}
				}
				t.Logf("%s n=%d k=%d %-9s inertia %.4g | %s", set, n, k, seeding, obj, strings.Join(cells, " | "))
			}
		}
	}
	if ran == 0 {
		t.Skipf("no data set under %s", root)
	}
	// The bounds (measured, less 0.03 or more for the seeds): with Milvus's
	// default ratio 2 the pruned search keeps nearly all of the answer
	// while reading a half (16 centroids) or a quarter (64) of the rows;
	// ratio 1 reads half as much for a little less.
	want := map[string]float64{
		"fashion-mnist-10k/16/2.0": 0.97, "fashion-mnist-10k/64/2.0": 0.97,
		"fashion-mnist-10k/16/1.0": 0.96, "fashion-mnist-10k/64/1.0": 0.96,
		"glove-100-10k/16/2.0": 0.94, "glove-100-10k/64/2.0": 0.94,
		"glove-100-10k/16/1.0": 0.85, "glove-100-10k/64/1.0": 0.88,
	}
	for key, min := range want {
		if got, ok := bounds[key]; ok && got < min {
			t.Errorf("%s: recall@10 %.3f, want at least %.2f", key, got, min)
		}
	}
}
