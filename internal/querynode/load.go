package querynode

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/scalarindex"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/storage"
)

const timestampFieldID = 1

// evicter is a mapping whose pages can be dropped from the resident set
// (objstore's local mmap); the bytes stay readable.
type evicter interface{ Evict() }

// evict drops a mapping's pages from the resident set once its file is
// decoded. Decoding verified the file's checksum and so paged all of it
// in; most of it is not read again (the raw vectors of an indexed field
// live in the index file too), and searches fault back in what they use.
// Doing it file by file, rather than once the segment is loaded, bounds
// the load's resident peak by its largest file instead of the sum of its
// binlogs and index files (measured, 200k x 128 with HNSW: 288 MB of
// mapped files resident at once).
func evict(m objstore.Mapping) {
	if e, ok := m.(evicter); ok {
		e.Evict()
	}
}

// prefixEvicter is a mapping whose pages can be dropped from the resident
// set up to an offset (objstore's local mmap).
type prefixEvicter interface{ EvictBelow(off int) }

// evictAsRead is the read callback of a checksum pass over m
// (storage.DecodeColumnPaging, OpenIndexFilePaging): the pages it has read
// leave the resident set as it goes, so checking a file does not make it
// all resident at once while a growing copy of the same rows, or other
// files, still are (the handoff's peak). Nil for a mapping that cannot.
func evictAsRead(m objstore.Mapping) func(int) {
	if e, ok := m.(prefixEvicter); ok {
		return e.EvictBelow
	}
	return nil
}

// randomAdviser is a mapping that can be told it is read at random
// (objstore's local mmap: MADV_RANDOM, no readahead).
type randomAdviser interface{ AdviseRandom() }

// randomReader is an index that keeps part of its file in the mapping and
// reads it at random while searching (DISKANN's vectors and graph).
type randomReader interface{ ReadsFileAtRandom() bool }

// loadSealed maps a flushed segment's files, loads its indexes and swaps
// it into the shard, replacing its growing copy or an older sealed copy.
func (dl *delegator) loadSealed(ctx context.Context, plan contract.SegmentPlan) error {
	return dl.loadSegment(ctx, plan, false)
}

// handoff is loadSealed for a segment handed to a serving shard: a
// compacted segment also replaces the served segments it descends from
// without naming them (lineage.go).
func (dl *delegator) handoff(ctx context.Context, plan contract.SegmentPlan) error {
	return dl.loadSegment(ctx, plan, true)
}

