package datanode

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/model"
)

// vectorPlan is how a vector clustering compaction maps rows: the
// centroids kept, the rows (offsets into the kept rows) of each, in the
// same order, and the rows whose key is null (no centroid).
type vectorPlan struct {
	centroids [][]float32
	groups    [][]int
	nulls     []int
}

// vectorAnalysis is the analyze step of a vector clustering compaction
// (Milvus's analyze task, which its index nodes run before the
// compaction): it trains the centroids the rows are then mapped to.
type vectorAnalysis struct {
	NumClusters int     // centroids to train (at most the rows)
	TrainRatio  float64 // maxTrainSizeRatio: train on at most this share of the rows
	Seed        uint64  // sampling and seeding: a plan run again gives the same centroids
	// RandomSeeding starts Lloyd's iterations from random rows, as the
	// IVF indexes train, instead of k-means++: what the analysis did
	// before, kept to measure against (TestVectorClusteringRecallDatasets).
	RandomSeeding bool
}

// maxPointsPerCentroid bounds the analysis's sample: at most this many rows
// per centroid (FAISS's and knowhere's max_points_per_centroid), and at
// most TrainRatio of the rows.
const maxPointsPerCentroid = 256

// centroids trains a.NumClusters centroids (clamped to [1, n]) over the n
// rows of points by L2 k-means: k-means++ seeding and 10 Lloyd iterations
// over a random sample of at most min(TrainRatio x n, 256 x k) rows (at
// least k). It returns k*dim values, row-major.
func (a vectorAnalysis) centroids(ctx context.Context, points []float32, dim int) ([]float32, int, error) {
	n := len(points) / dim
	k := min(max(a.NumClusters, 1), n)
	sample := maxPointsPerCentroid * k
	if a.TrainRatio > 0 && a.TrainRatio < 1 {
		sample = min(sample, max(int(math.Ceil(a.TrainRatio*float64(n))), k))
	}
	if a.RandomSeeding {
		train := points
		if sample < n {
			rng := rand.New(rand.NewPCG(a.Seed, a.Seed^0x9e3779b97f4a7c15))
			pick := rng.Perm(n)[:sample]
			slices.Sort(pick)
			train = make([]float32, 0, sample*dim)
			for _, i := range pick {
				train = append(train, points[i*dim:(i+1)*dim]...)
			}
		}
		cent, err := index.KMeansL2(ctx, train, dim, k, a.Seed)
		return cent, k, err
	}
	cent, err := index.KMeansPlusPlusL2(ctx, points, dim, k, sample, a.Seed)
	return cent, k, err
}

// planVectorClusters is Milvus's vector clustering analysis (its analyze
// task's k-means, vectorAnalysis) and mapping (the compactor's centroid-ID
// mapping), over the key column of the kept rows: numClusters centroids
// are trained (vectorAnalysis.centroids); every row is assigned to its
// nearest centroid; a cluster holding fewer than minClusterRatio of the
// average cluster's rows is merged into the nearest centroid kept (its
// rows re-assigned), and empty clusters go. The result is deterministic
// for a seed.
func planVectorClusters(ctx context.Context, key *column.FloatVector, numClusters int, trainRatio, minClusterRatio float64, seed uint64) (vectorPlan, error) {
	return planVectorClustersBy(ctx, key, vectorAnalysis{NumClusters: numClusters, TrainRatio: trainRatio, Seed: seed}, minClusterRatio)
}

