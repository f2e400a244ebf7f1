package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"unsafe"
)

// ErrCorrupt is wrapped by every error a decoder returns for bytes that are
// not a well-formed file of the expected kind: bad magic, unknown version,
// checksum mismatch, truncation, or lengths and offsets that do not add up.
var ErrCorrupt = errors.New("storage: corrupt file")

// Every file starts with a header of headerSize bytes; see
// docs/format/binlog.md for the layout shared by the three kinds of file.
const (
	headerSize = 64
	version1   = 1

	// flagNullable marks a binlog column that carries a validity section.
	flagNullable = 1 << 0
)

var (
	magicBinlog = [4]byte{'M', 'V', 'G', 'B'}
	magicDelta  = [4]byte{'M', 'V', 'G', 'D'}
	magicStats  = [4]byte{'M', 'V', 'G', 'S'}
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// littleEndian is true on the hosts the raw sections can be viewed on.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

var errBigEndian = errors.New("storage: fixed-width sections are little-endian and this host is big-endian")

// header is the decoded form of a file's first 64 bytes.
type header struct {
	magic      [4]byte
	flags      uint16
	dataType   int32
	elemType   int32
	dim        int64
	rows       int64
	payloadLen uint64
	payloadCRC uint32
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("storage: "+format+": %w", append(args, ErrCorrupt)...)
}

// putHeader writes h into b[:headerSize], with its checksum.
func putHeader(b []byte, h header) {
	le := binary.LittleEndian
	copy(b[0:4], h.magic[:])
	le.PutUint16(b[4:], version1)
	le.PutUint16(b[6:], h.flags)
	le.PutUint32(b[8:], uint32(h.dataType))
	le.PutUint32(b[12:], uint32(h.elemType))
	le.PutUint64(b[16:], uint64(h.dim))
	le.PutUint64(b[24:], uint64(h.rows))
	le.PutUint64(b[32:], h.payloadLen)
	le.PutUint32(b[40:], h.payloadCRC)
	clear(b[44:60])
	le.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
}

// readHeader checks the header of data (magic, version, reserved bytes,
// header checksum, payload length and payload checksum) and returns it.
func readHeader(data []byte, magic [4]byte) (header, error) {
	return readHeaderPaging(data, magic, nil)
}

// readHeaderPaging is readHeader telling read (when not nil) how far the
// payload checksum has read, as checksumPaging does.
func readHeaderPaging(data []byte, magic [4]byte, read func(upTo int)) (header, error) {
	var h header
	if len(data) < headerSize {
		return h, corruptf("%d bytes, shorter than the %d-byte header", len(data), headerSize)
	}
	le := binary.LittleEndian
	copy(h.magic[:], data[0:4])
	if h.magic != magic {
		return h, corruptf("magic %q, want %q", h.magic[:], magic[:])
	}
	if got, want := le.Uint32(data[60:]), crc32.Checksum(data[:60], castagnoli); got != want {
		return h, corruptf("header checksum %08x, computed %08x", got, want)
	}
	if v := le.Uint16(data[4:]); v != version1 {
		return h, corruptf("unsupported version %d", v)
	}
	for _, c := range data[44:60] {
		if c != 0 {
			return h, corruptf("reserved header bytes are not zero")
		}
	}
	h.flags = le.Uint16(data[6:])
	h.dataType = int32(le.Uint32(data[8:]))
	h.elemType = int32(le.Uint32(data[12:]))
	h.dim = int64(le.Uint64(data[16:]))
	h.rows = int64(le.Uint64(data[24:]))
	h.payloadLen = le.Uint64(data[32:])
	h.payloadCRC = le.Uint32(data[40:])
	if h.payloadLen != uint64(len(data)-headerSize) {
		return h, corruptf("header says %d payload bytes, file has %d", h.payloadLen, len(data)-headerSize)
	}
	if got := checksumPaging(data[headerSize:], headerSize, read); got != h.payloadCRC {
		return h, corruptf("payload checksum %08x, header says %08x", got, h.payloadCRC)
	}
	if h.rows < 0 {
		return h, corruptf("negative row count %d", h.rows)
	}
	return h, nil
}

func align8(n int) int { return (n + 7) &^ 7 }

// pagingChunk is how much of a file a checksum pass reads between two
// reports to its read callback.
const pagingChunk = 4 << 20

// checksumPaging is the Castagnoli checksum of b, which starts at offset
// base of its file. With read not nil it sums pagingChunk bytes at a time
// and calls read(base+end) after each: the caller (a loader whose file is
// memory-mapped) can drop what was read from the resident set, so that
// the pass that pages the whole file in to check it keeps only one chunk
// resident instead of the whole file.
func checksumPaging(b []byte, base int, read func(upTo int)) uint32 {
	if read == nil {
		return crc32.Checksum(b, castagnoli)
	}
	var crc uint32
	for lo := 0; lo < len(b); lo += pagingChunk {
		hi := min(len(b), lo+pagingChunk)
		crc = crc32.Update(crc, castagnoli, b[lo:hi])
		read(base + hi)
	}
	return crc
}

// writer appends a file to b: a header placeholder at b[base:], then
// sections, each padded to an 8-byte boundary of the file. It keeps a
// running CRC-32C of the payload written so far (up to b[summed:]), so a
// large section is checksummed chunk by chunk while still in cache.
type writer struct {
	b      []byte
	base   int
	summed int
	crc    uint32
}

// crcChunk is how much of a large section is copied before it is summed:
// small enough to stay in L2 between the copy and the checksum.
const crcChunk = 256 << 10

// newWriter starts a file at the end of dst with room for payloadSize bytes.
func newWriter(dst []byte, payloadSize int) *writer {
	w := &writer{b: dst, base: len(dst)}
	if need := len(dst) + headerSize + payloadSize; cap(dst) < need {
		w.b = make([]byte, len(dst), need)
		copy(w.b, dst)
	}
	w.b = append(w.b, make([]byte, headerSize)...)
	w.summed = len(w.b)
	return w
}

// sum brings the running checksum up to the end of b.
func (w *writer) sum() {
	w.crc = crc32.Update(w.crc, castagnoli, w.b[w.summed:])
	w.summed = len(w.b)
}

// finish fills in the header, with the payload's length and checksum, and
// returns the buffer.
func (w *writer) finish(h header) []byte {
	w.sum()
	file := w.b[w.base:]
	h.payloadLen = uint64(len(file) - headerSize)
	h.payloadCRC = w.crc
	putHeader(file[:headerSize], h)
	return w.b
}

// section appends p and zero padding up to the next 8-byte boundary.
func (w *writer) section(p []byte) {
	w.sum()
	for len(p) > 0 {
		n := min(len(p), crcChunk)
		w.b = append(w.b, p[:n]...)
		w.sum()
		p = p[n:]
	}
	w.pad()
}

func (w *writer) pad() {
	for (len(w.b)-w.base)%8 != 0 {
		w.b = append(w.b, 0)
	}
}

// offsets appends a section of n+1 little-endian uint64 offsets: the
// running sum of lens.
func (w *writer) offsets(n int, lenOf func(i int) int) {
	start := len(w.b)
	w.b = append(w.b, make([]byte, 8*(n+1))...)
	o := w.b[start:]
	var sum uint64
	for i := range n {
		sum += uint64(lenOf(i))
		binary.LittleEndian.PutUint64(o[8*(i+1):], sum)
	}
}

// reader hands out the 8-byte-aligned sections of a decoded file.
type reader struct {
	b    []byte
	off  int
	what string
}

// section returns the next n bytes and skips the zero padding after them.
func (r *reader) section(n int64, name string) ([]byte, error) {
	rest := int64(len(r.b) - r.off)
	if n < 0 || n > rest {
		return nil, corruptf("%s: %s section of %d bytes, only %d left", r.what, name, n, rest)
	}
	p := r.b[r.off : r.off+int(n) : r.off+int(n)]
	end := r.off + align8(int(n))
	if end > len(r.b) {
		return nil, corruptf("%s: %s section padding runs past the end", r.what, name)
	}
	for _, c := range r.b[r.off+int(n) : end] {
		if c != 0 {
			return nil, corruptf("%s: %s section padding is not zero", r.what, name)
		}
	}
	r.off = end
	return p, nil
}

// done checks that every byte of the payload was consumed.
func (r *reader) done() error {
	if r.off != len(r.b) {
		return corruptf("%s: %d trailing bytes", r.what, len(r.b)-r.off)
	}
	return nil
}

// offsets reads n+1 offsets and checks they start at 0 and never decrease;
// it returns them and the total they end at.
func (r *reader) offsets(n int64, name string) ([]uint64, error) {
	p, err := r.section(8*(n+1), name+" offsets")
	if err != nil {
		return nil, err
	}
	off := view[uint64](p, int(n+1))
	if off[0] != 0 {
		return nil, corruptf("%s: %s offsets start at %d", r.what, name, off[0])
	}
	for i := 1; i < len(off); i++ {
		if off[i] < off[i-1] {
			return nil, corruptf("%s: %s offsets decrease at row %d", r.what, name, i-1)
		}
	}
	return off, nil
}

// bytesOf views a slice of fixed-width values as its raw bytes.
func bytesOf[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// view returns n values of type T stored raw in p (len(p) must be n times
// the size of T). It aliases p when p is suitably aligned, else it copies.
func view[T any](p []byte, n int) []T {
	if n == 0 {
		return nil
	}
	var zero T
	if uintptr(unsafe.Pointer(&p[0]))%unsafe.Alignof(zero) == 0 {
		return unsafe.Slice((*T)(unsafe.Pointer(&p[0])), n)
	}
	out := make([]T, n)
	copy(bytesOf(out), p)
	return out
}

// copyOf returns n values of type T stored raw in p, always copied.
func copyOf[T any](p []byte, n int) []T {
	if n == 0 {
		return nil
	}
	out := make([]T, n)
	copy(bytesOf(out), p)
	return out
}

// bools views p as []bool after checking every byte is 0 or 1 (any other
// value in a Go bool is undefined behaviour).
func bools(p []byte, what, name string) ([]bool, error) {
	for i, c := range p {
		if c > 1 {
			return nil, corruptf("%s: %s byte %d is %d, not 0 or 1", what, name, i, c)
		}
	}
	return view[bool](p, len(p)), nil
}
