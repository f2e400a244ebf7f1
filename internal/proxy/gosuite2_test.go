package proxy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// TestAddFieldLimitIgnoresDynamicField: Milvus counts the fields its
// DescribeCollection shows, which hides $meta, so a dynamic collection can
// hold maxFieldNum user fields.
func TestAddFieldLimitIgnoresDynamicField(t *testing.T) {
	schema := &schemapb.CollectionSchema{EnableDynamicField: true}
	for i := 0; i < maxFieldNum-1; i++ {
		schema.Fields = append(schema.Fields, &schemapb.FieldSchema{FieldID: int64(100 + i), Name: fmt.Sprintf("f%d", i), DataType: schemapb.DataType_Int64})
	}
	schema.Fields = append(schema.Fields, &schemapb.FieldSchema{FieldID: int64(100 + maxFieldNum), Name: metaFieldName, DataType: schemapb.DataType_JSON, IsDynamic: true})
	f := &schemapb.FieldSchema{Name: "new", DataType: schemapb.DataType_Int64, Nullable: true}
	if err := validateAddField(schema, f); err != nil {
		t.Fatalf("field %d of %d refused: %v", maxFieldNum, maxFieldNum, err)
	}
	schema.Fields = append(schema.Fields, &schemapb.FieldSchema{FieldID: 300, Name: "last", DataType: schemapb.DataType_Int64})
	err := validateAddField(schema, f)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("The number of fields has reached the maximum value %d", maxFieldNum)) {
		t.Fatalf("field %d accepted or wrong error: %v", maxFieldNum+1, err)
	}
}

// TestCheckLoadFieldsKeys: a load field list must name the primary key, a
// vector, the partition key and the clustering key, with Milvus's texts.
func TestCheckLoadFieldsKeys(t *testing.T) {
	schema := &schemapb.CollectionSchema{EnableDynamicField: true, Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "pk", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "partition_key", DataType: schemapb.DataType_Int64, IsPartitionKey: true},
		{FieldID: 102, Name: "clustering_key", DataType: schemapb.DataType_Int64, IsClusteringKey: true},
		{FieldID: 103, Name: "vec", DataType: schemapb.DataType_FloatVector},
		{FieldID: 104, Name: metaFieldName, DataType: schemapb.DataType_JSON, IsDynamic: true},
	}}
	cases := []struct {
		names []string
		want  string
	}{
		{nil, ""},
		{[]string{"pk", "vec"}, "does not contain partition key field partition_key"},
		{[]string{"partition_key", "pk", "vec"}, "does not contain clustering key field clustering_key"},
		{[]string{"partition_key", "clustering_key", "vec"}, "does not contain primary key field pk"},
		{[]string{"partition_key", "clustering_key", "pk"}, "does not contain vector field"},
		{[]string{"pk", "nope"}, "failed to get field schema by name: fieldName(nope) not found"},
		{[]string{"partition_key", "clustering_key", "pk", "vec"}, ""},
	}
	for _, c := range cases {
		err := checkLoadFields(schema, c.names, false)
		if c.want == "" {
			if err != nil {
				t.Errorf("%v: %v", c.names, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.names, err, c.want)
		}
	}
}
