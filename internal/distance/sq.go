package distance

import "unsafe"

// DotU8 returns sum(q[i] * float32(c[i])) (len(c) == len(q)). It is the inner
// loop of scalar-quantised (SQ8) scoring: with codes c decoding to
// x[i] = vmin[i] + c[i]*scale[i], a query prepared as qs[i] = q[i]*scale[i]
// gives q·x = q·vmin + DotU8(qs, c).
func DotU8(q []float32, c []uint8) float32 {
	if hasAVX2 && len(q) > 0 {
		_ = c[len(q)-1]
		return dotU8AVX2(unsafe.SliceData(q), unsafe.SliceData(c), len(q))
	}
	return DotU8Ref(q, c)
}

// DotU8Ref is the pure-Go reference for DotU8.
func DotU8Ref(q []float32, c []uint8) float32 {
	var s float32
	c = c[:len(q)]
	for i := range q {
		s += q[i] * float32(c[i])
	}
	return s
}
