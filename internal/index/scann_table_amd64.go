//go:build amd64 && !purego

package index

import (
	"os"

	"golang.org/x/sys/cpu"
)

// scannHasAVX512 is true when the AVX-512F table kernels in
// scann_table_amd64.s may run (CPU and OS support, as internal/distance
// checks; MILVAGO_NO_AVX512=1 turns them off there and here).
var scannHasAVX512 = cpu.X86.HasAVX512F && os.Getenv("MILVAGO_NO_AVX512") == ""

// scannTableDS2AVX512 is the table loop of quantizeTable for 2-value
// sub-vectors, with each table's minimum and maximum.
//
//go:noescape
func scannTableDS2AVX512(q, cb *float32, m int, tab, lo, hi *float32)

// scannQuantizeAVX512 is the quantization loop of quantizeTable.
//
//go:noescape
func scannQuantizeAVX512(tab, lo *float32, m int, a float32, lut *byte)
