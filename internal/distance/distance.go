// Package distance holds the vector distance kernels every index uses.
//
// Each exported function dispatches to the fastest implementation the CPU
// supports, chosen once at start-up: hand-written AVX2+FMA assembly
// (kernels_amd64.s) on amd64 CPUs that have both features, the pure-Go
// reference otherwise (and always under the "purego" build tag). The pure-Go
// references in reference.go are the specification: every assembly kernel is
// tested against them on awkward lengths and unaligned slices.
//
// L2Sq and Dot (and their row forms) also have AVX-512F kernels
// (kernels512_amd64.s), used when the CPU and OS support them; the tests run
// both families against the references wherever the CPU has them.
package distance

import "unsafe"

// L2Sq returns the squared Euclidean distance between a and b (len(a) == len(b)).
func L2Sq(a, b []float32) float32 {
	if hasAVX2 && len(a) > 0 {
		_ = b[len(a)-1]
		if hasAVX512 {
			return l2sqAVX512(unsafe.SliceData(a), unsafe.SliceData(b), len(a))
		}
		return l2sqAVX2(unsafe.SliceData(a), unsafe.SliceData(b), len(a))
	}
	return L2SqRef(a, b)
}

// Dot returns the inner product of a and b (len(a) == len(b)).
func Dot(a, b []float32) float32 {
	if hasAVX2 && len(a) > 0 {
		_ = b[len(a)-1]
		if hasAVX512 {
			return dotAVX512(unsafe.SliceData(a), unsafe.SliceData(b), len(a))
		}
		return dotAVX2(unsafe.SliceData(a), unsafe.SliceData(b), len(a))
	}
	return DotRef(a, b)
}

// Hamming returns the number of differing bits between a and b (len(a) == len(b)).
func Hamming(a, b []byte) int { return hammingWords(a, b) }

// Jaccard returns the Jaccard distance 1 - |a&b|/|a|b| between bit vectors.
// Two all-zero vectors are at distance 0.
func Jaccard(a, b []byte) float32 { return jaccardWords(a, b) }

// Accelerated reports which implementation the float kernels use:
// "avx512", "avx2+fma" or "go".
func Accelerated() string {
	if hasAVX512 {
		return "avx512"
	}
	if hasAVX2 {
		return "avx2+fma"
	}
	return "go"
}
