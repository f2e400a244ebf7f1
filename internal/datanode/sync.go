package datanode

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/storage"
	"github.com/milvago/milvago/internal/sysinfo"
)

// A growing segment's buffer is synced to the object store in pieces, as
// Milvus's data node syncs its write buffer (flushcommon/writebuffer and
// syncmgr): when a segment's buffer passes dataNode.segment.insertBufSize,
// or when all the data node's buffers together pass
// dataNode.memory.forceSyncWatermark of the memory (then the
// forceSyncSegmentNum largest are synced), its rows are written as one
// insert binlog per field (a piece: its own log ID, its row range) and the
// buffer is freed. The pieces written so far are listed in the segment's
// sync manifest, written under a new key (syncManifestKey) after each
// piece's files are durable and then recorded with the data coordinator
// (SaveSyncManifest, model.Segment.SyncManifest), which hears only the
// owner of the segment's channel. Only the recorded manifest is ever read:
// a piece whose files were written but not recorded does not count (a
// crash between the two, or a node that lost its channel while cut off or
// paused: the replay buffers its rows again, and garbage collection
// removes its files once the segment is flushed).
//
// At the seal the rest of the buffer becomes the last piece, and the
// pieces are merged into the segment's binlogs, one file per field, as
// every reader of a flushed segment expects (the index node and the query
// node map one vector file per field): scalar fields one at a time, float
// vectors streamed piece by piece from the mapped pieces. The merged
// segment keeps the rows in arrival order: it is registered Sorted only if
// its primary keys already are in order (auto IDs), otherwise sort
// compaction sorts it as it does any unsorted segment (Milvus 2.6's
// segments written in pieces are sorted by sort compaction too). A segment
// that never passed the buffer size is flushed as before (sorted at
// flush, from memory).
//
// Replay: the channel checkpoint stays before the oldest segment not yet
// flushed (query nodes that load the channel replay its growing segments'
// rows from the log; they do not read pieces), so after a restart the data
// node reads the segment's inserts again and skips every message the
// manifest's pieces cover (positions up to SyncedPos).

// SyncPolicy is when the data node writes a growing segment's buffer out
// before the segment is sealed (Milvus's dataNode.segment.insertBufSize
// and dataNode.memory.forceSync* keys).
type SyncPolicy struct {
	// InsertBufSize is dataNode.segment.insertBufSize: a segment whose
	// buffered rows take more bytes is synced; <= 0 disables it.
	InsertBufSize int64
	// ForceSyncEnable, ForceSyncSegmentNum and ForceSyncWatermark are
	// dataNode.memory.forceSyncEnable, forceSyncSegmentNum and
	// forceSyncWatermark: when every buffer of the data node together
	// takes more than ForceSyncWatermark of MemoryTotal, the
	// ForceSyncSegmentNum largest buffers of the channel being read are
	// synced.
	ForceSyncEnable     bool
	ForceSyncSegmentNum int
	ForceSyncWatermark  float64
	// MemoryTotal is the memory the watermark is a share of; 0: the
	// host's (or its cgroup limit), as Milvus's hardware.GetMemoryCount.
	MemoryTotal uint64
}

// DefaultSyncPolicy returns Milvus 2.6's defaults.
func DefaultSyncPolicy() SyncPolicy {
	return SyncPolicy{InsertBufSize: 16 << 20, ForceSyncEnable: true, ForceSyncSegmentNum: 1, ForceSyncWatermark: 0.5}
}

// Validate checks the policy's values.
func (s SyncPolicy) Validate() error {
	if s.ForceSyncEnable && (s.ForceSyncWatermark <= 0 || s.ForceSyncWatermark > 1) {
		return fmt.Errorf("dataNode.memory.forceSyncWatermark must be in (0, 1], got %v", s.ForceSyncWatermark)
	}
	if s.ForceSyncEnable && s.ForceSyncSegmentNum < 1 {
		return fmt.Errorf("dataNode.memory.forceSyncSegmentNum must be at least 1, got %d", s.ForceSyncSegmentNum)
	}
	return nil
}

// memAccount sums the bytes buffered by every channel of a data node.
// Channels are accounted separately so that one forgotten (unwatched,
// failed or reset) takes its bytes with it, whichever goroutine forgets it.
type memAccount struct {
	mu    sync.Mutex // also guards every vstate's acct
	total int64
	limit int64 // force sync above this; 0: never
}

