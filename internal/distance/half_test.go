package distance

import (
	"math"
	"testing"
)

func TestFloat16RoundTrip(t *testing.T) {
	// Every binary16 value converts to float32 and back unchanged (NaNs stay NaN).
	for h := range 1 << 16 {
		f := Float16ToFloat32(uint16(h))
		back := Float32ToFloat16(f)
		if math.IsNaN(float64(f)) {
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, back)
			}
			continue
		}
		if back != uint16(h) {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
	f := func(in float32, want uint16) {
		t.Helper()
		if got := Float32ToFloat16(in); got != want {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", in, got, want)
		}
	}
	f(1, 0x3c00)
	f(-2, 0xc000)
	f(65504, 0x7bff)
	f(1e6, 0x7c00)
	f(1e-9, 0)
	f(1+1.0/2048, 0x3c00) // exactly half way: rounds to even
	f(1+3.0/2048, 0x3c02)
}

func TestBFloat16(t *testing.T) {
	for h := range 1 << 16 {
		f := BFloat16ToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := Float32ToBFloat16(f); back != uint16(h) {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
	if got := Float32ToBFloat16(1.00390625); got != 0x3f80 { // half way, rounds to even
		t.Errorf("half way rounded to %#04x", got)
	}
	dst := make([]float32, 2)
	BFloat16sToFloat32s(dst, []byte{0x80, 0x3f, 0x00, 0xc0})
	if dst[0] != 1 || dst[1] != -2 {
		t.Errorf("BFloat16sToFloat32s = %v", dst)
	}
	Float16sToFloat32s(dst, []byte{0x00, 0x3c, 0x00, 0xc0})
	if dst[0] != 1 || dst[1] != -2 {
		t.Errorf("Float16sToFloat32s = %v", dst)
	}
}
