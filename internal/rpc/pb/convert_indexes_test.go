package pb

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// TestChannelPlanIndexesRoundTrip: a shard plan's index definitions (the
// interim indexes' source on the query node) cross the wire, through the
// encoded bytes, as do UpdateIndexes' definitions.
func TestChannelPlanIndexesRoundTrip(t *testing.T) {
	defs := []model.IndexDef{
		{ID: 1, CollectionID: 2, FieldID: 101, Name: "v", IndexParams: map[string]string{"index_type": "HNSW", "metric_type": "L2", "M": "16"},
			TypeParams: map[string]string{"dim": "8"}, UserParams: map[string]string{"index_type": "HNSW"}, CreateTS: 9},
		{ID: 3, CollectionID: 2, FieldID: 102, Name: "s", IndexParams: map[string]string{"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25"}},
	}
	b, err := proto.Marshal(FromChannelPlan(contract.ChannelPlan{VChannel: "v", PChannel: "p", Indexes: defs}))
	if err != nil {
		t.Fatal(err)
	}
	var wire ChannelPlan
	if err := proto.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	if got := ToChannelPlan(&wire).Indexes; !reflect.DeepEqual(got, defs) {
		t.Fatalf("plan indexes:\n got %+v\nwant %+v", got, defs)
	}
	if b, err = proto.Marshal(&UpdateIndexesRequest{CollectionId: 2, Indexes: FromIndexDefs(defs)}); err != nil {
		t.Fatal(err)
	}
	var req UpdateIndexesRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	if got := ToIndexDefs(req.GetIndexes()); req.GetCollectionId() != 2 || !reflect.DeepEqual(got, defs) {
		t.Fatalf("update indexes: %d %+v", req.GetCollectionId(), got)
	}
}
