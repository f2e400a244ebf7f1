package storage

import (
	"bytes"
	"testing"

	"github.com/milvago/milvago/internal/column"
)

func TestEncodeFloatVectorChunksMatchesConcat(t *testing.T) {
	mk := func(rows, dim int, seed float32) *column.FloatVector {
		v := &column.FloatVector{Dim: dim, Data: make([]float32, rows*dim)}
		for i := range v.Data {
			v.Data[i] = seed + float32(i)
		}
		return v
	}
	for _, dim := range []int{3, 128} {
		// Chunks larger than the checksum's piece size, and odd sizes
		// that need padding.
		chunks := []column.Column{mk(1, dim, 0), mk(crcChunk/(4*dim)+7, dim, 1e6), mk(5, dim, 2e6)}
		want, err := EncodeColumn(column.Concat(chunks))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := EncodeFloatVectorChunks(chunks)
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("dim %d: ok %v, %d bytes; want EncodeColumn's %d bytes, identical", dim, ok, len(got), len(want))
		}
		f, ok := NewFloatVectorChunksFile(chunks)
		var streamed bytes.Buffer
		if !ok {
			t.Fatal("NewFloatVectorChunksFile refused float chunks")
		}
		if n, err := f.WriteTo(&streamed); err != nil || n != f.Size() || !bytes.Equal(streamed.Bytes(), want) {
			t.Fatalf("dim %d: streamed %d bytes (%v), Size %d; want EncodeColumn's %d bytes, identical", dim, n, err, f.Size(), len(want))
		}
		back, err := DecodeColumn(got)
		if err != nil || back.Len() != 1+crcChunk/(4*dim)+7+5 {
			t.Fatalf("decode: %v", err)
		}
	}
	nullable := &column.FloatVector{Dim: 2, Data: []float32{1, 2}, Valid: []bool{true}}
	for _, chunks := range [][]column.Column{nil, {nullable}, {mk(1, 2, 0), mk(1, 4, 0)}, {&column.Scalar[int64]{}}} {
		if _, ok := NewFloatVectorChunksFile(chunks); ok {
			t.Fatalf("streams chunks it must leave to EncodeColumn: %v", chunks)
		}
		if _, ok := EncodeFloatVectorChunks(chunks); ok {
			t.Fatalf("encoded chunks it must leave to EncodeColumn: %v", chunks)
		}
	}
}