// vsAccount is a channel's share of a memAccount.
type vsAccount struct {
	bytes int64
	gone  bool
}

func newMemAccount(pol SyncPolicy) *memAccount {
	a := &memAccount{}
	if pol.ForceSyncEnable {
		mem := pol.MemoryTotal
		if mem == 0 {
			mem = sysinfo.Hardware("", "").Memory
		}
		a.limit = int64(float64(mem) * pol.ForceSyncWatermark)
	}
	return a
}

// add counts n more bytes (or fewer) buffered by vs.
func (a *memAccount) add(vs *vstate, n int64) {
	if n == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if vs.acct.gone {
		return
	}
	vs.acct.bytes += n
	a.total += n
}

// forget drops vs's bytes: its buffers are dropped.
func (a *memAccount) forget(vs *vstate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total -= vs.acct.bytes
	vs.acct = vsAccount{gone: true}
}

func (a *memAccount) over() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit > 0 && a.total > a.limit
}

func (a *memAccount) bytes() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

// syncManifest lists the pieces of a growing segment written so far.
type syncManifest struct {
	Pieces []syncPiece `json:"pieces"`
}

// syncPiece is one sync of a segment's buffer: rows [RowFrom, RowFrom+Rows)
// of the segment, from the segment's inserts at log positions up to
// SyncedPos, one insert binlog per field (field 1 holds the timestamps).
type syncPiece struct {
	RowFrom   int64            `json:"row_from"`
	Rows      int64            `json:"rows"`
	SyncedPos uint64           `json:"synced_pos"`
	TSFrom    uint64           `json:"ts_from"`
	TSTo      uint64           `json:"ts_to"`
	Binlogs   map[int64]string `json:"binlogs"`
	Size      int64            `json:"size"`
}

func (m *syncManifest) rows() int64 {
	var n int64
	for _, p := range m.Pieces {
		n += p.Rows
	}
	return n
}

func (m *syncManifest) syncedPos() uint64 {
	if len(m.Pieces) == 0 {
		return 0
	}
	return m.Pieces[len(m.Pieces)-1].SyncedPos
}

// syncManifestKey is where one version of a segment's sync manifest lives
// (logID: its own log ID, so no write replaces another node's): in the
// segment's insert log directory, which garbage collection leaves alone
// while the segment is growing or sealed.
func syncManifestKey(collection, partition, segment, logID int64) string {
	return storage.SegmentPrefixes(collection, partition, segment)[0] + syncManifestPrefix + strconv.FormatInt(logID, 10) + ".json"
}

// syncManifestPrefix starts the name of every sync manifest file.
const syncManifestPrefix = "sync_manifest_"

// loadManifest reads the manifest at key, the one the data coordinator
// recorded for the segment (empty: none, no piece counts).
func (p *pipeline) loadManifest(ctx context.Context, key string) (*syncManifest, error) {
	if key == "" {
		return &syncManifest{}, nil
	}
	b, err := p.d.Objects.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("datanode: read %s: %w", key, err)
	}
	var m syncManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("datanode: decode %s: %w", key, err)
	}
	return &m, nil
}

// fieldDataSize is what one insert's field takes in the buffer, as Milvus
// counts a write buffer's memory size (the encoded field data).
func fieldDataSize(fd *schemapb.FieldData) int64 { return int64(proto.Size(fd)) }

// maybeSync syncs buf when it passed the buffer size, and the largest
// buffers of the channel when the data node's buffers passed the memory
// watermark.
func (p *pipeline) maybeSync(ctx context.Context, vs *vstate, buf *segBuffer) error {
	if lim := p.policy.InsertBufSize; lim > 0 && buf.bytes >= lim {
		if err := p.syncSegment(ctx, vs, buf); err != nil {
			return err
		}
	}
	if !p.mem.over() {
		return nil
	}
	bufs := make([]*segBuffer, 0, len(vs.segments))
	for _, b := range vs.segments {
		if b.bytes > 0 {
			bufs = append(bufs, b)
		}
	}
	slices.SortFunc(bufs, func(a, b *segBuffer) int { return int(min(max(b.bytes-a.bytes, -1), 1)) })
	for i, b := range bufs {
		if i >= p.policy.ForceSyncSegmentNum {
			break
		}
		p.logger.Info("memory watermark passed: syncing the largest buffer", "segment", b.id, "bytes", b.bytes,
			"buffered", p.mem.bytes())
		if err := p.syncSegment(ctx, vs, b); err != nil {
			return err
		}
	}
	return nil
}

