package segment

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRadixSortInt64(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	f := func(n int, gen func() int64) {
		t.Helper()
		rows := make([]keyedRow[int64], n)
		for i := range rows {
			rows[i] = keyedRow[int64]{gen(), int32(i)}
		}
		want := slices.Clone(rows)
		slices.SortFunc(want, compareKeyed[int64])
		radixSortInt64(rows)
		if !slices.Equal(rows, want) {
			t.Fatalf("n=%d: radix order differs from (key, offset) order", n)
		}
	}
	for _, n := range []int{0, 1, 7, 255, 256, 1000, 5000} {
		f(n, func() int64 { return rng.Int64N(50) - 25 })                  // negatives, many duplicates
		f(n, func() int64 { return int64(rng.Uint64()) })                  // full range
		f(n, func() int64 { return 460000000000000000 + rng.Int64N(1e6) }) // auto IDs: shared high bytes
		f(n, func() int64 { return []int64{math.MinInt64, math.MaxInt64, 0, -1}[rng.IntN(4)] })
	}
}
