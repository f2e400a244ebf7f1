package proxy

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/segment"
)

// sortedPick is the reduce pickHits replaced: every shard's hits of a
// query gathered and stably sorted, then offset and limit (or groups)
// applied. It is the oracle pickHits must equal.
func sortedPick(spec *searchSpec, results []*contract.SearchResult) ([]int64, []shardHit) {
	type cand struct {
		shard, i int
		score    float32
	}
	higher := spec.Metric.HigherIsBetter()
	starts := make([][]int, len(results))
	for si, r := range results {
		starts[si] = make([]int, spec.NQ+1)
		for q := range spec.NQ {
			starts[si][q+1] = starts[si][q] + r.Topks[q]
		}
	}
	topks := make([]int64, spec.NQ)
	var picked []shardHit
	var cands []cand
	for q := range spec.NQ {
		cands = cands[:0]
		for si, r := range results {
			for i := starts[si][q]; i < starts[si][q+1]; i++ {
				cands = append(cands, cand{si, i, r.Scores[i]})
			}
		}
		slices.SortStableFunc(cands, func(a, b cand) int {
			c := cmp.Compare(a.score, b.score)
			if higher {
				c = -c
			}
			if c != 0 {
				return c
			}
			ra, rb := results[a.shard], results[b.shard]
			if ra.StrPKs != nil && rb.StrPKs != nil {
				return cmp.Compare(ra.StrPKs[a.i], rb.StrPKs[b.i])
			}
			if ra.IntPKs != nil && rb.IntPKs != nil {
				return cmp.Compare(ra.IntPKs[a.i], rb.IntPKs[b.i])
			}
			return 0
		})
		if spec.GroupByField != "" {
			cands = segment.PickGroups(cands, func(h cand) any { return results[h.shard].GroupValues[h.i] },
				spec.Offset, spec.TopK, spec.GroupSize)
		} else {
			cands = cands[min(spec.Offset, len(cands)):]
			if len(cands) > spec.TopK {
				cands = cands[:spec.TopK]
			}
		}
		topks[q] = int64(len(cands))
		for _, c := range cands {
			picked = append(picked, shardHit{int32(c.shard), int32(c.i)})
		}
	}
	return topks, picked
}

// shardResults makes shards' answers to nq queries: each query's hits
// sorted as a shard returns them (by score, then key), scores drawn from
// few values so that ties across and within shards are common; with
// groups, hits come group after group as a grouping shard returns them.
func shardResults(rng *rand.Rand, shards, nq, k int, higher, strPK, grouped bool, levels int) []*contract.SearchResult {
	out := make([]*contract.SearchResult, shards)
	for s := range out {
		r := &contract.SearchResult{NQ: nq, Topks: make([]int, nq)}
		for q := range nq {
			n := rng.IntN(k + 1)
			if k > 64 {
				n = k // the benchmark's full answers
			}
			type h struct {
				score float32
				key   int64
				group int64
			}
			hs := make([]h, n)
			for i := range hs {
				hs[i] = h{float32(rng.IntN(levels)) / 4, rng.Int64N(int64(4 * max(k, 1))), rng.Int64N(4)}
			}
			slices.SortFunc(hs, func(a, b h) int {
				c := cmp.Compare(a.score, b.score)
				if higher {
					c = -c
				}
				if c != 0 {
					return c
				}
				return cmp.Compare(a.key, b.key)
			})
			if grouped {
				slices.SortStableFunc(hs, func(a, b h) int { return cmp.Compare(a.group, b.group) })
			}
			r.Topks[q] = n
			for _, x := range hs {
				r.Scores = append(r.Scores, x.score)
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
		if !strPK && r.IntPKs == nil {
			r.IntPKs = []int64{}
		}
		out[s] = r
	}
	return out
}

// TestPickHitsEqualsSortedReduce: the streamed merge picks exactly the
// hits, in the order, the sorted reduce picked: ties on score (broken by
// primary key, then by shard), Int64 and VarChar keys, both metric
// directions, offsets, and group-by.
func TestPickHitsEqualsSortedReduce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 3000 {
		spec := &searchSpec{NQ: 1 + rng.IntN(4), TopK: 1 + rng.IntN(8), Offset: rng.IntN(4), Metric: index.L2}
		if rng.IntN(2) == 0 {
			spec.Metric = index.IP
		}
		grouped := rng.IntN(3) == 0
		if grouped {
			spec.GroupByField, spec.GroupSize = "g", 1+rng.IntN(3)
		}
		strPK := rng.IntN(2) == 0
		results := shardResults(rng, 1+rng.IntN(4), spec.NQ, spec.TopK+spec.Offset, spec.Metric.HigherIsBetter(), strPK, grouped, 1+rng.IntN(6))
		wantTopks, want := sortedPick(spec, results)
		gotTopks, got := pickHits(spec, results)
		if !slices.Equal(gotTopks, wantTopks) || !slices.Equal(got, want) {
			t.Fatalf("trial %d (%+v, strPK %v): topks %v want %v\npicked %v\nwant   %v", trial, *spec, strPK, gotTopks, wantTopks, got, want)
		}
	}
}

// BenchmarkReduceSearch: the reduce of nq=1024, topk=16384 over 2 and 4
// shards (each returning its full topk), the sorted reduce ("sorted")
// against the streamed merge ("merged").
//
//	go test ./internal/proxy -run '^$' -bench ReduceSearch -benchmem -count 3
func BenchmarkReduceSearch(b *testing.B) {
	const nq, topk = 1024, 16384
	for _, shards := range []int{2, 4} {
		results := shardResults(rand.New(rand.NewPCG(1, 1)), shards, nq, topk, false, false, false, 1<<20)
		spec := &searchSpec{NQ: nq, TopK: topk, Metric: index.L2}
		for _, impl := range []struct {
			name string
			pick func(*searchSpec, []*contract.SearchResult) ([]int64, []shardHit)
		}{{"sorted", sortedPick}, {"merged", pickHits}} {
			b.Run(fmt.Sprintf("shards=%d/%s", shards, impl.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					impl.pick(spec, results)
				}
			})
		}
	}
}
