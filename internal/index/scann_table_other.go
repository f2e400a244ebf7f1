//go:build !amd64 || purego

package index

const scannHasAVX512 = false

func scannTableDS2AVX512(q, cb *float32, m int, tab, lo, hi *float32) {
	panic("unreachable")
}

func scannQuantizeAVX512(tab, lo *float32, m int, a float32, lut *byte) {
	panic("unreachable")
}
