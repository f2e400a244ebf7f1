package storage

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"unsafe"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

func TestColumnRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 7, 300} {
		for _, nc := range sampleColumns(uint64(n), n) {
			t.Run(nc.name, func(t *testing.T) {
				enc := mustEncode(t, nc.col)
				if len(enc)%8 != 0 {
					t.Errorf("encoded length %d is not a multiple of 8", len(enc))
				}
				got, err := DecodeColumn(enc)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if err := columnsEqual(nc.col, got); err != nil {
					t.Fatal(err)
				}
				again := mustEncode(t, got)
				if string(again) != string(enc) {
					t.Fatal("re-encoding the decoded column changed the bytes")
				}
			})
		}
	}
}

func TestSystemFields(t *testing.T) {
	ts := []uint64{1 << 63, 449_000_000_000 << 18, 1}
	c := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: unsafe.Slice((*int64)(unsafe.Pointer(&ts[0])), len(ts))}
	got, err := DecodeColumn(mustEncode(t, c))
	if err != nil {
		t.Fatal(err)
	}
	view, err := Timestamps(got)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(view, ts) || &view[0] != (*uint64)(unsafe.Pointer(&got.(*column.Scalar[int64]).Data[0])) {
		t.Fatalf("timestamps %v, want %v sharing the column's memory", view, ts)
	}
	if _, err := Timestamps(&column.Scalar[int32]{Type: schemapb.DataType_Int32}); err == nil {
		t.Error("Int32 column viewed as timestamps")
	}
	if _, err := Timestamps(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1}, Valid: []bool{true}}); err == nil {
		t.Error("nullable column viewed as timestamps")
	}
}

// within reports whether p points into b.
func within(p unsafe.Pointer, b []byte) bool {
	lo := uintptr(unsafe.Pointer(&b[0]))
	return uintptr(p) >= lo && uintptr(p) < lo+uintptr(len(b))
}

func TestDecodeIsZeroCopy(t *testing.T) {
	for _, nc := range sampleColumns(1, 64) {
		enc := mustEncode(t, nc.col)
		got, err := DecodeColumn(enc)
		if err != nil {
			t.Fatal(err)
		}
		var p unsafe.Pointer
		switch c := got.(type) {
		case *column.Scalar[bool]:
			p = unsafe.Pointer(&c.Data[0])
		case *column.Scalar[int8]:
			p = unsafe.Pointer(&c.Data[0])
		case *column.Scalar[int16]:
			p = unsafe.Pointer(&c.Data[0])
		case *column.Scalar[int32]:
			p = unsafe.Pointer(&c.Data[0])
		case *column.Scalar[int64]:
			p = unsafe.Pointer(&c.Data[0])
		case *column.Scalar[float32]:
			p = unsafe.Pointer(&c.Data[0])
		case *column.Scalar[float64]:
			p = unsafe.Pointer(&c.Data[0])
		case *column.FloatVector:
			p = unsafe.Pointer(&c.Data[0])
		case *column.ByteVector:
			p = unsafe.Pointer(&c.Data[0])
		case *column.Scalar[[]byte]:
			p = unsafe.Pointer(&c.Data[0][0])
		case *column.Scalar[string]:
			if c.Data[0] != "" && within(unsafe.Pointer(unsafe.StringData(c.Data[0])), enc) {
				t.Errorf("%s: strings must be copied out of the input", nc.name)
			}
			continue
		default:
			continue
		}
		if !within(p, enc) {
			t.Errorf("%s: decoded values do not alias the input", nc.name)
		}
	}
	// Validity flags are viewed in place too.
	c := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, 2, 3}, Valid: []bool{true, false, true}}
	enc := mustEncode(t, c)
	got, err := DecodeColumn(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !within(unsafe.Pointer(&got.(*column.Scalar[int64]).Valid[0]), enc) {
		t.Error("validity does not alias the input")
	}
}

func TestDecodeMisalignedCopies(t *testing.T) {
	c := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, -2, 3}}
	enc := mustEncode(t, c)
	buf := make([]byte, len(enc)+1)
	copy(buf[1:], enc)
	got, err := DecodeColumn(buf[1:])
	if err != nil {
		t.Fatal(err)
	}
	if err := columnsEqual(c, got); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeRejects(t *testing.T) {
	f := func(name string, c column.Column) {
		t.Helper()
		if _, err := EncodeColumn(c); err == nil {
			t.Errorf("%s: encoded without error", name)
		}
	}
	f("nil", nil)
	f("wrong Go type", &column.Scalar[int32]{Type: schemapb.DataType_Int64, Data: []int32{1}})
	f("short validity", &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, 2}, Valid: []bool{true}})
	f("dim 0", &column.FloatVector{Dim: 0, Data: []float32{1}})
	f("ragged float vector", &column.FloatVector{Dim: 3, Data: []float32{1, 2}})
	f("binary dim 12", &column.ByteVector{Type: schemapb.DataType_BinaryVector, Dim: 12, Data: []byte{1, 2}})
	f("ragged float16", &column.ByteVector{Type: schemapb.DataType_Float16Vector, Dim: 2, Data: []byte{1, 2, 3}})
	f("sparse odd row", &column.SparseVector{Rows: [][]byte{{1, 2, 3}}})
	f("unsupported type", &column.Scalar[int64]{Type: schemapb.DataType_None})
	f("huge dim", &column.FloatVector{Dim: maxVectorDim + 1})
	f("huge byte dim", &column.ByteVector{Type: schemapb.DataType_Int8Vector, Dim: maxVectorDim + 1})
	f("array of vectors", &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_FloatVector})
	f("array of arrays", &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Array})
	f("array element 9999", &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: 9999})
}

