package clusterkey

import (
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

func TestField(t *testing.T) {
	vec := &schemapb.FieldSchema{FieldID: 101, DataType: schemapb.DataType_FloatVector}
	part := &schemapb.FieldSchema{FieldID: 102, DataType: schemapb.DataType_Int64, IsPartitionKey: true}
	plain := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{{FieldID: 100, IsPrimaryKey: true}, vec, part}}
	keyed := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{{FieldID: 100, IsPrimaryKey: true},
		{FieldID: 101, DataType: schemapb.DataType_FloatVector, IsClusteringKey: true}, part}}
	scalar := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{{FieldID: 100, IsPrimaryKey: true}, vec,
		{FieldID: 103, DataType: schemapb.DataType_VarChar, IsClusteringKey: true}}}
	all := Options{EnableVectorKey: true, UseVectorAsKey: true, UsePartitionKeyAsKey: true}
	for _, c := range []struct {
		schema *schemapb.CollectionSchema
		o      Options
		want   int64
	}{
		{keyed, Options{}, 0},                        // vector key, not enabled
		{keyed, Options{EnableVectorKey: true}, 101}, // enabled
		{keyed, all, 101},                            // the key first
		{scalar, Options{}, 103},
		{plain, Options{}, 0},
		{plain, Options{UsePartitionKeyAsKey: true}, 102},
		{plain, all, 102}, // the partition key before the vector
		{plain, Options{EnableVectorKey: true, UseVectorAsKey: true}, 101},
		{plain, Options{UseVectorAsKey: true}, 0},
	} {
		got := Field(c.schema, c.o)
		if got.GetFieldID() != c.want {
			t.Errorf("%+v: field %d, want %d", c.o, got.GetFieldID(), c.want)
		}
	}
}
