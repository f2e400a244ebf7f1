package datanode

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/importer"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/proxy"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/storage"
)

// importProgress is where the executor reports a job's progress (datacoord).
type importProgress interface {
	UpdateImportProgress(ctx context.Context, id, progress, importedRows int64) error
}

// importSegmentRows bounds the rows of one imported segment (datacoord's
// default MaxSegmentRows).
const importSegmentRows = 1 << 20

// ExecuteImport runs an import job: it reads each file group, validates
// its rows as an insert, and writes them, split by partition and shard,
// as sealed segments straight to the object store (binlogs and a stats
// log, as a flush writes them; no row goes through the log). It returns
// the segments for datacoord to register. On failure it deletes every
// file it wrote.
func (s *Server) ExecuteImport(ctx context.Context, job contract.ImportJob) (segs []model.Segment, err error) {
	if s.d.Collections == nil {
		return nil, errors.New("datanode: import needs the collection catalogue")
	}
	c, err := s.d.Collections.DescribeCollection(ctx, "", "", job.CollectionID)
	if err != nil {
		return nil, fmt.Errorf("datanode: import job %d: %w", job.ID, err)
	}
	opts, err := importer.ParseOptions(job.Options)
	if err != nil {
		return nil, err
	}
	var written []string
	defer func() {
		if err == nil {
			return
		}
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, p := range written {
			if derr := s.d.Objects.Delete(cleanup, p); derr != nil {
				s.logger.Warn("delete file of failed import", "path", p, "err", derr)
			}
		}
		segs = nil
	}()
	// Rows of all file groups are gathered per (partition, shard), so
	// small files make full segments.
	type key struct {
		partition int64
		shard     int
	}
	pending := map[key][]map[int64]column.Column{}
	pendingRows := map[key]int{}
	var imported int64
	flush := func(k key) error {
		chunks := pending[k]
		delete(pending, k)
		delete(pendingRows, k)
		if len(chunks) == 0 {
			return nil
		}
		seg, files, err := s.writeImportSegment(ctx, c, job, k.partition, k.shard, chunks)
		written = append(written, files...)
		if err != nil {
			return err
		}
		segs = append(segs, seg)
		return nil
	}
	for i, group := range job.Files {
		fields, n, err := importer.Read(ctx, s.d.Objects, c.Schema, group, opts)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			continue
		}
		batches, err := proxy.ImportBatches(ctx, s.d.IDs, c, job.PartitionName, fields, n)
		if err != nil {
			return nil, fmt.Errorf("file %v: %w", group, err)
		}
		for _, b := range batches {
			k := key{b.PartitionID, b.Shard}
			pending[k] = append(pending[k], b.Columns)
			pendingRows[k] += b.Rows
			if pendingRows[k] >= importSegmentRows {
				if err := flush(k); err != nil {
					return nil, err
				}
			}
		}
		imported += int64(n)
		progress := int64(100 * (i + 1) / (len(job.Files) + 1))
		if s.d.Imports != nil {
			if err := s.d.Imports.UpdateImportProgress(ctx, job.ID, progress, imported); err != nil {
				s.logger.Warn("report import progress", "job", job.ID, "err", err)
			}
		}
	}
	for k := range pending {
		if err := flush(k); err != nil {
			return nil, err
		}
	}
	return segs, nil
}

