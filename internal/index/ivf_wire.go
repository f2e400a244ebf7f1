package index

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"unsafe"
)

// This file holds the little-endian encoder and decoder shared by the IVF,
// quantized, binary and sparse index payloads (docs/format/index.md).
//
// Every array section starts at a file offset that is a multiple of 4, so a
// loader can alias float32/int32/uint32 sections straight out of the input
// buffer (which may be a memory-mapped file) instead of copying them. The
// format is little-endian; like the rest of Milvago it assumes a
// little-endian host (amd64, arm64).

// ivfWireVersion is the payload version written by every type in these files.
const ivfWireVersion = 1

// wireWriter writes a payload, tracking the absolute file offset so that
// sections can be aligned. The first error sticks; later writes are no-ops.
type wireWriter struct {
	w   io.Writer
	n   int64
	err error
	tmp [8]byte
}

// newWireWriter writes the common header for typ and returns a writer
// positioned after it.
func newWireWriter(w io.Writer, typ string) *wireWriter {
	n, err := WriteHeader(w, typ, ivfWireVersion)
	return &wireWriter{w: w, n: n, err: err}
}

func (w *wireWriter) raw(b []byte) {
	if w.err != nil || len(b) == 0 {
		return
	}
	n, err := w.w.Write(b)
	w.n += int64(n)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	w.err = err
}

func (w *wireWriter) u32(v uint32) {
	binary.LittleEndian.PutUint32(w.tmp[:4], v)
	w.raw(w.tmp[:4])
}

func (w *wireWriter) u64(v uint64) {
	binary.LittleEndian.PutUint64(w.tmp[:8], v)
	w.raw(w.tmp[:8])
}

func (w *wireWriter) f32(v float32) { w.u32(math.Float32bits(v)) }

// str writes a uint32 length and the bytes of s.
func (w *wireWriter) str(s string) {
	w.u32(uint32(len(s)))
	w.raw([]byte(s))
}

// align pads with zeros up to the next multiple of 4.
func (w *wireWriter) align() {
	var zero [4]byte
	if r := w.n & 3; r != 0 {
		w.raw(zero[:4-r])
	}
}

// bytes writes an aligned byte section (its length is stored elsewhere).
func (w *wireWriter) bytes(b []byte) {
	w.align()
	w.raw(b)
}

// f32s writes an aligned float32 section.
func (w *wireWriter) f32s(v []float32) {
	w.align()
	if len(v) > 0 {
		w.raw(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*4))
	}
}

// i32s writes an aligned int32 section.
func (w *wireWriter) i32s(v []int32) {
	w.align()
	if len(v) > 0 {
		w.raw(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*4))
	}
}

// u32s writes an aligned uint32 section.
func (w *wireWriter) u32s(v []uint32) {
	w.align()
	if len(v) > 0 {
		w.raw(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*4))
	}
}

// params writes a string map as a count and sorted key/value pairs, so the
// same index always serializes to the same bytes.
func (w *wireWriter) params(p map[string]string) {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.u32(uint32(len(keys)))
	for _, k := range keys {
		w.str(k)
		w.str(p[k])
	}
}

// wireReader decodes a payload written by wireWriter. It never panics: every
// read is bounds-checked and the first failure sticks as an error wrapping
// ErrCorrupt. Aligned sections alias the input buffer; mapped counts the bytes
// aliased that way.
type wireReader struct {
	data   []byte
	off    int
	err    error
	mapped int64
}

// newWireReader parses the common header of data, checks the payload version
// and returns a reader positioned at the payload.
func newWireReader(data []byte, wantType string) (*wireReader, error) {
	typ, ver, payload, err := ReadHeader(data)
	if err != nil {
		return nil, err
	}
	if typ != wantType {
		return nil, fmt.Errorf("index type %q, want %q: %w", typ, wantType, ErrCorrupt)
	}
	if ver != ivfWireVersion {
		return nil, fmt.Errorf("%s payload version %d, want %d: %w", typ, ver, ivfWireVersion, ErrCorrupt)
	}
	return &wireReader{data: data, off: len(data) - len(payload)}, nil
}

func (r *wireReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format+": %w", append(args, ErrCorrupt)...)
	}
}

