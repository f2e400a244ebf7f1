package pb

import (
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/segment"
)

// TestSearchBoundRoundTrip: a shard's hit bound crosses the process
// boundary, so cluster query nodes refuse oversized answers as standalone.
func TestSearchBoundRoundTrip(t *testing.T) {
	in := &contract.SearchRequest{CollectionID: 1, VChannel: "v", MaxHits: 8738133, MaxOutputSize: 104857600,
		Search: segment.SearchRequest{FieldID: 101, Queries: index.Dataset{Dim: 2, Float: []float32{1, 2}}, Metric: index.L2,
			Params: index.SearchParams{K: 10}}}
	p, err := FromSearchRequest(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ToSearchRequest(p, func([]byte) (segment.Filter, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if out.MaxHits != in.MaxHits || out.MaxOutputSize != in.MaxOutputSize {
		t.Fatalf("bound %d/%d, want %d/%d", out.MaxHits, out.MaxOutputSize, in.MaxHits, in.MaxOutputSize)
	}
}
