package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestHNSWPoolMatchesHeaps checks that the sorted-pool beam search keeps
// exactly what the two-heap beam search keeps, in the same order, on every
// layer and for ef below, at and above k. The graph is built on one thread
// (deterministic) from data without duplicate rows: with exactly equal
// distances at the ef-th place the two may keep different tied nodes.
func TestHNSWPoolMatchesHeaps(t *testing.T) {
	const n, d = 3000, 24
	data := clusteredFloats(7, n, d, 20)
	for _, m := range []Metric{L2, IP} {
		idx := buildIndex(t, hnswSpec(TypeHNSW, m, "M", "8", "efConstruction", "40", "build_threads", "1"), Dataset{Dim: d, Float: data})
		h := idx.(*hnswIndex)
		queries := randFloats(11, 50, d)
		s := h.getScratch()
		for qi := range 50 {
			q := queries[qi*d : (qi+1)*d]
			hq := &s.hq
			h.prepare(q, hq)
			for _, ef := range []int{1, 2, 10, 16, 33, 64, 200} {
				for l := h.maxLevel; l >= 0; l-- {
					ep := h.entry
					epD := h.dist(hq, ep)
					h.searchLayer(s, hq, ep, epD, l, ef, false, nil)
					want := slices.Clone(s.drainSorted())
					got := slices.Clone(h.searchLayerPool(s, hq, ep, epD, l, ef, false))
					// Equal distances come out of a heap in no fixed
					// order: compare in (distance, id) order.
					slices.SortFunc(want, cmpCand)
					slices.SortFunc(got, cmpCand)
					if !slices.Equal(got, want) {
						t.Fatalf("%s q%d ef=%d level %d: pool %v, heaps %v", m, qi, ef, l, got, want)
					}
				}
			}
		}
		h.putScratch(s)
	}
}

func cmpCand(a, b hnswCand) int {
	switch {
	case a.d < b.d:
		return -1
	case a.d > b.d:
		return 1
	}
	return int(a.id) - int(b.id)
}

// poolCountLE (SIMD where there is AVX2) and poolCountLEGo (binary search)
// give the first position whose distance is above d in a sorted pool padded
// with +Inf to a multiple of poolPad, for every pool length up to 300, with
// ties, negative distances (IP), signed zeros and infinities.
func TestPoolCountLE(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	negZero := float32(math.Copysign(0, -1))
	inf := float32(math.Inf(1))
	for n := 0; n <= 300; n++ {
		pool := make([]float32, poolRound(n))
		for i := range pool {
			pool[i] = inf
		}
		for i := range n {
			pool[i] = float32(r.IntN(41)-20) / 4 // many ties, both signs
			if pool[i] == 0 && r.IntN(2) == 0 {
				pool[i] = negZero
			}
		}
		slices.Sort(pool[:n])
		for _, d := range []float32{-6, -5, -0.25, negZero, 0, 0.25, 1, 5, 6, inf, -inf} {
			want := sort.Search(n, func(i int) bool { return pool[i] > d })
			if got := min(poolCountLE(pool, d), n); got != want {
				t.Fatalf("n=%d d=%v: got %d, want %d", n, d, got, want)
			}
			if got := min(poolCountLEGo(pool, d), n); got != want {
				t.Fatalf("go n=%d d=%v: got %d, want %d", n, d, got, want)
			}
			if got := poolUpperBranchless(pool[:n], d); got != want {
				t.Fatalf("branchless n=%d d=%v: got %d, want %d", n, d, got, want)
			}
		}
	}
}

// poolUpperBranchless is the conditional-move binary search that lost to
// the plain one, kept to compare them (BenchmarkPoolCountLE).
func poolUpperBranchless(pool []float32, d float32) int {
	n := len(pool)
	if n == 0 {
		return 0
	}
	key := func(f float32) int64 {
		b := int32(math.Float32bits(f))
		return int64(b ^ (b >> 31 & 0x7fffffff))
	}
	kd := key(d + 0)
	base := 0
	for length := n; length > 1; {
		half := length >> 1
		le := int(uint64(key(pool[base+half])-kd-1) >> 63)
		base += half & -le
		length -= half
	}
	return base + int(uint64(key(pool[base])-kd-1)>>63)
}

// BenchmarkPoolCountLE: insert positions of random probes into a sorted
// pool of ef entries, as the beam search asks for them (a probe lands
// anywhere: on sift-5k at ef 128 a query makes ~200 inserts into the full
// pool, spread over all positions with a mild lean towards the end).
func BenchmarkPoolCountLE(b *testing.B) {
	for _, ef := range []int{16, 128, 256} {
		r := rand.New(rand.NewPCG(5, 6))
		pool := make([]float32, poolRound(ef))
		for i := range pool {
			pool[i] = r.Float32() * 1000
		}
		slices.Sort(pool)
		probes := make([]float32, 4096)
		for i := range probes {
			probes[i] = r.Float32() * 1000
		}
		for name, f := range map[string]func([]float32, float32) int{"branchless": poolUpperBranchless, "binary": poolCountLEGo, "simd": poolCountLE} {
			b.Run(fmt.Sprintf("ef=%d/%s", ef, name), func(b *testing.B) {
				s := 0
				for i := 0; b.Loop(); i++ {
					s += f(pool, probes[i&4095])
				}
				sink = s
			})
		}
	}
}

var sink int
