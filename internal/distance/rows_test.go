package distance

import (
	"math/rand/v2"
	"testing"
)

// The row kernels must give exactly the single kernels' results, row by row,
// for every length (the tails) and any ids, including repeats.
func TestRowKernelsMatchSingle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, d := range []int{1, 3, 7, 8, 9, 15, 16, 31, 32, 33, 64, 100, 128, 129, 784} {
		const n = 37
		base := make([]float32, n*d)
		for i := range base {
			base[i] = rng.Float32()*2 - 1
		}
		q := make([]float32, d)
		for i := range q {
			q[i] = rng.Float32()*2 - 1
		}
		for _, k := range []int{0, 1, 2, 5, 32} {
			ids := make([]uint32, k)
			for i := range ids {
				ids[i] = uint32(rng.IntN(n))
			}
			out := make([]float32, k+1)
			out[k] = 42
			L2SqRows(q, base, ids, out)
			for i, id := range ids {
				if want := L2Sq(q, base[int(id)*d:int(id+1)*d]); out[i] != want {
					t.Fatalf("L2SqRows d=%d row %d: %v, L2Sq %v", d, i, out[i], want)
				}
			}
			DotRows(q, base, ids, out)
			for i, id := range ids {
				if want := Dot(q, base[int(id)*d:int(id+1)*d]); out[i] != want {
					t.Fatalf("DotRows d=%d row %d: %v, Dot %v", d, i, out[i], want)
				}
			}
			if out[k] != 42 {
				t.Fatalf("d=%d k=%d: wrote past the ids", d, k)
			}
		}
	}
}

func TestRowKernelsRejectBadIDs(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("an id past the slab did not panic")
		}
	}()
	L2SqRows(make([]float32, 4), make([]float32, 8), []uint32{2}, make([]float32, 1))
}

func BenchmarkL2SqRows(b *testing.B) {
	for _, d := range []int{100, 128, 784} {
		const n = 4096
		base := make([]float32, n*d)
		for i := range base {
			base[i] = float32(i%13) * 0.1
		}
		q := base[:d]
		ids := make([]uint32, 32)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range ids {
			ids[i] = uint32(rng.IntN(n))
		}
		out := make([]float32, len(ids))
		b.Run(itoa(d)+"/rows", func(b *testing.B) {
			for range b.N {
				L2SqRows(q, base, ids, out)
			}
		})
		b.Run(itoa(d)+"/single", func(b *testing.B) {
			for range b.N {
				for i, id := range ids {
					out[i] = L2Sq(q, base[int(id)*d:int(id+1)*d])
				}
			}
		})
	}
}

func itoa(d int) string {
	s := ""
	for ; d > 0; d /= 10 {
		s = string(rune('0'+d%10)) + s
	}
	return s
}
