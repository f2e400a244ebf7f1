package proxy

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
)

// allowsInsertAutoID reports whether c has allow_insert_auto_id set to
// true (common.IsAllowInsertAutoID: the collection's properties, which
// Milvus keeps as the schema's).
func allowsInsertAutoID(c *model.Collection) bool {
	for _, props := range [][]*commonpb.KeyValuePair{c.Properties, c.Schema.GetProperties()} {
		if v, ok := kvLookup(props, allowInsertAutoIDKey); ok {
			return isTrue(v)
		}
	}
	return false
}

// requestSchema is the schema an Insert is validated against: the
// collection's, except that an auto_id collection with
// allow_insert_auto_id takes the primary keys a request carries
// (checkPrimaryFieldData's skipAutoIDCheck).
func requestSchema(c *model.Collection, fields []*schemapb.FieldData) *schemapb.CollectionSchema {
	pk := pkField(c)
	if !pk.GetAutoID() || !allowsInsertAutoID(c) {
		return c.Schema
	}
	carried := false
	for _, fd := range fields {
		carried = carried || fd.GetFieldName() == pk.GetName()
	}
	if !carried {
		return c.Schema
	}
	schema := proto.Clone(c.Schema).(*schemapb.CollectionSchema)
	primaryField(schema).AutoID = false
	return schema
}

// deleteKeys appends deletes of the given primary keys to their shards, as
// an upsert into an auto_id collection does for the keys it replaces
// (upsertTask: the delete uses the request's keys, the insert new auto IDs).
// It returns the last delete's timestamp.
func (s *Server) deleteKeys(ctx context.Context, c *model.Collection, keys column.Column) (uint64, error) {
	var ts uint64
	for shard, idx := range shardRows(keys, int(c.ShardsNum)) {
		if len(idx) == 0 {
			continue
		}
		del := &msgpb.DeleteRequest{CollectionID: c.ID, ShardName: c.VChannels[shard],
			PrimaryKeys: keysToIDs(keys.Take(idx)), NumRows: int64(len(idx))}
		r, err := s.d.Writer.AppendDelete(ctx, c.PChannels[shard], &msg.Message{Kind: msg.KindDelete, VChannel: c.VChannels[shard], Delete: del})
		if err != nil {
			return 0, fmt.Errorf("delete from %s: %w", c.VChannels[shard], err)
		}
		ts = max(ts, r.TS)
	}
	return ts, nil
}

// autoIDColumn is the primary key column of allocated IDs: the IDs
// themselves for an Int64 key, their decimal text for a VarChar key
// (Milvus's autoGenPrimaryFieldData).
func autoIDColumn(pk *schemapb.FieldSchema, ids *column.Scalar[int64]) column.Column {
	if pk.GetDataType() != schemapb.DataType_VarChar {
		return ids
	}
	strs := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: make([]string, len(ids.Data))}
	for i, id := range ids.Data {
		strs.Data[i] = strconv.FormatInt(id, 10)
	}
	return strs
}

// isTrue is strconv.ParseBool's true, anything else false (common.IsAllowInsertAutoID).
func isTrue(v string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	return err == nil && b
}
