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
