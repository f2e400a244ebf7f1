// Package protochunk unmarshals a protobuf message that arrives in pieces
// (gRPC hands a received message over as the HTTP/2 frames it came in)
// without first joining the pieces into one buffer.
//
// proto.Unmarshal reads only from one contiguous buffer, so gRPC's proto
// codec copies every received message into a buffer of its full size
// before it decodes it. For an insert that is a second copy of the
// request (tens of MiB) alive while the decoded request is being built:
// three copies of the vectors at once (frames, joined buffer, decoded
// floats). Unmarshal walks the wire format across the pieces instead.
// Large length-delimited fields (at least BigField bytes: the vector
// payloads) are decoded straight from the pieces: a nested message field
// is walked the same way, a packed float field is decoded into its slice,
// a bytes field is copied once into its value. Everything else (the small
// fields around them) is copied into a small buffer and merged with
// proto's own decoder. Protobuf defines a message's encoding as the
// concatenation of its fields, in any order, parsed as successive merges
// (repeated fields append, a packed field's runs concatenate, a singular
// message merges), so the result is the message proto.Unmarshal would
// build from the joined buffer.
package protochunk

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// BigField is the least length of a field that Unmarshal decodes in
// place; shorter fields are merged through a copy.
const BigField = 64 << 10

// maxDepth bounds how deep Unmarshal follows nested big fields itself;
// below that it hands the field to proto's decoder (with its own limit).
const maxDepth = 32

// errGroup reports a group-encoded field (proto2 groups): Unmarshal then
// decodes the message from the joined pieces.
var errGroup = errors.New("protochunk: group field")

var errVarint = errors.New("varint overflows 64 bits")

var merge = proto.UnmarshalOptions{Merge: true, AllowPartial: true}

