package datanode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/storage"
)

// TimestampFieldID and RowIDFieldID are Milvus's system field IDs.
const (
	RowIDFieldID     = 0
	TimestampFieldID = 1
)

// pipeline consumes one physical channel.
type pipeline struct {
	name    string
	d       Deps
	logger  *slog.Logger
	started bool
	// cancel stops the pipeline's goroutine, which closes done when it
	// returns (set when started; guarded by Server.mu).
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex // guards vchannels (Watch/Unwatch run on other goroutines)
	vchannels map[string]*vstate
	// The reader's progress, for a Watch that comes after the reader
	// started (guarded by mu): reading says run is reading, from the
	// position it read after, firstTS the timestamp of the first message
	// it handled (0: none yet), skipped the last position of each
	// vchannel it passed over unwatched. A vchannel watched with a
	// checkpoint behind what the reader passed is "behind": the reader
	// goes back (errRewind) before anything moves its checkpoint.
	reading bool
	from    uint64
	firstTS uint64
	skipped map[string]uint64
	rewind  bool

	// Checkpoints that time ticks move are saved by a writer goroutine of
	// run, coalesced: a reader asking for Strong consistency makes a tick
	// per read, and one meta-store write per tick left the pipeline (and a
	// Flush waiting behind it) unable to keep up with the log.
	// seen maps the positions read since the oldest checkpoint to their
	// timestamps; only the run goroutine touches it.
	seen      positionTimes
	cpMu      sync.Mutex // guards cpPending
	cpPending map[string]contract.Checkpoint
	cpKick    chan struct{}

	// policy is when buffers are synced before the seal, mem the data
	// node's buffered bytes (sync.go).
	policy SyncPolicy
	mem    *memAccount
	// syncHook, when set (tests), is called after each piece is durable.
	syncHook func(segment int64, pieces int)
	// flushFails are the vchannels whose flushes failed, kept across the
	// restarts of run that retry them (faults.go); only the run goroutine
	// touches it.
	flushFails map[string]*flushFailure
}

// vstate is one virtual channel's buffers. Only the pipeline goroutine
// touches segments and deletes.
type vstate struct {
	coll       *model.Collection
	next       *model.Collection // a newer definition (UpdateCollection); guarded by pipeline.mu
	name       string
	checkpoint uint64
	// checkpointTS is the timestamp saved with checkpoint: every message
	// after the checkpoint's position has a later timestamp, so a query
	// node that loads the channel may serve reads at it before replaying.
	checkpointTS uint64
	segments     map[int64]*segBuffer
	deletes      storage.Deltas
	acct         vsAccount // its buffered bytes (sync.go; guarded by the memAccount)
	// failed is why the channel stopped at a message it cannot apply
	// (faults.go); its later messages are not applied.
	failed error
	// behind: watched after the reader passed messages of it; its
	// checkpoint must not move until the reader has gone back.
	behind bool
}

type segBuffer struct {
	id, partition int64
	startPos      uint64
	ts            []uint64
	// cols holds each field's insert batches as they arrived; they are
	// concatenated once, at flush (appending them to one growing column
	// copied the buffer over and over: 31% of the server's CPU in a bulk
	// insert of 768-d vectors).
	cols  map[int64][]column.Column
	bytes int64 // size of the buffered rows (sync.go)
	// lastPos is the log position of the last insert buffered.
	lastPos uint64
	// manifest lists the pieces already synced (sync.go); nil until read.
	manifest *syncManifest
	// manifestKey is where manifest lives, as the data coordinator
	// recorded it (model.Segment.SyncManifest); empty: no piece yet.
	manifestKey string
}

func newPipeline(name string, d Deps, logger *slog.Logger, policy SyncPolicy, mem *memAccount) *pipeline {
	return &pipeline{name: name, d: d, logger: logger.With("pchannel", name), vchannels: map[string]*vstate{},
		cpPending: map[string]contract.Checkpoint{}, cpKick: make(chan struct{}, 1), policy: policy, mem: mem,
		flushFails: map[string]*flushFailure{}}
}

// dropBuffers forgets vs's buffered bytes and, on the pipeline goroutine
// (own), its segment buffers.
func (p *pipeline) dropBuffers(vs *vstate, own bool) {
	p.mem.forget(vs)
	if own {
		clear(vs.segments)
	}
}

