package datacoord

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/storage"
	"github.com/milvago/milvago/internal/tso"
)

// compactor executes compactions (a data node, or its client).
type compactor interface {
	Compact(ctx context.Context, t contract.CompactionTask) (contract.CompactionResult, error)
}

// collections resolves a collection's current definition (rootcoord).
type collections interface {
	DescribeCollection(ctx context.Context, db, name string, id int64) (*model.Collection, error)
}

// CompactionConfig tunes compaction, with Milvus's dataCoord.compaction.*
// keys.
type CompactionConfig struct {
	// Enable allows compaction at all (dataCoord.enableCompaction).
	Enable bool
	// Auto runs the automatic triggers (dataCoord.compaction.enableAutoCompaction).
	Auto bool
	// TriggerInterval is how often the triggers look at every collection
	// (dataCoord.compaction.mix.triggerInterval).
	TriggerInterval time.Duration
	// DeletedRatio compacts a segment once this share of its rows is
	// deleted (dataCoord.compaction.single.ratio.threshold).
	DeletedRatio float64
	// SmallProportion: a segment below this share of the maximum segment
	// size is small and merged with others (dataCoord.segment.smallProportion).
	SmallProportion float64
	// MinSegments is how many small segments a merge of small segments
	// needs (dataCoord.compaction.min.segment); MaxSegments bounds a plan
	// (dataCoord.compaction.max.segment).
	MinSegments, MaxSegments int
	// Clustering tunes clustering compaction (clustering.go).
	Clustering ClusteringConfig
	// Sort rewrites every flushed segment not in primary-key order
	// (dataCoord.sortCompaction.enable), at most SortPerTrigger per pass
	// (dataCoord.sortCompactionTriggerCount); compaction_sort.go.
	Sort           bool
	SortPerTrigger int
}

// DefaultCompaction returns Milvus 2.6's defaults, except a trigger
// interval of 30 s (Milvus: 60 s) so that space comes back within minutes.
func DefaultCompaction() CompactionConfig {
	return CompactionConfig{Enable: true, Auto: true, TriggerInterval: 30 * time.Second, DeletedRatio: 0.2,
		SmallProportion: 0.5, MinSegments: 3, MaxSegments: 30, Clustering: DefaultClustering(),
		Sort: true, SortPerTrigger: 100}
}

// errCompactionDisabled is Milvus's answer with dataCoord.enableCompaction off.
var errCompactionDisabled = fmt.Errorf("compaction disabled: %w", errs.ErrServiceUnavailable)

// Attach gives the data coordinator the workers compaction and garbage
// collection use. Call it before Run.
func (s *Server) Attach(c compactor, colls collections, idx indexes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.compactor, s.colls, s.idx = c, colls, idx
}

// ManualCompaction plans a compaction of every flushed segment of a
// collection that has deleted or expired rows or is small, as Milvus's
// ManualCompaction, and returns the job's ID and number of plans at once;
// the plans run in the background. A collection with nothing to compact
// gets ID -1 and no plan, as in Milvus. With clustering it is a
// clustering compaction (clustering.go): a collection without a
// clustering key has nothing to do.
func (s *Server) ManualCompaction(ctx context.Context, collectionID int64, clustering bool) (int64, int, error) {
	if !s.ccfg.Enable {
		return 0, 0, errCompactionDisabled
	}
	var plans []plan
	var err error
	if clustering {
		plans, err = s.planClustering(ctx, collectionID, true)
	} else {
		plans, err = s.planCollection(ctx, collectionID, true)
	}
	if err != nil {
		return 0, 0, err
	}
	if len(plans) == 0 {
		return -1, 0, nil
	}
	id, err := s.startJob(ctx, collectionID, plans)
	if err != nil {
		return 0, 0, err
	}
	return id, len(plans), nil
}

