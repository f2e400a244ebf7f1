package segment

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPKMapAgainstScan checks pkMap's lookups and distinct count against a
// scan of the key column, for key sequences that ascend throughout, ascend
// and then break the order, and repeat keys of the ascending prefix later.
func TestPKMapAgainstScan(t *testing.T) {
	cases := map[string]func(r *rand.Rand, n int) []int64{
		"ascending": func(r *rand.Rand, n int) []int64 {
			keys := make([]int64, n)
			for i := range keys {
				keys[i] = int64(i)*3 + 7
			}
			return keys
		},
		"ascending then random": func(r *rand.Rand, n int) []int64 {
			keys := make([]int64, n)
			for i := range keys {
				if i < n/2 {
					keys[i] = int64(i) * 2
				} else {
					keys[i] = r.Int64N(int64(n)) // hits prefix keys, later rows, and new keys
				}
			}
			return keys
		},
		"repeat at once": func(r *rand.Rand, n int) []int64 {
			keys := make([]int64, n)
			for i := range keys {
				keys[i] = int64(i / 2)
			}
			return keys
		},
		"descending": func(r *rand.Rand, n int) []int64 {
			keys := make([]int64, n)
			for i := range keys {
				keys[i] = int64(n - i)
			}
			return keys
		},
	}
	for name, gen := range cases {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			const n = 2000
			keys := gen(r, n)
			m := newPKMap[int64]()
			for off := range keys {
				m.add(keys[:off+1], int32(off))
			}
			distinct := map[int64]bool{}
			for _, k := range keys {
				distinct[k] = true
			}
			if m.len() != len(distinct) {
				t.Fatalf("len %d, %d distinct keys", m.len(), len(distinct))
			}
			for k := int64(-1); k <= int64(3*n+8); k++ {
				var want, got []int32
				for off, key := range keys {
					if key == k {
						want = append(want, int32(off))
					}
				}
				m.each(keys, k, func(off int32) { got = append(got, off) })
				if !slices.Equal(got, want) {
					t.Fatalf("key %d: offsets %v, want %v", k, got, want)
				}
			}
			if name == "ascending" && m.mapped() != 0 {
				t.Errorf("ascending keys: %d keys in the maps, want none", m.mapped())
			}
		})
	}
}