func (p *pipeline) watch(c *model.Collection, vc string, cp contract.Checkpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.vchannels[vc]; ok {
		return
	}
	vs := &vstate{coll: c, name: vc, checkpoint: cp.Position, checkpointTS: cp.TS, segments: map[int64]*segBuffer{}}
	// The reader may already be past messages of vc above its checkpoint:
	// it passed some over (skipped), or it started after the checkpoint
	// and the collection is older than what it read first (a data node
	// that restarts is given its collections one by one while the first
	// one's pipeline already reads). Those messages were never buffered:
	// the reader must read again from the checkpoint, or the next time
	// tick would move vc's checkpoint over them and retention would
	// truncate them away.
	if p.reading && (p.skipped[vc] > cp.Position || cp.Position < p.from && (p.firstTS == 0 || c.CreateTS < p.firstTS)) {
		vs.behind, p.rewind = true, true
	}
	delete(p.skipped, vc)
	p.vchannels[vc] = vs
}

// errRewind ends run so that the pipeline reads again from the oldest
// checkpoint (a vchannel was watched behind the reader).
var errRewind = errors.New("datanode: a vchannel was watched behind the reader")

// startReading returns the position run reads after (the oldest
// checkpoint) and records it, at once: a Watch after it is checked
// against it.
func (p *pipeline) startReading() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	from := uint64(math.MaxUint64)
	for _, vs := range p.vchannels {
		from = min(from, vs.checkpoint)
		vs.behind = false // reset gave every vchannel its checkpoint again
	}
	if from == math.MaxUint64 {
		from = 0
	}
	p.reading, p.from, p.firstTS, p.skipped, p.rewind = true, from, 0, map[string]uint64{}, false
	return from
}

// stopReading records that run returned.
func (p *pipeline) stopReading() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reading = false
}

// unwatch forgets vc and returns how many vchannels are left.
func (p *pipeline) unwatch(vc string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if vs, ok := p.vchannels[vc]; ok {
		p.dropBuffers(vs, false)
	}
	delete(p.vchannels, vc)
	return len(p.vchannels)
}

// reset drops every buffer and reloads checkpoints, for a restart of run.
func (p *pipeline) reset(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for vc, vs := range p.vchannels {
		cp, err := p.d.Coord.GetCheckpoint(ctx, vc)
		if err != nil {
			return fmt.Errorf("datanode: checkpoint of %s: %w", vc, err)
		}
		p.dropBuffers(vs, false)
		p.vchannels[vc] = &vstate{coll: vs.coll, next: vs.next, name: vc, checkpoint: cp.Position, checkpointTS: cp.TS, segments: map[int64]*segBuffer{}}
	}
	return nil
}

// lookup returns vc's state (nil: not watched, and the reader passes
// over its message id) and whether vc waits for the reader to go back.
func (p *pipeline) lookup(vc string, id uint64) (*vstate, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	vs := p.vchannels[vc]
	if vs == nil {
		if p.skipped != nil {
			p.skipped[vc] = max(p.skipped[vc], id)
		}
		return nil, false
	}
	if vs.behind {
		return vs, true
	}
	if vs.next != nil {
		// The pipeline goroutine takes a definition UpdateCollection left.
		if vs.next.UpdateTS >= vs.coll.UpdateTS {
			vs.coll = vs.next
		}
		vs.next = nil
	}
	return vs, false
}

// setCollection leaves a newer definition of vc's collection for the
// pipeline goroutine, which takes it at the channel's next message.
func (p *pipeline) setCollection(vc string, c *model.Collection) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if vs, ok := p.vchannels[vc]; ok && (vs.next == nil || c.UpdateTS >= vs.next.UpdateTS) {
		vs.next = c
	}
}

func (p *pipeline) run(ctx context.Context) error {
	start := p.startReading()
	defer p.stopReading()
	r, err := p.d.Log.Read(ctx, p.name, logbroker.MessageID(start))
	if err != nil {
		return fmt.Errorf("datanode: read %s after %d: %w", p.name, start, err)
	}
	defer r.Close()
	cpCtx, stopCP := context.WithCancel(ctx)
	var cpDone sync.WaitGroup
	cpDone.Go(func() { p.writeTickCheckpoints(cpCtx) })
	defer func() {
		stopCP()
		cpDone.Wait()
	}()
	p.logger.Debug("pipeline started", "after", start)
	for {
		m, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, logbroker.ErrClosed) {
				return nil
			}
			return fmt.Errorf("datanode: next on %s: %w", p.name, err)
		}
		dm, err := msg.Decode(m.Payload, m.Properties)
		if err != nil {
			p.logger.Error("skipping undecodable message", "id", m.ID, "err", err)
			continue
		}
		if err := p.handle(ctx, uint64(m.ID), dm); err != nil {
			return err
		}
	}
}

