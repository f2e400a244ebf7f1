package distance

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// awkwardLengths exercise every path of the kernels: the 32-wide main loop,
// the 8-wide loop and the scalar tail, alone and combined.
var awkwardLengths = []int{1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 784, 1023, 1024}

func randVec(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (r.Float32()*2 - 1) * scale
	}
	return v
}

// close reports whether got matches want within a relative tolerance that
// allows for the kernels' different summation order.
func closeEnough(got, want, mag float32) bool {
	return math.Abs(float64(got-want)) <= 1e-5*float64(mag)+1e-6
}

// sumAbs bounds the magnitude of the partial sums, which sets the tolerance.
func sumAbs(f func(x, y float32) float32, a, b []float32) float32 {
	var s float32
	for i := range a {
		s += float32(math.Abs(float64(f(a[i], b[i]))))
	}
	return s
}

func TestFloatKernelsMatchReference(t *testing.T) {
	t.Logf("implementation: %s", Accelerated())
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range awkwardLengths {
		for _, off := range []int{0, 1, 3} { // unaligned starts
			for _, scale := range []float32{1, 255} {
				a := randVec(r, n+off, scale)[off:]
				b := randVec(r, n+off+2, scale)[off+1 : off+1+n]
				magL2 := sumAbs(func(x, y float32) float32 { return (x - y) * (x - y) }, a, b)
				magDot := sumAbs(func(x, y float32) float32 { return x * y }, a, b)
				if got, want := L2Sq(a, b), L2SqRef(a, b); !closeEnough(got, want, magL2) {
					t.Errorf("L2Sq n=%d off=%d scale=%g: got %g, want %g", n, off, scale, got, want)
				}
				if got, want := Dot(a, b), DotRef(a, b); !closeEnough(got, want, magDot) {
					t.Errorf("Dot n=%d off=%d scale=%g: got %g, want %g", n, off, scale, got, want)
				}
				c := make([]uint8, n+off)[off:]
				for i := range c {
					c[i] = uint8(r.UintN(256))
				}
				var magU8 float32
				for i := range a {
					magU8 += float32(math.Abs(float64(a[i]))) * float32(c[i])
				}
				if got, want := DotU8(a, c), DotU8Ref(a, c); !closeEnough(got, want, magU8) {
					t.Errorf("DotU8 n=%d off=%d: got %g, want %g", n, off, got, want)
				}
			}
		}
	}
}

func TestFloatKernelsExactOnIntegers(t *testing.T) {
	// Small integers sum exactly in float32 in any order: results must be equal.
	for _, n := range awkwardLengths {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = float32(i%7), float32((i*3)%5)
		}
		if got, want := L2Sq(a, b), L2SqRef(a, b); got != want {
			t.Errorf("L2Sq n=%d: got %g, want %g", n, got, want)
		}
		if got, want := Dot(a, b), DotRef(a, b); got != want {
			t.Errorf("Dot n=%d: got %g, want %g", n, got, want)
		}
	}
}

func TestEmptyAndFallback(t *testing.T) {
	if L2Sq(nil, nil) != 0 || Dot(nil, nil) != 0 || DotU8(nil, nil) != 0 {
		t.Fatal("empty vectors must score 0")
	}
	saved := hasAVX2
	defer func() { hasAVX2 = saved }()
	hasAVX2 = false
	a, b := []float32{1, 2, 3}, []float32{4, 6, 3}
	if L2Sq(a, b) != 25 || Dot(a, b) != 25 {
		t.Fatal("fallback kernels disagree with the reference")
	}
}

func TestBatchKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, d := range []int{1, 17, 100} {
		q := randVec(r, d, 1)
		rows := randVec(r, 13*d, 1)
		l2, dot := make([]float32, 13), make([]float32, 13)
		L2SqBatch(q, rows, l2)
		DotBatch(q, rows, dot)
		for i := range 13 {
			if l2[i] != L2Sq(q, rows[i*d:(i+1)*d]) || dot[i] != Dot(q, rows[i*d:(i+1)*d]) {
				t.Fatalf("d=%d row %d: batch differs from single", d, i)
			}
		}
	}
}

func TestBitKernelsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range append([]int{0}, awkwardLengths...) {
		a, b := make([]byte, n+1)[1:], make([]byte, n)
		for i := range a {
			a[i], b[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		if got, want := Hamming(a, b), HammingRef(a, b); got != want {
			t.Errorf("Hamming n=%d: got %d, want %d", n, got, want)
		}
		if got, want := Jaccard(a, b), JaccardRef(a, b); got != want {
			t.Errorf("Jaccard n=%d: got %g, want %g", n, got, want)
		}
	}
}

func BenchmarkL2Sq(b *testing.B)  { benchFloat(b, L2Sq, L2SqRef) }
func BenchmarkDot(b *testing.B)   { benchFloat(b, Dot, DotRef) }
func BenchmarkDotU8(b *testing.B) { benchU8(b) }

func benchFloat(b *testing.B, fast, ref func(a, b []float32) float32) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, d := range []int{100, 128, 768, 784, 1024} {
		x, y := randVec(r, d, 1), randVec(r, d, 1)
		for _, impl := range []struct {
			name string
			fn   func(a, b []float32) float32
		}{{Accelerated(), fast}, {"go", ref}} {
			b.Run(fmt.Sprintf("d=%d/%s", d, impl.name), func(b *testing.B) {
				b.ReportAllocs()
				var s float32
				c0 := processCPUNanos()
				for b.Loop() {
					s += impl.fn(x, y)
				}
				reportCPU(b, c0)
				_ = s
			})
		}
	}
}

func benchU8(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, d := range []int{100, 128, 784} {
		q := randVec(r, d, 1)
		c := make([]uint8, d)
		for i := range c {
			c[i] = uint8(r.UintN(256))
		}
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			b.ReportAllocs()
			var s float32
			c0 := processCPUNanos()
			for b.Loop() {
				s += DotU8(q, c)
			}
			reportCPU(b, c0)
			_ = s
		})
	}
}

func BenchmarkHamming(b *testing.B) {
	for _, n := range []int{16, 64, 256} {
		x, y := make([]byte, n), make([]byte, n)
		b.Run(fmt.Sprintf("bytes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			s := 0
			for b.Loop() {
				s += Hamming(x, y)
			}
			_ = s
		})
	}
}

func TestPrefetchIsHarmless(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 1000} {
		v := make([]float32, n)
		Prefetch(v)
		PrefetchBytes(make([]byte, n))
	}
}

// reportCPU adds the process CPU time per op since c0 as "cpu-ns/op".
func reportCPU(b *testing.B, c0 int64) {
	if c1 := processCPUNanos(); c1 > c0 && b.N > 0 {
		b.ReportMetric(float64(c1-c0)/float64(b.N), "cpu-ns/op")
	}
}
