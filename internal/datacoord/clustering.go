package datacoord

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/clusterkey"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/storage"
)

// ClusteringConfig tunes clustering compaction, with Milvus's
// dataCoord.compaction.clustering.* keys.
type ClusteringConfig struct {
	// Enable allows clustering compaction (clustering.enable); Auto runs
	// its automatic trigger every TriggerInterval (clustering.autoEnable,
	// clustering.triggerInterval), which also needs Auto compaction.
	Enable, Auto    bool
	TriggerInterval time.Duration
	// A partition is re-clustered automatically at most every MinInterval,
	// and at least every MaxInterval; in between, once its segments not
	// clustered yet hold NewDataSize bytes (clustering.minInterval,
	// maxInterval, newDataSizeThreshold).
	MinInterval, MaxInterval time.Duration
	NewDataSize              int64
	// PreferSegmentSizeRatio of the maximum segment size is the size a
	// clustering compaction cuts its output at
	// (clustering.preferSegmentSizeRatio).
	PreferSegmentSizeRatio float64
	// Key decides the clustering key (common.enableVectorClusteringKey,
	// useVectorAsClusteringKey, usePartitionKeyAsClusteringKey).
	Key clusterkey.Options
	// A vector key is clustered by k-means into one centroid per
	// MaxSegmentSizeRatio of the maximum segment size of vectors, between
	// MinCentroids and MaxCentroids (fewer than MinCentroids: the plan
	// fails, as in Milvus), trained on at most MaxTrainSizeRatio of the
	// rows; clusters under MinClusterSizeRatio of the average merge into
	// their nearest; a cluster is cut into segments of at most
	// MaxSegmentSizeRatio of a full segment, MaxClusterSize bytes of
	// vectors and MaxClusterSizeRatio average clusters
	// (clustering.maxSegmentSizeRatio, maxTrainSizeRatio,
	// minCentroidsNum, maxCentroidsNum, minClusterSizeRatio,
	// maxClusterSizeRatio, maxClusterSize).
	MaxSegmentSizeRatio                      float64
	MaxTrainSizeRatio                        float64
	MinCentroids, MaxCentroids               int64
	MinClusterSizeRatio, MaxClusterSizeRatio float64
	MaxClusterSize                           int64
}

// DefaultClustering returns Milvus 2.6's defaults.
func DefaultClustering() ClusteringConfig {
	return ClusteringConfig{Enable: true, Auto: false, TriggerInterval: 600 * time.Second, MinInterval: time.Hour,
		MaxInterval: 72 * time.Hour, NewDataSize: 512 << 20, PreferSegmentSizeRatio: 0.8,
		MaxSegmentSizeRatio: 1, MaxTrainSizeRatio: 0.8, MinCentroids: 16, MaxCentroids: 10240,
		MinClusterSizeRatio: 0.01, MaxClusterSizeRatio: 10, MaxClusterSize: 5 << 30}
}

// PartitionStats is what the last clustering compaction of a partition's
// shard wrote (Milvus's partition statistics): the segments, in key
// order, whose clustering-key ranges do not overlap. Each segment's range
// is in its stats log, which query nodes load to skip segments a filter
// on the key cannot match.
type PartitionStats struct {
	CollectionID int64   `json:"collectionID"`
	PartitionID  int64   `json:"partitionID"`
	VChannel     string  `json:"vchannel"`
	Version      int64   `json:"version"` // the plan's ID
	FieldID      int64   `json:"fieldID"` // the clustering key
	CommitTime   int64   `json:"commitTime"`
	SegmentIDs   []int64 `json:"segmentIDs"`
}

const prefixPartStats = "data/partstats/"

func partStatsKey(collection, partition int64, vchannel string) string {
	return prefixPartStats + strconv.FormatInt(collection, 10) + "/" + strconv.FormatInt(partition, 10) + "/" + vchannel
}