func (p *pipeline) handle(ctx context.Context, id uint64, m *msg.Message) error {
	p.mu.Lock()
	rewind := p.rewind
	if p.firstTS == 0 {
		p.firstTS = m.TS
	}
	p.mu.Unlock()
	if rewind {
		return errRewind
	}
	p.seen.add(id, m.TS)
	if m.Kind == msg.KindTimeTick {
		return p.onTick(ctx, id, m.TS)
	}
	if m.Kind == msg.KindFlushAll {
		return p.onFlushAll(ctx, id, m)
	}
	return p.handleChannel(ctx, id, m)
}

// onFlushAll applies a FlushAll to every virtual channel the pipeline
// reads: each is flushed as by a Seal of the segments the FlushAll sealed
// in it (none for a channel it did not list: its buffered deletes are
// written and its checkpoint moves to the message all the same).
func (p *pipeline) onFlushAll(ctx context.Context, id uint64, m *msg.Message) error {
	sealed := make(map[string]msg.Seal, len(m.FlushAll))
	for _, cs := range m.FlushAll {
		sealed[cs.VChannel] = cs.Seal
	}
	p.mu.Lock()
	names := slices.Sorted(maps.Keys(p.vchannels))
	p.mu.Unlock()
	for _, vc := range names {
		seal := sealed[vc] // zero for a channel the FlushAll did not list
		if err := p.handleChannel(ctx, id, &msg.Message{Kind: msg.KindSeal, VChannel: vc, TS: m.TS, Seal: &seal}); err != nil {
			return err
		}
	}
	return nil
}

// handleChannel applies a message of one virtual channel.
func (p *pipeline) handleChannel(ctx context.Context, id uint64, m *msg.Message) error {
	vs, behind := p.lookup(m.VChannel, id)
	if behind {
		return errRewind
	}
	if vs == nil || id <= vs.checkpoint || vs.failed != nil {
		return nil
	}
	var err error
	switch m.Kind {
	case msg.KindInsert:
		err = p.onInsert(ctx, vs, id, m)
	case msg.KindDelete:
		err = p.onDelete(vs, m)
	case msg.KindUpsert:
		if err = p.onDelete(vs, m); err == nil {
			err = p.onInsert(ctx, vs, id, m)
		}
	case msg.KindSeal:
		err = p.onSeal(ctx, vs, id, m)
	}
	switch {
	case err == nil:
		p.flushed(ctx, vs, id)
	case isBadMessage(err):
		return p.fail(ctx, vs, id, err)
	default:
		p.flushFailed(ctx, vs, id, err)
	}
	return err
}

