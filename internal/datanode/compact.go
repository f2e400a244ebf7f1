package datanode

import (
	"context"
	"fmt"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/storage"
)

// Compact executes a compaction the data coordinator planned: it reads the
// input segments' insert logs and the channel's delete logs, keeps the rows
// that are neither deleted nor expired, sorted by primary key (stably: rows
// of one key keep their input order; Milvus 2.6's sorted segments, which
// makes a one-segment plan a sort compaction), and writes them as
// segment TargetID (one insert log per field, the timestamps, a stats log),
// the same files a flush writes. Rows keep their insert timestamps, so
// deletes newer than the task's delete logs still apply to them by
// timestamp. Nothing is recorded here: the coordinator commits the result.
func (s *Server) Compact(ctx context.Context, t contract.CompactionTask) (contract.CompactionResult, error) {
	start := time.Now()
	res := contract.CompactionResult{PlanID: t.PlanID, Deleted: map[int64]int64{}}
	if t.Collection == nil || len(t.Segments) == 0 {
		return res, fmt.Errorf("datanode: compaction %d: no collection or no segment", t.PlanID)
	}
	dels, err := s.readDeletes(ctx, t.DeltaLogs)
	if err != nil {
		return res, fmt.Errorf("datanode: compaction %d: %w", t.PlanID, err)
	}
	pkField := t.Collection.PrimaryField()
	if pkField == nil {
		return res, fmt.Errorf("datanode: compaction %d: collection %d has no primary key", t.PlanID, t.Collection.ID)
	}
	// Per field, the kept rows of each input segment.
	chunks := map[int64][]column.Column{}
	var tsKept []int64
	// A vector clustering compaction's centroid of each kept row, from
	// its analyze task's offset mapping files.
	vector := t.ClusteringField != 0 && t.NumClusters > 0 && !t.CountOnly
	var mapped []uint32
	for _, seg := range t.Segments {
		ts, pk, err := s.readKeys(ctx, seg, pkField.GetFieldID())
		if err != nil {
			return res, fmt.Errorf("datanode: compaction %d: %w", t.PlanID, err)
		}
		var mapping []uint32
		if vector {
			if mapping, err = s.offsetMapping(ctx, t, seg, len(ts)); err != nil {
				return res, fmt.Errorf("datanode: clustering compaction %d: %w", t.PlanID, err)
			}
		}
		keep := make([]int, 0, len(ts))
		for i, rowTS := range ts {
			if dels.hides(pk, i, rowTS) {
				res.Deleted[seg.ID]++
				continue
			}
			if t.ExpireTS != 0 && rowTS < t.ExpireTS {
				res.Expired++
				continue
			}
			keep = append(keep, i)
		}
		if t.CountOnly || len(keep) == 0 {
			continue
		}
		for _, i := range keep {
			tsKept = append(tsKept, int64(ts[i]))
		}
		if mapping != nil {
			for _, i := range keep {
				mapped = append(mapped, mapping[i])
			}
		}
		for _, f := range t.Collection.Schema.GetFields() {
			c, err := s.readField(ctx, seg, f, len(ts))
			if err != nil {
				return res, fmt.Errorf("datanode: compaction %d: %w", t.PlanID, err)
			}
			if len(keep) < len(ts) {
				c = c.Take(keep)
			}
			chunks[f.GetFieldID()] = append(chunks[f.GetFieldID()], c)
		}
	}
	if t.CountOnly || len(tsKept) == 0 {
		res.Segment = contract.FlushResult{SegmentID: t.TargetID}
		return res, nil
	}
	first := t.Segments[0]
	if t.ClusteringField != 0 {
		res.Clustered, err = s.writeClustered(ctx, t, first, tsKept, mapped, chunks)
		if err != nil {
			return res, fmt.Errorf("datanode: clustering compaction %d: %w", t.PlanID, err)
		}
		var rows int64
		for i := range res.Clustered {
			for _, seg := range t.Segments {
				res.Clustered[i].FlushTS = max(res.Clustered[i].FlushTS, seg.FlushTS)
			}
			rows += res.Clustered[i].NumRows
		}
		s.logger.Info("clustering compacted segments", "plan", t.PlanID, "inputs", len(t.Segments), "outputs", len(res.Clustered),
			"rows", rows, "deleted", sum(res.Deleted), "expired", res.Expired, "took", time.Since(start))
		return res, nil
	}
	tsKept = sortChunksByPK(pkField.GetFieldID(), tsKept, chunks)
	out, err := s.writeSegment(ctx, t.Collection, first.PartitionID, t.TargetID, tsKept, chunks)
	if err != nil {
		return res, fmt.Errorf("datanode: compaction %d: %w", t.PlanID, err)
	}
	for _, seg := range t.Segments {
		out.FlushTS = max(out.FlushTS, seg.FlushTS)
	}
	res.Segment = out
	s.logger.Info("compacted segments", "plan", t.PlanID, "inputs", len(t.Segments), "target", t.TargetID,
		"rows", out.NumRows, "deleted", sum(res.Deleted), "expired", res.Expired, "bytes", out.SizeBytes, "took", time.Since(start))
	return res, nil
}

