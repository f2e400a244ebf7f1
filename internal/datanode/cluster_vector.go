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
// vector clustering, over the key column of the kept rows, the centroids
// its analyze task trained (k*key.Dim values, row-major) and mapped, the
// centroid the task's offset mapping files give each kept row (the index
// node assigned every row to its nearest centroid; storage.NoCentroid for
// a null key): a cluster holding fewer than minClusterRatio of the
// average cluster's kept rows is merged into the nearest centroid kept
// (its rows re-assigned: the only distances computed here), and empty
// clusters go. A mapping that does not fit the rows (a centroid for a
// null key or none for a row, an unknown centroid) is an error: the rows
// are never mapped again here, as in Milvus.
func mapVectorClusters(key *column.FloatVector, cent []float32, mapped []uint32, minClusterRatio float64) (vectorPlan, error) {
	var p vectorPlan
	dim := key.Dim
	if len(mapped) != key.Len() {
		return p, fmt.Errorf("offset mappings give %d rows, the plan keeps %d", len(mapped), key.Len())
	}
	k := len(cent) / dim
	var live []int
	assign := make([]int32, 0, key.Len())
	for i := range key.Len() {
		c := mapped[i]
		switch null := key.IsNull(i); {
		case null && c == storage.NoCentroid:
			p.nulls = append(p.nulls, i)
		case null:
			return p, fmt.Errorf("offset mapping gives centroid %d to kept row %d, whose key is null", c, i)
		case c == storage.NoCentroid:
			return p, fmt.Errorf("offset mapping gives no centroid to kept row %d", i)
		case int(c) >= k:
			return p, fmt.Errorf("offset mapping gives kept row %d centroid %d of %d", i, c, k)
		default:
			live = append(live, i)
			assign = append(assign, int32(c))
		}
	}
	n := len(live)
	if n == 0 {
		return p, nil
	}
	// The rows of the clusters merged away are re-assigned below.
	row := func(i int) []float32 { return key.Row(live[i]) }
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
			pts = append(pts, row(i)...)
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
// rows go to the centroid their analyze task's offset mapping gives them
// (mapped; mapVectorClusters) and each
// cluster is written as one segment, or as several of at most
// t.PreferRows rows when larger (Milvus's writer cuts a cluster's buffer
// at the maximum segment size), each sorted by primary key and carrying
// its cluster's centroid in its stats log; rows with a null key go last,
// in segments without a centroid (never pruned).
func (s *Server) writeVectorClustered(ctx context.Context, t contract.CompactionTask, first model.Segment, tsKept []int64, mapped []uint32, cols map[int64]column.Column) ([]contract.FlushResult, error) {
	key, ok := cols[t.ClusteringField].(*column.FloatVector)
	if !ok {
		return nil, fmt.Errorf("clustering key %d of collection %d is not a FloatVector field", t.ClusteringField, t.Collection.ID)
	}
	cent, err := s.analysisCentroids(ctx, t, key.Dim)
	if err != nil {
		return nil, err
	}
	vp, err := mapVectorClusters(key, cent, mapped, t.MinClusterRatio)
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

// offsetMapping reads the centroid of each of the rows of source segment
// seg from the plan's analyze task's offset mapping file for it
// (t.AnalyzeMappings, the index node's storage.EncodeOffsetMapping). A
// segment without a key binlog (it predates the field: every row null)
// has none. A missing, unreadable or damaged file, or one of another
// number of rows, fails the compaction: the rows are not mapped again.
func (s *Server) offsetMapping(ctx context.Context, t contract.CompactionTask, seg model.Segment, rows int) ([]uint32, error) {
	path, ok := t.AnalyzeMappings[seg.ID]
	if !ok {
		return nil, fmt.Errorf("the analysis of plan %d has no offset mapping for segment %d", t.PlanID, seg.ID)
	}
	if path == "" {
		if seg.Binlogs[t.ClusteringField] != "" {
			return nil, fmt.Errorf("the analysis of plan %d has no offset mapping for segment %d, which has a key binlog", t.PlanID, seg.ID)
		}
		ids := make([]uint32, rows)
		for i := range ids {
			ids[i] = storage.NoCentroid
		}
		return ids, nil
	}
	b, err := s.d.Objects.Get(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("read the offset mapping of segment %d of plan %d: %w", seg.ID, t.PlanID, err)
	}
	_, ids, err := storage.DecodeOffsetMapping(b)
	if err != nil {
		return nil, fmt.Errorf("read the offset mapping of segment %d of plan %d from %s: %w", seg.ID, t.PlanID, path, err)
	}
	if len(ids) != rows {
		return nil, fmt.Errorf("the offset mapping %s of segment %d maps %d rows, the segment has %d: %w", path, seg.ID, len(ids), rows, storage.ErrCorrupt)
	}
	return ids, nil
}