// startJob records a job of plans (whose sources are marked compacting)
// and starts it; on failure the sources are released.
func (s *Server) startJob(ctx context.Context, collectionID int64, plans []plan) (int64, error) {
	id, err := s.ids.AllocID(ctx, 1)
	if err != nil {
		s.mu.Lock()
		for _, p := range plans {
			for _, seg := range p.sources {
				delete(s.compacting, seg.ID)
			}
		}
		s.mu.Unlock()
		return 0, fmt.Errorf("datacoord: allocate compaction id: %w", err)
	}
	job := &contract.CompactionJob{ID: id, CollectionID: collectionID, Started: time.Now()}
	metas := make([]planMeta, len(plans))
	for i := range plans {
		metas[i].clusterBy, metas[i].preferRows, metas[i].clusters = plans[i].clusterBy, plans[i].preferRows, plans[i].clusters
		job.Plans = append(job.Plans, contract.CompactionPlan{})
		for _, seg := range plans[i].sources {
			job.Plans[i].Sources = append(job.Plans[i].Sources, seg.ID)
		}
	}
	s.mu.Lock()
	s.jobPlans[id] = metas
	err = s.saveJobLocked(ctx, job)
	if err != nil {
		delete(s.jobPlans, id)
		for _, p := range plans {
			for _, seg := range p.sources {
				delete(s.compacting, seg.ID)
			}
		}
	} else {
		s.jobs[id] = job
	}
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	idx := make([]int, len(plans))
	for i := range idx {
		idx[i] = i
	}
	s.runPlans(job, idx, plans)
	return id, nil
}

// CompactionJob returns a job (false when unknown).
func (s *Server) CompactionJob(ctx context.Context, id int64) (contract.CompactionJob, bool, error) {
	if !s.ccfg.Enable {
		return contract.CompactionJob{}, false, errCompactionDisabled
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return contract.CompactionJob{}, false, nil
	}
	out := *j
	out.Plans = append([]contract.CompactionPlan(nil), j.Plans...)
	return out, true, nil
}

type plan struct {
	coll    *model.Collection
	sources []model.Segment
	deltas  []model.DeltaLog
	expire  uint64
	// clusterBy is the clustering key of a clustering compaction (0: a
	// mix compaction), preferRows the rows of each output segment (for a
	// vector key, the most rows of one), clusters the number of k-means
	// centroids of a vector key (0: a scalar key).
	clusterBy, preferRows, clusters int64
	// noteTargets records the segment IDs the plan will write before it
	// writes them (compaction_jobs.go).
	noteTargets func(targets []int64) error
}

// runPlans runs plans, the plans idx of job (recorded in it), one after
// another in the background (one plan at a time per job keeps a core for
// queries), keeping the job's record up to date.
func (s *Server) runPlans(job *contract.CompactionJob, idx []int, plans []plan) {
	go func() {
		ctx := s.runCtx()
		for k, p := range plans {
			i := idx[k]
			p.noteTargets = func(targets []int64) error { return s.notePlanTargets(ctx, job, i, targets) }
			target, err := s.runPlan(ctx, p)
			if ctx.Err() != nil {
				// Stopping: the next coordinator settles the plan from
				// its record.
				return
			}
			s.mu.Lock()
			ps := &job.Plans[i]
			ps.Done, ps.Target = true, target
			if err != nil {
				ps.Failed, ps.Reason = true, err.Error()
			}
			if err := s.saveJobLocked(ctx, job); err != nil {
				s.logger.Warn("record compaction plan", "job", job.ID, "err", err)
			}
			s.mu.Unlock()
			if err != nil {
				s.logger.Warn("compaction failed", "job", job.ID, "err", err)
			}
		}
		s.mu.Lock()
		for _, p := range plans {
			for _, seg := range p.sources {
				delete(s.compacting, seg.ID)
			}
		}
		s.mu.Unlock()
	}()
}

func (s *Server) runCtx() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		return context.Background()
	}
	return s.ctx
}

// compactedCollection describes the collection a compaction is planned
// for, once compaction is attached (Attach).
func (s *Server) compactedCollection(ctx context.Context, collectionID int64) (*model.Collection, error) {
	s.mu.Lock()
	comp, colls := s.compactor, s.colls
	s.mu.Unlock()
	if comp == nil || colls == nil {
		return nil, fmt.Errorf("datacoord: compaction is not available")
	}
	return colls.DescribeCollection(ctx, "", "", collectionID)
}

