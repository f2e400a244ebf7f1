package datacoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/storage"
)

// GCConfig tunes garbage collection, with Milvus's dataCoord.gc.* keys.
type GCConfig struct {
	// Enable runs garbage collection (dataCoord.enableGarbageCollection).
	Enable bool
	// Interval is the time between passes (dataCoord.gc.interval).
	Interval time.Duration
	// DropTolerance is how long the files of a compacted or dropped
	// segment are kept after it was dropped, for readers still planned on
	// it (dataCoord.gc.dropTolerance).
	DropTolerance time.Duration
	// MissingTolerance is how long a file no meta refers to is kept (a
	// flush or build may have written it and not recorded it yet)
	// (dataCoord.gc.missingTolerance).
	MissingTolerance time.Duration
}

// DefaultGC returns the defaults. Milvus keeps dropped files 3 hours and
// scans hourly; Milvago's compacted files go after 5 minutes, scanned
// every minute, so that disk use follows deletes within minutes.
func DefaultGC() GCConfig {
	return GCConfig{Enable: true, Interval: time.Minute, DropTolerance: 5 * time.Minute, MissingTolerance: time.Hour}
}

// indexes is what garbage collection needs from the index coordinator.
type indexes interface {
	// Builds lists every index build record, any state.
	Builds(ctx context.Context) ([]model.SegmentIndex, error)
	// DropSegmentIndexes forgets the builds of segments that are gone.
	DropSegmentIndexes(ctx context.Context, segmentIDs []int64) error
}

// trash is files to delete once DropTolerance has passed since At.
type trash struct {
	Paths []string `json:"paths"`
	At    int64    `json:"at"` // unix milliseconds
}

const prefixTrash = "data/trash/"

func marshal(seg *model.Segment) ([]byte, error) {
	b, err := json.Marshal(seg)
	if err != nil {
		return nil, fmt.Errorf("datacoord: encode segment %d: %w", seg.ID, err)
	}
	return b, nil
}

func marshalTrash(t trash) ([]byte, error) { return json.Marshal(t) }

// segmentFiles lists a segment's insert and stats logs.
func segmentFiles(seg *model.Segment) []string {
	var out []string
	for _, p := range seg.Binlogs {
		out = append(out, p)
	}
	if seg.StatsLog != "" {
		out = append(out, seg.StatsLog)
	}
	return out
}

// trashFiles deletes files nothing refers to (a compaction that could not
// commit) after the drop tolerance, as any garbage.
func (s *Server) trashFiles(paths []string) {
	if len(paths) == 0 {
		return
	}
	key := "files-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	t := trash{Paths: paths, At: time.Now().UnixMilli()}
	b, _ := marshalTrash(t)
	if _, err := s.kv.Put(context.Background(), prefixTrash+key, b); err != nil {
		s.logger.Warn("record garbage files", "err", err)
		return // the orphan scan finds them
	}
	s.mu.Lock()
	s.trash[key] = t
	s.mu.Unlock()
}

// Run runs the compaction triggers and garbage collection until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	go s.resumeJobs(ctx) // plans the previous coordinator was running (compaction_jobs.go)
	go s.notices.Run(ctx)
	var trig, clusterTrig, gc <-chan time.Time
	if s.ccfg.Auto && s.ccfg.TriggerInterval > 0 {
		t := time.NewTicker(s.ccfg.TriggerInterval)
		defer t.Stop()
		trig = t.C
	}
	if cc := s.ccfg.Clustering; s.ccfg.Auto && cc.Enable && cc.Auto && cc.TriggerInterval > 0 {
		t := time.NewTicker(cc.TriggerInterval)
		defer t.Stop()
		clusterTrig = t.C
	}
	if s.gcfg.Enable && s.gcfg.Interval > 0 {
		t := time.NewTicker(s.gcfg.Interval)
		defer t.Stop()
		gc = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-trig:
			s.mu.Lock()
			ready := s.compactor != nil && s.colls != nil
			s.mu.Unlock()
			if ready {
				s.trigger(ctx)
			}
		case <-clusterTrig:
			s.mu.Lock()
			ready := s.compactor != nil && s.colls != nil
			s.mu.Unlock()
			if ready {
				s.triggerClustering(ctx)
			}
		case <-gc:
			if err := s.CollectGarbage(ctx, time.Now()); err != nil && ctx.Err() == nil {
				s.logger.Warn("garbage collection", "err", err)
			}
		}
	}
}