// loadPartStats reads the partition statistics at start-up.
func (s *Server) loadPartStats(ctx context.Context) error {
	entries, err := s.kv.List(ctx, prefixPartStats)
	if err != nil {
		return fmt.Errorf("datacoord: load partition stats: %w", err)
	}
	for _, e := range entries {
		var ps PartitionStats
		if err := json.Unmarshal(e.Value, &ps); err != nil {
			return fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		s.partStats[strings.TrimPrefix(e.Key, prefixPartStats)] = ps
	}
	return nil
}

// PartitionStatistics returns the partition statistics of a collection's
// shards, by partition then vchannel order.
func (s *Server) PartitionStatistics(collectionID int64) []PartitionStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PartitionStats
	for _, ps := range s.partStats {
		if ps.CollectionID == collectionID {
			ps.SegmentIDs = slices.Clone(ps.SegmentIDs)
			out = append(out, ps)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PartitionID != out[j].PartitionID {
			return out[i].PartitionID < out[j].PartitionID
		}
		return out[i].VChannel < out[j].VChannel
	})
	return out
}

// partStatsMatchingLocked returns the keys of the partition statistics
// of the partitions whose segments match (a drop).
func (s *Server) partStatsMatchingLocked(match func(*model.Segment) bool) []string {
	var out []string
	for k, ps := range s.partStats {
		if match(&model.Segment{CollectionID: ps.CollectionID, PartitionID: ps.PartitionID, VChannel: ps.VChannel}) {
			out = append(out, k)
		}
	}
	return out
}

// clusteringKey returns a collection's clustering key field, nil without
// (clusterkey.Field: a vector key only with common.enableVectorClusteringKey).
func (s *Server) clusteringKey(c *model.Collection) *schemapb.FieldSchema {
	return clusterkey.Field(c.Schema, s.ccfg.Clustering.Key)
}

// planClustering plans the clustering compaction of a collection: per
// partition and shard, every flushed segment is rewritten, sorted by the
// clustering key and cut into segments of disjoint key ranges (deleted and
// expired rows dropped on the way). A collection without a clustering key
// gets no plan, as in Milvus; so does a shard with a segment already in a
// running compaction. Without manual, a shard is planned only when due
// (clusteringDue). Planned segments are marked compacting.
func (s *Server) planClustering(ctx context.Context, collectionID int64, manual bool) ([]plan, error) {
	coll, err := s.compactedCollection(ctx, collectionID)
	if err != nil {
		return nil, err
	}
	key := s.clusteringKey(coll)
	if key == nil {
		return nil, nil
	}
	vector := column.IsVector(key.GetDataType())
	if vector && key.GetDataType() != schemapb.DataType_FloatVector {
		// Milvus 2.6 clusters FloatVector keys only.
		s.logger.Info("clustering compaction by this vector type is not supported", "collection", collectionID, "field", key.GetName())
		return nil, nil
	}
	if err := s.countDeletes(ctx, coll); err != nil {
		return nil, err
	}
	expire := s.expireTS(coll, time.Now())
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	type group struct {
		partition int64
		vchannel  string
	}
	groups := map[group][]*model.Segment{}
	busy := map[group]bool{}
	for _, seg := range s.segments {
		if seg.CollectionID != collectionID || seg.State != model.SegmentFlushed {
			continue
		}
		g := group{seg.PartitionID, seg.VChannel}
		if s.compacting[seg.ID] {
			busy[g] = true
			continue
		}
		groups[g] = append(groups[g], seg)
	}
	keys := make([]group, 0, len(groups))
	for g := range groups {
		if !busy[g] {
			keys = append(keys, g)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].vchannel != keys[j].vchannel {
			return keys[i].vchannel < keys[j].vchannel
		}
		return keys[i].partition < keys[j].partition
	})
	var out []plan
	for _, g := range keys {
		segs := groups[g]
		sort.Slice(segs, func(i, j int) bool { return segs[i].ID < segs[j].ID })
		if !manual && !s.clusteringDue(coll.ID, g.partition, g.vchannel, segs, now) {
			continue
		}
		p := plan{coll: coll, expire: expire, clusterBy: key.GetFieldID(), preferRows: s.preferRows(segs)}
		if vector {
			p.clusters, p.preferRows = s.vectorClusters(segs, key)
			if !manual && p.clusters < s.ccfg.Clustering.MinCentroids {
				// The plan would fail (runClustering): the trigger does
				// not start it again and again.
				continue
			}
		}
		for _, seg := range segs {
			p.sources = append(p.sources, *seg)
		}
		out = append(out, p)
	}
	s.markPlannedLocked(out)
	return out, nil
}

