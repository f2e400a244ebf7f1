//go:build !amd64 || purego

package index

// fsHasAVX2 is false where no assembly kernel exists; fsScanGo runs.
var fsHasAVX2 = false

func fsScanAVX2(codes, lut *byte, nblocks, m2 int, out *uint16) {
	panic("index: no AVX2 fast-scan kernel in this build")
}