// Unmarshal decodes the concatenation of pieces into m, as proto.Unmarshal
// would decode it from one buffer, and keeps no reference to pieces.
func Unmarshal(pieces [][]byte, m proto.Message) error {
	proto.Reset(m)
	r := &reader{pieces: pieces}
	r.left = r.total()
	d := decoder{}
	err := d.message(m.ProtoReflect(), r, r.left, 0)
	if errors.Is(err, errGroup) {
		proto.Reset(m)
		joined := make([]byte, 0, r.total())
		for _, p := range pieces {
			joined = append(joined, p...)
		}
		if err := proto.Unmarshal(joined, m); err != nil {
			return fmt.Errorf("protochunk: unmarshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
		}
		return nil
	}
	if err == nil {
		err = proto.CheckInitialized(m)
	}
	if err != nil {
		return fmt.Errorf("protochunk: unmarshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// decoder holds the buffer small fields are gathered in.
type decoder struct {
	small []byte
}

// message decodes the next n bytes of r into m.
func (d *decoder) message(m protoreflect.Message, r *reader, n int, depth int) error {
	end := r.left - n
	start := len(d.small)
	flush := func() error {
		if len(d.small) == start {
			return nil
		}
		err := merge.Unmarshal(d.small[start:], m.Interface())
		d.small = d.small[:start]
		return err
	}
	for r.left > end {
		tag, err := r.varint(end)
		if err != nil {
			return err
		}
		num, typ := protowire.DecodeTag(tag)
		switch typ {
		case protowire.VarintType:
			v, err := r.varint(end)
			if err != nil {
				return err
			}
			d.small = protowire.AppendVarint(protowire.AppendTag(d.small, num, typ), v)
		case protowire.Fixed32Type, protowire.Fixed64Type:
			size := 4
			if typ == protowire.Fixed64Type {
				size = 8
			}
			d.small = protowire.AppendTag(d.small, num, typ)
			if d.small, err = r.appendN(d.small, size, end); err != nil {
				return err
			}
		case protowire.BytesType:
			v, err := r.varint(end)
			if err != nil {
				return err
			}
			if v > uint64(r.left-end) {
				return io.ErrUnexpectedEOF
			}
			size := int(v)
			fd := m.Descriptor().Fields().ByNumber(num)
			if size >= BigField && depth < maxDepth && inPlace(fd) {
				if err := flush(); err != nil {
					return err
				}
				if err := d.big(m, fd, r, size, depth); err != nil {
					return err
				}
				continue
			}
			d.small = protowire.AppendVarint(protowire.AppendTag(d.small, num, typ), v)
			if d.small, err = r.appendN(d.small, size, end); err != nil {
				return err
			}
		case protowire.StartGroupType, protowire.EndGroupType:
			return errGroup
		default:
			return fmt.Errorf("field %d: invalid wire type %d", num, typ)
		}
	}
	return flush()
}

// inPlace reports whether a length-delimited field of kind fd is decoded
// from the pieces directly: nested messages (not maps), packed floats and
// bytes. Other fields, and fields the message does not know, are merged.
func inPlace(fd protoreflect.FieldDescriptor) bool {
	if fd == nil || fd.IsMap() {
		return false
	}
	switch fd.Kind() {
	case protoreflect.MessageKind:
		return true
	case protoreflect.FloatKind:
		return fd.IsList()
	case protoreflect.BytesKind:
		return true
	}
	return false
}

// big decodes one large field (size bytes of r) of m.
func (d *decoder) big(m protoreflect.Message, fd protoreflect.FieldDescriptor, r *reader, size, depth int) error {
	switch fd.Kind() {
	case protoreflect.MessageKind:
		var sub protoreflect.Message
		if fd.IsList() {
			sub = m.Mutable(fd).List().AppendMutable().Message()
		} else {
			sub = m.Mutable(fd).Message()
		}
		return d.message(sub, r, size, depth+1)
	case protoreflect.FloatKind:
		if size%4 != 0 {
			return fmt.Errorf("field %d: packed floats of %d bytes", fd.Number(), size)
		}
		if fa, ok := m.Interface().(*schemapb.FloatArray); ok && fd.Number() == 1 {
			fa.Data = r.appendFloats(fa.Data, size/4)
			return nil
		}
		list := m.Mutable(fd).List()
		for range size / 4 {
			var b [4]byte
			r.read(b[:])
			list.Append(protoreflect.ValueOfFloat32(math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)))
		}
		return nil
	default: // bytes
		v := make([]byte, size)
		r.read(v)
		if fd.IsList() {
			m.Mutable(fd).List().Append(protoreflect.ValueOfBytes(v))
		} else {
			m.Set(fd, protoreflect.ValueOfBytes(v))
		}
		return nil
	}
}

// reader reads the concatenation of pieces.
type reader struct {
	pieces [][]byte
	cur    []byte // rest of the current piece
	next   int    // index of the piece after cur
	left   int    // bytes left in all pieces
}

func (r *reader) total() int {
	n := 0
	for _, p := range r.pieces {
		n += len(p)
	}
	return n
}

// fill makes cur non-empty; the caller has checked left > 0.
func (r *reader) fill() {
	for len(r.cur) == 0 {
		r.cur = r.pieces[r.next]
		r.next++
	}
}

// varint reads a varint that ends before end (a count of bytes left).
func (r *reader) varint(end int) (uint64, error) {
	var v uint64
	for i := 0; ; i++ {
		if r.left <= end {
			return 0, io.ErrUnexpectedEOF
		}
		if i == 10 {
			return 0, errVarint
		}
		r.fill()
		b := r.cur[0]
		r.cur = r.cur[1:]
		r.left--
		if i == 9 && b > 1 {
			return 0, errVarint
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return v, nil
		}
	}
}

// appendN appends the next n bytes, which must end before end, to dst.
func (r *reader) appendN(dst []byte, n, end int) ([]byte, error) {
	if n > r.left-end {
		return dst, io.ErrUnexpectedEOF
	}
	for n > 0 {
		r.fill()
		k := min(n, len(r.cur))
		dst = append(dst, r.cur[:k]...)
		r.cur, r.left, n = r.cur[k:], r.left-k, n-k
	}
	return dst, nil
}

// read fills dst; the caller has checked that len(dst) bytes are left.
func (r *reader) read(dst []byte) {
	for len(dst) > 0 {
		r.fill()
		k := copy(dst, r.cur)
		r.cur, r.left, dst = r.cur[k:], r.left-k, dst[k:]
	}
}

// appendFloats decodes n little-endian floats onto dst; the caller has
// checked that 4n bytes are left.
func (r *reader) appendFloats(dst []float32, n int) []float32 {
	if cap(dst)-len(dst) < n {
		grown := make([]float32, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	for n > 0 {
		r.fill()
		if len(r.cur) < 4 { // a float split between pieces
			var b [4]byte
			r.read(b[:])
			dst = append(dst, math.Float32frombits(uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24))
			n--
			continue
		}
		k := min(n, len(r.cur)/4)
		c := r.cur[:4*k]
		for i := 0; i < len(c); i += 4 {
			dst = append(dst, math.Float32frombits(uint32(c[i])|uint32(c[i+1])<<8|uint32(c[i+2])<<16|uint32(c[i+3])<<24))
		}
		r.cur, r.left, n = r.cur[4*k:], r.left-4*k, n-k
	}
	return dst
}