func (p *pipeline) onInsert(ctx context.Context, vs *vstate, id uint64, m *msg.Message) error {
	ins := m.Insert
	if ins == nil {
		return bad(fmt.Errorf("datanode: %s message without rows", m.Kind))
	}
	buf, ok := vs.segments[ins.SegmentID]
	if !ok {
		seg, known, err := p.d.Coord.Segment(ctx, ins.SegmentID)
		if err != nil {
			return fmt.Errorf("datanode: segment %d: %w", ins.SegmentID, err)
		}
		if !known || seg.State == model.SegmentFlushed || seg.State == model.SegmentDropped {
			// Replaying a segment that is already in the object store, or
			// one the data coordinator forgot: every segment is recorded
			// before its first insert is logged, and forgotten only when
			// its collection or partition is dropped.
			return nil
		}
		buf = &segBuffer{id: ins.SegmentID, partition: ins.PartitionID, startPos: seg.StartPosition, cols: map[int64][]column.Column{},
			manifestKey: seg.SyncManifest}
		// Pieces synced before a restart: their inserts are skipped below,
		// their rows still count.
		if err := p.ensureManifest(ctx, vs, buf); err != nil {
			return err
		}
		vs.segments[ins.SegmentID] = buf
		if synced := buf.rows(); synced > 0 {
			if err := p.d.Coord.NoteBufferedRows(ctx, ins.SegmentID, synced); err != nil {
				return fmt.Errorf("datanode: note rows of segment %d: %w", ins.SegmentID, err)
			}
		}
	}
	if buf.skipInsert(id) {
		return nil
	}
	n := int(ins.GetNumRows())
	fieldIDs := make([]int64, 0, len(ins.GetFieldsData()))
	for _, fd := range ins.GetFieldsData() {
		fieldIDs = append(fieldIDs, fd.GetFieldId())
	}
	if err := p.alignBefore(ctx, vs, buf, fieldIDs); err != nil {
		return err
	}
	var size int64
	for _, fd := range ins.GetFieldsData() {
		size += fieldDataSize(fd)
		c, err := column.FromFieldData(fd)
		if err != nil {
			// The proxy validated this message; a bad one is a bug, not user input.
			return bad(fmt.Errorf("datanode: decode field %q of segment %d: %w", fd.GetFieldName(), ins.SegmentID, err))
		}
		if c.Len() != n {
			return bad(fmt.Errorf("datanode: field %q of segment %d has %d rows, message says %d", fd.GetFieldName(), ins.SegmentID, c.Len(), n))
		}
		buf.cols[fd.GetFieldId()] = append(buf.cols[fd.GetFieldId()], c)
	}
	if err := p.alignAfter(ctx, vs, buf, fieldIDs, n); err != nil {
		return err
	}
	for range n {
		buf.ts = append(buf.ts, m.TS)
	}
	buf.lastPos = id
	buf.bytes += size
	p.mem.add(vs, size)
	// After a restart this replay is what restores the segment's row count.
	if err := p.d.Coord.NoteBufferedRows(ctx, ins.SegmentID, buf.rows()); err != nil {
		return fmt.Errorf("datanode: note rows of segment %d: %w", ins.SegmentID, err)
	}
	return p.maybeSync(ctx, vs, buf)
}

func (p *pipeline) onDelete(vs *vstate, m *msg.Message) error {
	if m.Delete == nil {
		return bad(fmt.Errorf("datanode: %s message without primary keys", m.Kind))
	}
	ids := m.Delete.GetPrimaryKeys()
	if ints := ids.GetIntId().GetData(); len(ints) > 0 {
		vs.deletes.IntPKs = append(vs.deletes.IntPKs, ints...)
		for range ints {
			vs.deletes.Timestamps = append(vs.deletes.Timestamps, m.TS)
		}
	}
	if strs := ids.GetStrId().GetData(); len(strs) > 0 {
		vs.deletes.StrPKs = append(vs.deletes.StrPKs, strs...)
		for range strs {
			vs.deletes.Timestamps = append(vs.deletes.Timestamps, m.TS)
		}
	}
	return nil
}

func (p *pipeline) onSeal(ctx context.Context, vs *vstate, id uint64, m *msg.Message) error {
	if m.Seal == nil {
		return bad(fmt.Errorf("datanode: seal message without segments"))
	}
	for _, segID := range m.Seal.SegmentIDs {
		buf, ok := vs.segments[segID]
		if !ok {
			if err := p.flushEmpty(ctx, vs, segID, m.TS); err != nil {
				return err
			}
			continue
		}
		flush := p.flushSegment
		if len(buf.manifest.Pieces) > 0 {
			flush = p.flushPieces
		}
		if err := flush(ctx, vs, buf, m.TS); err != nil {
			return err
		}
		p.mem.add(vs, -buf.bytes)
		delete(vs.segments, segID)
	}
	if err := p.flushDeletes(ctx, vs); err != nil {
		return err
	}
	return p.advance(ctx, vs, id, m.TS)
}

