// Package distance holds the vector distance kernels every index uses.
//
// Each exported function dispatches to the fastest implementation the CPU
// supports (AVX-512, AVX2+FMA, or the pure-Go reference), chosen once at
// start-up. The pure-Go references in reference.go are the specification: every
// assembly kernel is tested against them on awkward lengths.
package distance

// L2Sq returns the squared Euclidean distance between a and b (len(a) == len(b)).
func L2Sq(a, b []float32) float32 { return l2sqImpl(a, b) }

// Dot returns the inner product of a and b (len(a) == len(b)).
func Dot(a, b []float32) float32 { return dotImpl(a, b) }

// Hamming returns the number of differing bits between a and b (len(a) == len(b)).
func Hamming(a, b []byte) int { return hammingImpl(a, b) }

// Jaccard returns the Jaccard distance 1 - |a&b|/|a|b| between bit vectors.
// Two all-zero vectors are at distance 0.
func Jaccard(a, b []byte) float32 { return jaccardImpl(a, b) }

var (
	l2sqImpl    = L2SqRef
	dotImpl     = DotRef
	hammingImpl = HammingRef
	jaccardImpl = JaccardRef
)