// take returns the next n bytes, or nil after recording an error.
func (r *wireReader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.data)-r.off {
		r.fail("%s: need %d bytes at offset %d, have %d", what, n, r.off, len(r.data)-r.off)
		return nil
	}
	b := r.data[r.off : r.off+n : r.off+n]
	r.off += n
	return b
}

func (r *wireReader) u32(what string) uint32 {
	b := r.take(4, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *wireReader) u64(what string) uint64 {
	b := r.take(8, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *wireReader) f32(what string) float32 { return math.Float32frombits(r.u32(what)) }

// count reads a uint32 count and checks it against max.
func (r *wireReader) count(what string, max int) int {
	v := r.u32(what)
	if r.err == nil && uint64(v) > uint64(max) {
		r.fail("%s %d exceeds %d", what, v, max)
		return 0
	}
	return int(v)
}

func (r *wireReader) str(what string, max int) string {
	n := r.count(what+" length", max)
	return string(r.take(n, what))
}

func (r *wireReader) align() {
	if p := r.off & 3; p != 0 {
		r.take(4-p, "padding")
	}
}

// section returns the next aligned section of n elements of size bytes each.
func (r *wireReader) section(n, size int, what string) []byte {
	r.align()
	if r.err != nil {
		return nil
	}
	if n < 0 || n > (len(r.data)-r.off)/size {
		r.fail("%s: %d elements of %d bytes at offset %d, have %d bytes", what, n, size, r.off, len(r.data)-r.off)
		return nil
	}
	return r.take(n*size, what)
}

// bytes returns an aligned byte section aliasing the input.
func (r *wireReader) bytes(n int, what string) []byte {
	b := r.section(n, 1, what)
	r.mapped += int64(len(b))
	return b
}

// f32s returns an aligned float32 section, aliasing the input when its
// address is 4-byte aligned and copying it otherwise.
func (r *wireReader) f32s(n int, what string) []float32 {
	b := r.section(n, 4, what)
	if b == nil || n == 0 {
		return []float32{}
	}
	if uintptr(unsafe.Pointer(&b[0]))&3 == 0 {
		r.mapped += int64(len(b))
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// i32s is f32s for int32 sections.
func (r *wireReader) i32s(n int, what string) []int32 {
	b := r.section(n, 4, what)
	if b == nil || n == 0 {
		return []int32{}
	}
	if uintptr(unsafe.Pointer(&b[0]))&3 == 0 {
		r.mapped += int64(len(b))
		return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// u32s is f32s for uint32 sections.
func (r *wireReader) u32s(n int, what string) []uint32 {
	b := r.section(n, 4, what)
	if b == nil || n == 0 {
		return []uint32{}
	}
	if uintptr(unsafe.Pointer(&b[0]))&3 == 0 {
		r.mapped += int64(len(b))
		return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out
}

// params reads a map written by wireWriter.params.
func (r *wireReader) params() map[string]string {
	n := r.count("param count", 256)
	p := make(map[string]string, n)
	for range n {
		k := r.str("param key", 256)
		v := r.str("param value", 4096)
		if r.err != nil {
			return nil
		}
		p[k] = v
	}
	return p
}

// done reports the sticky error, or an error if bytes are left over.
func (r *wireReader) done() error {
	if r.err == nil {
		r.align()
	}
	if r.err == nil && r.off != len(r.data) {
		r.fail("%d trailing bytes", len(r.data)-r.off)
	}
	return r.err
}

// wireCheckOffsets verifies that offsets has lists+1 entries, starts at 0,
// never decreases and ends at n.
func wireCheckOffsets(offsets []uint32, n int) error {
	if len(offsets) == 0 || offsets[0] != 0 || int(offsets[len(offsets)-1]) != n {
		return fmt.Errorf("list offsets do not span [0, %d]: %w", n, ErrCorrupt)
	}
	for i := 1; i < len(offsets); i++ {
		if offsets[i] < offsets[i-1] {
			return fmt.Errorf("list offset %d decreases: %w", i, ErrCorrupt)
		}
	}
	return nil
}

// wireCheckIDs verifies that every id lies in [0, n).
func wireCheckIDs(ids []int32, n int) error {
	for i, id := range ids {
		if id < 0 || int(id) >= n {
			return fmt.Errorf("row id %d at %d out of range [0, %d): %w", id, i, n, ErrCorrupt)
		}
	}
	return nil
}