// syncSegment writes buf's buffered rows as a piece and frees them.
func (p *pipeline) syncSegment(ctx context.Context, vs *vstate, buf *segBuffer) error {
	if len(buf.ts) == 0 {
		return nil
	}
	if err := p.ensureManifest(ctx, vs, buf); err != nil {
		return err
	}
	// One log ID per field, the timestamps' and the manifest's.
	ids, err := p.d.IDs.AllocID(ctx, int64(len(buf.cols)+2))
	if err != nil {
		return err
	}
	key := syncManifestKey(vs.coll.ID, buf.partition, buf.id, ids)
	ids++
	piece := syncPiece{RowFrom: buf.manifest.rows(), Rows: int64(len(buf.ts)), SyncedPos: buf.lastPos,
		TSFrom: buf.ts[0], TSTo: buf.ts[len(buf.ts)-1], Binlogs: map[int64]string{}}
	written := []string{}
	put := func(fieldID int64, chunks []column.Column) error {
		path := storage.InsertLogPath(vs.coll.ID, buf.partition, buf.id, fieldID, ids)
		ids++
		if sp, ok := p.d.Objects.(streamPutter); ok {
			if file, ok := storage.NewFloatVectorChunksFile(chunks); ok {
				n, err := sp.PutFrom(ctx, path, file)
				if err != nil {
					return fmt.Errorf("datanode: write %s: %w", path, err)
				}
				piece.Binlogs[fieldID], piece.Size = path, piece.Size+n
				written = append(written, path)
				return nil
			}
		}
		data, ok := storage.EncodeFloatVectorChunks(chunks)
		if !ok {
			data, err = storage.EncodeColumn(column.Concat(chunks))
			if err != nil {
				return bad(fmt.Errorf("datanode: encode field %d of segment %d: %w", fieldID, buf.id, err))
			}
		}
		if err := p.d.Objects.Put(ctx, path, data); err != nil {
			return fmt.Errorf("datanode: write %s: %w", path, err)
		}
		piece.Binlogs[fieldID], piece.Size = path, piece.Size+int64(len(data))
		written = append(written, path)
		return nil
	}
	ts := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, len(buf.ts))}
	for i, t := range buf.ts {
		ts.Data[i] = int64(t)
	}
	if err := put(TimestampFieldID, []column.Column{ts}); err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(buf.cols)) {
		if len(buf.cols[id]) == 0 {
			continue // alignAfter fills every field seen; none to write
		}
		if err := put(id, buf.cols[id]); err != nil {
			return err
		}
	}
	next := syncManifest{Pieces: append(slices.Clip(buf.manifest.Pieces), piece)}
	b, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("datanode: encode sync manifest of segment %d: %w", buf.id, err)
	}
	if err := p.d.Objects.Put(ctx, key, b); err != nil {
		// The piece does not count: its rows stay buffered (and are
		// synced again, under other log IDs); its files are garbage.
		p.deleteAll(ctx, written)
		return fmt.Errorf("datanode: write %s: %w", key, err)
	}
	if err := p.d.Coord.SaveSyncManifest(ctx, buf.id, key); err != nil {
		if refused(err) || isDropped(err) {
			// Refused for good: the channel has another owner (this node
			// was cut off or paused while it moved), or the segment is
			// gone. The piece never counts; nobody reads these files.
			p.logger.Warn("sync manifest refused: the piece is discarded", "vchannel", vs.name, "segment", buf.id,
				"manifest", key, "err", err)
			p.deleteAll(ctx, append(written, key))
		}
		// Otherwise the outcome is unknown (the record may have landed):
		// the files stay; if they are not recorded, garbage collection
		// removes them once the segment is flushed.
		return fmt.Errorf("datanode: record sync manifest of segment %d: %w", buf.id, err)
	}
	if buf.manifestKey != "" {
		// Replaced by the record above: no reader will look for it.
		if err := p.d.Objects.Delete(ctx, buf.manifestKey); err != nil {
			p.logger.Warn("delete replaced sync manifest", "path", buf.manifestKey, "err", err)
		}
	}
	buf.manifestKey = key
	p.logger.Debug("synced segment buffer", "vchannel", vs.name, "segment", buf.id, "rows", piece.Rows,
		"bytes", buf.bytes, "piece", len(next.Pieces), "synced_pos", piece.SyncedPos)
	buf.manifest = &next
	p.mem.add(vs, -buf.bytes)
	buf.bytes = 0
	buf.ts = nil
	// A field present so far stays present: the next rows' chunks start
	// empty and alignBefore does not fill it again.
	for id := range buf.cols {
		buf.cols[id] = nil
	}
	if p.syncHook != nil {
		p.syncHook(buf.id, len(next.Pieces))
	}
	return nil
}

