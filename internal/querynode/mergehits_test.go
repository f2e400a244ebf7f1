package querynode

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvago/milvago/internal/segment"
)

// mergeHits against sorting every row and keeping the newest per key.
func TestMergeHits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for round := range 500 {
		strPK := round%2 == 1
		var results []*segment.QueryResult
		var all []hit
		total, withHits := 0, 0
		for si := range r.IntN(6) {
			keys := map[int64]bool{}
			for range r.IntN(30) {
				keys[r.Int64N(40)] = true
			}
			sorted := make([]int64, 0, len(keys))
			for k := range keys {
				sorted = append(sorted, k)
			}
			slices.Sort(sorted)
			if strPK {
				// String order of zero-padded numbers is their order.
				slices.SortFunc(sorted, func(a, b int64) int { return cmp.Compare(pad(a), pad(b)) })
			}
			res := &segment.QueryResult{}
			for j, k := range sorted {
				ts := uint64(r.IntN(1000))
				res.Offsets = append(res.Offsets, int64(j))
				res.Timestamps = append(res.Timestamps, ts)
				h := hit{seg: si, offset: int64(j), ts: ts}
				if strPK {
					res.StrPKs = append(res.StrPKs, pad(k))
					h.strPK = pad(k)
				} else {
					res.IntPKs = append(res.IntPKs, k)
					h.intPK = k
				}
				all = append(all, h)
			}
			results = append(results, res)
			total += len(sorted)
			if len(sorted) > 0 {
				withHits++
			}
		}
		got := mergeHits(results, total, withHits, strPK)
		// Reference: newest per key, keys ascending.
		best := map[string]hit{}
		for _, h := range all {
			k := h.strPK
			if !strPK {
				k = pad(h.intPK)
			}
			if b, ok := best[k]; !ok || h.ts > b.ts {
				best[k] = h
			}
		}
		if len(got) != len(best) {
			t.Fatalf("round %d: %d rows, want %d", round, len(got), len(best))
		}
		for i, h := range got {
			k := h.strPK
			if !strPK {
				k = pad(h.intPK)
			}
			if i > 0 && (strPK && got[i-1].strPK >= h.strPK || !strPK && got[i-1].intPK >= h.intPK) {
				t.Fatalf("round %d: keys out of order at %d", round, i)
			}
			if best[k].ts != h.ts {
				t.Fatalf("round %d: key %s: ts %d, want the newest %d", round, k, h.ts, best[k].ts)
			}
		}
	}
}

func pad(k int64) string {
	s := "00" + string(rune('0'+k/10)) + string(rune('0'+k%10))
	return s
}
