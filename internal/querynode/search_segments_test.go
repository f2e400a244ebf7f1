package querynode

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/segment"
)

// sized is a segment of n rows; searchSegments reads nothing else.
type sized struct {
	segment.Segment
	n int
}

func (s sized) NumRows() int { return s.n }

// TestSearchSegments: every segment is searched once; with at most one
// large segment everything runs on the caller's goroutine (the race
// detector would flag the unguarded slice otherwise); an error of any
// segment is returned.
func TestSearchSegments(t *testing.T) {
	ctx := context.Background()
	mk := func(rows ...int) []segment.Segment {
		var segs []segment.Segment
		for _, n := range rows {
			segs = append(segs, sized{n: n})
		}
		return segs
	}
	// One large, two small: sequential, no lock needed.
	var order []int
	if err := searchSegments(ctx, mk(10, inlineRows, 5), func(_ context.Context, i int) error {
		order = append(order, i)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(order) != 3 || order[0] != 1 {
		t.Fatalf("searched %v, want the large segment 1 first, then 0 and 2", order)
	}
	// Several large ones fan out; each segment once.
	var mu sync.Mutex
	seen := map[int]int{}
	segs := mk(inlineRows, 1, inlineRows*2, 2, inlineRows, inlineRows)
	if err := searchSegments(ctx, segs, func(_ context.Context, i int) error {
		mu.Lock()
		defer mu.Unlock()
		seen[i]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range segs {
		if seen[i] != 1 {
			t.Fatalf("segment %d searched %d times", i, seen[i])
		}
	}
	// Errors come back, from a small segment and from a fanned-out one.
	boom := errors.New("boom")
	for _, bad := range []int{1, 2, 4} {
		err := searchSegments(ctx, segs, func(_ context.Context, i int) error {
			if i == bad {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("segment %d failing: %v", bad, err)
		}
	}
}
