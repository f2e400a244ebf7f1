package datacoord

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/notice"
	"github.com/milvago/milvago/internal/objstore"
)

// Config tunes segment sealing.
type Config struct {
	// MaxSegmentBytes seals a growing segment once its rows reach this size.
	MaxSegmentBytes int64
	// MaxSegmentRows seals a growing segment once it holds this many rows.
	MaxSegmentRows int64
	// MaxIdle seals a growing segment that received no rows for this long.
	MaxIdle time.Duration
	// Compaction and GC tune compaction and garbage collection.
	Compaction CompactionConfig
	GC         GCConfig
}

// Default returns the defaults: 512 MiB or 1M rows, 10 minutes idle.
func Default() Config {
	return Config{MaxSegmentBytes: 512 << 20, MaxSegmentRows: 1 << 20, MaxIdle: 10 * time.Minute,
		Compaction: DefaultCompaction(), GC: DefaultGC()}
}

// Listener hears about segments as they move through their life cycle.
type Listener interface {
	SegmentFlushed(ctx context.Context, seg *model.Segment) error
}

// idAllocator hands out global IDs (rootcoord).
type idAllocator interface {
	AllocID(ctx context.Context, count int64) (int64, error)
}

// Deps are the data coordinator's collaborators.
type Deps struct {
	KV  kv.Store
	IDs idAllocator
	// Objects is the object store garbage collection deletes from; nil:
	// no garbage collection.
	Objects objstore.Store
	Logger  *slog.Logger
}

// Server is the data coordinator.
type Server struct {
	cfg     Config
	ccfg    CompactionConfig
	gcfg    GCConfig
	kv      kv.Store
	ids     idAllocator
	objects objstore.Store
	logger  *slog.Logger

	mu          sync.Mutex // guards everything below
	segments    map[int64]*model.Segment
	sizes       binlogSizes // of segments, kept as it changes (binlog_sizes.go)
	growing     map[growingKey]*growingSegment
	checkpoints map[string]contract.Checkpoint
	deltas      map[string][]model.DeltaLog        // by vchannel
	failures    map[string]contract.ChannelFailure // by vchannel (failures.go)
	listeners   []Listener
	notices     *notice.Retrier          // listeners' failed notices, sent again (notify.go)
	channels    atomic.Pointer[Channels] // cluster: data node ownership of channels (channels.go); nil: one data node

	ctx        context.Context // Run's; compactions run under it
	compactor  compactor
	colls      collections
	idx        indexes
	jobs       map[int64]*contract.CompactionJob // compaction jobs by ID (recorded in the meta store: compaction_jobs.go)
	compacting map[int64]bool                    // segments a running plan reads
	trash      map[string]trash                  // files to delete after the drop tolerance
	orphans    map[string]time.Time              // unreferenced files, when first seen
	writing    map[string]bool                   // segment directories a running compaction writes
	imports    importState                       // bulk import jobs (import.go)
	partStats  map[string]PartitionStats         // by partStatsKey without its prefix (clustering.go)
	jobPlans   map[int64][]planMeta              // per job, per plan, what its record keeps beyond contract.CompactionPlan (compaction_jobs.go)
	analyses   analyzeTasks                      // the index coordinator's analyze tasks (analyze.go)
	analyzing  map[int64]bool                    // the analyze tasks of running vector clustering plans (analyze.go)
}

type growingKey struct {
	collection, partition int64
	vchannel              string
}

type growingSegment struct {
	seg      *model.Segment
	bytes    int64
	lastSeen time.Time
	// stale marks a segment loaded at start-up: its row and byte counts
	// are not persisted per insert, so its size is unknown and the next
	// insert seals it rather than let it grow past the limits.
	stale bool
}

const (
	prefixSegment    = "data/segment/"
	prefixCheckpoint = "data/checkpoint/"
	prefixDelta      = "data/delta/"
)

