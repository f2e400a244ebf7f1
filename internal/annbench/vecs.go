package annbench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// ErrFormat is returned for malformed fvecs/ivecs data.
var ErrFormat = errors.New("malformed vecs file")

// maxVecsDim bounds the dimension a vecs file may declare.
const maxVecsDim = 1 << 20

// ParseFvecs decodes texmex fvecs data: rows of a little-endian int32
// dimension followed by that many float32 values. Every row must have the
// same dimension. It returns the row-major values, the dimension and the row
// count. Empty input is zero rows of dimension zero.
func ParseFvecs(b []byte) ([]float32, int, int, error) {
	d, n, err := vecsShape(b)
	if err != nil {
		return nil, 0, 0, err
	}
	out := make([]float32, n*d)
	stride := 4 * (d + 1)
	for i := range n {
		row := b[i*stride+4 : (i+1)*stride]
		for j := range d {
			out[i*d+j] = math.Float32frombits(binary.LittleEndian.Uint32(row[4*j:]))
		}
	}
	return out, d, n, nil
}

// ParseIvecs decodes texmex ivecs data (int32 rows); see ParseFvecs.
func ParseIvecs(b []byte) ([]int32, int, int, error) {
	d, n, err := vecsShape(b)
	if err != nil {
		return nil, 0, 0, err
	}
	out := make([]int32, n*d)
	stride := 4 * (d + 1)
	for i := range n {
		row := b[i*stride+4 : (i+1)*stride]
		for j := range d {
			out[i*d+j] = int32(binary.LittleEndian.Uint32(row[4*j:]))
		}
	}
	return out, d, n, nil
}

// vecsShape validates the row headers and returns dimension and row count.
func vecsShape(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, nil
	}
	if len(b) < 4 {
		return 0, 0, fmt.Errorf("%d bytes: %w", len(b), ErrFormat)
	}
	d32 := int32(binary.LittleEndian.Uint32(b))
	if d32 <= 0 || d32 > maxVecsDim {
		return 0, 0, fmt.Errorf("dimension %d: %w", d32, ErrFormat)
	}
	d := int(d32)
	stride := 4 * (d + 1)
	if len(b)%stride != 0 {
		return 0, 0, fmt.Errorf("%d bytes is not a whole number of %d-byte rows: %w", len(b), stride, ErrFormat)
	}
	n := len(b) / stride
	for i := range n {
		if got := int32(binary.LittleEndian.Uint32(b[i*stride:])); got != d32 {
			return 0, 0, fmt.Errorf("row %d has dimension %d, want %d: %w", i, got, d, ErrFormat)
		}
	}
	return d, n, nil
}

// ReadFvecs reads and parses an fvecs file.
func ReadFvecs(path string) ([]float32, int, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	v, d, n, err := ParseFvecs(b)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, d, n, nil
}

// ReadIvecs reads and parses an ivecs file.
func ReadIvecs(path string) ([]int32, int, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	v, d, n, err := ParseIvecs(b)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, d, n, nil
}

// AppendFvecs encodes rows of dimension d in fvecs format (used by tests
// and tools that write data sets).
func AppendFvecs(dst []byte, vals []float32, d int) []byte {
	for i := 0; i+d <= len(vals); i += d {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(d))
		for _, v := range vals[i : i+d] {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
	}
	return dst
}

// AppendIvecs encodes rows of dimension d in ivecs format.
func AppendIvecs(dst []byte, vals []int32, d int) []byte {
	for i := 0; i+d <= len(vals); i += d {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(d))
		for _, v := range vals[i : i+d] {
			dst = binary.LittleEndian.AppendUint32(dst, uint32(v))
		}
	}
	return dst
}