// CollectGarbage runs one garbage-collection pass at time now: it deletes
// the files of segments dropped longer than DropTolerance ago (and their
// index files), the trash, and files no meta refers to that were seen
// unreferenced for MissingTolerance. It never deletes the files of a
// segment an index build is running on, nor a dropped segment's record
// while the data node could still replay its inserts from the log.
func (s *Server) CollectGarbage(ctx context.Context, now time.Time) error {
	if s.objects == nil {
		return nil
	}
	s.mu.Lock()
	idx := s.idx
	s.mu.Unlock()
	var builds []model.SegmentIndex
	if idx != nil {
		var err error
		if builds, err = idx.Builds(ctx); err != nil {
			return fmt.Errorf("datacoord: gc: list index builds: %w", err)
		}
	}
	building := map[int64]bool{}
	for _, b := range builds {
		if b.State == commonpb.IndexState_InProgress {
			building[b.SegmentID] = true
		}
	}
	cutoff := now.Add(-s.gcfg.DropTolerance).UnixMilli()
	// Dropped segments whose time has come.
	s.mu.Lock()
	var expired []model.Segment
	for _, seg := range s.segments {
		if seg.State != model.SegmentDropped || seg.DroppedAt > cutoff || building[seg.ID] {
			continue
		}
		if len(seg.CompactedFrom) == 0 {
			// A segment written from the log: its record must outlive any
			// replay of its inserts (the data node skips the inserts of a
			// known dropped segment), so it goes once the channel's
			// checkpoint has passed its Seal.
			if cp := s.checkpoints[seg.VChannel]; cp.TS < seg.FlushTS {
				continue
			}
		}
		expired = append(expired, *seg)
	}
	var trashKeys []string
	for k, t := range s.trash {
		if t.At <= cutoff {
			trashKeys = append(trashKeys, k)
		}
	}
	s.mu.Unlock()
	ids := make([]int64, 0, len(expired))
	for _, seg := range expired {
		ids = append(ids, seg.ID)
		for _, p := range segmentFiles(&seg) {
			if err := s.objects.Delete(ctx, p); err != nil {
				return fmt.Errorf("datacoord: gc: delete %s: %w", p, err)
			}
		}
		for _, prefix := range storage.SegmentPrefixes(seg.CollectionID, seg.PartitionID, seg.ID) {
			if err := s.objects.DeletePrefix(ctx, prefix); err != nil {
				return fmt.Errorf("datacoord: gc: %w", err)
			}
		}
	}
	// Index files of the segments going away, and of builds whose segment
	// is gone altogether (dropped partition, truncated collection).
	s.mu.Lock()
	gone := map[int64]bool{}
	for _, id := range ids {
		gone[id] = true
	}
	for _, b := range builds {
		if _, known := s.segments[b.SegmentID]; !known && b.State != commonpb.IndexState_InProgress {
			gone[b.SegmentID] = true
		}
	}
	s.mu.Unlock()
	var goneIDs []int64
	for id := range gone {
		goneIDs = append(goneIDs, id)
	}
	if idx != nil && len(goneIDs) > 0 {
		if err := idx.DropSegmentIndexes(ctx, goneIDs); err != nil {
			return fmt.Errorf("datacoord: gc: drop segment indexes: %w", err)
		}
		for _, b := range builds {
			if gone[b.SegmentID] {
				if err := s.objects.DeletePrefix(ctx, storage.IndexFilePath(b.BuildID, "")); err != nil {
					return fmt.Errorf("datacoord: gc: delete index files of build %d: %w", b.BuildID, err)
				}
			}
		}
	}
	if len(expired) > 0 {
		ops := make([]kv.Op, 0, len(expired))
		for _, seg := range expired {
			ops = append(ops, kv.Op{Key: segKey(seg.ID), Delete: true})
		}
		if _, err := s.kv.Txn(ctx, nil, ops); err != nil {
			return fmt.Errorf("datacoord: gc: forget dropped segments: %w", err)
		}
		s.mu.Lock()
		for _, seg := range expired {
			if cur, ok := s.segments[seg.ID]; ok && cur.State == model.SegmentDropped {
				s.deleteSegmentLocked(seg.ID)
			}
		}
		s.mu.Unlock()
		s.logger.Info("garbage collected dropped segments", "segments", len(expired), "ids", ids)
	}
	for _, k := range trashKeys {
		s.mu.Lock()
		t := s.trash[k]
		s.mu.Unlock()
		for _, p := range t.Paths {
			if err := s.objects.Delete(ctx, p); err != nil {
				return fmt.Errorf("datacoord: gc: delete %s: %w", p, err)
			}
		}
		if err := s.kv.Delete(ctx, prefixTrash+k); err != nil {
			return fmt.Errorf("datacoord: gc: %w", err)
		}
		s.logger.Info("garbage collected unrecorded files", "files", len(t.Paths), "first", t.Paths[:min(len(t.Paths), 5)])
		s.mu.Lock()
		delete(s.trash, k)
		s.mu.Unlock()
	}
	// An index coordinator not reachable for the analyze tasks does not
	// hold up the orphan scan.
	return errors.Join(s.collectOrphans(ctx, now, builds), s.collectAnalyses(ctx))
}