// deleteAll deletes files nothing refers to, logging failures (garbage
// collection takes what is left once the segment is flushed). The deletes
// outlive ctx, up to discardTimeout: a refused node is often stopping (its
// session lost, its pipeline cancelled) when it learns its files are
// nobody's, and Run waits for the pipeline, so they still happen.
func (p *pipeline) deleteAll(ctx context.Context, paths []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
	defer cancel()
	for _, path := range paths {
		if err := p.d.Objects.Delete(ctx, path); err != nil {
			p.logger.Warn("delete unrecorded piece file", "path", path, "err", err)
		}
	}
}

// ensureManifest loads buf's recorded manifest once (a segment buffered
// again after a restart, or by a new owner of its channel, finds the
// pieces written before it).
func (p *pipeline) ensureManifest(ctx context.Context, vs *vstate, buf *segBuffer) error {
	if buf.manifest != nil {
		return nil
	}
	m, err := p.loadManifest(ctx, buf.manifestKey)
	if err != nil {
		return err
	}
	buf.manifest = m
	return nil
}

// rows is how many rows of the segment the data node has: synced and buffered.
func (b *segBuffer) rows() int64 {
	n := int64(len(b.ts))
	if b.manifest != nil {
		n += b.manifest.rows()
	}
	return n
}

// skipInsert reports whether the insert at log position id is already in
// one of buf's pieces (a replay after a restart).
func (b *segBuffer) skipInsert(id uint64) bool {
	return b.manifest != nil && id <= b.manifest.syncedPos()
}

// evicter is a mapping whose pages can be dropped from the resident set
// (objstore.Local's).
type evicter interface{ Evict() }

// flushPieces flushes a segment that was synced in pieces: the rest of its
// buffer becomes the last piece, then each field's pieces are merged into
// the segment's binlog for that field.
func (p *pipeline) flushPieces(ctx context.Context, vs *vstate, buf *segBuffer, sealTS uint64) error {
	if err := p.syncSegment(ctx, vs, buf); err != nil {
		return err
	}
	pieces := buf.manifest.Pieces
	schema := vs.coll.Schema
	ids, err := p.d.IDs.AllocID(ctx, int64(len(schema.GetFields())+2))
	if err != nil {
		return err
	}
	files := map[int64]string{}
	var size int64
	var parts []*storage.Stats
	sorted := true
	fields := append([]*schemapb.FieldSchema{{FieldID: TimestampFieldID, Name: "$timestamp", DataType: schemapb.DataType_Int64}},
		schema.GetFields()...)
	for _, f := range fields {
		id := f.GetFieldID()
		present := false
		for _, pc := range pieces {
			if _, ok := pc.Binlogs[id]; ok {
				present = true
			}
		}
		if !present {
			if _, fillable := segment.FillColumn(f, 0); fillable {
				continue // no row has it (added later): the loader fills it
			}
			return bad(fmt.Errorf("datanode: segment %d has no data for field %q", buf.id, f.GetName()))
		}
		path := storage.InsertLogPath(vs.coll.ID, buf.partition, buf.id, id, ids)
		ids++
		n, st, inOrder, err := p.mergeField(ctx, buf, pieces, f, path)
		if err != nil {
			return err
		}
		files[id], size = path, size+n
		if st != nil {
			parts = append(parts, st)
		}
		if f.GetIsPrimaryKey() {
			sorted = inOrder
		}
	}
	merged, err := storage.MergeStats(parts...)
	if err != nil {
		return fmt.Errorf("datanode: stats of segment %d: %w", buf.id, err)
	}
	statsPath, err := p.writeStats(ctx, vs, buf, schema, merged, ids)
	if err != nil {
		return err
	}
	rows := buf.manifest.rows()
	err = p.d.Coord.SegmentFlushed(ctx, contract.FlushResult{SegmentID: buf.id, NumRows: rows,
		Binlogs: files, StatsLog: statsPath, FlushTS: sealTS, SizeBytes: size, Sorted: sorted})
	if refused(err) {
		// Another data node owns the channel: it flushes the segment from
		// the recorded pieces (which stay: they are its input), and the
		// merged files and stats written here are nobody's.
		p.discardFlush(ctx, vs, buf.id, files, statsPath, err)
		return err
	}
	dropped := isDropped(err)
	if err != nil && !dropped {
		return err
	}
	// The pieces are no segment's files any more (garbage collection would
	// take them too, once the segment is flushed: they are not its files).
	doomed := []string{buf.manifestKey}
	for _, pc := range pieces {
		doomed = append(doomed, slices.Collect(maps.Values(pc.Binlogs))...)
	}
	if dropped {
		p.logger.Info("flushed segment was dropped meanwhile", "vchannel", vs.name, "segment", buf.id)
		doomed = append(doomed, slices.Collect(maps.Values(files))...)
		doomed = append(doomed, statsPath)
	}
	for _, path := range doomed {
		if err := p.d.Objects.Delete(ctx, path); err != nil {
			p.logger.Warn("delete synced pieces", "path", path, "err", err)
		}
	}
	if !dropped {
		p.logger.Info("flushed segment", "vchannel", vs.name, "segment", buf.id, "rows", rows, "bytes", size,
			"pieces", len(pieces), "sorted", sorted)
	}
	return nil
}

