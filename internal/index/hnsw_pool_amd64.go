//go:build amd64 && !purego

package index

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// poolHasAVX2 is true when poolCountLEAVX2 may run.
var poolHasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasPOPCNT

// poolCountLEAVX2 returns how many of v[:n] are <= x (n a multiple of 16):
// eight lanes compared at once, the mask counted with POPCNT.
//
//go:noescape
func poolCountLEAVX2(v *float32, n int, x float32) int

// poolCountLE returns how many of v (len a multiple of poolPad) are <= x.
func poolCountLE(v []float32, x float32) int {
	if poolHasAVX2 {
		return poolCountLEAVX2(unsafe.SliceData(v), len(v), x)
	}
	return poolCountLEGo(v, x)
}
