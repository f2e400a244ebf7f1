package querynode

import (
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/segment"
)

// TestCheckHits: a shard refuses an answer with more hits than MaxHits,
// counting per query the lesser of K and the segments' valid hits.
func TestCheckHits(t *testing.T) {
	req := &contract.SearchRequest{MaxHits: 5, MaxOutputSize: 60}
	// Two queries, K=3, two segments: query 0 has 2+2 valid hits (3 kept),
	// query 1 has 1+0.
	r1 := &segment.SearchResult{NQ: 2, K: 3, Offsets: []int64{0, 1, -1, 2, -1, -1}}
	r2 := &segment.SearchResult{NQ: 2, K: 3, Offsets: []int64{5, 6, -1, -1, -1, -1}}
	if err := checkHits(req, []*segment.SearchResult{r1, r2}, 2, 3); err != nil {
		t.Fatalf("4 hits under 5: %v", err)
	}
	req.MaxHits = 3
	err := checkHits(req, []*segment.SearchResult{r1, r2}, 2, 3)
	if errs.CodeOf(err) != 1100 || err.Error() != "search results exceed the maxOutputSize Limit 60: invalid parameter" {
		t.Fatalf("4 hits over 3: %v", err)
	}
	req.MaxHits = 0
	if err := checkHits(req, []*segment.SearchResult{r1, r2}, 2, 3); err != nil {
		t.Fatalf("no bound: %v", err)
	}
}

func TestHasRange(t *testing.T) {
	if !hasRange(map[string]string{"radius": "1"}) || hasRange(nil) || hasRange(map[string]string{"ef": "1"}) {
		t.Fatal("hasRange")
	}
}