func (dl *delegator) loadSegment(ctx context.Context, plan contract.SegmentPlan, traceLineage bool) error {
	seg := plan.Segment
	ss := &sealedSegment{}
	ok := false
	defer func() {
		if !ok {
			ss.unmap()
		}
	}()
	mapCol := func(path string) (column.Column, error) {
		m, err := dl.d.Objects.Map(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("querynode: map %s: %w", path, err)
		}
		ss.mappings = append(ss.mappings, m)
		c, err := storage.DecodeColumnPaging(m.Bytes(), evictAsRead(m))
		if err != nil {
			return nil, fmt.Errorf("querynode: decode %s: %w", path, err)
		}
		evict(m)
		return c, nil
	}
	tsPath, has := seg.Binlogs[timestampFieldID]
	if !has {
		return fmt.Errorf("querynode: segment %d has no timestamp binlog", seg.ID)
	}
	tsCol, err := mapCol(tsPath)
	if err != nil {
		return err
	}
	ts, err := storage.Timestamps(tsCol) // a view into the mapping, not a copy
	if err != nil {
		return fmt.Errorf("querynode: segment %d: %w", seg.ID, err)
	}
	cols := map[int64]column.Column{}
	coll := dl.coll()
	for _, f := range coll.Schema.GetFields() {
		path, has := seg.Binlogs[f.GetFieldID()]
		if !has {
			continue // added to the schema after the segment was flushed: NewSealed fills it
		}
		c, err := mapCol(path)
		if err != nil {
			return err
		}
		cols[f.GetFieldID()] = c
	}
	indexes := map[int64]index.Index{}
	var scalars []*scalarindex.Index
	for _, si := range plan.Indexes {
		m, err := dl.d.Objects.Map(ctx, si.File)
		if errors.Is(err, objstore.ErrNotFound) {
			dl.logger.Error("missing index file: serving the segment without it (exact search over its binlog) until it is rebuilt",
				"path", si.File, "segment", seg.ID, "field", si.FieldID)
			dl.reportBadIndex(coll.ID, si, err)
			continue
		}
		if err != nil {
			return fmt.Errorf("querynode: map index %s: %w", si.File, err)
		}
		data, legacy, err := storage.OpenIndexFilePaging(m.Bytes(), evictAsRead(m))
		if legacy {
			dl.logger.Warn("index file has no checksum (written before index files had one): loading it unverified", "path", si.File, "segment", seg.ID)
		}
		if typ, _ := index.PeekType(data); err == nil && typ == scalarindex.FileType {
			x, err := scalarindex.Load(data) // copies: the mapping can go
			m.Close()
			if err != nil {
				// Filters scan the column instead: same answers, slower.
				dl.logger.Error("bad scalar index file: filters scan the segment instead until it is rebuilt",
					"path", si.File, "segment", seg.ID, "field", si.FieldID, "err", err)
				dl.reportBadIndex(coll.ID, si, err)
				continue
			}
			x.SetFieldID(si.FieldID)
			scalars = append(scalars, x)
			continue
		}
		ss.mappings = append(ss.mappings, m)
		var idx index.Index
		if err == nil {
			idx, err = index.Load(data)
		}
		if err != nil {
			if errors.Is(err, storage.ErrCorrupt) || errors.Is(err, index.ErrCorrupt) {
				// The segment's rows are intact in its binlogs: serve the
				// field by exact search over its raw vectors rather than
				// fail the load; results stay correct, only slower.
				dl.logger.Error("corrupt index file: serving the segment without it (exact search over its binlog) until it is rebuilt",
					"path", si.File, "segment", seg.ID, "field", si.FieldID, "err", err)
				dl.reportBadIndex(coll.ID, si, err)
				continue
			}
			return fmt.Errorf("querynode: load index %s: %w", si.File, err)
		}
		evict(m)
		if rr, ok := idx.(randomReader); ok && rr.ReadsFileAtRandom() {
			if a, ok := m.(randomAdviser); ok {
				a.AdviseRandom()
			}
		}
		indexes[si.FieldID] = idx
	}
	sealed, err := segment.NewSealed(seg.ID, seg.PartitionID, coll.Schema, ts, cols, indexes)
	if err != nil {
		return fmt.Errorf("querynode: segment %d: %w", seg.ID, err)
	}
	for _, x := range scalars {
		if err := sealed.AddScalarIndex(x); err != nil {
			// An index the segment cannot use (e.g. of a field since
			// dropped) costs speed only: filters scan.
			dl.logger.Warn("scalar index not attached", "segment", seg.ID, "field", x.FieldID(), "err", err)
		}
	}
	if seg.StatsLog != "" {
		ss.centroids = dl.applyStats(ctx, sealed, seg.StatsLog)
	}
	// A dense field loaded without its index gets an interim index, built
	// before the segment serves, as Milvus builds it while loading the
	// field: the segment's answers then stay the same while it serves,
	// until its own index replaces it. Built in the background instead, a
	// search repeated a moment later could answer differently (exact, then
	// from the lists), which breaks paging with offsets. A flushed segment
	// handed off (traceLineage) gets none: the hand-off runs inside the
	// data node's flush report, which must not wait for a build, and its
	// index is on its way; it is searched exactly until then.
	if !traceLineage && sealed.PrepareInterim(dl.d.interim(), dl.sealedIndexTypes()) {
		start := time.Now()
		sealed.BuildInterim(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("querynode: segment %d: interim index: %w", seg.ID, err)
		}
		dl.logger.Debug("interim index built", "segment", seg.ID, "rows", len(ts), "took", time.Since(start))
	}
	// Building the sealed segment may have paged some of it back in.
	for _, m := range ss.mappings {
		evict(m)
	}
	ss.seg = sealed
	var gapped *gappedSegment
	if traceLineage {
		var more []int64
		more, gapped = dl.untracedSources(ctx, seg, sealed)
		if len(more) > 0 {
			seg.CompactedFrom = append(slices.Clone(seg.CompactedFrom), more...)
		}
		if gapped != nil {
			gapped.seg = ss
		}
	}
	dl.mu.Lock()
	if dl.closed {
		// Released while loading: nobody would ever close this copy.
		dl.mu.Unlock()
		return errs.CollectionNotLoaded(coll.ID)
	}
	// A segment handed off with a lineage gap may hold seg's rows: seg is
	// then one of its untraced sources, handed off late (lineage.go).
	late := traceLineage && dl.lateSourceLocked(ctx, seg, sealed)
	if dl.dropped[seg.ID] || dl.droppedParts[seg.PartitionID] || late {
		// Truncated, its partition dropped, or itself compacted into a
		// segment that loaded first, while it was loading. Its sources go
		// all the same: the later segment holds their rows too (it was
		// made from this one), and serving them beside it would return
		// those rows twice.
		gone := seg.CompactedFrom
		if late {
			// An untraced source of a gapped segment: its growing copy
			// (read from the log) goes too, and its inserts are skipped.
			gone = append(slices.Clone(gone), seg.ID)
		}
		stale := dl.replaceLocked(gone)
		dl.mu.Unlock()
		for _, r := range stale {
			r.close()
		}
		return nil
	}
	if cur := dl.coll(); cur != coll {
		// The schema changed while loading (schema.go).
		if sealed, err = sealed.WithSchema(cur.Schema); err != nil {
			dl.mu.Unlock()
			return fmt.Errorf("querynode: segment %d: %w", seg.ID, err)
		}
		ss.seg = sealed
	}
	if gapped != nil {
		if more := dl.untracedLockedSources(ctx, seg, gapped); len(more) > 0 {
			seg.CompactedFrom = append(slices.Clone(seg.CompactedFrom), more...)
		}
		gapped.checked = nil // holds replaced segments: not kept
		if dl.gapped == nil {
			dl.gapped = map[int64]gappedSegment{}
		}
		// Its untraced sources' inserts and late handoffs are refused
		// while it serves (lineage.go).
		dl.gapped[seg.ID] = *gapped
	}
	// The segments of one clustering compaction replace their sources
	// together (siblings.go): until all are loaded, this one waits aside.
	group, stale := dl.stageLocked(seg, ss)
	var replaced []*sealedSegment
	for _, g := range group {
		deleteFrom(g.ss.seg, dl.deletes.intPKs, dl.deletes.intTS, dl.deletes.strPKs, dl.deletes.strTS)
		if old := dl.sealed[g.seg.ID]; old != nil {
			replaced = append(replaced, old)
		}
		g.ss.sources = g.seg.CompactedFrom
		dl.sealed[g.seg.ID] = g.ss
		delete(dl.growing, g.seg.ID)
		// A compacted segment holds its sources' rows: they leave the shard
		// in the same critical section, so no read sees the rows twice or
		// misses them, and a source whose load or handoff finishes later is
		// refused (drop.go), as are its inserts replayed from the log.
		replaced = append(replaced, dl.replaceLocked(g.seg.CompactedFrom)...)
	}
	dl.mu.Unlock()
	if stale != nil {
		stale.close()
	}
	for _, r := range replaced {
		r.close()
	}
	ok = true
	dl.logger.Debug("loaded sealed segment", "segment", seg.ID, "rows", len(ts), "indexes", len(indexes), "scalar_indexes", sealed.ScalarIndexCount())
	return nil
}

