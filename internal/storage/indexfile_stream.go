package storage

import (
	"encoding/binary"
	"hash/crc32"
	"io"
)

// SealedIndex is an index file as a stream: WriteTo writes the index's
// serialization and then the trailer SealIndexFile appends, checksumming
// as it goes, so that the file can be written to the object store without
// being held in memory.
type SealedIndex struct {
	Index io.WriterTo
}

// WriteTo implements io.WriterTo. It may be called more than once.
func (s SealedIndex) WriteTo(w io.Writer) (int64, error) {
	cw := &crcWriter{w: w}
	if _, err := s.Index.WriteTo(cw); err != nil {
		return cw.n, err
	}
	var t [indexTrailerSize]byte
	copy(t[:8], magicIndexFile[:])
	le := binary.LittleEndian
	le.PutUint64(t[8:], uint64(cw.n))
	le.PutUint32(t[16:], cw.crc)
	le.PutUint32(t[20:], crc32.Checksum(t[:20], castagnoli))
	n, err := w.Write(t[:])
	return cw.n + int64(n), err
}

// SealedIndexSize returns the size of the file SealedIndex writes, by
// serializing the index into a counter.
func SealedIndexSize(idx io.WriterTo) (int64, error) {
	var c countWriter
	if _, err := idx.WriteTo(&c); err != nil {
		return 0, err
	}
	return int64(c) + indexTrailerSize, nil
}

type crcWriter struct {
	w   io.Writer
	n   int64
	crc uint32
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	c.n += int64(n)
	return n, err
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