// markPlannedLocked marks the plans' sources compacting and gives each
// plan the delta logs that may delete rows of its sources.
func (s *Server) markPlannedLocked(out []plan) {
	for i := range out {
		floor := int64(-1)
		for _, seg := range out[i].sources {
			s.compacting[seg.ID] = true
			if f := deltaFloor(&seg); floor < 0 || f < floor {
				floor = f
			}
		}
		for _, dl := range s.deltas[out[i].sources[0].VChannel] {
			if dl.ID > floor {
				out[i].deltas = append(out[i].deltas, dl)
			}
		}
	}
}

// preferRows is how many rows a clustering compaction of segs puts in
// one output segment: PreferSegmentSizeRatio of a full segment, in rows
// (by the segments' bytes per row), as Milvus estimates it.
func (s *Server) preferRows(segs []*model.Segment) int64 {
	var rows, bytes int64
	for _, seg := range segs {
		rows += seg.NumRows
		bytes += seg.SizeBytes
	}
	full := s.cfg.MaxSegmentRows
	if rows > 0 && bytes > 0 {
		if bySize := s.cfg.MaxSegmentBytes * rows / bytes; full <= 0 || bySize < full {
			full = bySize
		}
	}
	prefer := int64(float64(full) * s.ccfg.Clustering.PreferSegmentSizeRatio)
	return max(prefer, 1)
}

// vectorClusters is Milvus's analyze task's number of centroids for a
// vector clustering key over segs: their rows' vectors' bytes over
// MaxSegmentSizeRatio of the maximum segment size, at most MaxCentroids
// (under MinCentroids, the plan fails when run, as Milvus's). It returns
// it with the most rows of one output segment: MaxSegmentSizeRatio of a
// full segment, MaxClusterSize bytes of vectors, MaxClusterSizeRatio
// average clusters, whichever is fewest.
func (s *Server) vectorClusters(segs []*model.Segment, key *schemapb.FieldSchema) (clusters, maxRows int64) {
	cc := s.ccfg.Clustering
	var rows int64
	for _, seg := range segs {
		rows += seg.NumRows
	}
	vecBytes := max(int64(fieldDim(key))*4, 1)
	target := float64(s.cfg.MaxSegmentBytes) * cc.MaxSegmentSizeRatio
	clusters = int64(math.Ceil(float64(rows*vecBytes) / max(target, 1)))
	clusters = max(clusters, 1)
	if cc.MaxCentroids > 0 {
		clusters = min(clusters, cc.MaxCentroids)
	}
	maxRows = int64(float64(s.preferRows(segs)) / cc.PreferSegmentSizeRatio * cc.MaxSegmentSizeRatio)
	if cc.MaxClusterSize > 0 {
		maxRows = min(maxRows, cc.MaxClusterSize/vecBytes)
	}
	if cc.MaxClusterSizeRatio > 0 {
		maxRows = min(maxRows, int64(cc.MaxClusterSizeRatio*float64(rows)/float64(clusters)))
	}
	return clusters, max(maxRows, 1)
}

// fieldDim is a vector field's dim type parameter (0 without).
func fieldDim(f *schemapb.FieldSchema) int {
	for _, kv := range f.GetTypeParams() {
		if kv.GetKey() == "dim" {
			d, _ := strconv.Atoi(kv.GetValue())
			return d
		}
	}
	return 0
}

// clusteringDue is Milvus's automatic clustering policy for one shard of
// a partition: never clustered, once its data reaches NewDataSize; else
// not within MinInterval of the last, always after MaxInterval, and in
// between once the segments written since hold NewDataSize bytes.
func (s *Server) clusteringDue(collection, partition int64, vchannel string, segs []*model.Segment, now time.Time) bool {
	cc := s.ccfg.Clustering
	ps, ok := s.partStats[strings.TrimPrefix(partStatsKey(collection, partition, vchannel), prefixPartStats)]
	var fresh int64
	for _, seg := range segs {
		if !ok || !slices.Contains(ps.SegmentIDs, seg.ID) {
			fresh += seg.SizeBytes
		}
	}
	if !ok {
		return fresh > cc.NewDataSize
	}
	since := now.Sub(time.UnixMilli(ps.CommitTime))
	switch {
	case since < cc.MinInterval:
		return false
	case since > cc.MaxInterval:
		return true
	}
	return fresh > cc.NewDataSize
}

