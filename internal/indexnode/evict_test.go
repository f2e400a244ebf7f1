package indexnode

import (
	"testing"
	"unsafe"

	"github.com/milvago/milvago/internal/index"
)

// TestAliases tells a data set viewing a mapped file from one copied out
// of it.
func TestAliases(t *testing.T) {
	file := make([]byte, 64)
	view := unsafe.Slice((*float32)(unsafe.Pointer(&file[16])), 8)
	if !aliases(file, index.Dataset{Dim: 8, Float: view}) {
		t.Error("a view into the file does not alias it")
	}
	if aliases(file, index.Dataset{Dim: 8, Float: make([]float32, 8)}) {
		t.Error("a copy aliases the file")
	}
	if !aliases(file, index.Dataset{Dim: 8, Binary: file[8:16]}) {
		t.Error("a binary view into the file does not alias it")
	}
	if aliases(nil, index.Dataset{Dim: 8, Float: view}) {
		t.Error("vectors alias an empty file")
	}
}