// mergeField writes field f of every piece, in order, as one binlog at path.
// It returns the file's size, the field's stats (nil for vectors) and, for
// the primary key, whether the keys are in order.
func (p *pipeline) mergeField(ctx context.Context, buf *segBuffer, pieces []syncPiece, f *schemapb.FieldSchema, path string) (int64, *storage.Stats, bool, error) {
	id := f.GetFieldID()
	var mappings []objstore.Mapping
	defer func() {
		for _, m := range mappings {
			if m != nil {
				m.Close()
			}
		}
	}()
	if f.GetDataType() == schemapb.DataType_Array {
		// Arrays have no stats: their rows move to the merged binlog in
		// their stored form, undecoded.
		n, err := p.mergeArrayField(ctx, buf, pieces, f, path, &mappings)
		return n, nil, false, err
	}
	chunks := make([]column.Column, 0, len(pieces))
	for _, pc := range pieces {
		key, ok := pc.Binlogs[id]
		if !ok {
			fill, fillable := segment.FillColumn(f, int(pc.Rows))
			if !fillable {
				return 0, nil, false, bad(fmt.Errorf("datanode: segment %d: rows %d-%d lack field %q, which has neither a default nor null",
					buf.id, pc.RowFrom, pc.RowFrom+pc.Rows, f.GetName()))
			}
			chunks = append(chunks, fill)
			mappings = append(mappings, nil)
			continue
		}
		m, err := p.d.Objects.Map(ctx, key)
		if err != nil {
			return 0, nil, false, fmt.Errorf("datanode: read piece %s: %w", key, err)
		}
		mappings = append(mappings, m)
		c, err := storage.DecodeColumn(m.Bytes())
		if err != nil {
			return 0, nil, false, fmt.Errorf("datanode: decode piece %s: %w", key, err)
		}
		if int64(c.Len()) != pc.Rows {
			return 0, nil, false, fmt.Errorf("datanode: piece %s has %d rows, its manifest says %d", key, c.Len(), pc.Rows)
		}
		if e, ok := m.(evicter); ok {
			e.Evict() // the checksum pass paged it all in
		}
		chunks = append(chunks, c)
	}
	if column.IsVector(f.GetDataType()) {
		if sp, ok := p.d.Objects.(streamPutter); ok {
			// One piece resident at a time: each is dropped from the
			// resident set once read (the checksum pass, then the write).
			release := func(i int) {
				if e, ok := mappings[i].(evicter); ok {
					e.Evict()
				}
			}
			if file, ok := storage.NewFloatVectorChunksFileReleasing(chunks, release); ok {
				n, err := sp.PutFrom(ctx, path, file)
				if err != nil {
					return 0, nil, false, fmt.Errorf("datanode: write %s: %w", path, err)
				}
				return n, nil, false, nil
			}
		}
		if data, ok := storage.EncodeFloatVectorChunks(chunks); ok {
			if err := p.d.Objects.Put(ctx, path, data); err != nil {
				return 0, nil, false, fmt.Errorf("datanode: write %s: %w", path, err)
			}
			return int64(len(data)), nil, false, nil
		}
	}
	c := column.Concat(chunks)
	data, err := storage.EncodeColumn(c)
	if err != nil {
		return 0, nil, false, bad(fmt.Errorf("datanode: encode field %d of segment %d: %w", id, buf.id, err))
	}
	if err := p.d.Objects.Put(ctx, path, data); err != nil {
		return 0, nil, false, fmt.Errorf("datanode: write %s: %w", path, err)
	}
	var st *storage.Stats
	inOrder := false
	switch {
	case f.GetIsPrimaryKey():
		st = storage.BuildStats(c, map[int64]column.Column{id: c})
		inOrder = keysInOrder(c)
	case id != TimestampFieldID && !column.IsVector(f.GetDataType()):
		st = storage.BuildStats(nil, map[int64]column.Column{id: c})
	}
	return int64(len(data)), st, inOrder, nil
}

