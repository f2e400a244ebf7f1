package storage

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// An index file is the index's own serialization (internal/index, any
// type, vector or scalar) followed by a fixed trailer that checksums it, so
// a damaged index file is detected when it is loaded, as a binlog is. The
// trailer comes last so that the index bytes keep their offsets and
// alignment inside a memory-mapped file (loaders view vectors in place):
//
//	payload    [n]byte  the index as index.Index.WriteTo wrote it
//	magic      [8]byte  "MVGIDXF1"
//	payloadLen uint64   n
//	payloadCRC uint32   CRC-32C of payload
//	trailerCRC uint32   CRC-32C of the 20 bytes before it
//
// Every integer is little-endian. See docs/format/index.md.
const indexTrailerSize = 24

var magicIndexFile = [8]byte{'M', 'V', 'G', 'I', 'D', 'X', 'F', '1'}

// legacyIndexMagic starts an index written before index files had a
// trailer (internal/index's header magic).
var legacyIndexMagic = [8]byte{'M', 'V', 'G', 'I', 'N', 'D', 'E', 'X'}

// SealIndexFile appends the checksum trailer to a serialized index and
// returns the file to store. It appends to payload's backing array when it
// has room.
func SealIndexFile(payload []byte) []byte {
	var t [indexTrailerSize]byte
	copy(t[:8], magicIndexFile[:])
	le := binary.LittleEndian
	le.PutUint64(t[8:], uint64(len(payload)))
	le.PutUint32(t[16:], crc32.Checksum(payload, castagnoli))
	le.PutUint32(t[20:], crc32.Checksum(t[:20], castagnoli))
	return append(payload, t[:]...)
}

// OpenIndexFile verifies an index file's trailer and returns the index's
// bytes (a sub-slice of file, not a copy). A file that fails the check is
// ErrCorrupt. legacy reports a file written before index files had a
// trailer: it starts with the index header and carries no trailer magic,
// so it cannot be verified (its bytes are returned as they are).
func OpenIndexFile(file []byte) (payload []byte, legacy bool, err error) {
	return OpenIndexFilePaging(file, nil)
}

// OpenIndexFilePaging is OpenIndexFile for a memory-mapped index file: its
// checksum pass calls read(n) (when not nil) each time it has read
// file[:n], as DecodeColumnPaging does.
func OpenIndexFilePaging(file []byte, read func(upTo int)) (payload []byte, legacy bool, err error) {
	if len(file) < indexTrailerSize {
		return nil, false, corruptf("index file of %d bytes, shorter than its %d-byte trailer", len(file), indexTrailerSize)
	}
	t := file[len(file)-indexTrailerSize:]
	if [8]byte(t[:8]) != magicIndexFile {
		if len(file) >= 8 && [8]byte(file[:8]) == legacyIndexMagic && !looksLikeTrailer(file) {
			return file, true, nil
		}
		return nil, false, corruptf("index file trailer magic %q, want %q", t[:8], magicIndexFile[:])
	}
	le := binary.LittleEndian
	if got, want := le.Uint32(t[20:]), crc32.Checksum(t[:20], castagnoli); got != want {
		return nil, false, corruptf("index file trailer checksum %08x, computed %08x", got, want)
	}
	n := le.Uint64(t[8:])
	if n != uint64(len(file)-indexTrailerSize) {
		return nil, false, corruptf("index file trailer says %d bytes, file has %d", n, len(file)-indexTrailerSize)
	}
	payload = file[:n]
	if got, want := checksumPaging(payload, 0, read), le.Uint32(t[16:]); got != want {
		return nil, false, corruptf("index file checksum %08x, trailer says %08x", got, want)
	}
	return payload, false, nil
}

// looksLikeTrailer reports whether the end of file holds what is left of a
// trailer: a magic with one or two damaged bytes at its place, or the magic
// anywhere in the last 64 bytes (a file cut or extended by a few bytes). A
// damaged checksummed file must not pass as a legacy one; a legacy index
// ends with bytes this close to the magic about once in 2^48 files.
func looksLikeTrailer(file []byte) bool {
	t := file[len(file)-indexTrailerSize:]
	diff := 0
	for i := range 8 {
		if t[i] != magicIndexFile[i] {
			diff++
		}
	}
	if diff <= 2 {
		return true
	}
	return bytes.Contains(file[max(0, len(file)-64):], magicIndexFile[:])
}
