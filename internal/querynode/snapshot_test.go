package querynode

import (
	"slices"
	"testing"

	"github.com/milvago/milvago/internal/segment"
)

// TestSnapshotOfSegments: a requery's snapshot (contract.QueryRequest's
// Segments) reads the segments its search read and the sealed segments
// compacted from those alone; not a segment sealed from a growing one the
// search skipped, nor one compacted with it, nor a growing segment the
// search did not read. Without a set every segment is read.
func TestSnapshotOfSegments(t *testing.T) {
	_, sealed := pruneSegments(t, 4) // IDs 0-12
	dl := &delegator{sealed: map[int64]*sealedSegment{}, growing: map[int64]*segment.Growing{}}
	for _, s := range sealed[:6] {
		dl.sealed[s.seg.ID()] = s // 0-5
	}
	sealed[6].sources = []int64{0, 1}  // 6: compacted from 0 and 1, both searched
	sealed[7].sources = []int64{2, 50} // 7: compacted from 2 and 50, a segment the search skipped
	// 8: sealed since from a growing segment the search skipped (no sources)
	for _, s := range sealed[6:9] {
		dl.sealed[s.seg.ID()] = s
	}
	for _, id := range []int64{60, 61} {
		g, err := segment.NewGrowing(id, 1, pruneSchema())
		if err != nil {
			t.Fatal(err)
		}
		dl.growing[id] = g
	}
	read := func(ignoreGrowing bool, only ...int64) []int64 {
		t.Helper()
		var set map[int64]bool
		if only != nil {
			set = map[int64]bool{}
			for _, id := range only {
				set[id] = true
			}
		}
		rs := dl.snapshotOf(nil, ignoreGrowing, set)
		defer rs.release()
		got := rs.ids()
		slices.Sort(got)
		return got
	}
	if got, want := read(false), []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 60, 61}; !slices.Equal(got, want) {
		t.Fatalf("every segment: %v, want %v", got, want)
	}
	// The search read 0, 1, 3 and growing 60; 0 and 1 were compacted into
	// 6 since (the shard serves both here: a handoff's moment).
	if got, want := read(false, 0, 1, 3, 60), []int64{0, 1, 3, 6, 60}; !slices.Equal(got, want) {
		t.Fatalf("the search's segments: %v, want %v", got, want)
	}
	if got, want := read(true, 0, 1, 3, 60), []int64{0, 1, 3, 6}; !slices.Equal(got, want) {
		t.Fatalf("the search's sealed segments: %v, want %v", got, want)
	}
	if got := read(false, []int64{}...); len(got) != 0 {
		t.Fatalf("an empty set: %v, want none", got)
	}
	for _, s := range sealed[:9] {
		if n := s.refs.Load(); n != 0 {
			t.Fatalf("segment %d still pinned %d times after release", s.seg.ID(), n)
		}
	}
}
