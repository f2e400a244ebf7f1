package annbench

import (
	"errors"
	"slices"
	"testing"
)

func TestVecsRoundTrip(t *testing.T) {
	vals := []float32{1, 2, 3, -4, 5.5, 6}
	v, d, n, err := ParseFvecs(AppendFvecs(nil, vals, 3))
	if err != nil || d != 3 || n != 2 || !slices.Equal(v, vals) {
		t.Fatalf("fvecs: %v d=%d n=%d %v", v, d, n, err)
	}
	ints := []int32{7, -1, 9, 10}
	iv, d, n, err := ParseIvecs(AppendIvecs(nil, ints, 2))
	if err != nil || d != 2 || n != 2 || !slices.Equal(iv, ints) {
		t.Fatalf("ivecs: %v d=%d n=%d %v", iv, d, n, err)
	}
	if _, _, n, err := ParseFvecs(nil); err != nil || n != 0 {
		t.Fatalf("empty: n=%d %v", n, err)
	}
}

func TestVecsMalformed(t *testing.T) {
	good := AppendFvecs(nil, []float32{1, 2, 3, 4}, 2)
	bad := [][]byte{
		{1, 0},                   // shorter than a header
		good[:len(good)-1],       // partial row
		{0, 0, 0, 0},             // zero dimension
		{0xff, 0xff, 0xff, 0xff}, // negative dimension
		append(append([]byte{}, good[:12]...), 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), // row 2 claims d=3
	}
	for i, b := range bad {
		if _, _, _, err := ParseFvecs(b); !errors.Is(err, ErrFormat) {
			t.Errorf("case %d: err=%v, want ErrFormat", i, err)
		}
	}
}

// FuzzParseFvecs checks the reader never panics and that whatever it
// accepts re-encodes to the same bytes.
func FuzzParseFvecs(f *testing.F) {
	f.Add(AppendFvecs(nil, []float32{1, 2, 3, 4, 5, 6}, 3))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 128, 63})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, d, n, err := ParseFvecs(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error without ErrFormat: %v", err)
			}
			return
		}
		if len(v) != d*n {
			t.Fatalf("%d values for d=%d n=%d", len(v), d, n)
		}
		if d > 0 && !slices.Equal(AppendFvecs(nil, v, d), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

// FuzzParseIvecs is FuzzParseFvecs for ivecs.
func FuzzParseIvecs(f *testing.F) {
	f.Add(AppendIvecs(nil, []int32{1, 2, 3, 4}, 2))
	f.Add([]byte{2, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, d, n, err := ParseIvecs(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error without ErrFormat: %v", err)
			}
			return
		}
		if len(v) != d*n {
			t.Fatalf("%d values for d=%d n=%d", len(v), d, n)
		}
		if d > 0 && !slices.Equal(AppendIvecs(nil, v, d), b) {
			t.Fatal("re-encoding differs")
		}
	})
}
