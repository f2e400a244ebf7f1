//go:build !amd64 || purego

package distance

func l2sqRowsAVX2(q, base *float32, ids *uint32, n, d int, out *float32) {
	panic("distance: no AVX2 kernels in this build")
}

func dotRowsAVX2(q, base *float32, ids *uint32, n, d int, out *float32) {
	panic("distance: no AVX2 kernels in this build")
}

func l2sqRowsAVX512(q, base *float32, ids *uint32, n, d int, out *float32) {
	panic("distance: no AVX-512 kernels in this build")
}

func dotRowsAVX512(q, base *float32, ids *uint32, n, d int, out *float32) {
	panic("distance: no AVX-512 kernels in this build")
}
