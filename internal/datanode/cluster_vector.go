package datanode

import (
	"context"
	"fmt"
	"slices"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/storage"
)

// vectorPlan is how a vector clustering compaction maps rows: the
// centroids kept, the rows (offsets into the kept rows) of each, in the
// same order, and the rows whose key is null (no centroid).
type vectorPlan struct {
	centroids [][]float32
	groups    [][]int
	nulls     []int
}

// mapVectorClusters is the compactor's centroid-ID mapping of Milvus's
// vector clustering, over the key column of the kept rows and the
// centroids its analyze task trained (k*key.Dim values, row-major): every
// row is assigned to its nearest centroid; a cluster holding fewer than
// minClusterRatio of the average cluster's rows is merged into the nearest
// centroid kept (its rows re-assigned), and empty clusters go.
func mapVectorClusters(key *column.FloatVector, cent []float32, minClusterRatio float64) (vectorPlan, error) {
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
	k := len(cent) / dim
	if k == 0 {
		return p, fmt.Errorf("%d rows to map and no centroid", n)
	}
	points := key.Data
	if len(p.nulls) > 0 {
		points = make([]float32, 0, n*dim)
		for _, i := range live {
			points = append(points, key.Row(i)...)
		}
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
	cent, err := s.analysisCentroids(ctx, t, key.Dim)
	if err != nil {
		return nil, err
	}
	vp, err := mapVectorClusters(key, cent, t.MinClusterRatio)
	if err != nil {
		return nil, fmt.Errorf("map the rows of plan %d to its centroids: %w", t.PlanID, err)
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
		"centroids", len(cent)/key.Dim, "analysis", t.AnalyzeFile, "clusters", len(vp.groups), "nulls", len(vp.nulls), "segments", len(out))
	return out, nil
}

// analysisCentroids reads the centroids the plan's analyze task wrote
// (t.AnalyzeFile, the index node's storage.EncodeCentroids) for a key of
// dim values.
func (s *Server) analysisCentroids(ctx context.Context, t contract.CompactionTask, dim int) ([]float32, error) {
	if t.AnalyzeFile == "" {
		return nil, fmt.Errorf("vector clustering plan %d has no analysis result", t.PlanID)
	}
	b, err := s.d.Objects.Get(ctx, t.AnalyzeFile)
	if err != nil {
		return nil, fmt.Errorf("read the analysis of plan %d: %w", t.PlanID, err)
	}
	got, cent, err := storage.DecodeCentroids(b)
	if err != nil {
		return nil, fmt.Errorf("read the analysis of plan %d from %s: %w", t.PlanID, t.AnalyzeFile, err)
	}
	if got != dim {
		return nil, fmt.Errorf("the analysis of plan %d has centroids of dimension %d, the key has %d", t.PlanID, got, dim)
	}
	return cent, nil
}
