package distance

import (
	"encoding/binary"
	"math/bits"
)

// hammingWords is Hamming over 64-bit words; the compiler turns
// bits.OnesCount64 into POPCNT on amd64.
func hammingWords(a, b []byte) int {
	b = b[:len(a)]
	n, i := 0, 0
	for ; i+32 <= len(a); i += 32 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(a[i:])^binary.LittleEndian.Uint64(b[i:])) +
			bits.OnesCount64(binary.LittleEndian.Uint64(a[i+8:])^binary.LittleEndian.Uint64(b[i+8:])) +
			bits.OnesCount64(binary.LittleEndian.Uint64(a[i+16:])^binary.LittleEndian.Uint64(b[i+16:])) +
			bits.OnesCount64(binary.LittleEndian.Uint64(a[i+24:])^binary.LittleEndian.Uint64(b[i+24:]))
	}
	for ; i+8 <= len(a); i += 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]))
	}
	for ; i < len(a); i++ {
		n += bits.OnesCount8(a[i] ^ b[i])
	}
	return n
}

// jaccardWords is Jaccard over 64-bit words.
func jaccardWords(a, b []byte) float32 {
	b = b[:len(a)]
	var inter, union, i int
	for ; i+8 <= len(a); i += 8 {
		x, y := binary.LittleEndian.Uint64(a[i:]), binary.LittleEndian.Uint64(b[i:])
		inter += bits.OnesCount64(x & y)
		union += bits.OnesCount64(x | y)
	}
	for ; i < len(a); i++ {
		inter += bits.OnesCount8(a[i] & b[i])
		union += bits.OnesCount8(a[i] | b[i])
	}
	if union == 0 {
		return 0
	}
	return 1 - float32(inter)/float32(union)
}