// reportBadIndex tells the index coordinator, once per file and in the
// background (a load must not wait on it), that a finished build's file
// is missing or corrupt: it builds the index again from the segment's
// binlogs, and the new build reaches this shard as a handoff.
func (dl *delegator) reportBadIndex(collectionID int64, si model.SegmentIndex, cause error) {
	if dl.d.IndexFaults == nil {
		return
	}
	if _, dup := dl.badIndexes.LoadOrStore(si.File, true); dup {
		return
	}
	report := contract.BadIndexFile{CollectionID: collectionID, SegmentID: si.SegmentID, BuildID: si.BuildID,
		File: si.File, Cause: cause.Error()}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), badIndexReportTimeout)
		defer cancel()
		if err := dl.d.IndexFaults.IndexFileBad(ctx, report); err != nil {
			dl.logger.Warn("report a bad index file to the index coordinator", "path", si.File, "err", err)
			dl.badIndexes.Delete(si.File) // the next load reports it again
		}
	}()
}

// badIndexReportTimeout bounds one report of a bad index file.
const badIndexReportTimeout = 30 * time.Second

// applyStats gives a sealed segment its per-field bounds for pruning.
// Stats are an optimisation: a missing or bad file only costs speed.
func (dl *delegator) applyStats(ctx context.Context, s *segment.Sealed, path string) map[int64][][]float32 {
	data, err := dl.d.Objects.Get(ctx, path)
	if err != nil {
		dl.logger.Warn("read stats log", "path", path, "err", err)
		return nil
	}
	st, err := storage.DecodeStats(data)
	if err != nil {
		dl.logger.Warn("decode stats log", "path", path, "err", err)
		return nil
	}
	for fid, fs := range st.Fields {
		if !fs.HasBounds || fs.Nulls > 0 {
			continue
		}
		switch fs.Type {
		case schemapb.DataType_Float, schemapb.DataType_Double:
			s.SetStats(fid, fs.MinFloat, fs.MaxFloat)
		case schemapb.DataType_String, schemapb.DataType_VarChar, schemapb.DataType_Text:
			s.SetStats(fid, fs.MinStr, fs.MaxStr)
		case schemapb.DataType_Bool:
		default:
			s.SetStats(fid, fs.MinInt, fs.MaxInt)
		}
	}
	return st.Centroids
}

// loadDeltaLog adds a flushed delete log to the shard's deletes.
func (dl *delegator) loadDeltaLog(ctx context.Context, l model.DeltaLog) error {
	data, err := dl.d.Objects.Get(ctx, l.Path)
	if err != nil {
		return fmt.Errorf("querynode: read delta log %s: %w", l.Path, err)
	}
	d, err := storage.DecodeDeltas(data)
	if err != nil {
		return fmt.Errorf("querynode: decode delta log %s: %w", l.Path, err)
	}
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if len(d.IntPKs) > 0 {
		dl.deletes.intPKs = append(dl.deletes.intPKs, d.IntPKs...)
		dl.deletes.intTS = append(dl.deletes.intTS, d.Timestamps...)
	} else {
		dl.deletes.strPKs = append(dl.deletes.strPKs, d.StrPKs...)
		dl.deletes.strTS = append(dl.deletes.strTS, d.Timestamps...)
	}
	return nil
}