// onTick moves the checkpoint of channels with nothing buffered up to the
// tick, so that a restart does not replay what needs no replaying.
func (p *pipeline) onTick(ctx context.Context, id uint64, ts uint64) error {
	p.mu.Lock()
	var idle, deletesOnly []*vstate
	oldest := id
	for _, vs := range p.vchannels {
		if vs.failed == nil {
			oldest = min(oldest, vs.checkpoint)
		}
		// A failed channel keeps its checkpoint before the message it
		// cannot apply.
		if vs.failed == nil && !vs.behind && len(vs.segments) == 0 && vs.checkpoint < id {
			if vs.deletes.Len() == 0 {
				idle = append(idle, vs)
			} else {
				deletesOnly = append(deletesOnly, vs)
			}
		}
	}
	p.mu.Unlock()
	p.seen.trimBefore(oldest)
	// Deletes with no segment buffered would otherwise wait for the next
	// Seal, holding the checkpoint (and the log) behind them: write them
	// as a delete log now (compact.go).
	for _, vs := range deletesOnly {
		err := p.flushDeletes(ctx, vs)
		if err == nil {
			err = p.advance(ctx, vs, id, ts)
		}
		if err != nil {
			p.flushFailed(ctx, vs, id, err)
			return err
		}
		p.flushed(ctx, vs, id)
	}
	for _, vs := range idle {
		p.flushed(ctx, vs, id)
		// Nothing is buffered: the checkpoint may move to the tick. The
		// writer goroutine saves it; until then a restart replays a little
		// more, which is harmless (flushes save theirs synchronously, and
		// datacoord ignores a checkpoint older than the one it has).
		vs.checkpoint, vs.checkpointTS = id, ts
		p.cpMu.Lock()
		p.cpPending[vs.name] = contract.Checkpoint{Position: id, TS: ts}
		p.cpMu.Unlock()
		select {
		case p.cpKick <- struct{}{}:
		default:
		}
	}
	return nil
}

