package querynode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/storage"
	"github.com/milvago/milvago/internal/tso"
)

// delegator serves one shard of one collection.
type delegator struct {
	collp  atomic.Pointer[model.Collection] // replaced when the schema changes (schema.go)
	plan   contract.ChannelPlan
	d      Deps
	logger *slog.Logger

	tsafe    atomic.Uint64
	loaded   atomic.Int64 // sealed segments loaded so far
	planned  atomic.Int64 // sealed segments in the plan being loaded
	caughtUp atomic.Bool
	target   uint64 // log position to reach before the shard counts as loaded
	// consumed is the log position of the last message (or tick) the
	// shard's reader returned, reported by a read that waits long.
	consumed atomic.Uint64
	// badIndexes holds the index files reported bad (load.go), so that a
	// load retried or repeated reports each once.
	badIndexes sync.Map

	mu      sync.RWMutex // guards the fields below
	growing map[int64]*segment.Growing
	sealed  map[int64]*sealedSegment
	deletes deleteLog
	notify  chan struct{} // closed and replaced whenever tsafe moves
	failed  error
	closed  bool           // released: loads that finish later unmap instead of joining
	dropped map[int64]bool // segments dropped by a truncate: handoffs finishing later are refused (drop.go)
	// droppedParts and knownParts cache which partitions of inserts the
	// collection definition lacks are dropped or newer (partitions.go).
	droppedParts, knownParts map[int64]bool
	pending                  map[int64]stagedSegment // loaded segments waiting for their siblings (siblings.go)
	gapped                   map[int64]gappedSegment // handed off with a gap in their lineage (lineage.go)
	// indexTypes holds the index type of each vector field ("" for none)
	// by the collection's index definitions (the plan's, then
	// UpdateIndexes'): segments build interim indexes by it (interim.go).
	indexTypes map[int64]string
}

// sealedSegment is a loaded sealed segment whose columns and indexes may
// alias memory-mapped files. The files are unmapped only once the segment
// has left the shard (closing) and no read holds it (refs == 0).
type sealedSegment struct {
	seg      *segment.Sealed
	mappings []objstore.Mapping
	// centroids are, by vector field, the k-means centroids of a vector
	// clustering compaction's output (its stats log), which searches
	// prune by (prune.go); nil for other segments. Immutable.
	centroids map[int64][][]float32
	// sources are the segments it was compacted from (CompactedFrom and
	// the untraced ones, lineage.go): a requery reads it in place of
	// segments its search read only if they are all of its sources
	// (snapshot). Immutable once served.
	sources []int64
	refs    atomic.Int32
	closing atomic.Bool
	once    sync.Once
}

func (s *sealedSegment) acquire() { s.refs.Add(1) }

func (s *sealedSegment) release() {
	if s.refs.Add(-1) == 0 && s.closing.Load() {
		s.unmap()
	}
}

// close is called once the segment is out of the shard's map.
func (s *sealedSegment) close() {
	s.closing.Store(true)
	if s.refs.Load() == 0 {
		s.unmap()
	}
}

func (s *sealedSegment) unmap() {
	s.once.Do(func() {
		for _, m := range s.mappings {
			m.Close()
		}
	})
}

// deleteLog is every delete the shard has seen, applied to each sealed
// segment as it is loaded.
type deleteLog struct {
	intPKs []int64
	strPKs []string
	intTS  []uint64
	strTS  []uint64
}

func newDelegator(coll *model.Collection, plan contract.ChannelPlan, d Deps, logger *slog.Logger) *delegator {
	dl := &delegator{plan: plan, d: d, logger: logger.With("vchannel", plan.VChannel),
		growing: map[int64]*segment.Growing{}, sealed: map[int64]*sealedSegment{}, notify: make(chan struct{})}
	dl.collp.Store(coll)
	dl.planned.Store(int64(len(plan.Sealed)))
	dl.indexTypes = indexTypesOf(coll, plan.Indexes)
	return dl
}

// loadRetry is how long a shard waits before loading again after a
// failure: Milvus's query coordinator retries a failed segment load at its
// segment checker's next round (queryCoord.checkSegmentInterval, 1 s).
const loadRetry = time.Second