// planCollection counts deletes where needed and plans the compactions of
// one collection. Segments it plans are marked compacting. force plans
// every segment with a deleted or expired row (a manual compaction).
func (s *Server) planCollection(ctx context.Context, collectionID int64, force bool) ([]plan, error) {
	coll, err := s.compactedCollection(ctx, collectionID)
	if err != nil {
		return nil, err
	}
	if err := s.countDeletes(ctx, coll); err != nil {
		return nil, err
	}
	expire := s.expireTS(coll, time.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	type group struct {
		partition int64
		vchannel  string
	}
	groups := map[group][]*model.Segment{}
	for _, seg := range s.segments {
		if seg.CollectionID == collectionID && seg.State == model.SegmentFlushed && !s.compacting[seg.ID] {
			g := group{seg.PartitionID, seg.VChannel}
			groups[g] = append(groups[g], seg)
		}
	}
	keys := make([]group, 0, len(groups))
	for g := range groups {
		keys = append(keys, g)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].vchannel != keys[j].vchannel {
			return keys[i].vchannel < keys[j].vchannel
		}
		return keys[i].partition < keys[j].partition
	})
	smallRows := int64(float64(s.cfg.MaxSegmentRows) * s.ccfg.SmallProportion)
	smallBytes := int64(float64(s.cfg.MaxSegmentBytes) * s.ccfg.SmallProportion)
	var out []plan
	for _, g := range keys {
		segs := groups[g]
		sort.Slice(segs, func(i, j int) bool { return segs[i].ID < segs[j].ID })
		var dirty, small []*model.Segment
		for _, seg := range segs {
			live := seg.NumRows - seg.DeletedRows
			manyDeltas := len(s.deltas[seg.VChannel]) >= maxDeltaLogs
			rewrite := seg.DeletedRows > 0 && (force || manyDeltas || float64(seg.DeletedRows) >= s.ccfg.DeletedRatio*float64(seg.NumRows)) ||
				expire != 0 && seg.FlushTS < expire // every row expired
			switch {
			case seg.Clustered:
				// A clustering compaction's segment holds one key range:
				// it is rewritten alone, never merged, so that ranges stay
				// apart (as Milvus leaves L2 segments out of mix merges).
				if rewrite {
					out = append(out, plan{coll: coll, sources: []model.Segment{*seg}, expire: expire})
				}
			case rewrite:
				dirty = append(dirty, seg)
			case live < smallRows && seg.SizeBytes < smallBytes:
				small = append(small, seg)
			}
		}
		if len(dirty) == 0 && len(small) < s.ccfg.MinSegments && !(force && len(small) > 1) {
			continue
		}
		// Merge what needs rewriting with the small segments, in plans
		// of at most MaxSegments inputs and one segment's size.
		cands := append(dirty, small...)
		var cur []model.Segment
		var rows, bytes int64
		flush := func() {
			if len(cur) > 1 || len(cur) == 1 && (cur[0].DeletedRows > 0 || expire != 0 && cur[0].FlushTS < expire) {
				out = append(out, plan{coll: coll, sources: cur, expire: expire})
			}
			cur, rows, bytes = nil, 0, 0
		}
		for _, seg := range cands {
			live := seg.NumRows - seg.DeletedRows
			liveBytes := seg.SizeBytes
			if seg.NumRows > 0 {
				liveBytes = seg.SizeBytes * live / seg.NumRows
			}
			if len(cur) > 0 && (len(cur) >= s.ccfg.MaxSegments || rows+live > s.cfg.MaxSegmentRows || bytes+liveBytes > s.cfg.MaxSegmentBytes) {
				flush()
			}
			cur = append(cur, *seg)
			rows += live
			bytes += liveBytes
		}
		flush()
	}
	s.markPlannedLocked(out)
	return out, nil
}

// deltaFloor is the ID below which no delta log of its channel deletes a
// row of seg. A segment written from the log got its ID after every delta
// log with a smaller ID was allocated, which the data node does after it
// read all of that log's deletes: the segment's rows are newer. A
// compacted segment had the delta logs up to DeltaApplied applied.
//
// A segment counted clean (no row deleted by the logs up to DeletedUpTo)
// needs none of those logs either.
func deltaFloor(seg *model.Segment) int64 {
	floor := seg.ID
	if len(seg.CompactedFrom) > 0 {
		floor = seg.DeltaApplied
	}
	if seg.DeletedRows == 0 && seg.State == model.SegmentFlushed {
		floor = max(floor, seg.DeletedUpTo)
	}
	return floor
}

// maxDeltaLogs is how many delete logs a channel may hold before the
// segments they delete rows of are rewritten whatever their deleted ratio
// (Milvus's dataCoord.compaction.levelzero.forceTrigger.deltalogMaxNum),
// so that delete logs do not pile up behind segments with few deletes.
const maxDeltaLogs = 30