// New loads the data coordinator's state.
func New(ctx context.Context, cfg Config, d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Compaction == (CompactionConfig{}) {
		cfg.Compaction = DefaultCompaction()
	}
	if cfg.GC == (GCConfig{}) {
		cfg.GC = DefaultGC()
	}
	s := &Server{cfg: cfg, ccfg: cfg.Compaction, gcfg: cfg.GC, kv: d.KV, ids: d.IDs, objects: d.Objects,
		logger:   d.Logger.With("component", "datacoord"),
		segments: map[int64]*model.Segment{}, sizes: binlogSizes{}, growing: map[growingKey]*growingSegment{},
		checkpoints: map[string]contract.Checkpoint{}, deltas: map[string][]model.DeltaLog{},
		jobs: map[int64]*contract.CompactionJob{}, compacting: map[int64]bool{}, trash: map[string]trash{}, orphans: map[string]time.Time{}, writing: map[string]bool{},
		partStats: map[string]PartitionStats{}, jobPlans: map[int64][]planMeta{}}
	s.notices = notice.New(s.logger)
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) load(ctx context.Context) error {
	segs, err := s.kv.List(ctx, prefixSegment)
	if err != nil {
		return fmt.Errorf("datacoord: load segments: %w", err)
	}
	now := time.Now()
	for _, e := range segs {
		var seg model.Segment
		if err := json.Unmarshal(e.Value, &seg); err != nil {
			return fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		s.putSegmentLocked(&seg)
		if seg.State == model.SegmentGrowing {
			// Its rows are rebuilt from the log by the data node. Its size
			// is unknown (counts are kept in memory only), so the next
			// insert seals it; until then an idle or explicit seal may.
			s.growing[growingKey{seg.CollectionID, seg.PartitionID, seg.VChannel}] = &growingSegment{seg: &seg, lastSeen: now, stale: true}
		}
	}
	cps, err := s.kv.List(ctx, prefixCheckpoint)
	if err != nil {
		return fmt.Errorf("datacoord: load checkpoints: %w", err)
	}
	for _, e := range cps {
		var cp contract.Checkpoint
		if err := json.Unmarshal(e.Value, &cp); err != nil {
			return fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		s.checkpoints[strings.TrimPrefix(e.Key, prefixCheckpoint)] = cp
	}
	dls, err := s.kv.List(ctx, prefixDelta)
	if err != nil {
		return fmt.Errorf("datacoord: load delta logs: %w", err)
	}
	for _, e := range dls {
		var dl model.DeltaLog
		if err := json.Unmarshal(e.Value, &dl); err != nil {
			return fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		s.deltas[dl.VChannel] = append(s.deltas[dl.VChannel], dl)
	}
	for _, list := range s.deltas {
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	}
	if err := s.loadFailures(ctx); err != nil {
		return err
	}
	trashed, err := s.kv.List(ctx, prefixTrash)
	if err != nil {
		return fmt.Errorf("datacoord: load garbage: %w", err)
	}
	for _, e := range trashed {
		var t trash
		if err := json.Unmarshal(e.Value, &t); err != nil {
			return fmt.Errorf("datacoord: decode %s: %w", e.Key, err)
		}
		s.trash[strings.TrimPrefix(e.Key, prefixTrash)] = t
	}
	if err := s.loadPartStats(ctx); err != nil {
		return err
	}
	if err := s.loadJobs(ctx); err != nil {
		return err
	}
	s.logger.Info("loaded meta", "segments", len(s.segments), "checkpoints", len(s.checkpoints))
	return nil
}

// AddListener registers l for segment events.
func (s *Server) AddListener(l Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, l)
}

// AssignSegment picks the growing segment of (collection, partition,
// vchannel) for rows of the given size, sealing the current one first if it
// is full. position is the log position of the last message before this
// insert: a new segment starts there. It is called under the channel
// writer's lock, in log order.
func (s *Server) AssignSegment(ctx context.Context, collection, partition int64, vchannel string, rows, bytes int64, position uint64) (contract.Assignment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := growingKey{collection, partition, vchannel}
	var a contract.Assignment
	g := s.growing[key]
	if g != nil && (g.stale || g.seg.NumRows > 0 && (g.seg.NumRows+rows > s.cfg.MaxSegmentRows || g.bytes+bytes > s.cfg.MaxSegmentBytes)) {
		if err := s.sealLocked(ctx, g.seg, 0); err != nil {
			return a, err
		}
		a.Seal = append(a.Seal, g.seg.ID)
		delete(s.growing, key)
		g = nil
	}
	if g == nil {
		id, err := s.ids.AllocID(ctx, 1)
		if err != nil {
			return a, fmt.Errorf("datacoord: allocate segment id: %w", err)
		}
		seg := &model.Segment{ID: id, CollectionID: collection, PartitionID: partition, VChannel: vchannel,
			State: model.SegmentGrowing, StartPosition: position}
		if err := s.saveLocked(ctx, seg); err != nil {
			return a, err
		}
		s.putSegmentLocked(seg)
		g = &growingSegment{seg: seg}
		s.growing[key] = g
	}
	g.seg.NumRows += rows
	g.bytes += bytes
	g.lastSeen = time.Now()
	a.SegmentID = g.seg.ID
	return a, nil
}

// SealChannel seals every growing segment of collection in vchannel (all
// collections when collection is 0) and returns their IDs. Called under the
// channel writer's lock, which then logs the Seal message at sealTS.
func (s *Server) SealChannel(ctx context.Context, collection int64, vchannel string, sealTS uint64) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for key, g := range s.growing {
		if key.vchannel != vchannel || (collection != 0 && key.collection != collection) {
			continue
		}
		if err := s.sealLocked(ctx, g.seg, sealTS); err != nil {
			return nil, err
		}
		ids = append(ids, g.seg.ID)
		delete(s.growing, key)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// IdleChannels lists vchannels with a growing segment idle for longer than
// the configured MaxIdle.
func (s *Server) IdleChannels(ctx context.Context, now time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for key, g := range s.growing {
		if now.Sub(g.lastSeen) > s.cfg.MaxIdle && !seen[key.vchannel] {
			seen[key.vchannel] = true
			out = append(out, key.vchannel)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s *Server) sealLocked(ctx context.Context, seg *model.Segment, ts uint64) error {
	next := *seg
	next.State = model.SegmentSealed
	next.SealTS = ts
	if err := s.saveLocked(ctx, &next); err != nil {
		return err
	}
	s.replaceSegmentLocked(seg, next)
	return nil
}

// SegmentFlushed records that a sealed segment's files are in the object
// store. Repeating it (after a data node restart) is harmless. A segment
// flushed with no rows is dropped, and listeners do not hear of it.
func (s *Server) SegmentFlushed(ctx context.Context, r contract.FlushResult) error {
	s.mu.Lock()
	seg, ok := s.segments[r.SegmentID]
	if !ok {
		s.mu.Unlock()
		// Dropped (with its collection or partition) while the data node
		// flushed it: the data node discards it.
		return fmt.Errorf("datacoord: flushed segment %d is unknown: %w", r.SegmentID, errs.SegmentNotFound(r.SegmentID))
	}
	if err := s.checkOwner(ctx, ReportFlush, seg.VChannel); err != nil {
		s.mu.Unlock()
		return err
	}
	if seg.State == model.SegmentFlushed || seg.State == model.SegmentDropped {
		s.mu.Unlock()
		return nil
	}
	if r.NumRows == 0 {
		// Sealed without a row in the log (its only insert failed to
		// append): no files, nothing to serve or index. Forget it.
		defer s.mu.Unlock()
		if err := s.kv.Delete(ctx, segKey(seg.ID)); err != nil {
			return fmt.Errorf("datacoord: drop empty segment %d: %w", seg.ID, err)
		}
		s.deleteSegmentLocked(seg.ID)
		for key, g := range s.growing {
			if g.seg.ID == seg.ID {
				delete(s.growing, key)
			}
		}
		return nil
	}
	next := *seg
	next.State = model.SegmentFlushed
	next.NumRows = r.NumRows
	next.Binlogs = r.Binlogs
	next.StatsLog = r.StatsLog
	next.FlushTS = r.FlushTS
	next.SizeBytes = r.SizeBytes
	next.Sorted = r.Sorted
	next.SyncManifest = "" // the pieces are merged into the binlogs
	if err := s.saveLocked(ctx, &next); err != nil {
		s.mu.Unlock()
		return err
	}
	s.replaceSegmentLocked(seg, next)
	s.mu.Unlock()
	s.logger.Info("segment flushed", "segment", r.SegmentID, "rows", r.NumRows)
	// The segment is flushed whatever a listener answers, so a listener's
	// error (a coordinator unreachable) is not returned to the data node:
	// the notice is sent again (notify.go).
	s.notifyFlushed(ctx, "flushed", &next)
	return nil
}

// AddDeltaLog records a flushed batch of a channel's deletes.
func (s *Server) AddDeltaLog(ctx context.Context, dl model.DeltaLog) error {
	if err := s.checkOwner(ctx, ReportDeltaLog, dl.VChannel); err != nil {
		return err
	}
	b, _ := json.Marshal(dl)
	if _, err := s.kv.Put(ctx, prefixDelta+dl.VChannel+"/"+strconv.FormatInt(dl.ID, 10), b); err != nil {
		return fmt.Errorf("datacoord: save delta log: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deltas[dl.VChannel] = append(s.deltas[dl.VChannel], dl)
	return nil
}

// DeltaLogs lists a channel's flushed delete logs, oldest first.
func (s *Server) DeltaLogs(ctx context.Context, vchannel string) ([]model.DeltaLog, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]model.DeltaLog(nil), s.deltas[vchannel]...), nil
}

// UpdateCheckpoint moves a channel's checkpoint forward (never back).
func (s *Server) UpdateCheckpoint(ctx context.Context, vchannel string, cp contract.Checkpoint) error {
	if err := s.checkOwner(ctx, ReportCheckpoint, vchannel); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.checkpoints[vchannel]; ok && old.Position >= cp.Position {
		return nil
	}
	b, _ := json.Marshal(cp)
	if _, err := s.kv.Put(ctx, prefixCheckpoint+vchannel, b); err != nil {
		return fmt.Errorf("datacoord: save checkpoint of %s: %w", vchannel, err)
	}
	s.checkpoints[vchannel] = cp
	return s.clearFailureLocked(ctx, vchannel, &cp)
}

// GetCheckpoint returns a channel's checkpoint (zero: replay from the start).
func (s *Server) GetCheckpoint(ctx context.Context, vchannel string) (contract.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkpoints[vchannel], nil
}

// Segment returns a copy of one segment's meta.
func (s *Server) Segment(ctx context.Context, id int64) (model.Segment, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg, ok := s.segments[id]
	if !ok {
		return model.Segment{}, false, nil
	}
	return *seg, true, nil
}

// SealedSegments lists the segments sealed but not yet flushed, by ID.
// Each must have its Seal message in the log: the channel writer of a
// restarted server logs them again, in case it crashed between sealing a
// segment here and logging the Seal.
func (s *Server) SealedSegments(ctx context.Context) ([]model.Segment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []model.Segment
	for _, seg := range s.segments {
		if seg.State == model.SegmentSealed {
			out = append(out, *seg)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Segments lists a collection's segments (all states but Dropped), by ID.
// vchannel filters by channel when not empty.
func (s *Server) Segments(ctx context.Context, collection int64, vchannel string) ([]model.Segment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []model.Segment
	for _, seg := range s.segments {
		if seg.CollectionID == collection && seg.State != model.SegmentDropped && (vchannel == "" || seg.VChannel == vchannel) {
			out = append(out, *seg)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Flushed reports whether every segment in ids is flushed (or dropped).
// A segment of a channel the data node cannot flush (failures.go) is an
// error naming the cause: it would never be flushed.
func (s *Server) Flushed(ctx context.Context, ids []int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	flushed := true
	for _, id := range ids {
		if seg, ok := s.segments[id]; ok && seg.State != model.SegmentFlushed && seg.State != model.SegmentDropped {
			if err := s.failureErrLocked(seg); err != nil {
				return false, err
			}
			flushed = false
		}
	}
	return flushed, nil
}

// SaveSyncManifest records manifest as the sync manifest of growing or
// sealed segment id: the pieces it lists are the segment's rows that its
// data node synced before the seal (datanode/sync.go). As for every other
// report about a channel, only the channel's owner is heard
// (errs.ErrChannelMisrouted otherwise): a data node cut off or paused
// while its channel moved cannot make its pieces count, whatever it wrote
// to the object store. The owner check and the record happen under s.mu,
// and a new owner reads the record (Segment) only after the move, so it
// sees every manifest the old owner recorded and none written after.
func (s *Server) SaveSyncManifest(ctx context.Context, id int64, manifest string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg, ok := s.segments[id]
	if !ok {
		return fmt.Errorf("datacoord: sync manifest of segment %d: %w", id, errs.SegmentNotFound(id))
	}
	if err := s.checkOwner(ctx, ReportSyncManifest, seg.VChannel); err != nil {
		return fmt.Errorf("datacoord: sync manifest of segment %d: %w", id, err)
	}
	if seg.State != model.SegmentGrowing && seg.State != model.SegmentSealed {
		return fmt.Errorf("datacoord: sync manifest of segment %d: %w", id,
			errs.SegmentNotFound(id, "segment is "+seg.State.String()+", not growing or sealed"))
	}
	if seg.SyncManifest == manifest {
		return nil
	}
	next := *seg
	next.SyncManifest = manifest
	if err := s.saveLocked(ctx, &next); err != nil {
		return err
	}
	s.replaceSegmentLocked(seg, next)
	return nil
}

// NoteBufferedRows records that the data node holds rows buffered rows of
// segment id, which is not flushed yet. Row counts of unflushed segments
// live in memory (AssignSegment adds to them), so after a restart they
// start from what was last persisted; the data node's replay of the log
// brings them back. Counts only grow here, and only for growing or sealed
// segments. As for every other report about a channel, only the channel's
// owner is heard (errs.ErrChannelMisrouted otherwise): a data node cut off
// or paused while its channel moved, replaying inserts the new owner also
// counts, must not move a count the new owner reports.
func (s *Server) NoteBufferedRows(ctx context.Context, id, rows int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg, ok := s.segments[id]
	if !ok {
		return nil
	}
	if err := s.checkOwner(ctx, ReportBufferedRows, seg.VChannel); err != nil {
		return fmt.Errorf("datacoord: buffered rows of segment %d: %w", id, err)
	}
	if seg.State != model.SegmentGrowing && seg.State != model.SegmentSealed {
		return nil
	}
	seg.NumRows = max(seg.NumRows, rows)
	return nil
}

// RowCount returns a collection's rows (partition 0: all): the rows of its
// segments, less those the flushed delete logs were counted to delete
// (countDeletes; compaction removes them for good).
func (s *Server) RowCount(ctx context.Context, collection, partition int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, seg := range s.segments {
		if seg.CollectionID == collection && seg.State != model.SegmentDropped && (partition == 0 || seg.PartitionID == partition) {
			n += seg.NumRows - seg.DeletedRows
		}
	}
	return n, nil
}

// DropCollection marks a collection's segments dropped and forgets its
// growing segments, checkpoints and delta logs. It returns the object
// store prefixes the caller may delete.
func (s *Server) DropCollection(ctx context.Context, c *model.Collection) error {
	return s.drop(ctx, func(seg *model.Segment) bool { return seg.CollectionID == c.ID }, c.VChannels)
}

// DropPartition marks a partition's segments dropped.
func (s *Server) DropPartition(ctx context.Context, collection, partition int64) error {
	return s.drop(ctx, func(seg *model.Segment) bool {
		return seg.CollectionID == collection && seg.PartitionID == partition
	}, nil)
}

func (s *Server) drop(ctx context.Context, match func(*model.Segment) bool, vchannels []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ops := []kv.Op{}
	for _, seg := range s.segments {
		if match(seg) {
			ops = append(ops, kv.Op{Key: segKey(seg.ID), Delete: true})
		}
	}
	for _, vc := range vchannels {
		ops = append(ops, kv.Op{Key: prefixCheckpoint + vc, Delete: true}, kv.Op{Key: prefixFailure + vc, Delete: true},
			kv.Op{Key: prefixDelta + vc + "/", Delete: true, DeletePrefix: true})
	}
	goneStats := s.partStatsMatchingLocked(match)
	for _, k := range goneStats {
		ops = append(ops, kv.Op{Key: prefixPartStats + k, Delete: true})
	}
	if _, err := s.kv.Txn(ctx, nil, ops); err != nil {
		return fmt.Errorf("datacoord: drop segments: %w", err)
	}
	for _, k := range goneStats {
		delete(s.partStats, k)
	}
	for id, seg := range s.segments {
		if match(seg) {
			s.deleteSegmentLocked(id)
		}
	}
	for key, g := range s.growing {
		if match(g.seg) {
			delete(s.growing, key)
		}
	}
	for _, vc := range vchannels {
		delete(s.failures, vc)
		delete(s.checkpoints, vc)
		delete(s.deltas, vc)
	}
	return nil
}

func segKey(id int64) string { return prefixSegment + strconv.FormatInt(id, 10) }

func (s *Server) saveLocked(ctx context.Context, seg *model.Segment) error {
	b, err := json.Marshal(seg)
	if err != nil {
		return fmt.Errorf("datacoord: encode segment %d: %w", seg.ID, err)
	}
	if _, err := s.kv.Put(ctx, segKey(seg.ID), b); err != nil {
		return fmt.Errorf("datacoord: save segment %d: %w", seg.ID, err)
	}
	return nil
}
