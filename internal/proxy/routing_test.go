package proxy

import "testing"

// Known MurmurHash3 x86_32 (seed 0) vectors.
func TestMurmur3KnownValues(t *testing.T) {
	f := func(in string, want uint32) {
		t.Helper()
		if got := murmur3Sum32([]byte(in)); got != want {
			t.Errorf("murmur3(%q) = %#x, want %#x", in, got, want)
		}
	}
	f("", 0)
	f("a", 0x3c2569b2)
	f("abc", 0xb3dd93fa)
	f("Hello, world!", 0xc0363e43)
	f("The quick brown fox jumps over the lazy dog", 0x2e4ff723)
}
