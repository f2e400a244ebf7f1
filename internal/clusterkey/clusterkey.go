// Package clusterkey picks the field a collection is clustered and its
// segments pruned by, as Milvus 2.6's clustering.GetClusteringKeyField.
package clusterkey

import (
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// Options are Milvus's common.* keys that decide the clustering key.
type Options struct {
	// EnableVectorKey is common.enableVectorClusteringKey: without it a
	// FloatVector clustering key is ignored (and refused at creation).
	EnableVectorKey bool
	// UseVectorAsKey is common.useVectorAsClusteringKey: with
	// EnableVectorKey, the only FloatVector field of a collection without
	// a clustering key (nor a partition key used as one) is its key.
	UseVectorAsKey bool
	// UsePartitionKeyAsKey is common.usePartitionKeyAsClusteringKey.
	UsePartitionKeyAsKey bool
}

// Field returns schema's clustering key, nil when it has none: the field
// marked as clustering key (nil when it is a vector and EnableVectorKey is
// off), else the partition key with UsePartitionKeyAsKey, else the only
// FloatVector field with EnableVectorKey and UseVectorAsKey.
func Field(schema *schemapb.CollectionSchema, o Options) *schemapb.FieldSchema {
	var key, partKey *schemapb.FieldSchema
	var vectors []*schemapb.FieldSchema
	for _, f := range schema.GetFields() {
		if f.GetIsClusteringKey() {
			key = f
		}
		if f.GetIsPartitionKey() {
			partKey = f
		}
		if f.GetDataType() == schemapb.DataType_FloatVector {
			vectors = append(vectors, f)
		}
	}
	switch {
	case key != nil:
		if column.IsVector(key.GetDataType()) && !o.EnableVectorKey {
			return nil
		}
		return key
	case o.UsePartitionKeyAsKey && partKey != nil:
		return partKey
	case o.EnableVectorKey && o.UseVectorAsKey && len(vectors) == 1:
		return vectors[0]
	}
	return nil
}
