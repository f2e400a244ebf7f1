package storage

import (
	"errors"
	"slices"
	"testing"

	"github.com/milvago/milvago/internal/column"
)

// TestChecksumPassReportsProgress: DecodeColumnPaging and
// OpenIndexFilePaging decode as DecodeColumn and OpenIndexFile do, report
// the checksum pass's progress chunk by chunk, in increasing offsets of
// the file, up to its end (the payload's end for an index file), and still
// refuse a corrupt file.
func TestChecksumPassReportsProgress(t *testing.T) {
	const dim = 128
	rows := (2*pagingChunk + 12345) / (dim * 4)
	vecs := make([]float32, rows*dim)
	for i := range vecs {
		vecs[i] = float32(i % 1000)
	}
	file, err := EncodeColumn(&column.FloatVector{Dim: dim, Data: vecs})
	if err != nil {
		t.Fatal(err)
	}
	var reads []int
	c, err := DecodeColumnPaging(file, func(n int) { reads = append(reads, n) })
	if err != nil {
		t.Fatal(err)
	}
	if got := c.(*column.FloatVector); got.Dim != dim || !slices.Equal(got.Data, vecs) {
		t.Fatal("DecodeColumnPaging decoded other vectors than were encoded")
	}
	want := []int{headerSize + pagingChunk, headerSize + 2*pagingChunk, len(file)}
	if !slices.Equal(reads, want) {
		t.Fatalf("binlog of %d bytes: reads reported at %v, want %v", len(file), reads, want)
	}
	bad := slices.Clone(file)
	bad[len(bad)-3] ^= 1
	if _, err := DecodeColumnPaging(bad, func(int) {}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt binlog: %v, want ErrCorrupt", err)
	}

	payload := append(append([]byte{}, legacyIndexMagic[:]...), file...)
	sealed := SealIndexFile(slices.Clone(payload))
	reads = nil
	got, legacy, err := OpenIndexFilePaging(sealed, func(n int) { reads = append(reads, n) })
	if err != nil || legacy || !slices.Equal(got, payload) {
		t.Fatalf("OpenIndexFilePaging: legacy %v, err %v, payload equal %v", legacy, err, slices.Equal(got, payload))
	}
	if want := []int{pagingChunk, 2 * pagingChunk, len(payload)}; !slices.Equal(reads, want) {
		t.Fatalf("index file: reads reported at %v, want %v", reads, want)
	}
	sealed[10] ^= 1
	if _, _, err := OpenIndexFilePaging(sealed, func(int) {}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt index file: %v, want ErrCorrupt", err)
	}
}
