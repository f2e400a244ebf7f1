package distance

import "math"

// Float16ToFloat32 converts an IEEE 754 binary16 value (Milvus FLOAT16_VECTOR)
// to float32, exactly.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = mant * 2^-24.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	default:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	}
}

// Float32ToFloat16 converts f to binary16 with round-to-nearest-even;
// values beyond the binary16 range become infinities.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff { // inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		rest := mant & (1<<shift - 1)
		m := mant >> shift
		if rest > half || (rest == half && m&1 == 1) {
			m++
		}
		return sign | uint16(m)
	}
	m := mant >> 13
	rest := mant & 0x1fff
	out := uint32(e)<<10 | m
	if rest > 0x1000 || (rest == 0x1000 && m&1 == 1) {
		out++ // may carry into the exponent, which is the right answer
	}
	return sign | uint16(out)
}

// BFloat16ToFloat32 converts a bfloat16 value (Milvus BFLOAT16_VECTOR) to float32, exactly.
func BFloat16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBFloat16 converts f to bfloat16 with round-to-nearest-even.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7f800000 == 0x7f800000 && b&0x7fffff != 0 {
		return uint16(b>>16) | 0x40 // quiet NaN
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// Float16sToFloat32s decodes little-endian binary16 values from src into dst
// (len(dst) == len(src)/2).
func Float16sToFloat32s(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = Float16ToFloat32(uint16(src[2*i]) | uint16(src[2*i+1])<<8)
	}
}

// BFloat16sToFloat32s decodes little-endian bfloat16 values from src into dst
// (len(dst) == len(src)/2).
func BFloat16sToFloat32s(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = BFloat16ToFloat32(uint16(src[2*i]) | uint16(src[2*i+1])<<8)
	}
}

// Int8sToFloat32s widens Milvus INT8_VECTOR values into dst (len(dst) == len(src)).
func Int8sToFloat32s(dst []float32, src []int8) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = float32(src[i])
	}
}