// triggerClustering runs the automatic clustering trigger over every
// collection with flushed segments.
func (s *Server) triggerClustering(ctx context.Context) {
	cc := s.ccfg.Clustering
	if !s.ccfg.Enable || !cc.Enable || !cc.Auto {
		return
	}
	for _, c := range s.flushedCollections() {
		plans, err := s.planClustering(ctx, c, false)
		if err != nil {
			s.logger.Warn("plan clustering compaction", "collection", c, "err", err)
			continue
		}
		if len(plans) > 0 {
			if _, err := s.startJob(ctx, c, plans); err != nil {
				s.logger.Warn("start clustering compaction", "collection", c, "err", err)
			}
		}
	}
}

// runClustering executes a clustering plan on a data node and commits it;
// it returns the first new segment's ID (0 when no row survived).
func (s *Server) runClustering(ctx context.Context, planID int64, p plan) (int64, error) {
	var live int64
	for _, seg := range p.sources {
		live += seg.NumRows
	}
	// Runs of one key value may exceed preferRows, so outputs never
	// outnumber live/preferRows, plus one for the null keys.
	n := live/p.preferRows + 2
	var minCluster float64
	var analyzed model.AnalyzeTask // a vector key's analyze task, finished
	if p.clusters != 0 {
		if p.clusters < s.ccfg.Clustering.MinCentroids {
			// Milvus's analyze task finishes without centroids for so
			// little data, and the compaction task fails.
			return 0, fmt.Errorf("datacoord: clustering compaction plan %d: %d rows need %d centroids, under minCentroidsNum %d: %w",
				planID, live, p.clusters, s.ccfg.Clustering.MinCentroids, errs.ErrClusteringCompactionNotSupportVector)
		}
		// One segment per cluster, plus one per preferRows of a cluster
		// cut, plus the null keys'.
		n += p.clusters
		minCluster = s.ccfg.Clustering.MinClusterSizeRatio
		// The centroids come from the plan's analyze task, run on an
		// index node (analyze.go); the task goes with the plan.
		defer s.dropAnalysis(ctx, planID)
		var err error
		if analyzed, err = s.analyze(ctx, planID, p); err != nil {
			return 0, err
		}
	}
	first, err := s.ids.AllocID(ctx, n)
	if err != nil {
		return 0, fmt.Errorf("datacoord: allocate ids: %w", err)
	}
	targets := make([]int64, n)
	var dirs []string
	for i := range targets {
		targets[i] = first + int64(i)
		dirs = append(dirs, storage.SegmentPrefixes(p.sources[0].CollectionID, p.sources[0].PartitionID, targets[i])...)
	}
	if p.noteTargets != nil {
		if err := p.noteTargets(targets); err != nil {
			return 0, err
		}
	}
	comp, release := s.reserveDirs(dirs)
	defer func() { release() }()
	start := time.Now()
	res, err := comp.Compact(ctx, contract.CompactionTask{PlanID: planID, Collection: p.coll, Segments: p.sources,
		DeltaLogs: p.deltas, ExpireTS: p.expire, TargetID: targets[0], ClusteringField: p.clusterBy, TargetIDs: targets,
		PreferRows: p.preferRows, NumClusters: p.clusters, MinClusterRatio: minCluster, AnalyzeFile: analyzed.CentroidsFile,
		AnalyzeMappings: analyzed.Mappings()})
	if err != nil {
		return 0, fmt.Errorf("datacoord: clustering compaction plan %d: %w", planID, err)
	}
	segs, err := s.commitClustered(ctx, planID, p, res)
	if err != nil {
		var files []string
		for _, r := range res.Clustered {
			files = append(files, segmentFiles(&model.Segment{Binlogs: r.Binlogs, StatsLog: r.StatsLog})...)
		}
		release = s.uncommitted(planID, err, files, release)
		return 0, err
	}
	s.logger.Info("clustering compaction committed", "plan", planID, "sources", len(p.sources), "targets", len(res.Clustered),
		"took", time.Since(start))
	s.notifyFlushed(ctx, "clustered", segs...)
	if segs[0].State == model.SegmentDropped {
		return 0, nil
	}
	return segs[0].ID, nil
}

