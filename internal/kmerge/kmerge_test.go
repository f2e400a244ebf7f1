package kmerge

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

type elem struct {
	score float32
	key   int
}

// TestMergeIsAStableSort: over random runs, sorted or not, with many
// ties, Merge yields what a stable sort of the concatenation yields.
func TestMergeIsAStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var m Merger
	for trial := range 2000 {
		nruns := rng.IntN(6)
		runs := make([][]elem, nruns)
		for r := range runs {
			n := rng.IntN(12)
			for range n {
				runs[r] = append(runs[r], elem{float32(rng.IntN(4)), rng.IntN(5)})
			}
			if rng.IntN(3) > 0 { // most runs sorted, as shards return them
				slices.SortStableFunc(runs[r], compare)
			}
		}
		type ref struct{ run, i int }
		var all []ref
		for r, run := range runs {
			for i := range run {
				all = append(all, ref{r, i})
			}
		}
		want := slices.Clone(all)
		slices.SortStableFunc(want, func(a, b ref) int { return compare(runs[a.run][a.i], runs[b.run][b.i]) })
		var got []ref
		limit := rng.IntN(len(all) + 2)
		m.Merge(nruns, func(r int) (int, int) { return 0, len(runs[r]) },
			func(r, i, s, j int) int { return compare(runs[r][i], runs[s][j]) },
			func(r, i int) bool {
				if len(got) == limit {
					return false
				}
				got = append(got, ref{r, i})
				return true
			})
		if !slices.Equal(got, want[:min(limit, len(want))]) {
			t.Fatalf("trial %d: runs %v limit %d: got %v, want %v", trial, runs, limit, got, want[:min(limit, len(want))])
		}
	}
}

// TestMergeBounds: runs are windows [start, end) of larger arrays.
func TestMergeBounds(t *testing.T) {
	a := []int{9, 1, 3, 5, 9}
	b := []int{9, 9, 2, 4, 6}
	var got []int
	var m Merger
	arr := [][]int{a, b}
	m.Merge(2, func(r int) (int, int) { return []int{1, 2}[r], []int{4, 5}[r] },
		func(r, i, s, j int) int { return cmp.Compare(arr[r][i], arr[s][j]) },
		func(r, i int) bool { got = append(got, arr[r][i]); return true })
	if !slices.Equal(got, []int{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("got %v", got)
	}
}

func compare(a, b elem) int {
	if c := cmp.Compare(b.score, a.score); c != 0 { // higher first
		return c
	}
	return cmp.Compare(a.key, b.key)
}
