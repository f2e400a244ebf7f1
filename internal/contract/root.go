package contract

import (
	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// Database describes one database.
type Database struct {
	ID         int64
	Name       string
	CreateTS   uint64
	Properties map[string]string
}

// CreateCollectionRequest is a validated collection definition.
type CreateCollectionRequest struct {
	DBName           string
	Schema           *schemapb.CollectionSchema // validated, field IDs assigned
	ShardsNum        int32
	ConsistencyLevel commonpb.ConsistencyLevel
	Properties       []*commonpb.KeyValuePair
	// PartitionNames, if set, are the collection's partitions instead of
	// the single _default (partition-key collections: _default_0..n-1).
	PartitionNames []string
}