// commitClustered records a finished clustering compaction in one
// meta-store transaction: the new segments flushed (each naming the
// others as Siblings), the sources dropped, and the shard's partition
// statistics replaced. When no row survived it returns one Dropped
// segment carrying the sources (a tombstone for the listeners).
func (s *Server) commitClustered(ctx context.Context, planID int64, p plan, res contract.CompactionResult) ([]*model.Segment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UnixMilli()
	first := p.sources[0]
	var ops []kv.Op
	var from []int64
	applied := int64(-1)
	var startPos, sealTS, flushTS uint64
	for _, src := range p.sources {
		cur, ok := s.segments[src.ID]
		if !ok || cur.State != model.SegmentFlushed {
			return nil, fmt.Errorf("datacoord: segment %d was dropped while compacting", src.ID)
		}
		if f := deltaFloor(cur); applied < 0 || f < applied {
			applied = f
		}
		from = append(from, cur.ID)
		from = append(from, cur.CompactedFrom...)
		if startPos == 0 || cur.StartPosition < startPos {
			startPos = cur.StartPosition
		}
		sealTS, flushTS = max(sealTS, cur.SealTS), max(flushTS, cur.FlushTS)
		op, err := droppedOp(cur, now)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	for _, dl := range p.deltas {
		applied = max(applied, dl.ID)
	}
	from = ancestry(from)
	var ids []int64
	for _, r := range res.Clustered {
		if r.NumRows > 0 {
			ids = append(ids, r.SegmentID)
		}
	}
	var out []*model.Segment
	for _, r := range res.Clustered {
		if r.NumRows == 0 {
			continue
		}
		seg := &model.Segment{ID: r.SegmentID, CollectionID: first.CollectionID, PartitionID: first.PartitionID,
			VChannel: first.VChannel, State: model.SegmentFlushed, NumRows: r.NumRows, Binlogs: r.Binlogs,
			StatsLog: r.StatsLog, FlushTS: max(r.FlushTS, flushTS), SizeBytes: r.SizeBytes, CompactedFrom: from,
			DeltaApplied: applied, StartPosition: startPos, SealTS: sealTS, Clustered: true, Sorted: true}
		for _, id := range ids {
			if id != seg.ID {
				seg.Siblings = append(seg.Siblings, id)
			}
		}
		b, err := marshal(seg)
		if err != nil {
			return nil, err
		}
		ops = append(ops, kv.Op{Key: segKey(seg.ID), Value: b})
		out = append(out, seg)
	}
	ps := PartitionStats{CollectionID: first.CollectionID, PartitionID: first.PartitionID, VChannel: first.VChannel,
		Version: planID, FieldID: p.clusterBy, CommitTime: now, SegmentIDs: ids}
	psKey := partStatsKey(first.CollectionID, first.PartitionID, first.VChannel)
	b, err := json.Marshal(ps)
	if err != nil {
		return nil, fmt.Errorf("datacoord: encode partition stats: %w", err)
	}
	ops = append(ops, kv.Op{Key: psKey, Value: b})
	if err := s.commitOps(ctx, ops); err != nil {
		return nil, fmt.Errorf("datacoord: commit clustering compaction: %w", err)
	}
	for _, src := range p.sources {
		s.dropSegmentLocked(s.segments[src.ID], now)
	}
	s.partStats[strings.TrimPrefix(psKey, prefixPartStats)] = ps
	if len(out) == 0 {
		return []*model.Segment{{ID: res.Segment.SegmentID, CollectionID: first.CollectionID, PartitionID: first.PartitionID,
			VChannel: first.VChannel, State: model.SegmentDropped, DroppedAt: now, CompactedFrom: from}}, nil
	}
	copies := make([]*model.Segment, len(out))
	for i, seg := range out {
		s.putSegmentLocked(seg)
		c := *seg
		copies[i] = &c
	}
	return copies, nil
}
