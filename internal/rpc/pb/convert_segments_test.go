package pb

import (
	"slices"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/segment"
)

// TestRequerySegmentsRoundTrip: the segments a shard's search read cross
// the process boundary to the proxy, and back with its requery, so a
// cluster's requery reads what the search read as standalone's does (an
// empty set stays a set: nothing to read).
func TestRequerySegmentsRoundTrip(t *testing.T) {
	res, err := FromSearchResult(&contract.SearchResult{NQ: 1, Topks: []int{0}, IntPKs: []int64{}, MVCCTs: 5, Segments: []int64{3, 9}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ToSearchResult(res)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Segments, []int64{3, 9}) {
		t.Fatalf("search result's segments %v, want [3 9]", back.Segments)
	}
	for _, segs := range [][]int64{{3, 9}, {}} {
		q, err := FromQueryRequest(&contract.QueryRequest{CollectionID: 1, VChannel: "v", RestrictSegments: true, Segments: segs})
		if err != nil {
			t.Fatal(err)
		}
		out, err := ToQueryRequest(q, func([]byte) (segment.Filter, error) { return nil, nil })
		if err != nil {
			t.Fatal(err)
		}
		if !out.RestrictSegments || !slices.Equal(out.Segments, segs) {
			t.Fatalf("query's segments %v (restricted %v), want %v restricted", out.Segments, out.RestrictSegments, segs)
		}
	}
	q, err := FromQueryRequest(&contract.QueryRequest{CollectionID: 1, VChannel: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ToQueryRequest(q, nil); err != nil || out.RestrictSegments {
		t.Fatalf("a query without a set: restricted %v, %v; want every segment", out.RestrictSegments, err)
	}
}
