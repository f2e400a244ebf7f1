package index

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSCANNTableKernels checks that the AVX-512 per-query table (2-value
// sub-vectors) equals the Go loop bit for bit: float table, bias, scale and
// the quantized table, for odd and even m, with exact ties, zeros and a
// constant sub-quantizer (span 0 on one table).
func TestSCANNTableKernels(t *testing.T) {
	if !scannHasAVX512 {
		t.Skip("no AVX-512 here")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, m := range []int{1, 2, 3, 7, 50, 51, 392} {
		d := 2 * m
		pq := newPQCodec(d, m, 4)
		pq.codebooks = make([]float32, m*scannKsub*2)
		for i := range pq.codebooks {
			pq.codebooks[i] = float32(r.NormFloat64())
		}
		copy(pq.codebooks[2:4], pq.codebooks[0:2]) // a tie in table 0
		if m > 2 {
			clear(pq.codebooks[2*scannKsub*2 : 3*scannKsub*2]) // table 2: all entries 0
		}
		s := &scann{dim: d, pq: pq}
		for trial := range 20 {
			q := make([]float32, d)
			for i := range q {
				q[i] = float32(r.NormFloat64() * 3)
			}
			if trial == 1 {
				clear(q) // every entry -0: span 0
			}
			a, b := s.getScratch(), s.getScratch()
			biasA, invA := s.quantizeTableGo(q, a)
			biasB, invB := s.quantizeTableDS2AVX512(q, b)
			if math.Float32bits(biasA) != math.Float32bits(biasB) || math.Float32bits(invA) != math.Float32bits(invB) {
				t.Fatalf("m=%d trial %d: Go bias %g inv %g, AVX-512 bias %g inv %g", m, trial, biasA, invA, biasB, invB)
			}
			for i := range a.table[:m*scannKsub] {
				if math.Float32bits(a.table[i]) != math.Float32bits(b.table[i]) {
					t.Fatalf("m=%d trial %d: table[%d] Go %g, AVX-512 %g", m, trial, i, a.table[i], b.table[i])
				}
			}
			if !slices.Equal(a.lut, b.lut) {
				t.Fatalf("m=%d trial %d: quantized tables differ:\nGo      %v\nAVX-512 %v", m, trial, a.lut, b.lut)
			}
		}
	}
}

// BenchmarkSCANNTable times the per-query table for fashion-mnist's shape
// (d=784, m=392) with the Go loop and the AVX-512 kernels.
func BenchmarkSCANNTable(b *testing.B) {
	const m = 392
	r := rand.New(rand.NewPCG(1, 2))
	pq := newPQCodec(2*m, m, 4)
	pq.codebooks = make([]float32, m*scannKsub*2)
	for i := range pq.codebooks {
		pq.codebooks[i] = float32(r.NormFloat64())
	}
	s := &scann{dim: 2 * m, pq: pq}
	q := make([]float32, 2*m)
	for i := range q {
		q[i] = float32(r.NormFloat64())
	}
	sc := s.getScratch()
	b.Run("go", func(b *testing.B) {
		for range b.N {
			s.quantizeTableGo(q, sc)
		}
	})
	if scannHasAVX512 {
		b.Run("avx512", func(b *testing.B) {
			for range b.N {
				s.quantizeTableDS2AVX512(q, sc)
			}
		})
	}
}
