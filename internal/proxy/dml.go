package proxy

import (
	"context"
	"fmt"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/quota"
)

// Insert writes rows to the log and acknowledges them once the log has
// stored them durably.
func (s *Server) Insert(ctx context.Context, req *milvuspb.InsertRequest) (*milvuspb.MutationResult, error) {
	return s.write(ctx, req.GetDbName(), req.GetCollectionName(), req.GetPartitionName(), req.GetFieldsData(),
		req.GetNumRows(), req.GetSchemaTimestamp(), false, nil)
}

// Upsert replaces rows by primary key: one message per shard carries the
// delete of the keys and the insert of the new rows at one timestamp.
func (s *Server) Upsert(ctx context.Context, req *milvuspb.UpsertRequest) (*milvuspb.MutationResult, error) {
	return s.write(ctx, req.GetDbName(), req.GetCollectionName(), req.GetPartitionName(), req.GetFieldsData(),
		req.GetNumRows(), req.GetSchemaTimestamp(), true, req)
}

// write inserts or upserts rows. partial is the upsert request when it may
// be a partial update (nil for inserts).
func (s *Server) write(ctx context.Context, db, name, partition string, fields []*schemapb.FieldData, numRows uint32, schemaTS uint64, upsert bool, partial *milvuspb.UpsertRequest) (*milvuspb.MutationResult, error) {
	c, err := s.collection(ctx, db, name)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Limits.checkInsertSize(fields); err != nil {
		return nil, err
	}
	kind := quota.Insert
	if upsert {
		kind = quota.Upsert
	}
	if err := s.admitIn(ctx, kind, c, writePartition(c, partition), fieldsSize(fields)); err != nil {
		return nil, err
	}
	var ops partialOps
	isPartial := false
	if partial != nil {
		// Milvus 2.6: a non-REPLACE field op makes the upsert partial.
		var nonReplace bool
		if ops, nonReplace, err = fieldPartialOps(partial, c.Schema); err != nil {
			return nil, err
		}
		isPartial = partial.GetPartialUpdate() || nonReplace
	}
	// Milvus (insertTask/upsertTask.PreExecute): a request made against
	// another schema version than the collection's fails with 109, on
	// which the SDKs refresh their cached schema and retry.
	if schemaTS != 0 && schemaTS != c.SchemaTimestamp() {
		return nil, errs.CollectionSchemaMismatch(c.Name)
	}
	n := int(numRows)
	if n <= 0 {
		return nil, errInvalidValue("invalid num_rows", numRows, "num_rows should be greater than 0")
	}
	if fields, err = flattenStructInput(c.Schema, fields); err != nil {
		return nil, err
	}
	if err := checkNoBM25Output(c.Schema, fields); err != nil {
		return nil, err
	}
	// Timestamptz and Geometry columns are converted with the type checks
	// (insertColumnsConv), where Milvus converts them; a partial update
	// merges typed values with the stored rows, so converts them first.
	conv := typedConv(c)
	if isPartial {
		if fields, err = typedInput(c, fields); err != nil {
			return nil, err
		}
		if fields, err = s.mergePartial(ctx, c, fields, n, ops); err != nil {
			return nil, err
		}
		fields = withoutFunctionOutputs(c.Schema, fields)
	}
	schema := c.Schema
	if !upsert {
		schema = requestSchema(c, fields)
	}
	schema, embedFns, err := suppliedEmbeddingOutputs(c, schema, fields)
	if err != nil {
		return nil, err
	}
	if fields, schema, err = s.embeddingInsert(ctx, c.DBName, schema, embedFns, fields, n); err != nil {
		return nil, err
	}
	cols, err := insertColumnsConv(schema, fields, n, upsert, conv)
	if err != nil {
		return nil, err
	}
	if err := bm25Insert(c.Schema, cols, n); err != nil {
		return nil, err
	}
	pk := pkField(c)
	wasUpsert := upsert
	var deleteTS uint64
	if upsert && pk.GetAutoID() {
		// Milvus 2.6 (checkUpsertPrimaryFieldData): an upsert into an
		// auto_id collection deletes the rows of the keys it carries and
		// inserts the new rows under fresh auto IDs, which it returns.
		if deleteTS, err = s.deleteKeys(ctx, c, cols[pk.GetFieldID()]); err != nil {
			return nil, err
		}
		delete(cols, pk.GetFieldID())
		upsert = false
	}
	if _, ok := cols[pk.GetFieldID()]; !ok {
		if !pk.GetAutoID() {
			return nil, errs.InvalidParameter("primary key field %s is missing", pk.GetName())
		}
		if err := allocAutoIDs(ctx, s.d.Root, pk, cols, n); err != nil {
			return nil, err
		}
	}
	batches, err := splitRows(c, partition, cols, n)
	if err != nil {
		return nil, err
	}
	rowBytes := estimateRowBytes(fields, n)
	var maxTS uint64
	for _, b := range batches {
		ts, err := s.appendRows(ctx, c, b.PartitionID, b.Shard, b.Columns, b.Rows, rowBytes, upsert)
		if err != nil {
			return nil, err
		}
		maxTS = max(maxTS, ts)
	}
	maxTS = max(maxTS, deleteTS)
	res := &milvuspb.MutationResult{IDs: keysToIDs(cols[pk.GetFieldID()]), Timestamp: maxTS, SuccIndex: make([]uint32, n)}
	for i := range res.SuccIndex {
		res.SuccIndex[i] = uint32(i)
	}
	s.sessions.record(ctx, maxTS)
	if wasUpsert {
		res.UpsertCnt = int64(n)
	} else {
		res.InsertCnt = int64(n)
	}
	return res, nil
}