// fastLoadRetries is how many times a load failing on a corrupt or missing
// file is retried every loadRetry before backing off (a file restored or
// a plan gone stale clears in that time); maxLoadRetry bounds the back-off.
const (
	fastLoadRetries = 10
	maxLoadRetry    = 30 * time.Second
)

// loadRetryDelay is the wait before the next attempt of a load failing on
// a file that cannot load, after attempt failed attempts in a row:
// loadRetry for the first fastLoadRetries, then doubling up to
// maxLoadRetry.
func loadRetryDelay(attempt int) time.Duration {
	if attempt <= fastLoadRetries {
		return loadRetry
	}
	return min(loadRetry<<min(attempt-fastLoadRetries, 5), maxLoadRetry)
}

// run loads the planned sealed segments, then consumes the shard's log
// until ctx ends.
func (dl *delegator) run(ctx context.Context) {
	err := dl.serve(ctx)
	if err != nil && ctx.Err() == nil {
		dl.logger.Error("shard failed", "err", err)
		dl.mu.Lock()
		dl.failed = err
		dl.mu.Unlock()
	}
}

// serve loads the plan and consumes the log. When the log was truncated
// past the shard's position (it lagged behind the retention window), it
// reloads from a fresh plan instead of failing the shard.
func (dl *delegator) serve(ctx context.Context) error {
	if err := dl.loadRetrying(ctx); err != nil {
		return err
	}
	// Everything up to the checkpoint is in the loaded segments and delta
	// logs: the shard serves reads at the checkpoint's time at once. Else a
	// read of an idle channel waits for a tick nobody writes (the writer's
	// last tick is at or before the checkpoint, so SyncTo sees no need).
	dl.advance(dl.plan.Checkpoint.TS)
	after := dl.plan.Checkpoint.Position
	for {
		last, err := dl.consume(ctx, after)
		if !errors.Is(err, logbroker.ErrTruncated) || dl.plan.Replan == nil {
			return err
		}
		dl.logger.Warn("log truncated past the shard's position, reloading from a fresh plan", "position", last, "err", err)
		// Reads keep the old state meanwhile, so a failed reload is
		// retried (like a failed load) rather than failing the shard.
		for {
			if after, err = dl.reload(ctx, last); err == nil {
				break
			}
			if ctx.Err() != nil {
				// Released (or moved) while reloading: the replan or a
				// load was cut short, no attempt failed.
				return ctx.Err()
			}
			dl.logger.Warn("reload shard, retrying", "err", err)
			t := time.NewTimer(loadRetry)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
}

// loadRetrying runs load until it succeeds or ctx ends: an object store
// or log error is usually transient, and a shard that gave up would stay
// unavailable until the collection is released and loaded again. While a
// load fails, reads report the shard unavailable with the cause.
func (dl *delegator) loadRetrying(ctx context.Context) error {
	attempt, lastCause := 0, ""
	for {
		release, err := dl.d.loads.acquire(ctx, dl)
		if err != nil {
			return err // ctx ended while queued
		}
		start := time.Now()
		err = dl.load(ctx)
		release()
		if errors.Is(err, errReplanned) {
			continue
		}
		if err == nil || ctx.Err() != nil {
			if err == nil {
				dl.setFailed(nil)
				if attempt > 0 {
					dl.logger.Info("shard loaded after failed attempts", "failed_attempts", attempt)
				}
			}
			return err
		}
		attempt++
		// Every failed attempt is logged with its cause.
		if errors.Is(err, errs.ErrSegmentLoadFailed) {
			// A corrupt or missing file: retried every second for a
			// while, then less and less often (a restored file is picked
			// up). Said as an error once per cause, then as a warning.
			delay := loadRetryDelay(attempt)
			if err.Error() != lastCause {
				dl.logger.Error("cannot load shard: a segment file is corrupt or missing; retrying",
					"attempt", attempt, "took", time.Since(start), "retry_in", delay, "err", err)
				lastCause = err.Error()
			} else {
				dl.logger.Warn("load shard, retrying", "attempt", attempt, "took", time.Since(start), "retry_in", delay, "err", err)
			}
			if !dl.retryAfter(ctx, err, delay) {
				return ctx.Err()
			}
			continue
		}
		lastCause = ""
		dl.logger.Warn("load shard, retrying", "attempt", attempt, "took", time.Since(start), "retry_in", loadRetry, "err", err)
		if !dl.retryAfter(ctx, err, loadRetry) {
			return ctx.Err()
		}
	}
}

// retryAfter reports the shard failed with err and waits delay; it
// reports false if ctx ended first.
func (dl *delegator) retryAfter(ctx context.Context, err error, delay time.Duration) bool {
	dl.setFailed(err)
	t := time.NewTimer(delay)
	select {
	case <-ctx.Done():
		t.Stop()
		return false
	case <-t.C:
		return true
	}
}

func (dl *delegator) setFailed(err error) {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	dl.failed = err
}

// load loads the plan's delete logs and sealed segments. It starts over
// each time it runs (loadRetrying runs it again after a failure).
func (dl *delegator) load(ctx context.Context) error {
	dl.loaded.Store(0)
	dl.mu.Lock()
	dl.deletes = deleteLog{}
	dl.mu.Unlock()
	latest, err := dl.d.Log.Latest(ctx, dl.plan.PChannel)
	if err != nil {
		return fmt.Errorf("querynode: position of %s: %w", dl.plan.PChannel, err)
	}
	dl.target = uint64(latest)
	for _, l := range dl.plan.DeltaLogs {
		if err := dl.loadDeltaLog(ctx, l); err != nil {
			if errors.Is(err, objstore.ErrNotFound) && dl.replanWithout(ctx, "delta log", l.Path, func(p contract.ChannelPlan) bool {
				return slices.ContainsFunc(p.DeltaLogs, func(f model.DeltaLog) bool { return f.Path == l.Path })
			}) {
				return errReplanned
			}
			return err
		}
	}
	dl.planned.Store(int64(len(dl.plan.Sealed)))
	for _, sp := range dl.plan.Sealed {
		if err := dl.loadSealed(ctx, sp); err != nil {
			if errors.Is(err, objstore.ErrNotFound) && dl.replanWithout(ctx, "segment", sp.Segment.ID, func(p contract.ChannelPlan) bool {
				return slices.ContainsFunc(p.Sealed, func(f contract.SegmentPlan) bool { return f.Segment.ID == sp.Segment.ID })
			}) {
				return errReplanned
			}
			return segmentLoadFailed(sp.Segment.ID, err)
		}
		dl.loaded.Add(1)
	}
	return nil
}

// errReplanned: the load found a planned file gone and took a fresh plan;
// it starts over at once.
var errReplanned = errors.New("querynode: a planned file is gone: loading a fresh plan")

// replanWithout takes a fresh plan when a planned file is missing because
// what it belongs to is gone since the plan was made: a segment compacted
// (or its partition dropped), or a delete log whose deletes a compaction
// applied to every segment (datacoord's dropAppliedDeltas), its files
// collected after the drop tolerance while the shard loaded. Retrying the
// old plan would fail for ever, the shard loading at 0% with reads waiting
// on it. It reports whether the shard now has a plan without it (planned
// says whether a plan still names it).
func (dl *delegator) replanWithout(ctx context.Context, kind string, id any, planned func(contract.ChannelPlan) bool) bool {
	if dl.plan.Replan == nil {
		return false
	}
	fresh, err := dl.plan.Replan(ctx)
	if err != nil {
		if ctx.Err() == nil { // else released while loading: nothing failed
			dl.logger.Warn("replan shard after a missing file", "missing", kind, "id", id, "err", err)
		}
		return false
	}
	if planned(fresh) {
		return false // still planned: the file is really missing
	}
	dl.logger.Info("a planned "+kind+" is gone (compacted or dropped while the shard loaded): loading a fresh plan",
		"id", id, "sealed", len(fresh.Sealed), "delta_logs", len(fresh.DeltaLogs))
	// Only the load goroutine reads these fields (progress reads planned).
	dl.plan.Sealed, dl.plan.DeltaLogs, dl.plan.Checkpoint = fresh.Sealed, fresh.DeltaLogs, fresh.Checkpoint
	// Segments the first attempt loaded that the fresh plan no longer has
	// were compacted meanwhile: serving them beside their compacted copy
	// would read their rows twice.
	inFresh := map[int64]bool{}
	for _, sp := range fresh.Sealed {
		inFresh[sp.Segment.ID] = true
	}
	var gone []*sealedSegment
	dl.mu.Lock()
	for id, s := range dl.sealed {
		if !inFresh[id] {
			gone = append(gone, s)
			delete(dl.sealed, id)
		}
	}
	dl.mu.Unlock()
	for _, s := range gone {
		s.close()
	}
	return true
}

// segmentLoadFailed marks a failure that retrying cannot cure (a file that
// is corrupt or missing) as Milvus's ErrSegmentLoadFailed, which the load
// state reports; other errors (an object store that does not answer) pass
// as they are.
func segmentLoadFailed(segment int64, err error) error {
	if errors.Is(err, storage.ErrCorrupt) || errors.Is(err, index.ErrCorrupt) || errors.Is(err, objstore.ErrNotFound) {
		return errs.SegmentLoadFailed(segment, err.Error())
	}
	return err
}

// loadFailure returns why the shard cannot finish loading (nil: it can).
func (dl *delegator) loadFailure() error {
	dl.mu.RLock()
	defer dl.mu.RUnlock()
	if errors.Is(dl.failed, errs.ErrSegmentLoadFailed) {
		return dl.failed
	}
	return nil
}

// subscribe opens the shard's reader of its virtual channel after
// position after (through the node's dispatcher: one log reader per
// physical channel, whatever the number of shards).
func (dl *delegator) subscribe(ctx context.Context, after uint64) (logbroker.Reader, error) {
	r, err := dl.d.readers.Subscribe(ctx, dl.plan.PChannel, dl.plan.VChannel, logbroker.MessageID(after))
	if err != nil {
		return nil, fmt.Errorf("querynode: read %s: %w", dl.plan.PChannel, err)
	}
	return r, nil
}

// subscribeRetrying subscribes until it succeeds, the log was truncated
// past after, or ctx ends. While it fails the shard reports itself
// unavailable with the cause, and is not counted as loaded.
func (dl *delegator) subscribeRetrying(ctx context.Context, after uint64) (logbroker.Reader, error) {
	for {
		r, err := dl.subscribe(ctx, after)
		if err == nil {
			dl.setFailed(nil)
			return r, nil
		}
		if ctx.Err() != nil || errors.Is(err, logbroker.ErrTruncated) || errors.Is(err, logbroker.ErrClosed) {
			return nil, err
		}
		dl.logger.Warn("subscribe to the shard's channel, retrying", "after", after, "err", err)
		dl.setFailed(err)
		t := time.NewTimer(loadRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// consume reads the log after position after until ctx ends; it returns
// the position of the last message it applied.
func (dl *delegator) consume(ctx context.Context, after uint64) (uint64, error) {
	r, err := dl.subscribeRetrying(ctx, after)
	if err != nil {
		if ctx.Err() != nil {
			return after, nil
		}
		return after, err
	}
	defer r.Close()
	dl.consumed.Store(after)
	// Only a subscribed shard can be caught up: one whose reader failed
	// to open must not report itself loaded.
	if dl.target <= after {
		dl.caughtUp.Store(true)
	}
	if !dl.caughtUp.Load() && dl.d.Syncer != nil {
		// Every message up to target may have been truncated (retention
		// empties an idle pchannel; Latest then reports the truncation
		// point), and then no message at or past target arrives until the
		// channel is written again: the shard would stay "loading". A tick
		// appended now is such a message.
		// Asked again every second until the shard has caught up: a tick
		// lost to a writer that was not reachable yet would otherwise leave
		// the shard loading until the channel is written again.
		go dl.askForTicks(ctx)
	}
	for {
		m, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, logbroker.ErrClosed) {
				return after, nil
			}
			return after, fmt.Errorf("querynode: next on %s: %w", dl.plan.PChannel, err)
		}
		after = uint64(m.ID)
		dl.consumed.Store(after)
		dm, err := msg.Decode(m.Payload, m.Properties)
		if err != nil {
			dl.logger.Error("skipping undecodable message", "id", m.ID, "err", err)
			continue
		}
		if dm.VChannel == "" || dm.VChannel == dl.plan.VChannel {
			if err := dl.apply(dm); err != nil {
				return after, err
			}
		}
		if uint64(m.ID) >= dl.target {
			dl.caughtUp.Store(true)
		}
		dl.advance(dm.TS)
	}
}

// askForTicks asks the channel writer for a tick until the shard has
// caught up with its load target or ctx ends.
func (dl *delegator) askForTicks(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for !dl.caughtUp.Load() {
		if err := dl.d.Syncer.SyncTo(ctx, dl.plan.PChannel, math.MaxUint64); err != nil && ctx.Err() == nil {
			dl.logger.Warn("ask for a tick to catch up", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reload rebuilds the shard from a fresh plan after the log was truncated
// past pos, the last position the shard applied. The new state is built
// aside (reads keep using the old one, which is consistent at tsafe), up
// to pos when the new checkpoint is older, then swapped in under mu. It
// returns the position to consume after. The new checkpoint is normally
// past pos: retention never truncates past a checkpoint, and everything at
// or below one is in the plan's sealed segments and delete logs, whose
// rows and deletes carry their timestamps, so reads at the old tsafe still
// see exactly what they saw.
func (dl *delegator) reload(ctx context.Context, pos uint64) (uint64, error) {
	// The sealed segments served before the fresh plan is read: those of
	// them it lacks were compacted or dropped since, and go; only those
	// handed off while reloading are newer than the plan and stay.
	dl.mu.RLock()
	before := make(map[int64]bool, len(dl.sealed))
	for id := range dl.sealed {
		before[id] = true
	}
	dl.mu.RUnlock()
	plan, err := dl.plan.Replan(ctx)
	if err != nil {
		return pos, fmt.Errorf("querynode: replan shard %s: %w", dl.plan.VChannel, err)
	}
	next := newDelegator(dl.coll(), plan, dl.d, dl.logger)
	swapped := false
	defer func() {
		if !swapped {
			next.close()
		}
	}()
	for _, l := range plan.DeltaLogs {
		if err := next.loadDeltaLog(ctx, l); err != nil {
			return pos, err
		}
	}
	for _, sp := range plan.Sealed {
		if err := next.loadSealed(ctx, sp); err != nil {
			return pos, err
		}
	}
	after := plan.Checkpoint.Position
	if after < pos {
		// The replay may end past pos: where the log was truncated past
		// pos under a shard with no checkpoint yet (the truncated messages
		// predate its collection: retention keeps everything above every
		// live vchannel's checkpoint), it starts at the truncation point.
		// Consuming resumes after the last message it applied, so nothing
		// is applied twice and a truncated pos is not read again.
		if after, err = next.replay(ctx, after, pos); err != nil {
			return pos, err
		}
	}
	dl.mu.Lock()
	if dl.closed {
		dl.mu.Unlock()
		return pos, errs.CollectionNotLoaded(dl.coll().ID)
	}
	if err := next.setCollectionLocked(dl.coll()); err != nil { // the schema changed while reloading (schema.go)
		dl.mu.Unlock()
		return pos, err
	}
	old := dl.sealed
	for id := range next.dropped {
		if dl.dropped == nil {
			dl.dropped = map[int64]bool{}
		}
		dl.dropped[id] = true
	}
	for id, s := range old {
		if _, ok := next.sealed[id]; !ok && !dl.dropped[id] && !before[id] {
			// Handed off while reloading: keep it, with the deletes
			// the new state knows (applying a delete twice is harmless).
			// A segment served before the plan was read and absent from
			// it is a compaction's source (its output is in the plan,
			// without the rows the compaction removed and without the
			// delete logs it applied): kept, it would serve those rows
			// again beside the output.
			deleteFrom(s.seg, next.deletes.intPKs, next.deletes.intTS, next.deletes.strPKs, next.deletes.strTS)
			next.sealed[id] = s
			delete(next.growing, id)
			delete(old, id)
		}
	}
	for id, s := range next.sealed {
		if dl.dropped[id] { // compacted into a segment handed off while reloading
			delete(next.sealed, id)
			if prev, ok := old[id]; ok && prev != s {
				prev.close()
			}
			old[id] = s
		}
	}
	dl.sealed, dl.growing, dl.deletes = next.sealed, next.growing, next.deletes
	// The growing segments replayed under the fresh plan's index types
	// take the shard's, which an UpdateIndexes during the reload may have
	// changed.
	dl.tellGrowingLocked()
	dl.mu.Unlock()
	swapped = true
	for _, s := range old {
		s.close()
	}
	// The new state holds everything up to the fresh checkpoint, so the
	// shard serves at its time at once, as after its first load. The
	// messages that would have moved tsafe there may be among those
	// truncated: where the last was the tick a Strong read asked for, the
	// writer, whose tick already covers the read, appends no other, and
	// the read waited until the channel was written again (issue 8).
	dl.advance(plan.Checkpoint.TS)
	dl.logger.Info("shard reloaded", "checkpoint", plan.Checkpoint.Position, "checkpoint_ts", tso.Physical(plan.Checkpoint.TS),
		"sealed", len(plan.Sealed), "after", after)
	return after, nil
}

// replay applies the shard's messages in (after, upTo] to dl, which is not
// serving: its service time is not moved. It returns the position of the
// last message it read: upTo, or past it where the log was truncated
// beyond upTo (the reader then starts at the truncation point).
func (dl *delegator) replay(ctx context.Context, after, upTo uint64) (uint64, error) {
	r, err := dl.subscribe(ctx, after)
	if err != nil {
		return after, err
	}
	defer r.Close()
	for after < upTo {
		m, err := r.Next(ctx)
		if err != nil {
			return after, fmt.Errorf("querynode: next on %s: %w", dl.plan.PChannel, err)
		}
		after = uint64(m.ID)
		dm, err := msg.Decode(m.Payload, m.Properties)
		if err != nil {
			dl.logger.Error("skipping undecodable message", "id", m.ID, "err", err)
			continue
		}
		if dm.VChannel == "" || dm.VChannel == dl.plan.VChannel {
			if err := dl.apply(dm); err != nil {
				return after, err
			}
		}
	}
	return after, nil
}

func (dl *delegator) apply(m *msg.Message) error {
	switch m.Kind {
	case msg.KindInsert:
		return dl.applyInsert(m)
	case msg.KindDelete:
		dl.applyDelete(m)
	case msg.KindUpsert:
		dl.applyDelete(m)
		return dl.applyInsert(m)
	}
	return nil
}

func (dl *delegator) applyInsert(m *msg.Message) error {
	ins := m.Insert
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if _, ok := dl.sealed[ins.SegmentID]; ok || dl.dropped[ins.SegmentID] {
		return nil // its sealed copy (or a compacted segment) already holds these rows
	}
	if dl.partitionGone(ins.PartitionID) {
		return nil
	}
	if len(dl.gapped) > 0 {
		ints, strs := insertKeys(ins, dl.coll())
		if dl.heldByGappedLocked(ints, strs, m.TS) {
			// One of the untraced sources of a segment handed off ahead
			// of the log: its rows are served from there.
			if dl.dropped == nil {
				dl.dropped = map[int64]bool{}
			}
			dl.dropped[ins.SegmentID] = true
			delete(dl.growing, ins.SegmentID)
			return nil
		}
	}
	if err := dl.refreshForInsert(m); err != nil {
		return err
	}
	g, ok := dl.growing[ins.SegmentID]
	if !ok {
		var err error
		g, err = segment.NewGrowingWithInterim(ins.SegmentID, ins.PartitionID, dl.coll().Schema, dl.d.interim())
		if err != nil {
			return fmt.Errorf("querynode: new growing segment %d: %w", ins.SegmentID, err)
		}
		for field, typ := range dl.indexTypes {
			g.SetIndexType(field, typ)
		}
		dl.growing[ins.SegmentID] = g
	}
	cols := make(map[int64]column.Column, len(ins.FieldsData))
	for _, fd := range ins.GetFieldsData() {
		c, err := column.FromFieldData(fd)
		if err != nil {
			return fmt.Errorf("querynode: decode field %q: %w", fd.GetFieldName(), err)
		}
		cols[fd.GetFieldId()] = c
	}
	ts := make([]uint64, ins.GetNumRows())
	for i := range ts {
		ts[i] = m.TS
	}
	if err := g.Append(ts, cols); err != nil {
		return fmt.Errorf("querynode: append to segment %d: %w", ins.SegmentID, err)
	}
	return nil
}

func (dl *delegator) applyDelete(m *msg.Message) {
	ids := m.Delete.GetPrimaryKeys()
	ints, strs := ids.GetIntId().GetData(), ids.GetStrId().GetData()
	its, sts := repeat(m.TS, len(ints)), repeat(m.TS, len(strs))
	dl.mu.Lock()
	defer dl.mu.Unlock()
	dl.deletes.intPKs = append(dl.deletes.intPKs, ints...)
	dl.deletes.intTS = append(dl.deletes.intTS, its...)
	dl.deletes.strPKs = append(dl.deletes.strPKs, strs...)
	dl.deletes.strTS = append(dl.deletes.strTS, sts...)
	for _, g := range dl.growing {
		deleteFrom(g, ints, its, strs, sts)
	}
	for _, s := range dl.sealed {
		deleteFrom(s.seg, ints, its, strs, sts)
	}
}

func deleteFrom(s segment.Segment, ints []int64, its []uint64, strs []string, sts []uint64) {
	if len(ints) > 0 {
		s.Delete(ints, nil, its)
	}
	if len(strs) > 0 {
		s.Delete(nil, strs, sts)
	}
}

func repeat(ts uint64, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = ts
	}
	return out
}

// advance moves tsafe forward and wakes waiting reads.
func (dl *delegator) advance(ts uint64) {
	if ts <= dl.tsafe.Load() {
		return
	}
	dl.tsafe.Store(ts)
	dl.mu.Lock()
	close(dl.notify)
	dl.notify = make(chan struct{})
	dl.mu.Unlock()
}

// MaxTimestampLag is Milvus's queryNode.scheduler.maxTimestampLag: a read
// whose guarantee timestamp is further ahead than this fails at once
// instead of waiting for a time the shard will not reach for so long.
const MaxTimestampLag = 24 * time.Hour

// slowTSafeWait is how long a read waits for the shard's service time
// before the shard says so in its log (once per read).
const slowTSafeWait = 3 * time.Second

// waitTSafe blocks until the shard's service time reaches ts and returns it.
// As Milvus's delegator, it refuses a guarantee timestamp more than
// MaxTimestampLag ahead (ErrChannelTSafeStalled) and otherwise waits as
// long as ctx allows. The lag is measured from the service time or the
// wall clock, whichever is later: Milvago ticks an idle channel only when
// a read asks, so its service time may be old without lagging.
func (dl *delegator) waitTSafe(ctx context.Context, ts uint64) (uint64, error) {
	if cur := dl.tsafe.Load(); cur < ts {
		// A shard still waiting to load goes before those nobody reads.
		dl.d.loads.hurry(dl)
		from := time.Now()
		if p := tso.Physical(cur); p.After(from) {
			from = p
		}
		if lag := tso.Physical(ts).Sub(from); lag > MaxTimestampLag {
			dl.logger.Warn("guarantee timestamp too far ahead of the service time", "guarantee", tso.Physical(ts),
				"serviceable", tso.Physical(cur), "lag", lag, "max", MaxTimestampLag)
			return 0, errs.TsLagTooLarge(dl.plan.VChannel, lag, MaxTimestampLag)
		}
	}
	asked := false
	var end uint64 // the log's durable end, once a tick could not be appended
	start, warned := time.Now(), false
	for {
		dl.mu.RLock()
		ch, failed, closed := dl.notify, dl.failed, dl.closed
		dl.mu.RUnlock()
		if failed != nil {
			return 0, fmt.Errorf("querynode: shard %s unavailable: %w", dl.plan.VChannel, failed)
		}
		if closed {
			// Released (moved to another node, or replanned) while the
			// read waited: its service time will not move again here.
			return 0, errs.ChannelNotAvailable(dl.plan.VChannel, "the shard was released on this node")
		}
		cur := dl.tsafe.Load()
		if cur >= ts {
			return cur, nil
		}
		if end > 0 && cur >= end {
			return cur, nil // the log is full: everything durable is applied
		}
		if !asked {
			asked = true
			want := ts
			if time.Since(start) >= time.Second {
				// The writer skips a tick when its last one covers ts,
				// but this shard may never see that one: retention can
				// truncate it before the shard's reader starts (a reader
				// of an idle channel starts past the truncation point),
				// or it raced a concurrent append. Asked again, the
				// writer appends a fresh tick whatever its last one.
				want = math.MaxUint64
			}
			if err := dl.d.Syncer.SyncTo(ctx, dl.plan.PChannel, want); err != nil {
				// No tick can be appended (the log is full, or refuses
				// writes): no write can have been acknowledged after the
				// log's durable end either, so the read is served once the
				// shard has applied up to it.
				e, endErr := dl.d.Syncer.LogEnd(ctx, dl.plan.PChannel)
				if endErr != nil || e == 0 {
					return 0, err
				}
				if end == 0 {
					dl.logger.Warn("cannot append a time tick; serving the read at the log's durable end", "err", err,
						"guarantee", tso.Physical(ts), "end", tso.Physical(e))
				}
				end = e
				continue
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("querynode: wait for shard %s to reach ts %d: %w", dl.plan.VChannel, ts, ctx.Err())
		case <-ch:
		case <-time.After(time.Second):
			asked = false // ask again: the tick may have raced a concurrent append
			if waited := time.Since(start); !warned && waited >= slowTSafeWait {
				warned = true
				dl.logger.Warn("read waits long for the shard's service time", "waited", waited,
					"guarantee", tso.Physical(ts), "serviceable", tso.Physical(dl.tsafe.Load()),
					"consumed", dl.consumed.Load(), "caught_up", dl.caughtUp.Load())
			}
		}
	}
}

// progress is the shard's loading percentage: its sealed segments loaded,
// and its reader subscribed and caught up with the log as it was when
// loading began. A shard that cannot serve (its load or its reader
// failed) is never 100.
func (dl *delegator) progress() int64 {
	total := dl.planned.Load() + 1
	done := dl.loaded.Load()
	dl.mu.RLock()
	failed := dl.failed != nil
	dl.mu.RUnlock()
	if dl.caughtUp.Load() && !failed {
		done++
	}
	return done * 100 / total
}

func (dl *delegator) close() {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	dl.closed = true
	// Wake the reads waiting for service time: they fail over.
	close(dl.notify)
	dl.notify = make(chan struct{})
	for id, s := range dl.sealed {
		s.close()
		delete(dl.sealed, id)
	}
	for id, p := range dl.pending {
		p.ss.close()
		delete(dl.pending, id)
	}
	clear(dl.growing)
}

func (dl *delegator) dropPartition(partitionID int64) {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	dl.markPartitionDroppedLocked(partitionID)
	for id, s := range dl.sealed {
		if s.seg.PartitionID() == partitionID {
			s.close()
			delete(dl.sealed, id)
		}
	}
	for id, g := range dl.growing {
		if g.PartitionID() == partitionID {
			delete(dl.growing, id)
		}
	}
}

// readSet is the segments one read covers; release must be called after.
type readSet struct {
	segs   []segment.Segment
	sealed []*sealedSegment
}

func (r *readSet) release() {
	for _, s := range r.sealed {
		s.release()
	}
}

// ids are the IDs of the read's segments.
func (r *readSet) ids() []int64 {
	ids := make([]int64, len(r.segs))
	for i, s := range r.segs {
		ids[i] = s.ID()
	}
	return ids
}

// snapshot lists the segments a read should cover and pins the sealed ones.
func (dl *delegator) snapshot(parts map[int64]bool, ignoreGrowing bool) *readSet {
	return dl.snapshotOf(parts, ignoreGrowing, nil)
}

// snapshotOf is snapshot restricted, if only is non-nil, to the segments
// in only and the sealed segments compacted from segments in only alone
// (a requery's: contract.QueryRequest.Segments). A compaction keeps its
// sources' rows, so such a segment holds what the search read there; a
// segment sealed from a growing one the search skipped, or compacted
// with one, is left out: the search never saw its rows.
func (dl *delegator) snapshotOf(parts map[int64]bool, ignoreGrowing bool, only map[int64]bool) *readSet {
	dl.mu.RLock()
	defer dl.mu.RUnlock()
	rs := &readSet{segs: make([]segment.Segment, 0, len(dl.sealed)+len(dl.growing))}
	for id, s := range dl.sealed {
		if parts != nil && !parts[s.seg.PartitionID()] {
			continue
		}
		if only != nil && !only[id] && !allIn(s.sources, only) {
			continue
		}
		s.acquire()
		rs.segs = append(rs.segs, s.seg)
		rs.sealed = append(rs.sealed, s)
	}
	if !ignoreGrowing {
		for id, g := range dl.growing {
			if (parts == nil || parts[g.PartitionID()]) && (only == nil || only[id]) {
				rs.segs = append(rs.segs, g)
			}
		}
	}
	return rs
}

// allIn reports whether ids is not empty and all of it is in set.
func allIn(ids []int64, set map[int64]bool) bool {
	for _, id := range ids {
		if !set[id] {
			return false
		}
	}
	return len(ids) > 0
}