// expireTS is the timestamp before which a collection's rows expired
// (collection.ttl.seconds), 0 without a TTL.
func (s *Server) expireTS(c *model.Collection, now time.Time) uint64 {
	for _, kvp := range c.Properties {
		if kvp.GetKey() != "collection.ttl.seconds" {
			continue
		}
		ttl, err := strconv.ParseInt(kvp.GetValue(), 10, 64)
		if err != nil || ttl <= 0 {
			return 0
		}
		return tso.Compose(now.Add(-time.Duration(ttl)*time.Second), 0)
	}
	return 0
}

// countDeletes has a data node count, for each flushed segment with delta
// logs it has not counted, how many of its rows they delete. Counting
// is exact (keys and timestamps are compared row by row), so row counts
// are exact once deletes are in delta logs.
func (s *Server) countDeletes(ctx context.Context, coll *model.Collection) error {
	s.mu.Lock()
	comp := s.compactor
	type task struct {
		seg    model.Segment
		deltas []model.DeltaLog
		upTo   int64
	}
	var tasks []task
	for _, seg := range s.segments {
		if seg.CollectionID != coll.ID || seg.State != model.SegmentFlushed || s.compacting[seg.ID] {
			continue
		}
		var ds []model.DeltaLog
		floor := deltaFloor(seg)
		for _, dl := range s.deltas[seg.VChannel] {
			if dl.ID > floor {
				ds = append(ds, dl)
			}
		}
		if len(ds) == 0 || ds[len(ds)-1].ID <= seg.DeletedUpTo {
			continue
		}
		tasks = append(tasks, task{seg: *seg, deltas: ds, upTo: ds[len(ds)-1].ID})
	}
	s.mu.Unlock()
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].seg.ID < tasks[j].seg.ID })
	var errList []error
	for _, t := range tasks {
		res, err := comp.Compact(ctx, contract.CompactionTask{Collection: coll, Segments: []model.Segment{t.seg}, DeltaLogs: t.deltas, CountOnly: true})
		if err != nil {
			errList = append(errList, fmt.Errorf("datacoord: count deletes of segment %d: %w", t.seg.ID, err))
			continue
		}
		s.mu.Lock()
		seg, ok := s.segments[t.seg.ID]
		if ok && seg.State == model.SegmentFlushed && seg.DeletedUpTo < t.upTo {
			next := *seg
			next.DeletedRows, next.DeletedUpTo = res.Deleted[t.seg.ID], t.upTo
			if err := s.saveLocked(ctx, &next); err != nil {
				errList = append(errList, err)
			} else {
				s.replaceSegmentLocked(seg, next)
			}
		}
		s.mu.Unlock()
	}
	return errors.Join(errList...)
}

// runPlan executes one plan on a data node and commits it; it returns the
// new segment's ID (0 when no row survived).
func (s *Server) runPlan(ctx context.Context, p plan) (int64, error) {
	ids, err := s.ids.AllocID(ctx, 2)
	if err != nil {
		return 0, fmt.Errorf("datacoord: allocate ids: %w", err)
	}
	planID, target := ids, ids+1
	if p.clusterBy != 0 {
		return s.runClustering(ctx, planID, p)
	}
	if p.noteTargets != nil {
		if err := p.noteTargets([]int64{target}); err != nil {
			return 0, err
		}
	}
	first := p.sources[0]
	// The orphan scan must not take the target's files for garbage before
	// the commit records them.
	dirs := storage.SegmentPrefixes(first.CollectionID, first.PartitionID, target)
	comp, release := s.reserveDirs(dirs)
	defer func() { release() }()
	start := time.Now()
	res, err := comp.Compact(ctx, contract.CompactionTask{PlanID: planID, Collection: p.coll, Segments: p.sources,
		DeltaLogs: p.deltas, ExpireTS: p.expire, TargetID: target})
	if err != nil {
		return 0, fmt.Errorf("datacoord: compaction plan %d: %w", planID, err)
	}
	seg, err := s.commit(ctx, p, res)
	if err != nil {
		release = s.uncommitted(planID, err, segmentFiles(&model.Segment{Binlogs: res.Segment.Binlogs, StatsLog: res.Segment.StatsLog}), release)
		return 0, err
	}
	s.logger.Info("compaction committed", "plan", planID, "sources", len(p.sources), "target", seg.ID,
		"rows", seg.NumRows, "took", time.Since(start))
	s.notifyFlushed(ctx, "compacted", seg)
	if seg.State == model.SegmentDropped {
		return 0, nil
	}
	return seg.ID, nil
}