// mergeArrayField is mergeField for an Array field: it joins the pieces'
// rows without decoding them. The rows alias the pieces' mappings, which
// it appends to *mappings for the caller to close once the file is written.
func (p *pipeline) mergeArrayField(ctx context.Context, buf *segBuffer, pieces []syncPiece, f *schemapb.FieldSchema, path string, mappings *[]objstore.Mapping) (int64, error) {
	id := f.GetFieldID()
	parts := make([]*storage.ArrayRows, 0, len(pieces))
	for _, pc := range pieces {
		key, ok := pc.Binlogs[id]
		if !ok {
			fill, fillable := segment.FillColumn(f, int(pc.Rows))
			if !fillable {
				return 0, bad(fmt.Errorf("datanode: segment %d: rows %d-%d lack field %q, which has neither a default nor null",
					buf.id, pc.RowFrom, pc.RowFrom+pc.Rows, f.GetName()))
			}
			arr, isArray := fill.(*column.Scalar[*schemapb.ScalarField])
			if !isArray {
				return 0, bad(fmt.Errorf("datanode: segment %d: the fill of Array field %q is a %T", buf.id, f.GetName(), fill))
			}
			raw, err := storage.ArrayRowsOf(arr)
			if err != nil {
				return 0, bad(fmt.Errorf("datanode: segment %d: fill field %q: %w", buf.id, f.GetName(), err))
			}
			parts = append(parts, raw)
			continue
		}
		m, err := p.d.Objects.Map(ctx, key)
		if err != nil {
			return 0, fmt.Errorf("datanode: read piece %s: %w", key, err)
		}
		*mappings = append(*mappings, m)
		raw, err := storage.DecodeArrayRows(m.Bytes(), nil)
		if err != nil {
			return 0, fmt.Errorf("datanode: decode piece %s: %w", key, err)
		}
		if int64(raw.Len()) != pc.Rows {
			return 0, fmt.Errorf("datanode: piece %s has %d rows, its manifest says %d", key, raw.Len(), pc.Rows)
		}
		parts = append(parts, raw)
	}
	merged, err := storage.ConcatArrayRows(parts)
	if err != nil {
		return 0, bad(fmt.Errorf("datanode: merge field %d of segment %d: %w", id, buf.id, err))
	}
	data, err := storage.EncodeArrayRows(merged)
	if err != nil {
		return 0, bad(fmt.Errorf("datanode: encode field %d of segment %d: %w", id, buf.id, err))
	}
	if err := p.d.Objects.Put(ctx, path, data); err != nil {
		return 0, fmt.Errorf("datanode: write %s: %w", path, err)
	}
	return int64(len(data)), nil
}

// keysInOrder reports whether a primary-key column is in key order.
func keysInOrder(pk column.Column) bool {
	switch c := pk.(type) {
	case *column.Scalar[int64]:
		return slices.IsSorted(c.Data)
	case *column.Scalar[string]:
		return slices.IsSorted(c.Data)
	}
	return false
}