// writeImportSegment writes one sealed segment of imported rows and
// returns its meta (state Flushed) and the files written.
func (s *Server) writeImportSegment(ctx context.Context, c *model.Collection, job contract.ImportJob, partition int64, shard int, chunks []map[int64]column.Column) (model.Segment, []string, error) {
	schema := c.Schema
	segID, err := s.d.IDs.AllocID(ctx, 1)
	if err != nil {
		return model.Segment{}, nil, err
	}
	ids, err := s.d.IDs.AllocID(ctx, int64(len(schema.GetFields())+2))
	if err != nil {
		return model.Segment{}, nil, err
	}
	var files []string
	binlogs := map[int64]string{}
	var size int64
	put := func(fieldID int64, col column.Column) error {
		data, err := storage.EncodeColumn(col)
		if err != nil {
			return fmt.Errorf("datanode: encode field %d of imported segment %d: %w", fieldID, segID, err)
		}
		path := storage.InsertLogPath(c.ID, partition, segID, fieldID, ids)
		ids++
		if err := s.d.Objects.Put(ctx, path, data); err != nil {
			return fmt.Errorf("datanode: write %s: %w", path, err)
		}
		files = append(files, path)
		binlogs[fieldID] = path
		size += int64(len(data))
		return nil
	}
	// The segment is written in primary-key order and registered Sorted,
	// as a flush writes its segments (flushOrder): sort compaction then
	// leaves it alone and each of its indexes is built once, on the rows
	// as they will stay (Milvus 2.6 builds indexes only on sorted
	// segments). All its rows carry the job's timestamp, so the
	// timestamp column needs no reordering.
	order, sorted := importOrder(schema, chunks)
	var rows int
	var pkCol column.Column
	scalars := map[int64]column.Column{}
	for _, f := range schema.GetFields() {
		var parts []column.Column
		for _, ch := range chunks {
			if col, ok := ch[f.GetFieldID()]; ok {
				parts = append(parts, col)
			}
		}
		if len(parts) != len(chunks) {
			if _, fillable := segment.FillColumn(f, 0); fillable && len(parts) == 0 {
				continue
			}
			return model.Segment{}, files, fmt.Errorf("datanode: imported rows have no data for field %q", f.GetName())
		}
		col := column.Concat(parts)
		if order != nil {
			col = col.Take(order)
		}
		rows = col.Len()
		if err := put(f.GetFieldID(), col); err != nil {
			return model.Segment{}, files, err
		}
		if f.GetIsPrimaryKey() {
			pkCol = col
		}
		if !column.IsVector(f.GetDataType()) {
			scalars[f.GetFieldID()] = col
		}
	}
	tsCol := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, rows)}
	for i := range tsCol.Data {
		tsCol.Data[i] = int64(job.TS)
	}
	if err := put(TimestampFieldID, tsCol); err != nil {
		return model.Segment{}, files, err
	}
	stats, err := storage.EncodeStats(storage.BuildStats(pkCol, scalars))
	if err != nil {
		return model.Segment{}, files, fmt.Errorf("datanode: encode stats of imported segment %d: %w", segID, err)
	}
	pk := c.PrimaryField()
	statsPath := storage.StatsLogPath(c.ID, partition, segID, pk.GetFieldID(), ids)
	if err := s.d.Objects.Put(ctx, statsPath, stats); err != nil {
		return model.Segment{}, files, fmt.Errorf("datanode: write %s: %w", statsPath, err)
	}
	files = append(files, statsPath)
	s.logger.Info("wrote imported segment", "job", job.ID, "segment", segID, "rows", rows, "bytes", size)
	return model.Segment{ID: segID, CollectionID: c.ID, PartitionID: partition, VChannel: c.VChannels[shard],
		State: model.SegmentFlushed, NumRows: int64(rows), SealTS: job.TS, Binlogs: binlogs, StatsLog: statsPath,
		FlushTS: job.TS, SizeBytes: size, Sorted: sorted}, files, nil
}

// importOrder is the order that writes an imported segment's rows (the
// concatenation of chunks) by primary key: nil when they already are in
// key order (auto IDs are allocated so), and sorted false when the
// segment cannot be sorted (no primary-key column of a sortable type).
func importOrder(schema *schemapb.CollectionSchema, chunks []map[int64]column.Column) (order []int, sorted bool) {
	for _, f := range schema.GetFields() {
		if !f.GetIsPrimaryKey() {
			continue
		}
		parts := make([]column.Column, 0, len(chunks))
		for _, ch := range chunks {
			col, ok := ch[f.GetFieldID()]
			if !ok {
				return nil, false
			}
			parts = append(parts, col)
		}
		pk := column.Concat(parts)
		switch pk.(type) {
		case *column.Scalar[int64], *column.Scalar[string]:
		default:
			return nil, false
		}
		rows := identity(pk.Len())
		if !pkOrder(pk, rows) {
			return nil, true
		}
		return rows, true
	}
	return nil, false
}