// commit records a finished compaction: the new segment is flushed and
// its sources dropped in one transaction. It returns the new segment, or,
// when no row survived, a Dropped segment carrying the sources in
// CompactedFrom (a tombstone for the listeners).
func (s *Server) commit(ctx context.Context, p plan, res contract.CompactionResult) (*model.Segment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UnixMilli()
	first := p.sources[0]
	next := &model.Segment{ID: res.Segment.SegmentID, CollectionID: first.CollectionID, PartitionID: first.PartitionID,
		VChannel: first.VChannel, State: model.SegmentFlushed, NumRows: res.Segment.NumRows, Binlogs: res.Segment.Binlogs,
		StatsLog: res.Segment.StatsLog, FlushTS: res.Segment.FlushTS, SizeBytes: res.Segment.SizeBytes}
	applied := int64(-1)
	var ops []kv.Op
	for _, src := range p.sources {
		cur, ok := s.segments[src.ID]
		if !ok || cur.State != model.SegmentFlushed {
			return nil, fmt.Errorf("datacoord: segment %d was dropped while compacting", src.ID)
		}
		if f := deltaFloor(cur); applied < 0 || f < applied {
			applied = f
		}
		next.CompactedFrom = append(next.CompactedFrom, cur.ID)
		next.CompactedFrom = append(next.CompactedFrom, cur.CompactedFrom...)
		if next.StartPosition == 0 || cur.StartPosition < next.StartPosition {
			next.StartPosition = cur.StartPosition
		}
		next.SealTS = max(next.SealTS, cur.SealTS)
		next.FlushTS = max(next.FlushTS, cur.FlushTS)
		op, err := droppedOp(cur, now)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	for _, dl := range p.deltas {
		applied = max(applied, dl.ID)
	}
	next.DeltaApplied = applied
	// A clustered segment rewritten alone keeps its key range.
	next.Clustered = len(p.sources) == 1 && p.sources[0].Clustered
	// The data node writes every compaction's output in key order.
	next.Sorted = true
	next.CompactedFrom = ancestry(next.CompactedFrom)
	if next.NumRows == 0 {
		next.State, next.DroppedAt = model.SegmentDropped, now
	} else {
		b, err := marshal(next)
		if err != nil {
			return nil, err
		}
		ops = append(ops, kv.Op{Key: segKey(next.ID), Value: b})
	}
	if err := s.commitOps(ctx, ops); err != nil {
		return nil, fmt.Errorf("datacoord: commit compaction: %w", err)
	}
	for _, src := range p.sources {
		s.dropSegmentLocked(s.segments[src.ID], now)
	}
	if next.NumRows > 0 {
		s.putSegmentLocked(next)
	}
	out := *next
	return &out, nil
}

// droppedOp is the meta-store write that records a compaction's source
// as dropped at now (unix milliseconds), committed with the compaction's output.
func droppedOp(src *model.Segment, now int64) (kv.Op, error) {
	dropped := *src
	dropped.State, dropped.DroppedAt = model.SegmentDropped, now
	b, err := marshal(&dropped)
	if err != nil {
		return kv.Op{}, err
	}
	return kv.Op{Key: segKey(src.ID), Value: b}, nil
}

// maxAncestors bounds a segment's CompactedFrom list.
const maxAncestors = 256

// ancestry sorts and dedups a compaction output's CompactedFrom (its
// sources and all of theirs) and keeps the newest maxAncestors.
//
// An ancestor stays in the list after garbage collection forgot its
// record: a query node may still serve it, when none of the segments
// compacted from it was handed to the query node yet (a compaction's
// output waits for its index before the handoff, so a segment sorted and
// then merged before the sorted copy was indexed is such an ancestor), and
// the handoff of the newest segment must take it out. Only a long chain of
// compactions none of which was handed off would reach past the bound.
func ancestry(ids []int64) []int64 {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > maxAncestors {
		ids = slices.Clone(ids[len(ids)-maxAncestors:])
	}
	return ids
}

// uncommitted disposes of the output files of a plan whose commit failed
// with err and returns what the plan's deferred release is to run: when
// the commit did not apply, the files are garbage (trashed) and the
// reserved dirs released; when its outcome is unknown, the files may be
// a live segment's, so they stay and their dirs stay reserved from the
// orphan scan, until a restart reloads the meta and settles the plan.
func (s *Server) uncommitted(planID int64, err error, files []string, release func()) func() {
	if errors.Is(err, errCommitUnknown) {
		s.logger.Error("compaction commit outcome unknown: its output files are kept until a restart", "plan", planID, "err", err)
		return func() {}
	}
	s.trashFiles(files)
	return release
}

// reserveDirs marks dirs as being written by a compaction, so that the
// orphan scan does not take their files for garbage before the commit
// records them, and returns the compactor and the release of the dirs.
func (s *Server) reserveDirs(dirs []string) (compactor, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range dirs {
		s.writing[d] = true
	}
	return s.compactor, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, d := range dirs {
			delete(s.writing, d)
		}
	}
}