func sum(m map[int64]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// deleteSet is the newest delete timestamp of each primary key.
type deleteSet struct {
	ints map[int64]uint64
	strs map[string]uint64
}

// hides reports whether row i, whose key is in pk and which was inserted at
// ts, is deleted: a delete (k, D) hides rows of key k inserted before D.
func (d *deleteSet) hides(pk column.Column, i int, ts uint64) bool {
	switch c := pk.(type) {
	case *column.Scalar[int64]:
		del, ok := d.ints[c.Data[i]]
		return ok && ts < del
	case *column.Scalar[string]:
		del, ok := d.strs[c.Data[i]]
		return ok && ts < del
	}
	return false
}

func (s *Server) readDeletes(ctx context.Context, logs []model.DeltaLog) (*deleteSet, error) {
	d := &deleteSet{ints: map[int64]uint64{}, strs: map[string]uint64{}}
	for _, l := range logs {
		data, err := s.d.Objects.Get(ctx, l.Path)
		if err != nil {
			return nil, fmt.Errorf("read delta log %s: %w", l.Path, err)
		}
		ds, err := storage.DecodeDeltas(data)
		if err != nil {
			return nil, fmt.Errorf("decode delta log %s: %w", l.Path, err)
		}
		for i, k := range ds.IntPKs {
			d.ints[k] = max(d.ints[k], ds.Timestamps[i])
		}
		for i, k := range ds.StrPKs {
			d.strs[k] = max(d.strs[k], ds.Timestamps[i])
		}
	}
	return d, nil
}

// readKeys reads a segment's insert timestamps and primary keys.
func (s *Server) readKeys(ctx context.Context, seg model.Segment, pkField int64) ([]uint64, column.Column, error) {
	tsCol, err := s.readBinlog(ctx, seg, TimestampFieldID)
	if err != nil {
		return nil, nil, err
	}
	ts, err := storage.Timestamps(tsCol)
	if err != nil {
		return nil, nil, fmt.Errorf("segment %d: %w", seg.ID, err)
	}
	pk, err := s.readBinlog(ctx, seg, pkField)
	if err != nil {
		return nil, nil, err
	}
	if pk.Len() != len(ts) {
		return nil, nil, fmt.Errorf("segment %d: %d primary keys for %d timestamps", seg.ID, pk.Len(), len(ts))
	}
	return ts, pk, nil
}

func (s *Server) readBinlog(ctx context.Context, seg model.Segment, field int64) (column.Column, error) {
	path, ok := seg.Binlogs[field]
	if !ok {
		return nil, fmt.Errorf("segment %d has no insert log for field %d", seg.ID, field)
	}
	data, err := s.d.Objects.Get(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	c, err := storage.DecodeColumn(data)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return c, nil
}

// readField reads one field of a segment of n rows; a field added to the
// schema after the segment was written is filled as a loader fills it.
func (s *Server) readField(ctx context.Context, seg model.Segment, f *schemapb.FieldSchema, n int) (column.Column, error) {
	if _, ok := seg.Binlogs[f.GetFieldID()]; !ok {
		c, fillable := segment.FillColumn(f, n)
		if !fillable {
			return nil, fmt.Errorf("segment %d has no data for field %q", seg.ID, f.GetName())
		}
		return c, nil
	}
	c, err := s.readBinlog(ctx, seg, f.GetFieldID())
	if err != nil {
		return nil, err
	}
	if c.Len() != n {
		return nil, fmt.Errorf("segment %d: field %q has %d rows, want %d", seg.ID, f.GetName(), c.Len(), n)
	}
	return c, nil
}

// writeSegment writes a segment's insert logs and stats log as a flush
// does (same paths, same formats).
func (s *Server) writeSegment(ctx context.Context, coll *model.Collection, partition, segID int64, ts []int64, chunks map[int64][]column.Column) (contract.FlushResult, error) {
	return s.writeSegmentStats(ctx, coll, partition, segID, ts, chunks, nil)
}

// writeSegmentStats is writeSegment with centroids, by vector field, for
// its stats log (a vector clustering compaction's output; nil: none).
func (s *Server) writeSegmentStats(ctx context.Context, coll *model.Collection, partition, segID int64, ts []int64, chunks map[int64][]column.Column, centroids map[int64][][]float32) (contract.FlushResult, error) {
	fields := coll.Schema.GetFields()
	logID, err := s.d.IDs.AllocID(ctx, int64(len(fields)+2))
	if err != nil {
		return contract.FlushResult{}, err
	}
	files := map[int64]string{}
	var size int64
	put := func(fieldID int64, c column.Column) error {
		data, err := storage.EncodeColumn(c)
		if err != nil {
			return fmt.Errorf("encode field %d of segment %d: %w", fieldID, segID, err)
		}
		path := storage.InsertLogPath(coll.ID, partition, segID, fieldID, logID)
		logID++
		if err := s.d.Objects.Put(ctx, path, data); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		files[fieldID] = path
		size += int64(len(data))
		return nil
	}
	if err := put(TimestampFieldID, &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: ts}); err != nil {
		return contract.FlushResult{}, err
	}
	var pkCol column.Column
	var pkField int64
	scalars := map[int64]column.Column{}
	for _, f := range fields {
		c := column.Concat(chunks[f.GetFieldID()])
		if err := put(f.GetFieldID(), c); err != nil {
			return contract.FlushResult{}, err
		}
		if f.GetIsPrimaryKey() {
			pkCol, pkField = c, f.GetFieldID()
		}
		if !column.IsVector(f.GetDataType()) {
			scalars[f.GetFieldID()] = c
		}
	}
	st := storage.BuildStats(pkCol, scalars)
	st.Centroids = centroids
	stats, err := storage.EncodeStats(st)
	if err != nil {
		return contract.FlushResult{}, fmt.Errorf("encode stats of segment %d: %w", segID, err)
	}
	statsPath := storage.StatsLogPath(coll.ID, partition, segID, pkField, logID)
	if err := s.d.Objects.Put(ctx, statsPath, stats); err != nil {
		return contract.FlushResult{}, fmt.Errorf("write %s: %w", statsPath, err)
	}
	return contract.FlushResult{SegmentID: segID, NumRows: int64(len(ts)), Binlogs: files, StatsLog: statsPath, SizeBytes: size}, nil
}