// idAllocator hands out blocks of unique IDs (the root coordinator).
type idAllocator interface {
	AllocID(ctx context.Context, count int64) (int64, error)
}

// allocAutoIDs gives n rows of an auto-ID collection their primary keys.
func allocAutoIDs(ctx context.Context, ids idAllocator, pk *schemapb.FieldSchema, cols map[int64]column.Column, n int) error {
	first, err := ids.AllocID(ctx, int64(n))
	if err != nil {
		return err
	}
	keys := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
	for i := range keys.Data {
		keys.Data[i] = first + int64(i)
	}
	cols[pk.GetFieldID()] = autoIDColumn(pk, keys)
	return nil
}

// RowBatch is rows bound for one partition and shard.
type RowBatch struct {
	PartitionID int64
	Shard       int
	Columns     map[int64]column.Column
	Rows        int
}

// splitRows splits n rows (primary keys set) by partition (name, or
// partition key) and then by shard (hash of the primary key): what an
// insert appends to each shard's channel and an import writes as segments.
func splitRows(c *model.Collection, partition string, cols map[int64]column.Column, n int) ([]RowBatch, error) {
	groups, err := partitionGroups(c, partition, cols, n)
	if err != nil {
		return nil, err
	}
	pk := pkField(c).GetFieldID()
	var out []RowBatch
	for partID, rows := range groups {
		sub := cols
		if len(rows) != n {
			sub = takeAll(cols, rows)
		}
		for shard, idx := range shardRows(sub[pk], int(c.ShardsNum)) {
			if len(idx) == 0 {
				continue
			}
			part := sub
			if len(idx) != sub[pk].Len() {
				part = takeAll(sub, idx)
			}
			out = append(out, RowBatch{PartitionID: partID, Shard: shard, Columns: part, Rows: len(idx)})
		}
	}
	return out, nil
}

// partitionGroups maps each target partition to its rows: one partition by
// name, or partition-key routing.
func partitionGroups(c *model.Collection, partition string, cols map[int64]column.Column, n int) (map[int64][]int, error) {
	var keyField *schemapb.FieldSchema
	for _, f := range c.Schema.GetFields() {
		if f.GetIsPartitionKey() {
			keyField = f
		}
	}
	if keyField == nil {
		if partition == "" {
			partition = model.DefaultPartition
		}
		if err := validatePartitionName(partition); err != nil {
			return nil, err
		}
		p, ok := c.PartitionByName(partition)
		if !ok {
			return nil, partitionNotFound(partition)
		}
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return map[int64][]int{p.ID: all}, nil
	}
	if partition != "" {
		return nil, errs.InvalidParameter("not support manually specifying the partition names if partition key mode is used")
	}
	buckets := shardRows(cols[keyField.GetFieldID()], len(c.Partitions))
	out := map[int64][]int{}
	for b, rows := range buckets {
		if len(rows) > 0 {
			out[c.Partitions[b].ID] = rows
		}
	}
	return out, nil
}

// appendRows writes rows of one (partition, shard), split into messages
// that fit the log's size limit. It returns the last timestamp.
func (s *Server) appendRows(ctx context.Context, c *model.Collection, partID int64, shard int, cols map[int64]column.Column, n int, rowBytes int, upsert bool) (uint64, error) {
	chunk := n
	if rowBytes > 0 {
		target := s.cfg.MaxMessageBytes * 3 / 4
		if b := s.cfg.InsertMessageBytes; b > 0 {
			target = min(target, b)
		}
		chunk = max(1, target/rowBytes)
	}
	var ts uint64
	pk := pkField(c)
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		part := cols
		if lo != 0 || hi != n {
			part = sliceAll(cols, lo, hi)
		}
		ins := &msgpb.InsertRequest{CollectionID: c.ID, PartitionID: partID, NumRows: uint64(hi - lo),
			ShardName: c.VChannels[shard], Version: msgpb.InsertDataVersion_ColumnBased}
		for _, f := range c.Schema.GetFields() {
			ins.FieldsData = append(ins.FieldsData, column.ToFieldData(part[f.GetFieldID()], f))
		}
		m := &msg.Message{Kind: msg.KindInsert, VChannel: c.VChannels[shard], Insert: ins}
		if upsert {
			m.Kind = msg.KindUpsert
			m.Delete = &msgpb.DeleteRequest{CollectionID: c.ID, ShardName: c.VChannels[shard],
				PrimaryKeys: keysToIDs(part[pk.GetFieldID()]), NumRows: int64(hi - lo)}
		}
		r, err := s.d.Writer.AppendInsert(ctx, c.PChannels[shard], contract.Insert{
			CollectionID: c.ID, PartitionID: partID, VChannel: c.VChannels[shard],
			Rows: int64(hi - lo), Bytes: int64((hi - lo) * rowBytes), Message: m,
		})
		if err != nil {
			return 0, fmt.Errorf("write to %s: %w", c.VChannels[shard], err)
		}
		ts = r.TS
	}
	return ts, nil
}

