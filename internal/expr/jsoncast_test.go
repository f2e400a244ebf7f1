package expr

import (
	"math"
	"testing"
)

func TestStringToDouble(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"3.5", 3.5, true}, {"  -3.5", -3.5, true}, {"\t+2", 2, true}, {"3.5abc", 3.5, true}, {"1e2", 100, true},
		{"1e", 1, true}, {"1e+", 1, true}, {"2.", 2, true}, {".5", 0.5, true}, {".", 0, false}, {"", 0, false},
		{"abc", 0, false}, {"0x10", 16, true}, {"0x1p4", 16, true}, {"0x", 0, true}, {"-0", 0, true},
		{"1e999", 0, false}, {"1e-999", 0, false}, {"0e-999", 0, true}, {"InFinity", math.Inf(1), true}, {"-inf", math.Inf(-1), true},
		{"e5", 0, false}, {"- 1", 0, false},
	} {
		got, ok := StringToDouble(c.in)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("StringToDouble(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if f, ok := StringToDouble("nan"); !ok || !math.IsNaN(f) {
		t.Errorf("nan: %v %v", f, ok)
	}
}
