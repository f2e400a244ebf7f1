package querynode

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvago/milvago/internal/segment"
)

// sortedSegmentHits is the merge mergeSegmentHits replaced: every
// segment's hits of a query gathered and stably sorted, then deduplicated
// by primary key and cut at k (or grouped). The oracle of the merge.
func sortedSegmentHits(results []*segment.SearchResult, nq, k int, higher, grouped bool, groupSize int, topks []int) []hit {
	var hits []hit
	cands := make([]hit, 0, k*len(results))
	for q := range nq {
		cands = cands[:0]
		for si, r := range results {
			for j := q * r.K; j < (q+1)*r.K; j++ {
				if r.Offsets[j] < 0 {
					continue
				}
				h := hit{seg: si, offset: r.Offsets[j], score: r.Scores[j], ts: r.Timestamps[j]}
				if r.GroupValues != nil {
					h.group = r.GroupValues[j]
				}
				if r.StrPKs != nil {
					h.strPK = r.StrPKs[j]
				} else {
					h.intPK = r.IntPKs[j]
				}
				cands = append(cands, h)
			}
		}
		slices.SortStableFunc(cands, func(a, b hit) int {
			c := cmp.Compare(a.score, b.score)
			if higher {
				c = -c
			}
			if c != 0 {
				return c
			}
			if a.strPK != b.strPK {
				return cmp.Compare(a.strPK, b.strPK)
			}
			return cmp.Compare(a.intPK, b.intPK)
		})
		limit := k
		if grouped {
			limit = len(cands)
		}
		seenInt, seenStr := map[int64]bool{}, map[string]bool{}
		first := len(hits)
		n := 0
		for _, h := range cands {
			if n == limit {
				break
			}
			if r := results[h.seg]; r.StrPKs != nil {
				if seenStr[h.strPK] {
					continue
				}
				seenStr[h.strPK] = true
			} else {
				if seenInt[h.intPK] {
					continue
				}
				seenInt[h.intPK] = true
			}
			hits = append(hits, h)
			n++
		}
		if grouped {
			kept := segment.PickGroups(hits[first:], func(h hit) any { return h.group }, 0, k, groupSize)
			hits = append(hits[:first], kept...)
			n = len(kept)
		}
		topks[q] = n
	}
	return hits
}

// segmentResults makes segments' answers to nq queries with k slots each:
// filled slots first (sorted by score, ties in random key order as an
// index returns them, or group after group), unfilled ones -1; keys drawn
// from a small range so that the same key (an upserted row) appears in
// several segments.
func segmentResults(rng *rand.Rand, segs, nq, k int, higher, strPK, grouped bool, levels int) []*segment.SearchResult {
	out := make([]*segment.SearchResult, segs)
	for s := range out {
		r := &segment.SearchResult{NQ: nq, K: k}
		for q := range nq {
			n := rng.IntN(k + 1)
			if k > 64 {
				n = k
			}
			type h struct {
				score float32
				key   int64
				group int64
			}
			hs := make([]h, n)
			for i := range hs {
				hs[i] = h{float32(rng.IntN(levels)) / 4, rng.Int64N(int64(3 * max(k, 1))), rng.Int64N(4)}
			}
			slices.SortStableFunc(hs, func(a, b h) int {
				if higher {
					return cmp.Compare(b.score, a.score)
				}
				return cmp.Compare(a.score, b.score)
			})
			if grouped {
				slices.SortStableFunc(hs, func(a, b h) int { return cmp.Compare(a.group, b.group) })
			}
			for i := range k {
				if i >= n {
					r.Offsets = append(r.Offsets, -1)
					r.Scores = append(r.Scores, 0)
					r.Timestamps = append(r.Timestamps, 0)
					if strPK {
						r.StrPKs = append(r.StrPKs, "")
					} else {
						r.IntPKs = append(r.IntPKs, 0)
					}
					if grouped {
						r.GroupValues = append(r.GroupValues, nil)
					}
					continue
				}
				x := hs[i]
				r.Offsets = append(r.Offsets, int64(q*k+i))
				r.Scores = append(r.Scores, x.score)
				r.Timestamps = append(r.Timestamps, uint64(rng.IntN(3)))
				if strPK {
					r.StrPKs = append(r.StrPKs, fmt.Sprintf("k%04d", x.key))
				} else {
					r.IntPKs = append(r.IntPKs, x.key)
				}
				if grouped {
					r.GroupValues = append(r.GroupValues, x.group)
				}
			}
		}
		out[s] = r
	}
	return out
}

// TestMergeSegmentHitsEqualsSortedMerge: the streamed per-segment merge
// keeps exactly the hits, in the order, of the sorted one: score ties
// within and across segments, duplicate keys across segments (the first
// met kept), unfilled slots, both key types and metric directions, and
// group-by.
func TestMergeSegmentHitsEqualsSortedMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for trial := range 3000 {
		nq, k := 1+rng.IntN(4), rng.IntN(9)
		higher, strPK, grouped := rng.IntN(2) == 0, rng.IntN(2) == 0, rng.IntN(3) == 0
		groupSize := 0
		if grouped {
			groupSize = 1 + rng.IntN(3)
		}
		results := segmentResults(rng, rng.IntN(5), nq, k, higher, strPK, grouped, 1+rng.IntN(6))
		wantTopks, gotTopks := make([]int, nq), make([]int, nq)
		want := sortedSegmentHits(results, nq, k, higher, grouped, groupSize, wantTopks)
		got := mergeSegmentHits(results, nq, k, higher, grouped, groupSize, gotTopks)
		if !slices.Equal(gotTopks, wantTopks) || !slices.EqualFunc(got, want, func(a, b hit) bool { return a == b }) {
			t.Fatalf("trial %d (nq %d k %d higher %v strPK %v grouped %v/%d): topks %v want %v\ngot  %v\nwant %v",
				trial, nq, k, higher, strPK, grouped, groupSize, gotTopks, wantTopks, got, want)
		}
	}
}

// BenchmarkMergeSegmentHits: a shard's merge of 4 segments' answers to
// nq=1024, topk=16384, sorted ("sorted") against streamed ("merged").
//
//	go test ./internal/querynode -run '^$' -bench MergeSegmentHits -benchmem -count 3
func BenchmarkMergeSegmentHits(b *testing.B) {
	const nq, k = 1024, 16384
	results := segmentResults(rand.New(rand.NewPCG(1, 1)), 4, nq, k, false, false, false, 1<<20)
	topks := make([]int, nq)
	for _, impl := range []struct {
		name  string
		merge func([]*segment.SearchResult, int, int, bool, bool, int, []int) []hit
	}{{"sorted", sortedSegmentHits}, {"merged", mergeSegmentHits}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				impl.merge(results, nq, k, false, false, 0, topks)
			}
		})
	}
}
