package storage

import (
	"bytes"
	"slices"
	"testing"

	"github.com/milvago/milvago/internal/column"
)

// TestFloatVectorChunksFileReleasing: the file is EncodeColumn's, and each
// chunk is released once it has been read, in order, by the checksum pass
// and by every WriteTo.
func TestFloatVectorChunksFileReleasing(t *testing.T) {
	var chunks []column.Column
	for n := range 4 {
		v := &column.FloatVector{Dim: 8, Data: make([]float32, (n+1)*8)}
		for i := range v.Data {
			v.Data[i] = float32(n*1000 + i)
		}
		chunks = append(chunks, v)
	}
	want, err := EncodeColumn(column.Concat(chunks))
	if err != nil {
		t.Fatal(err)
	}
	var released []int
	f, ok := NewFloatVectorChunksFileReleasing(chunks, func(i int) { released = append(released, i) })
	if !ok {
		t.Fatal("refused float chunks")
	}
	if !slices.Equal(released, []int{0, 1, 2, 3}) {
		t.Fatalf("checksum pass released %v", released)
	}
	for pass := range 2 {
		released = nil
		var b bytes.Buffer
		if _, err := f.WriteTo(&b); err != nil || !bytes.Equal(b.Bytes(), want) {
			t.Fatalf("pass %d: %d bytes (%v), want EncodeColumn's %d", pass, b.Len(), err, len(want))
		}
		if !slices.Equal(released, []int{0, 1, 2, 3}) {
			t.Fatalf("pass %d released %v", pass, released)
		}
	}
}