// Delete deletes the rows a filter selects: primary-key filters directly,
// any other filter by querying the matching keys first (at Strong
// consistency, so that the caller's own earlier writes are seen).
func (s *Server) Delete(ctx context.Context, req *milvuspb.DeleteRequest) (*milvuspb.MutationResult, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	var partIDs []int64
	if req.GetPartitionName() != "" {
		if partIDs, err = partitionIDs(c, []string{req.GetPartitionName()}); err != nil {
			return nil, err
		}
	}
	if err := s.admitIn(ctx, quota.Delete, c, partIDs, len(req.GetExpr())); err != nil {
		return nil, err
	}
	e, err := expr.ParseInZone(c.Schema, req.GetExpr(), req.GetExprTemplateValues(), collectionZone(c))
	if err != nil {
		// Milvus's deleteRunner.Init wraps the parser's error.
		// The parser's own text is a plain fmt.Errorf in Milvus, wrapped
		// once: "failed to create delete plan: cannot parse ...: invalid parameter".
		return nil, errInvalidMsg("failed to create delete plan: %s", strings.TrimSuffix(err.Error(), ": "+errs.ErrParameterInvalid.Msg))
	}
	if e.AlwaysTrue() {
		return nil, errInvalidMsg("delete plan can't be empty or always true : %s", req.GetExpr())
	}
	if e, err = s.withJSONCasts(ctx, c, e); err != nil {
		return nil, err
	}
	ints, strs, ok := e.PrimaryKeyIn()
	if !ok || len(partIDs) > 0 {
		ints, strs, err = s.queryKeys(ctx, c, e, partIDs)
		if err != nil {
			return nil, err
		}
	}
	var pk column.Column
	if pkField(c).GetDataType() == schemapb.DataType_Int64 {
		pk = &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: ints}
	} else {
		pk = &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: strs}
	}
	res := &milvuspb.MutationResult{IDs: keysToIDs(pk), DeleteCnt: int64(pk.Len())}
	if res.Timestamp, err = s.deleteKeys(ctx, c, pk); err != nil {
		return nil, err
	}
	if res.Timestamp == 0 {
		ts, err := s.d.Root.AllocTimestamp(ctx, 1)
		if err != nil {
			return nil, err
		}
		res.Timestamp = ts
	}
	s.sessions.record(ctx, res.Timestamp)
	return res, nil
}

// queryKeys returns the primary keys of the rows a filter selects now.
func (s *Server) queryKeys(ctx context.Context, c *model.Collection, e *expr.Expr, partIDs []int64) ([]int64, []string, error) {
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	if !st.Loaded {
		return nil, nil, errs.CollectionNotLoaded(c.Name)
	}
	rows, err := s.queryShards(ctx, c, e, partIDs, commonpb.ConsistencyLevel_Strong, 0, 0, nil)
	if err != nil {
		return nil, nil, err
	}
	return rows.IntPKs, rows.StrPKs, nil
}

// estimateRowBytes is the wire size of one row of the request.
func estimateRowBytes(fields []*schemapb.FieldData, n int) int {
	size := 0
	for _, fd := range fields {
		size += proto.Size(fd)
	}
	return size/max(n, 1) + 1
}

func takeAll(cols map[int64]column.Column, idx []int) map[int64]column.Column {
	out := make(map[int64]column.Column, len(cols))
	for id, c := range cols {
		out[id] = c.Take(idx)
	}
	return out
}

func sliceAll(cols map[int64]column.Column, lo, hi int) map[int64]column.Column {
	out := make(map[int64]column.Column, len(cols))
	for id, c := range cols {
		out[id] = c.Slice(lo, hi)
	}
	return out
}

// keysToIDs renders a primary-key column as schemapb.IDs.
func keysToIDs(pk column.Column) *schemapb.IDs {
	switch c := pk.(type) {
	case *column.Scalar[int64]:
		return &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: c.Data}}}
	case *column.Scalar[string]:
		return &schemapb.IDs{IdField: &schemapb.IDs_StrId{StrId: &schemapb.StringArray{Data: c.Data}}}
	}
	return &schemapb.IDs{}
}
