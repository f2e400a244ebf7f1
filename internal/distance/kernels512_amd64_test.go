//go:build amd64 && !purego

package distance

import "testing"

// On a CPU with AVX-512 the package uses those kernels, so the other tests
// cover them; this runs the same checks again on the AVX2 family (and on
// an AVX2-only CPU it is the plain run once more).
func TestAVX2KernelsWhereAVX512IsUsed(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2 on this CPU")
	}
	t.Logf("AVX-512 in use: %v", hasAVX512)
	saved := hasAVX512
	hasAVX512 = false
	defer func() { hasAVX512 = saved }()
	t.Run("reference", TestFloatKernelsMatchReference)
	t.Run("integers", TestFloatKernelsExactOnIntegers)
	t.Run("rows", TestRowKernelsMatchSingle)
}
