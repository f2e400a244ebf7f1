//go:build amd64 && !purego

package distance

// l2sqRowsAVX2 writes out[i] = l2sqAVX2(q, base+ids[i]*d, d) for i < n.
//
//go:noescape
func l2sqRowsAVX2(q, base *float32, ids *uint32, n, d int, out *float32)

// dotRowsAVX2 writes out[i] = dotAVX2(q, base+ids[i]*d, d) for i < n.
//
//go:noescape
func dotRowsAVX2(q, base *float32, ids *uint32, n, d int, out *float32)

// l2sqRowsAVX512 is l2sqRowsAVX2 with the AVX-512 kernel body.
//
//go:noescape
func l2sqRowsAVX512(q, base *float32, ids *uint32, n, d int, out *float32)

// dotRowsAVX512 is dotRowsAVX2 with the AVX-512 kernel body.
//
//go:noescape
func dotRowsAVX512(q, base *float32, ids *uint32, n, d int, out *float32)
