package distance

import (
	"math"
	"math/bits"
)

// L2SqRef is the pure-Go reference for L2Sq.
func L2SqRef(a, b []float32) float32 {
	var s float32
	b = b[:len(a)]
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// DotRef is the pure-Go reference for Dot.
func DotRef(a, b []float32) float32 {
	var s float32
	b = b[:len(a)]
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// HammingRef is the pure-Go reference for Hamming.
func HammingRef(a, b []byte) int {
	n := 0
	b = b[:len(a)]
	for i := range a {
		n += bits.OnesCount8(a[i] ^ b[i])
	}
	return n
}

// JaccardRef is the pure-Go reference for Jaccard.
func JaccardRef(a, b []byte) float32 {
	var inter, union int
	b = b[:len(a)]
	for i := range a {
		inter += bits.OnesCount8(a[i] & b[i])
		union += bits.OnesCount8(a[i] | b[i])
	}
	if union == 0 {
		return 0
	}
	return 1 - float32(inter)/float32(union)
}

// Norm returns the Euclidean norm of a.
func Norm(a []float32) float32 { return float32(math.Sqrt(float64(Dot(a, a)))) }

// Normalize scales a in place to unit length; a zero vector is left as is.
func Normalize(a []float32) {
	n := Norm(a)
	if n == 0 {
		return
	}
	inv := 1 / n
	for i := range a {
		a[i] *= inv
	}
}
