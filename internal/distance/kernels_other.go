//go:build !amd64 || purego

package distance

// hasAVX2 is false where no assembly kernels exist; the pure-Go references run.
var hasAVX2 = false

func l2sqAVX2(a, b *float32, n int) float32         { panic("distance: no AVX2 kernels in this build") }
func dotAVX2(a, b *float32, n int) float32          { panic("distance: no AVX2 kernels in this build") }
func dotU8AVX2(q *float32, c *uint8, n int) float32 { panic("distance: no AVX2 kernels in this build") }

func prefetchAMD64(p *byte, n int) {}

var hasAVX512 = false

func l2sqAVX512(a, b *float32, n int) float32 { panic("distance: no AVX-512 kernels in this build") }
func dotAVX512(a, b *float32, n int) float32  { panic("distance: no AVX-512 kernels in this build") }
