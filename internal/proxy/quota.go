package proxy

import (
	"context"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/quota"
)

// admitter decides whether a request may run (quotaAndLimits: rate limits
// and write protection); internal/quota implements it.
type admitter interface {
	Admit(ctx context.Context, kind quota.Kind, collectionID int64, n int) error
	AdmitIn(ctx context.Context, kind quota.Kind, sc quota.Scope, n int) error
}

// admit asks the quota, if the proxy has one, about a request of kind in
// database db ("": none) on a collection (0: none): the cluster, database
// and collection rates of DDL, flush and compaction.
func (s *Server) admit(ctx context.Context, kind quota.Kind, db string, collectionID int64, n int) error {
	if s.d.Quota == nil {
		return nil
	}
	return s.d.Quota.AdmitIn(ctx, kind, quota.Scope{DB: db, Collection: collectionID}, n)
}

// admitIn asks the quota about a DML or DQL request on c's partitions
// (none: the whole collection): the rates of its database, collection and
// partitions, and the database's and collection's properties
// (database.force.deny.writing/reading, collection.insertRate.max.mb, ...).
func (s *Server) admitIn(ctx context.Context, kind quota.Kind, c *model.Collection, partitions []int64, n int) error {
	if s.d.Quota == nil {
		return nil
	}
	db, err := s.d.Root.DescribeDatabase(ctx, c.DBName)
	if err != nil {
		return fmt.Errorf("proxy: database of %s: %w", c.Name, err)
	}
	return s.d.Quota.AdmitIn(ctx, kind, quota.Scope{DB: c.DBName, DBProps: db.Properties, Collection: c.ID,
		CollProps: propsMap(c.Properties), Partitions: partitions}, n)
}

// writePartition is the partition an insert or upsert names, for its
// limits: the named one, else the default partition (none with a
// partition key: the rows spread over all partitions).
func writePartition(c *model.Collection, name string) []int64 {
	if name == "" {
		name = model.DefaultPartition
	}
	if p, ok := c.PartitionByName(name); ok {
		return []int64{p.ID}
	}
	return nil
}

// fieldsSize is the bytes of a write's columns on the wire.
func fieldsSize(fields []*schemapb.FieldData) int {
	n := 0
	for _, f := range fields {
		n += proto.Size(f)
	}
	return n
}

// propsMap is a collection's properties as a map (nil for none).
func propsMap(kvs []*commonpb.KeyValuePair) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = kv.GetValue()
	}
	return m
}