// planVectorClustersBy is planVectorClusters with the analysis given.
func planVectorClustersBy(ctx context.Context, key *column.FloatVector, a vectorAnalysis, minClusterRatio float64) (vectorPlan, error) {
	var p vectorPlan
	dim := key.Dim
	var live []int
	for i := range key.Len() {
		if key.IsNull(i) {
			p.nulls = append(p.nulls, i)
		} else {
			live = append(live, i)
		}
	}
	n := len(live)
	if n == 0 {
		return p, nil
	}
	points := key.Data
	if len(p.nulls) > 0 {
		points = make([]float32, 0, n*dim)
		for _, i := range live {
			points = append(points, key.Row(i)...)
		}
	}
	cent, k, err := a.centroids(ctx, points, dim)
	if err != nil {
		return p, fmt.Errorf("k-means of %d rows into %d clusters: %w", n, k, err)
	}
	assign := make([]int32, n)
	index.AssignL2(points, dim, cent, assign)
	counts := make([]int, k)
	for _, c := range assign {
		counts[c]++
	}
	// Keep the clusters of at least minClusterRatio of the average; if
	// that keeps none, keep every cluster with a row.
	threshold := minClusterRatio * float64(n) / float64(k)
	var kept []int
	for c, cnt := range counts {
		if cnt > 0 && float64(cnt) >= threshold {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		for c, cnt := range counts {
			if cnt > 0 {
				kept = append(kept, c)
			}
		}
	}
	slot := make([]int, k) // cluster -> index in kept, -1 when merged away
	for c := range slot {
		slot[c] = -1
	}
	keptCent := make([]float32, 0, len(kept)*dim)
	for j, c := range kept {
		slot[c] = j
		keptCent = append(keptCent, cent[c*dim:(c+1)*dim]...)
	}
	p.groups = make([][]int, len(kept))
	var orphans []int // offsets into live of rows of clusters merged away
	for i, c := range assign {
		if j := slot[c]; j >= 0 {
			p.groups[j] = append(p.groups[j], live[i])
		} else {
			orphans = append(orphans, i)
		}
	}
	if len(orphans) > 0 {
		pts := make([]float32, 0, len(orphans)*dim)
		for _, i := range orphans {
			pts = append(pts, points[i*dim:(i+1)*dim]...)
		}
		re := make([]int32, len(orphans))
		index.AssignL2(pts, dim, keptCent, re)
		for o, j := range re {
			p.groups[j] = append(p.groups[j], live[orphans[o]])
		}
		for j := range p.groups {
			slices.Sort(p.groups[j])
		}
	}
	for j := range kept {
		p.centroids = append(p.centroids, slices.Clone(keptCent[j*dim:(j+1)*dim]))
	}
	return p, nil
}

// writeVectorClustered finishes a vector clustering compaction: the kept
// rows are mapped to their nearest centroid (planVectorClusters) and each
// cluster is written as one segment, or as several of at most
// t.PreferRows rows when larger (Milvus's writer cuts a cluster's buffer
// at the maximum segment size), each sorted by primary key and carrying
// its cluster's centroid in its stats log; rows with a null key go last,
// in segments without a centroid (never pruned).
func (s *Server) writeVectorClustered(ctx context.Context, t contract.CompactionTask, first model.Segment, tsKept []int64, cols map[int64]column.Column) ([]contract.FlushResult, error) {
	key, ok := cols[t.ClusteringField].(*column.FloatVector)
	if !ok {
		return nil, fmt.Errorf("clustering key %d of collection %d is not a FloatVector field", t.ClusteringField, t.Collection.ID)
	}
	vp, err := planVectorClusters(ctx, key, int(t.NumClusters), t.TrainRatio, t.MinClusterRatio, uint64(t.PlanID))
	if err != nil {
		return nil, err
	}
	type part struct {
		rows     []int
		centroid []float32
	}
	var parts []part
	cut := func(rows []int, centroid []float32) {
		step := len(rows)
		if t.PreferRows > 0 && int64(step) > t.PreferRows {
			step = int(t.PreferRows)
		}
		for lo := 0; lo < len(rows); lo += step {
			parts = append(parts, part{rows: rows[lo:min(lo+step, len(rows))], centroid: centroid})
		}
	}
	for j, g := range vp.groups {
		cut(g, vp.centroids[j])
	}
	cut(vp.nulls, nil)
	if len(parts) > len(t.TargetIDs) {
		return nil, fmt.Errorf("%d segments to write, %d segment IDs allocated", len(parts), len(t.TargetIDs))
	}
	pk := cols[t.Collection.PrimaryField().GetFieldID()]
	out := make([]contract.FlushResult, 0, len(parts))
	for i, pt := range parts {
		ts, chunk := takeSorted(pk, cols, tsKept, slices.Clone(pt.rows))
		var centroids map[int64][][]float32
		if pt.centroid != nil {
			centroids = map[int64][][]float32{t.ClusteringField: {pt.centroid}}
		}
		res, err := s.writeSegmentStats(ctx, t.Collection, first.PartitionID, t.TargetIDs[i], ts, chunk, centroids)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	s.logger.Info("vector clustering", "plan", t.PlanID, "field", t.ClusteringField, "rows", key.Len(),
		"centroids", t.NumClusters, "clusters", len(vp.groups), "nulls", len(vp.nulls), "segments", len(out))
	return out, nil
}