func TestDecodeCorrupt(t *testing.T) {
	for _, nc := range sampleColumns(3, 5) {
		enc := mustEncode(t, nc.col)
		// Every flipped byte is caught (by a checksum or by the header checks).
		for i := range enc {
			b := append([]byte(nil), enc...)
			b[i] ^= 0x5a
			if _, err := DecodeColumn(b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: byte %d flipped: err = %v", nc.name, i, err)
			}
		}
		// Every truncation and extension is caught.
		for n := range len(enc) {
			if _, err := DecodeColumn(enc[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: truncated to %d: err = %v", nc.name, n, err)
			}
		}
		if _, err := DecodeColumn(append(append([]byte(nil), enc...), 0, 0, 0, 0, 0, 0, 0, 0)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: extended: err = %v", nc.name, err)
		}
		// Flips behind resealed checksums reach the structural checks:
		// they must error or decode, never panic.
		for i := range enc {
			b := append([]byte(nil), enc...)
			b[i] ^= 0xff
			if c, err := DecodeColumn(reseal(b)); err == nil {
				_ = mustEncode(t, c)
			}
		}
	}
}

func TestDecodeStructuralErrors(t *testing.T) {
	le := binary.LittleEndian
	base := func(c column.Column) []byte { return mustEncode(t, c) }
	ints := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, 2, 3}}
	strs := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"ab", "c", "def"}}
	bools := &column.Scalar[bool]{Type: schemapb.DataType_Bool, Data: []bool{true, false}}
	f := func(name string, enc []byte, mutate func(b []byte)) {
		t.Helper()
		b := append([]byte(nil), enc...)
		mutate(b)
		if _, err := DecodeColumn(reseal(b)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
	f("bad magic", base(ints), func(b []byte) { b[0] = 'X' })
	f("version 2", base(ints), func(b []byte) { le.PutUint16(b[4:], 2) })
	f("unknown flag", base(ints), func(b []byte) { le.PutUint16(b[6:], 4) })
	f("unknown type", base(ints), func(b []byte) { le.PutUint32(b[8:], 9999) })
	f("reserved byte", base(ints), func(b []byte) { b[50] = 1 })
	f("too many rows", base(ints), func(b []byte) { le.PutUint64(b[24:], 4) })
	f("huge rows", base(ints), func(b []byte) { le.PutUint64(b[24:], 1<<62) })
	f("negative rows", base(ints), func(b []byte) { le.PutUint64(b[24:], ^uint64(0)) })
	f("dim on scalar", base(ints), func(b []byte) { le.PutUint64(b[16:], 8) })
	f("nullable vector", base(&column.FloatVector{Dim: 2, Data: []float32{1, 2}}), func(b []byte) { le.PutUint16(b[6:], flagNullable) })
	f("float vector dim", base(&column.FloatVector{Dim: 2, Data: []float32{1, 2}}), func(b []byte) { le.PutUint64(b[16:], 3) })
	f("bool value 2", base(bools), func(b []byte) { b[headerSize] = 2 })
	f("offsets decrease", base(strs), func(b []byte) { le.PutUint64(b[headerSize+8:], 5) })
	f("offsets start high", base(strs), func(b []byte) { le.PutUint64(b[headerSize:], 1) })
	f("offsets past end", base(strs), func(b []byte) { le.PutUint64(b[headerSize+24:], 1<<40) })
	f("padding", base(strs), func(b []byte) { b[len(b)-1] = 'x' })
	f("array presence", base(&column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64,
		Data: []*schemapb.ScalarField{{}}}), func(b []byte) { b[headerSize+16] = 7 })
	f("array element type", base(&column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64}),
		func(b []byte) { le.PutUint32(b[12:], uint32(schemapb.DataType_FloatVector)) })
	f("sparse row", base(&column.SparseVector{Rows: [][]byte{make([]byte, 8)}}), func(b []byte) { le.PutUint64(b[headerSize+8:], 7) })
	f("trailing section", append(base(ints), make([]byte, 8)...), func([]byte) {})
	if _, err := DecodeColumn(reseal(base(ints))); err != nil {
		t.Fatalf("resealing an intact file broke it: %v", err)
	}
}

func TestAppendColumn(t *testing.T) {
	cols := sampleColumns(9, 10)
	prefix := []byte("xyz") // the file need not start 8-aligned in dst
	buf := append([]byte(nil), prefix...)
	var ends []int
	for _, nc := range cols {
		var err error
		if buf, err = AppendColumn(buf, nc.col); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, len(buf))
	}
	if string(buf[:3]) != "xyz" {
		t.Fatal("AppendColumn overwrote dst")
	}
	if out, err := AppendColumn(buf, &column.FloatVector{Dim: 0, Data: []float32{1}}); err == nil || len(out) != len(buf) {
		t.Fatalf("failed append: err %v, len %d, want dst back (len %d)", err, len(out), len(buf))
	}
	start := len(prefix)
	for i, nc := range cols {
		file := append([]byte(nil), buf[start:ends[i]]...)
		if want := mustEncode(t, nc.col); string(file) != string(want) {
			t.Fatalf("%s: appended encoding differs from EncodeColumn", nc.name)
		}
		start = ends[i]
	}
}

// TestSpecExample pins the example in docs/format/binlog.md.
func TestSpecExample(t *testing.T) {
	enc := mustEncode(t, &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, 2, 3}})
	want := []byte{
		'M', 'V', 'G', 'B', 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,
		24, 0, 0, 0, 0, 0, 0, 0,
	}
	if len(enc) != 88 || string(enc[:40]) != string(want) {
		t.Fatalf("header\n%x\nwant\n%x", enc[:40], want)
	}
	for i := range 3 {
		if v := binary.LittleEndian.Uint64(enc[64+8*i:]); v != uint64(i+1) {
			t.Fatalf("value %d = %d", i, v)
		}
	}
}