// flushedCollections returns the IDs of the collections with flushed
// segments, in order: those the triggers look at.
func (s *Server) flushedCollections() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[int64]bool{}
	var colls []int64
	for _, seg := range s.segments {
		if seg.State == model.SegmentFlushed && !seen[seg.CollectionID] {
			seen[seg.CollectionID] = true
			colls = append(colls, seg.CollectionID)
		}
	}
	slices.Sort(colls)
	return colls
}

// trigger runs the automatic compaction triggers over every collection
// with flushed segments, then drops delete logs no segment needs.
func (s *Server) trigger(ctx context.Context) {
	if !s.ccfg.Enable {
		return
	}
	for _, c := range s.flushedCollections() {
		plans, err := s.planCollection(ctx, c, false)
		if err != nil {
			s.logger.Warn("plan compaction", "collection", c, "err", err)
			continue
		}
		if len(plans) == 0 {
			continue
		}
		if _, err := s.startJob(ctx, c, plans); err != nil {
			s.logger.Warn("start compaction", "collection", c, "err", err)
		}
	}
	s.triggerSort(ctx)
	if err := s.dropAppliedDeltas(ctx); err != nil {
		s.logger.Warn("drop applied delta logs", "err", err)
	}
	s.forgetOldJobs(ctx, time.Now())
}

// dropAppliedDeltas removes the delta logs whose deletes no live segment
// needs any more (an "L0 compaction": their deletes were applied to every
// segment older than them). Their files go to garbage collection.
func (s *Server) dropAppliedDeltas(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for vc, list := range s.deltas {
		// The lowest floor over the channel's live segments.
		floor := int64(-1)
		for _, seg := range s.segments {
			if seg.VChannel != vc || seg.State == model.SegmentDropped {
				continue
			}
			if f := deltaFloor(seg); floor < 0 || f < floor {
				floor = f
			}
		}
		var keep, gone []model.DeltaLog
		for _, dl := range list {
			if floor < 0 || dl.ID <= floor {
				gone = append(gone, dl)
			} else {
				keep = append(keep, dl)
			}
		}
		if len(gone) == 0 {
			continue
		}
		// A channel with no segment at all may still get one whose rows
		// the deletes hide: only drop logs below a live segment's floor.
		if floor < 0 {
			continue
		}
		now := time.Now().UnixMilli()
		var ops []kv.Op
		for _, dl := range gone {
			ops = append(ops, kv.Op{Key: prefixDelta + dl.VChannel + "/" + strconv.FormatInt(dl.ID, 10), Delete: true})
			b, _ := marshalTrash(trash{Paths: []string{dl.Path}, At: now})
			ops = append(ops, kv.Op{Key: prefixTrash + "delta-" + strconv.FormatInt(dl.ID, 10), Value: b})
		}
		if _, err := s.kv.Txn(ctx, nil, ops); err != nil {
			return fmt.Errorf("datacoord: drop delta logs of %s: %w", vc, err)
		}
		for _, dl := range gone {
			s.trash["delta-"+strconv.FormatInt(dl.ID, 10)] = trash{Paths: []string{dl.Path}, At: now}
		}
		s.deltas[vc] = keep
		s.logger.Info("dropped applied delta logs", "vchannel", vc, "logs", len(gone))
	}
	return nil
}

// forgetOldJobs forgets finished jobs after a day.
func (s *Server) forgetOldJobs(ctx context.Context, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, j := range s.jobs {
		if j.Completed() && now.Sub(j.Started) > 24*time.Hour {
			s.forgetJobLocked(ctx, id)
		}
	}
}
