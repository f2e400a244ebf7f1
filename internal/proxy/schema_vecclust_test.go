package proxy

import (
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
)

// TestVectorClusteringKeyRule: a FloatVector clustering key is refused
// with Milvus's 107 unless common.enableVectorClusteringKey; enabled, it
// is accepted, while other vector types stay refused as unsupported (105)
// and two clustering keys stay refused.
func TestVectorClusteringKeyRule(t *testing.T) {
	vecKey := testSchema("c")
	vecKey.Fields[2].IsClusteringKey = true
	if _, _, err := decodeCreateCollectionSchemaWith("c", mustMarshal(t, vecKey), 1, schemaRules{}); errs.CodeOf(err) != 107 ||
		!strings.Contains(err.Error(), "vector clustering key not allowed") {
		t.Fatalf("disabled: %v", err)
	}
	got, _, err := decodeCreateCollectionSchemaWith("c", mustMarshal(t, vecKey), 1, schemaRules{vectorClusteringKey: true})
	if err != nil || !got.Fields[2].GetIsClusteringKey() {
		t.Fatalf("enabled: %v", err)
	}
	bin := testSchema("c")
	bin.Fields = append(bin.Fields, &schemapb.FieldSchema{Name: "bits", DataType: schemapb.DataType_BinaryVector,
		TypeParams: kv("dim", "16"), IsClusteringKey: true})
	if _, _, err := decodeCreateCollectionSchemaWith("c", mustMarshal(t, bin), 1, schemaRules{vectorClusteringKey: true}); errs.CodeOf(err) != 105 ||
		!strings.Contains(err.Error(), "clustering key field bits has unsupported data type BinaryVector") {
		t.Fatalf("binary key: %v", err)
	}
	two := testSchema("c")
	two.Fields[1].IsClusteringKey, two.Fields[2].IsClusteringKey = true, true
	if _, _, err := decodeCreateCollectionSchemaWith("c", mustMarshal(t, two), 1, schemaRules{vectorClusteringKey: true}); errs.CodeOf(err) != 105 ||
		!strings.Contains(err.Error(), "there are more than one clustering key") {
		t.Fatalf("two keys: %v", err)
	}
}
