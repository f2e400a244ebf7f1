package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors an index reports. Callers match them with errors.Is.
var (
	ErrNotSupported = errors.New("index not supported")
	ErrInvalidParam = errors.New("invalid index parameter")
	ErrCorrupt      = errors.New("corrupt index data")
	ErrNotBuilt     = errors.New("index not built")
)

// Every serialized index starts with this header (little-endian):
//
//	magic   [8]byte "MVGINDEX"
//	version uint32  format version of the type's payload
//	typeLen uint32
//	type    [typeLen]byte
//
// followed by the type's own payload, specified in docs/format/index.md.
var magic = [8]byte{'M', 'V', 'G', 'I', 'N', 'D', 'E', 'X'}

const maxTypeLen = 64

// WriteHeader writes the common header for an index of type typ.
func WriteHeader(w io.Writer, typ string, version uint32) (int64, error) {
	buf := make([]byte, 0, 16+len(typ))
	buf = append(buf, magic[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, version)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(typ)))
	buf = append(buf, typ...)
	n, err := w.Write(buf)
	return int64(n), err
}

// ReadHeader parses the common header and returns the type, the payload
// version and the payload that follows it.
func ReadHeader(data []byte) (typ string, version uint32, payload []byte, err error) {
	if len(data) < 16 || [8]byte(data[:8]) != magic {
		return "", 0, nil, fmt.Errorf("bad magic: %w", ErrCorrupt)
	}
	version = binary.LittleEndian.Uint32(data[8:12])
	tl := binary.LittleEndian.Uint32(data[12:16])
	if tl == 0 || tl > maxTypeLen || int(tl) > len(data)-16 {
		return "", 0, nil, fmt.Errorf("bad type length %d: %w", tl, ErrCorrupt)
	}
	return string(data[16 : 16+tl]), version, data[16+tl:], nil
}

// PeekType returns the index type named in a serialized index's header.
func PeekType(data []byte) (string, error) {
	typ, _, _, err := ReadHeader(data)
	return typ, err
}
