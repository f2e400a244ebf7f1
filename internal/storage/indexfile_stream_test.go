package storage

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

type bytesWriterTo []byte

func (b bytesWriterTo) WriteTo(w io.Writer) (int64, error) {
	// In pieces, as an index serializes section by section.
	var n int64
	for p := []byte(b); len(p) > 0; {
		k := min(len(p), 7)
		m, err := w.Write(p[:k])
		n += int64(m)
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// TestSealedIndexMatchesSeal: the streamed file is byte for byte what
// SealIndexFile makes, its size is known in advance, and it opens.
func TestSealedIndexMatchesSeal(t *testing.T) {
	for _, payload := range [][]byte{{}, []byte("MVGINDEX and some index bytes"), bytes.Repeat([]byte{1, 2, 3}, 10000)} {
		want := SealIndexFile(bytes.Clone(payload))
		var got bytes.Buffer
		n, err := SealedIndex{Index: bytesWriterTo(payload)}.WriteTo(&got)
		if err != nil || n != int64(got.Len()) {
			t.Fatalf("WriteTo: %d bytes, %v (buffer holds %d)", n, err, got.Len())
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("streamed file differs from SealIndexFile's (%d vs %d bytes)", got.Len(), len(want))
		}
		size, err := SealedIndexSize(bytesWriterTo(payload))
		if err != nil || size != int64(len(want)) {
			t.Fatalf("SealedIndexSize = %d, %v; want %d", size, err, len(want))
		}
		back, legacy, err := OpenIndexFile(got.Bytes())
		if err != nil || legacy || !bytes.Equal(back, payload) {
			t.Fatalf("OpenIndexFile: legacy %v, %v", legacy, err)
		}
	}
}

type failingWriterTo struct{}

var errSerialize = errors.New("serialize failed")

func (failingWriterTo) WriteTo(w io.Writer) (int64, error) {
	w.Write([]byte("partial"))
	return 7, errSerialize
}

func TestSealedIndexError(t *testing.T) {
	var got bytes.Buffer
	if _, err := (SealedIndex{Index: failingWriterTo{}}).WriteTo(&got); !errors.Is(err, errSerialize) {
		t.Fatalf("err = %v", err)
	}
	if _, err := SealedIndexSize(failingWriterTo{}); !errors.Is(err, errSerialize) {
		t.Fatalf("size err = %v", err)
	}
}