// writeTickCheckpoints saves the checkpoints onTick leaves pending, the
// latest per channel, until ctx ends; then it saves what is left.
func (p *pipeline) writeTickCheckpoints(ctx context.Context) {
	save := func(ctx context.Context) {
		p.cpMu.Lock()
		pending := p.cpPending
		p.cpPending = map[string]contract.Checkpoint{}
		p.cpMu.Unlock()
		for vc, cp := range pending {
			if err := p.d.Coord.UpdateCheckpoint(ctx, vc, cp); err != nil {
				p.logger.Warn("save checkpoint", "vchannel", vc, "err", err)
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			save(final)
			cancel()
			return
		case <-p.cpKick:
			save(ctx)
		}
	}
}

// advance sets the checkpoint to just before the oldest buffered segment,
// or to id when nothing is buffered.
func (p *pipeline) advance(ctx context.Context, vs *vstate, id, ts uint64) error {
	if err := p.forgetDropped(ctx, vs); err != nil {
		return err
	}
	cp := id
	for _, buf := range vs.segments {
		cp = min(cp, buf.startPos)
	}
	if cp <= vs.checkpoint {
		return nil
	}
	// Held back by a buffered segment, the checkpoint's position is before
	// messages older than ts that are not yet in the object store: a loading
	// query node replays them, so it must not serve reads at ts before that.
	// The timestamp saved is that of the message at the new position (or,
	// if it was read before this pipeline started, the previous one's).
	cpTS := ts
	if cp < id {
		cpTS = max(vs.checkpointTS, p.seen.tsAt(cp))
	}
	if err := p.d.Coord.UpdateCheckpoint(ctx, vs.name, contract.Checkpoint{Position: cp, TS: cpTS}); err != nil {
		return err
	}
	vs.checkpoint, vs.checkpointTS = cp, cpTS
	return nil
}

// streamPutter is an object store that stores an object as it is written
// (objstore.Local).
type streamPutter interface {
	PutFrom(ctx context.Context, key string, src io.WriterTo) (int64, error)
}

func (p *pipeline) flushSegment(ctx context.Context, vs *vstate, buf *segBuffer, sealTS uint64) error {
	schema := vs.coll.Schema
	ids, err := p.d.IDs.AllocID(ctx, int64(len(buf.cols)+2))
	if err != nil {
		return err
	}
	var tsCol column.Column = &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, len(buf.ts))}
	for i, t := range buf.ts {
		tsCol.(*column.Scalar[int64]).Data[i] = int64(t)
	}
	// The segment is written in primary-key order, as every compaction
	// output is, so no sort compaction has to rewrite it (and its index
	// is built once). order is nil when the rows already are in that
	// order (auto IDs): then nothing moves.
	order, sorted := flushOrder(schema, buf)
	if order != nil {
		tsCol = tsCol.Take(order)
	}
	files := map[int64]string{}
	var size int64
	var write func(fieldID int64, data []byte) error
	put := func(fieldID int64, c column.Column) error {
		data, err := storage.EncodeColumn(c)
		if err != nil {
			return bad(fmt.Errorf("datanode: encode field %d of segment %d: %w", fieldID, buf.id, err))
		}
		return write(fieldID, data)
	}
	write = func(fieldID int64, data []byte) error {
		path := storage.InsertLogPath(vs.coll.ID, buf.partition, buf.id, fieldID, ids)
		ids++
		if err := p.d.Points.Fail(ctx, "datanode.flush.binlog", "vchannel", vs.name, "path", path); err != nil {
			return fmt.Errorf("datanode: write %s: %w", path, err)
		}
		if err := p.d.Objects.Put(ctx, path, data); err != nil {
			return fmt.Errorf("datanode: write %s: %w", path, err)
		}
		files[fieldID] = path
		size += int64(len(data))
		return nil
	}
	if err := put(TimestampFieldID, tsCol); err != nil {
		return err
	}
	var pkCol column.Column
	scalars := map[int64]column.Column{}
	for _, f := range schema.GetFields() {
		chunks, ok := buf.cols[f.GetFieldID()]
		if !ok {
			if _, fillable := segment.FillColumn(f, 0); fillable {
				continue // no row has it (added later): the loader fills it
			}
			return bad(fmt.Errorf("datanode: segment %d has no data for field %q", buf.id, f.GetName()))
		}
		if column.IsVector(f.GetDataType()) && order == nil {
			// Float vectors, most of a segment, are encoded from their
			// batches: no concatenated copy; streamed to a store that
			// takes a stream (standalone's local store): no file in
			// memory either.
			if sp, ok := p.d.Objects.(streamPutter); ok {
				if file, ok := storage.NewFloatVectorChunksFile(chunks); ok {
					path := storage.InsertLogPath(vs.coll.ID, buf.partition, buf.id, f.GetFieldID(), ids)
					ids++
					if err := p.d.Points.Fail(ctx, "datanode.flush.binlog", "vchannel", vs.name, "path", path); err != nil {
						return fmt.Errorf("datanode: write %s: %w", path, err)
					}
					n, err := sp.PutFrom(ctx, path, file)
					if err != nil {
						return fmt.Errorf("datanode: write %s: %w", path, err)
					}
					files[f.GetFieldID()] = path
					size += n
					continue
				}
			}
			if data, ok := storage.EncodeFloatVectorChunks(chunks); ok {
				if err := write(f.GetFieldID(), data); err != nil {
					return err
				}
				continue
			}
		}
		c := column.Concat(chunks)
		// The concatenated column replaces its chunks in the buffer (a
		// failed flush is retried from it), so the chunks are garbage
		// before the column is encoded: a segment is held twice at once
		// during its flush, never three times.
		buf.cols[f.GetFieldID()] = []column.Column{c}
		chunks = nil
		if order != nil {
			// The buffer keeps arrival order: a retried flush sorts again.
			c = c.Take(order)
		}
		if err := put(f.GetFieldID(), c); err != nil {
			return err
		}
		if f.GetIsPrimaryKey() {
			pkCol = c
		}
		if !column.IsVector(f.GetDataType()) {
			scalars[f.GetFieldID()] = c
		}
	}
	statsPath, err := p.writeStats(ctx, vs, buf, schema, storage.BuildStats(pkCol, scalars), ids)
	if err != nil {
		return err
	}
	start := time.Now()
	err = p.d.Coord.SegmentFlushed(ctx, contract.FlushResult{SegmentID: buf.id, NumRows: int64(len(buf.ts)),
		Binlogs: files, StatsLog: statsPath, FlushTS: sealTS, SizeBytes: size, Sorted: sorted})
	if refused(err) {
		p.discardFlush(ctx, vs, buf.id, files, statsPath, err)
		return err
	}
	if isDropped(err) {
		// Dropped with its collection or partition meanwhile: its files
		// are nobody's.
		p.logger.Info("flushed segment was dropped meanwhile", "vchannel", vs.name, "segment", buf.id)
		for _, path := range append(slices.Collect(maps.Values(files)), statsPath) {
			if err := p.d.Objects.Delete(ctx, path); err != nil {
				p.logger.Warn("delete files of dropped segment", "path", path, "err", err)
			}
		}
		return nil
	}
	p.logger.Info("flushed segment", "vchannel", vs.name, "segment", buf.id, "rows", len(buf.ts), "bytes", size, "report", time.Since(start))
	return err
}

// forgetDropped drops the buffers of segments the data coordinator no
// longer knows or has dropped (their partition was dropped): no Seal will
// come for them, and they would hold the channel's checkpoint forever.
func (p *pipeline) forgetDropped(ctx context.Context, vs *vstate) error {
	for id := range vs.segments {
		seg, known, err := p.d.Coord.Segment(ctx, id)
		if err != nil {
			return fmt.Errorf("datanode: segment %d: %w", id, err)
		}
		if !known || seg.State == model.SegmentDropped {
			p.logger.Info("dropping the buffer of a dropped segment", "vchannel", vs.name, "segment", id)
			p.mem.add(vs, -vs.segments[id].bytes)
			delete(vs.segments, id)
		}
	}
	return nil
}