// collectOrphans deletes files under the data prefixes that no meta refers
// to and that were already unreferenced MissingTolerance ago (a flush or a
// build writes its files before recording them).
func (s *Server) collectOrphans(ctx context.Context, now time.Time, builds []model.SegmentIndex) error {
	s.mu.Lock()
	idx := s.idx
	refs := map[string]bool{}
	segDirs := map[string]bool{} // directories a flush or a compaction may be adding to
	for _, seg := range s.segments {
		for _, p := range segmentFiles(seg) {
			refs[p] = true
		}
		// A segment not flushed yet may have files written and not yet
		// reported (a flush in progress). A flushed or dropped segment's
		// files are exactly those it records: anything else in its
		// directory was left by an attempt that did not count (a data
		// node killed while flushing or compacting it, the work redone
		// elsewhere under the same segment ID with other log IDs), and
		// nothing would ever delete it while the segment lives.
		if seg.State == model.SegmentGrowing || seg.State == model.SegmentSealed {
			for _, p := range storage.SegmentPrefixes(seg.CollectionID, seg.PartitionID, seg.ID) {
				segDirs[p] = true
			}
		}
	}
	for d := range s.writing {
		segDirs[d] = true
	}
	importing := map[string]bool{} // collections a running import writes to (import.go)
	for coll := range s.imports.running {
		c := strconv.FormatInt(coll, 10)
		importing[storage.InsertLogPrefix+"/"+c] = true
		importing[storage.StatsLogPrefix+"/"+c] = true
	}
	for _, list := range s.deltas {
		for _, dl := range list {
			refs[dl.Path] = true
		}
	}
	for _, t := range s.trash {
		for _, p := range t.Paths {
			refs[p] = true
		}
	}
	s.mu.Unlock()
	liveBuilds := map[int64]bool{}
	for _, b := range builds {
		liveBuilds[b.BuildID] = true
	}
	seen := map[string]bool{}
	prefixes := []string{storage.InsertLogPrefix + "/", storage.StatsLogPrefix + "/", storage.DeltaLogPrefix + "/"}
	if idx != nil {
		prefixes = append(prefixes, storage.IndexFilePrefix+"/")
	}
	for _, prefix := range prefixes {
		list, err := s.objects.List(ctx, prefix)
		if err != nil {
			return fmt.Errorf("datacoord: gc: list %s: %w", prefix, err)
		}
		for _, o := range list {
			if refs[o.Key] || underAny(o.Key, segDirs) || inCollection(o.Key, importing) {
				continue
			}
			if prefix == storage.IndexFilePrefix+"/" {
				rest := strings.TrimPrefix(o.Key, prefix)
				id, err := strconv.ParseInt(strings.SplitN(rest, "/", 2)[0], 10, 64)
				if err != nil || liveBuilds[id] {
					continue
				}
			}
			seen[o.Key] = true
		}
	}
	s.mu.Lock()
	var doomed []string
	for k := range seen {
		first, ok := s.orphans[k]
		if !ok {
			s.orphans[k] = now
		} else if now.Sub(first) >= s.gcfg.MissingTolerance {
			doomed = append(doomed, k)
		}
	}
	for k := range s.orphans {
		if !seen[k] {
			delete(s.orphans, k)
		}
	}
	s.mu.Unlock()
	for _, k := range doomed {
		if err := s.objects.Delete(ctx, k); err != nil {
			return fmt.Errorf("datacoord: gc: delete orphan %s: %w", k, err)
		}
		s.mu.Lock()
		delete(s.orphans, k)
		s.mu.Unlock()
	}
	if len(doomed) > 0 {
		slices.Sort(doomed)
		s.logger.Info("garbage collected orphan files", "files", len(doomed), "first", doomed[:min(len(doomed), 5)])
	}
	return nil
}

func underAny(key string, dirs map[string]bool) bool {
	// Segment directories are prefix/{collection}/{partition}/{segment}/.
	parts := strings.SplitN(key, "/", 5)
	if len(parts) < 5 {
		return false
	}
	return dirs[strings.Join(parts[:4], "/")+"/"]
}

// inCollection tells whether key (prefix/{collection}/...) is in one of
// colls, given as prefix/{collection}.
func inCollection(key string, colls map[string]bool) bool {
	if len(colls) == 0 {
		return false
	}
	parts := strings.SplitN(key, "/", 3)
	return len(parts) == 3 && colls[parts[0]+"/"+parts[1]]
}
