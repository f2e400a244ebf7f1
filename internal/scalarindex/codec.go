package scalarindex

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/index"
)

// FileType is the type named in a scalar index file's envelope
// (index.WriteHeader); the index's own type is in the payload.
const FileType = "SCALAR"

// formatVersion 2 added the json_cast_function after the cast type; files
// of version 1 (no function) still load.
const formatVersion = 2

// Payload (little-endian) after the envelope:
//
//	str   type; u8 kind; u8 elements; u8 hasPath; str json_path; str cast
//	str   cast function (version 2)
//	u32   min_gram; u32 max_gram; u64 rows
//	u32   K keys; keys (i64 | f64 | str each); u32 offs[K+1]; u32 postings[offs[K]]
//
// where str is a u32 length and the bytes.

// WriteTo serializes the index.
func (x *Index) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<16)}
	if _, err := index.WriteHeader(cw, FileType, formatVersion); err != nil {
		return cw.n, err
	}
	e := encoder{w: cw}
	e.str(x.typ)
	e.u8(uint8(x.kind))
	e.u8(uint8(btoi(x.elements)))
	e.u8(uint8(btoi(x.path != nil)))
	e.str(x.jsonPath)
	e.str(x.cast)
	e.str(x.castFn)
	e.u32(uint32(x.minGram))
	e.u32(uint32(x.maxGram))
	e.u64(uint64(x.n))
	x.encodeKeys(&e)
	if x.Flat() {
		// The flat index's paths, sorted for a deterministic file.
		keys := make([]string, 0, len(x.flat))
		for k := range x.flat {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.u32(uint32(len(keys)))
		for _, k := range keys {
			e.str(k)
			fp := x.flat[k]
			mask := uint8(0)
			for kind, sub := range fp.byKind {
				if sub != nil {
					mask |= 1 << kind
				}
			}
			e.u8(mask)
			for _, sub := range fp.byKind {
				if sub != nil {
					sub.encodeKeys(&e)
				}
			}
		}
	}
	if e.err == nil {
		e.err = cw.w.(*bufio.Writer).Flush()
	}
	return cw.n, e.err
}

// encodeKeys writes the keys, offsets and postings.
func (x *Index) encodeKeys(e *encoder) {
	nk := x.numKeys()
	e.u32(uint32(nk))
	for k := range nk {
		switch x.kind {
		case expr.KeyBool, expr.KeyInt:
			e.u64(uint64(x.ints[k]))
		case expr.KeyFloat:
			e.u64(math.Float64bits(x.floats[k]))
		case expr.KeyString:
			e.str(x.strs[k])
		}
	}
	for _, o := range x.offs {
		e.u32(o)
	}
	for _, r := range x.rows {
		e.u32(r)
	}
}

// Load parses a scalar index file.
func Load(data []byte) (*Index, error) {
	typ, version, p, err := index.ReadHeader(data)
	if err != nil {
		return nil, fmt.Errorf("scalarindex: %w", err)
	}
	if typ != FileType || version < 1 || version > formatVersion {
		return nil, fmt.Errorf("scalarindex: file of type %q version %d: %w", typ, version, index.ErrCorrupt)
	}
	d := decoder{b: p}
	x := &Index{}
	x.typ = d.str()
	x.kind = expr.KeyKind(d.u8())
	x.elements = d.u8() == 1
	hasPath := d.u8() == 1
	x.jsonPath = d.str()
	x.cast = d.str()
	if version >= 2 {
		x.castFn = d.str()
	}
	x.minGram = int(d.u32())
	x.maxGram = int(d.u32())
	x.n = int(d.u64())
	if hasPath {
		x.path = ParsePointer(x.jsonPath)
	}
	if d.err == nil && x.n > math.MaxUint32 {
		d.err = index.ErrCorrupt
	}
	if d.err != nil {
		return nil, fmt.Errorf("scalarindex: header: %w", d.err)
	}
	if err := x.decodeKeys(&d); err != nil {
		return nil, err
	}
	if x.cast == CastJSON && version >= 2 {
		np := int(d.u32())
		if d.err == nil && np > len(d.b) {
			d.err = index.ErrCorrupt
		}
		x.flat = make(map[string]*flatPath, max(np, 0))
		for range np {
			if d.err != nil {
				break
			}
			key := d.str()
			mask := d.u8()
			fp := &flatPath{}
			for kind := expr.KeyBool; kind <= expr.KeyString; kind++ {
				if mask&(1<<kind) == 0 {
					continue
				}
				sub := &Index{typ: TypeInverted, kind: kind, n: x.n}
				if err := sub.decodeKeys(&d); err != nil {
					return nil, fmt.Errorf("scalarindex: flat path %q: %w", key, err)
				}
				fp.byKind[kind] = sub
			}
			if mask>>(expr.KeyString+1) != 0 {
				d.err = index.ErrCorrupt
			}
			x.flat[key] = fp
		}
		if d.err != nil {
			return nil, fmt.Errorf("scalarindex: flat paths: %w", d.err)
		}
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("scalarindex: %d bytes after the index: %w", len(d.b), index.ErrCorrupt)
	}
	return x, nil
}

// decodeKeys reads what encodeKeys wrote, for x.kind and x.n.
func (x *Index) decodeKeys(d *decoder) error {
	nk := int(d.u32())
	if d.err == nil && nk > len(d.b) {
		d.err = index.ErrCorrupt
	}
	if d.err != nil {
		return fmt.Errorf("scalarindex: header: %w", d.err)
	}
	switch x.kind {
	case expr.KeyBool, expr.KeyInt:
		x.ints = make([]int64, nk)
		for k := range x.ints {
			x.ints[k] = int64(d.u64())
		}
	case expr.KeyFloat:
		x.floats = make([]float64, nk)
		for k := range x.floats {
			x.floats[k] = math.Float64frombits(d.u64())
		}
	case expr.KeyString:
		x.strs = make([]string, nk)
		for k := range x.strs {
			x.strs[k] = d.str()
		}
	case expr.KeyNone:
		if nk != 0 {
			d.err = index.ErrCorrupt
		}
	default:
		d.err = index.ErrCorrupt
	}
	if d.err == nil && (nk+1)*4 > len(d.b) {
		d.err = index.ErrCorrupt
	}
	if d.err != nil {
		return fmt.Errorf("scalarindex: keys: %w", d.err)
	}
	x.offs = make([]uint32, nk+1)
	for k := range x.offs {
		x.offs[k] = d.u32()
		if k > 0 && x.offs[k] < x.offs[k-1] {
			d.err = index.ErrCorrupt
		}
	}
	np := int(x.offs[nk])
	if d.err == nil && (x.offs[0] != 0 || np*4 > len(d.b)) {
		d.err = index.ErrCorrupt
	}
	if d.err != nil {
		return fmt.Errorf("scalarindex: postings: %w", d.err)
	}
	x.rows = make([]uint32, np)
	for k := range x.rows {
		x.rows[k] = d.u32()
		if int(x.rows[k]) >= x.n {
			return fmt.Errorf("scalarindex: row %d beyond %d rows: %w", x.rows[k], x.n, index.ErrCorrupt)
		}
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type encoder struct {
	w   io.Writer
	buf [8]byte
	err error
}

func (e *encoder) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) u8(v uint8) { e.write([]byte{v}) }
func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.write(e.buf[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.write(e.buf[:8])
}
func (e *encoder) str(s string) {
	e.u32(uint32(len(s)))
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = index.ErrCorrupt
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) str() string {
	n := int(d.u32())
	return string(d.take(n))
}
