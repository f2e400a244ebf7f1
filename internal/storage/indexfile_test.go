package storage

import (
	"bytes"
	"errors"
	"testing"
)

func TestIndexFileRoundTrip(t *testing.T) {
	payload := append(append([]byte{}, legacyIndexMagic[:]...), bytes.Repeat([]byte{7, 1, 9}, 1000)...)
	file := SealIndexFile(append([]byte{}, payload...))
	got, legacy, err := OpenIndexFile(file)
	if err != nil || legacy {
		t.Fatalf("OpenIndexFile: legacy %v, err %v", legacy, err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("payload differs")
	}
	if &got[0] != &file[0] {
		t.Fatal("payload is a copy, want a view of the file")
	}
}

// Every single-byte flip anywhere in the file, payload or trailer, is
// detected.
func TestIndexFileDetectsEveryByteFlip(t *testing.T) {
	payload := append(append([]byte{}, legacyIndexMagic[:]...), bytes.Repeat([]byte("hnsw graph "), 30)...)
	file := SealIndexFile(append([]byte{}, payload...))
	for i := range file {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := append([]byte{}, file...)
			bad[i] ^= mask
			if _, legacy, err := OpenIndexFile(bad); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flip %#x at byte %d of %d: legacy %v, err %v", mask, i, len(file), legacy, err)
			}
		}
	}
}

func TestIndexFileTruncatedOrExtended(t *testing.T) {
	file := SealIndexFile(append(append([]byte{}, legacyIndexMagic[:]...), make([]byte, 100)...))
	for _, bad := range [][]byte{file[:len(file)-1], file[:10], file[1:], append(append([]byte{}, file...), 0), {}} {
		if _, _, err := OpenIndexFile(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%d bytes: err %v, want ErrCorrupt", len(bad), err)
		}
	}
}

func TestIndexFileLegacy(t *testing.T) {
	old := append(append([]byte{}, legacyIndexMagic[:]...), bytes.Repeat([]byte{3}, 64)...)
	got, legacy, err := OpenIndexFile(old)
	if err != nil || !legacy || !bytes.Equal(got, old) {
		t.Fatalf("legacy file: legacy %v, err %v", legacy, err)
	}
	if _, _, err := OpenIndexFile([]byte("not an index at all, long enough for a trailer")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("garbage: err %v", err)
	}
}