// flushEmpty reports a sealed segment that has no buffered rows. A segment
// whose rows were all synced in pieces before a restart (the replay found
// no insert of it after its last piece) is flushed from its pieces.
// Otherwise, every
// insert after the checkpoint is buffered, and the checkpoint never passes
// the start of a segment that is not flushed, so a segment still Sealed
// here has no rows in the log at all (its only insert failed to append):
// it is reported with zero rows, which the data coordinator drops, instead
// of staying Sealed forever. Flushed or dropped segments (a replayed or
// repeated Seal) are left alone.
func (p *pipeline) flushEmpty(ctx context.Context, vs *vstate, segID int64, sealTS uint64) error {
	seg, ok, err := p.d.Coord.Segment(ctx, segID)
	if err != nil {
		return fmt.Errorf("datanode: segment %d: %w", segID, err)
	}
	if !ok || seg.State != model.SegmentSealed {
		return nil
	}
	m, err := p.loadManifest(ctx, seg.SyncManifest)
	if err != nil {
		return err
	}
	if len(m.Pieces) > 0 {
		buf := &segBuffer{id: segID, partition: seg.PartitionID, startPos: seg.StartPosition, cols: map[int64][]column.Column{},
			manifest: m, manifestKey: seg.SyncManifest}
		return p.flushPieces(ctx, vs, buf, sealTS)
	}
	p.logger.Info("sealed segment has no rows", "segment", segID)
	return p.d.Coord.SegmentFlushed(ctx, contract.FlushResult{SegmentID: segID, FlushTS: sealTS})
}

func (p *pipeline) flushDeletes(ctx context.Context, vs *vstate) error {
	if vs.deletes.Len() == 0 {
		return nil
	}
	data, err := storage.EncodeDeltas(vs.deletes)
	if err != nil {
		return fmt.Errorf("datanode: encode deletes of %s: %w", vs.name, err)
	}
	id, err := p.d.IDs.AllocID(ctx, 1)
	if err != nil {
		return err
	}
	path := storage.DeltaLogPath(vs.coll.ID, 0, 0, id)
	if err := p.d.Points.Fail(ctx, "datanode.flush.deltaLog", "vchannel", vs.name, "path", path); err != nil {
		return fmt.Errorf("datanode: write %s: %w", path, err)
	}
	if err := p.d.Objects.Put(ctx, path, data); err != nil {
		return fmt.Errorf("datanode: write %s: %w", path, err)
	}
	var maxTS uint64
	for _, t := range vs.deletes.Timestamps {
		maxTS = max(maxTS, t)
	}
	if err := p.d.Coord.AddDeltaLog(ctx, model.DeltaLog{ID: id, CollectionID: vs.coll.ID, VChannel: vs.name, Path: path,
		Entries: int64(vs.deletes.Len()), MaxTS: maxTS}); err != nil {
		if refused(err) {
			p.logger.Warn("delta log refused: the file is discarded", "vchannel", vs.name, "path", path, "err", err)
			p.deleteAll(ctx, []string{path})
		}
		return err
	}
	vs.deletes = storage.Deltas{}
	return nil
}

func sleepCtx(ctx context.Context) bool {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// writeStats writes a flushed segment's stats log (log ID id) and returns
// its path.
func (p *pipeline) writeStats(ctx context.Context, vs *vstate, buf *segBuffer, schema *schemapb.CollectionSchema, st *storage.Stats, id int64) (string, error) {
	stats, err := storage.EncodeStats(st)
	if err != nil {
		return "", bad(fmt.Errorf("datanode: encode stats of segment %d: %w", buf.id, err))
	}
	pkField := int64(0)
	for _, f := range schema.GetFields() {
		if f.GetIsPrimaryKey() {
			pkField = f.GetFieldID()
		}
	}
	path := storage.StatsLogPath(vs.coll.ID, buf.partition, buf.id, pkField, id)
	if err := p.d.Objects.Put(ctx, path, stats); err != nil {
		return "", fmt.Errorf("datanode: write %s: %w", path, err)
	}
	return path, nil
}
