//go:build amd64 && !purego

package index

import "golang.org/x/sys/cpu"

// fsHasAVX2 is true when the fast-scan kernel in scann_kernel_amd64.s may run.
var fsHasAVX2 = cpu.X86.HasAVX2

// fsScanAVX2 is fsScanGo in AVX2 (VPSHUFB look-ups, VPADDUSW sums).
//
//go:noescape
func fsScanAVX2(codes, lut *byte, nblocks, m2 int, out *uint16)
