package index

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sort"
	"unsafe"
)

// This file holds the little-endian payload encoder and decoder used by the
// FLAT and HNSW payloads (docs/format/index.md). Array sections can be padded
// to an absolute file offset so that a loader can alias float32 and uint32
// sections straight out of the input buffer (which may be a memory-mapped
// file) instead of copying them.

// hostLE is true on little-endian hosts, where sections can be aliased.
var hostLE = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// payloadEnc writes a payload after the common header, tracking the absolute
// offset. The first error sticks; later writes are no-ops.
type payloadEnc struct {
	w   *bufio.Writer
	n   int64
	err error
	tmp [8]byte
}

// newPayloadEnc writes the common header and returns an encoder positioned after it.
func newPayloadEnc(w io.Writer, typ string, version uint32) *payloadEnc {
	bw := bufio.NewWriterSize(w, 1<<16)
	n, err := WriteHeader(bw, typ, version)
	return &payloadEnc{w: bw, n: n, err: err}
}

func (e *payloadEnc) raw(b []byte) {
	if e.err != nil || len(b) == 0 {
		return
	}
	n, err := e.w.Write(b)
	e.n += int64(n)
	e.err = err
}

func (e *payloadEnc) u8(v uint8) { e.raw([]byte{v}) }

func (e *payloadEnc) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.tmp[:4], v)
	e.raw(e.tmp[:4])
}

func (e *payloadEnc) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.tmp[:8], v)
	e.raw(e.tmp[:8])
}

func (e *payloadEnc) f32(v float32) { e.u32(math.Float32bits(v)) }

func (e *payloadEnc) str(s string) {
	e.u32(uint32(len(s)))
	e.raw([]byte(s))
}

// params writes a string map sorted by key, so output is deterministic.
func (e *payloadEnc) params(p map[string]string) {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.u32(uint32(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.str(p[k])
	}
}

// pad writes zero bytes until the absolute offset is a multiple of align.
func (e *payloadEnc) pad(align int64) {
	var zero [64]byte
	if r := e.n % align; r != 0 {
		e.raw(zero[:align-r])
	}
}

func (e *payloadEnc) f32s(v []float32) {
	if hostLE {
		e.raw(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
		return
	}
	for _, x := range v {
		e.f32(x)
	}
}

func (e *payloadEnc) u32s(v []uint32) {
	if hostLE {
		e.raw(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
		return
	}
	for _, x := range v {
		e.u32(x)
	}
}

// finish flushes and returns the total bytes written and the first error.
func (e *payloadEnc) finish() (int64, error) {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.n, e.err
}

// payloadDec reads a payload out of the full serialized buffer. Errors wrap
// ErrCorrupt and stick: after the first, every read returns zero values.
type payloadDec struct {
	data []byte // the whole serialized index, header included
	off  int
	err  error
}

// newPayloadDec parses the common header, checks the type and version and
// returns a decoder positioned at the payload.
func newPayloadDec(data []byte, typ string, version uint32) (*payloadDec, error) {
	t, v, payload, err := ReadHeader(data)
	if err != nil {
		return nil, err
	}
	if t != typ {
		return nil, fmt.Errorf("index type %q, want %q: %w", t, typ, ErrCorrupt)
	}
	if v != version {
		return nil, fmt.Errorf("%s payload version %d, want %d: %w", typ, v, version, ErrCorrupt)
	}
	return &payloadDec{data: data, off: len(data) - len(payload)}, nil
}

func (d *payloadDec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("truncated or invalid %s at offset %d: %w", what, d.off, ErrCorrupt)
	}
}

// take returns the next n bytes, or nil (and records an error) if short.
func (d *payloadDec) take(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.data)-d.off) {
		d.fail(what)
		return nil
	}
	b := d.data[d.off : d.off+int(n)]
	d.off += int(n)
	return b
}

func (d *payloadDec) u8(what string) uint8 {
	b := d.take(1, what)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *payloadDec) u32(what string) uint32 {
	b := d.take(4, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (d *payloadDec) u64(what string) uint64 {
	b := d.take(8, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (d *payloadDec) f32(what string) float32 { return math.Float32frombits(d.u32(what)) }

func (d *payloadDec) str(what string, max uint32) string {
	n := d.u32(what)
	if n > max {
		d.fail(what)
		return ""
	}
	return string(d.take(uint64(n), what))
}

func (d *payloadDec) params() map[string]string {
	n := d.u32("param count")
	if n > 1024 {
		d.fail("param count")
		return nil
	}
	p := make(map[string]string, n)
	for range n {
		k := d.str("param key", 1024)
		p[k] = d.str("param value", 1<<16)
	}
	return p
}

// pad skips to the next absolute offset that is a multiple of align.
func (d *payloadDec) pad(align int) {
	if r := d.off % align; r != 0 {
		d.take(uint64(align-r), "padding")
	}
}

// f32s returns n float32 values, aliasing the buffer when the section is
// 4-byte aligned in memory on a little-endian host, copying otherwise.
func (d *payloadDec) f32s(n uint64, what string) []float32 {
	if n > math.MaxInt/4 {
		d.fail(what)
		return nil
	}
	b := d.take(4*n, what)
	if b == nil || n == 0 {
		return nil
	}
	if hostLE && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// u32s is f32s for uint32 values.
func (d *payloadDec) u32s(n uint64, what string) []uint32 {
	if n > math.MaxInt/4 {
		d.fail(what)
		return nil
	}
	b := d.take(4*n, what)
	if b == nil || n == 0 {
		return nil
	}
	if hostLE && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out
}

// bytes returns n bytes aliasing the buffer.
func (d *payloadDec) bytes(n uint64, what string) []byte { return d.take(n, what) }

// done reports an error unless the whole buffer was consumed.
func (d *payloadDec) done() error {
	if d.err == nil && d.off != len(d.data) {
		d.err = fmt.Errorf("%d trailing bytes: %w", len(d.data)-d.off, ErrCorrupt)
	}
	return d.err
}
