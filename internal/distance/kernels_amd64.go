//go:build amd64 && !purego

package distance

import (
	"os"

	"golang.org/x/sys/cpu"
)

// hasAVX2 is true when the AVX2+FMA kernels in kernels_amd64.s may run.
// It is decided once, at start-up, from CPUID.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// l2sqAVX2 returns sum((a[i]-b[i])^2) for i < n.
//
//go:noescape
func l2sqAVX2(a, b *float32, n int) float32

// dotAVX2 returns sum(a[i]*b[i]) for i < n.
//
//go:noescape
func dotAVX2(a, b *float32, n int) float32

// dotU8AVX2 returns sum(q[i]*float32(c[i])) for i < n.
//
//go:noescape
func dotU8AVX2(q *float32, c *uint8, n int) float32

// prefetchAMD64 prefetches the cache lines of [p, p+n) into L1.
//
//go:noescape
func prefetchAMD64(p *byte, n int)

// hasAVX512 is true when the AVX-512F kernels (kernels512_amd64.s) run
// instead of the AVX2 ones: the CPU has AVX-512F and the OS saves the ZMM
// state (x/sys/cpu checks both). MILVAGO_NO_AVX512=1 turns them off.
var hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F && os.Getenv("MILVAGO_NO_AVX512") == ""

// l2sqAVX512 returns sum((a[i]-b[i])^2) for i < n.
//
//go:noescape
func l2sqAVX512(a, b *float32, n int) float32

// dotAVX512 returns sum(a[i]*b[i]) for i < n.
//
//go:noescape
func dotAVX512(a, b *float32, n int) float32
