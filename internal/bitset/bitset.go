// Package bitset is a fixed-length set of row offsets backed by uint64 words.
//
// It is the currency between the filter engine (which produces the rows a
// predicate selects), segments (which add deleted and invisible rows) and the
// index engine (which skips the rows a search must not return).
package bitset

import "math/bits"

// Set is a fixed-length bitset. The zero value is an empty set of length 0.
// A Set is not safe for concurrent mutation; concurrent reads are fine.
type Set struct {
	words []uint64
	n     int
}

// New returns a set of n bits, all clear.
func New(n int) *Set {
	return &Set{words: make([]uint64, (n+63)/64), n: n}
}

// NewFull returns a set of n bits, all set.
func NewFull(n int) *Set {
	s := New(n)
	s.SetAll()
	return s
}

// Len is the number of bits the set holds.
func (s *Set) Len() int { return s.n }

// Words exposes the backing words; bits past Len are always zero.
// The caller must not grow the slice.
func (s *Set) Words() []uint64 { return s.words }

// Test reports whether bit i is set. Out-of-range bits read as clear.
func (s *Set) Test(i int) bool {
	if i < 0 || i >= s.n {
		return false
	}
	return s.words[i>>6]&(1<<(uint(i)&63)) != 0
}

// Set sets bit i.
func (s *Set) Set(i int) { s.words[i>>6] |= 1 << (uint(i) & 63) }

// Clear clears bit i.
func (s *Set) Clear(i int) { s.words[i>>6] &^= 1 << (uint(i) & 63) }

// SetTo sets bit i to v.
func (s *Set) SetTo(i int, v bool) {
	if v {
		s.Set(i)
	} else {
		s.Clear(i)
	}
}

// SetAll sets every bit.
func (s *Set) SetAll() {
	for i := range s.words {
		s.words[i] = ^uint64(0)
	}
	s.trim()
}

// ClearAll clears every bit.
func (s *Set) ClearAll() { clear(s.words) }

// Count is the number of set bits.
func (s *Set) Count() int {
	c := 0
	for _, w := range s.words {
		c += bits.OnesCount64(w)
	}
	return c
}

// Any reports whether at least one bit is set.
func (s *Set) Any() bool {
	for _, w := range s.words {
		if w != 0 {
			return true
		}
	}
	return false
}

// Clone returns an independent copy.
func (s *Set) Clone() *Set {
	return &Set{words: append([]uint64(nil), s.words...), n: s.n}
}

// And keeps only the bits also set in o. Both sets must have the same length.
func (s *Set) And(o *Set) {
	for i := range s.words {
		s.words[i] &= o.words[i]
	}
}

// Or adds the bits set in o. Both sets must have the same length.
func (s *Set) Or(o *Set) {
	for i := range s.words {
		s.words[i] |= o.words[i]
	}
}

// AndNot clears the bits set in o. Both sets must have the same length.
func (s *Set) AndNot(o *Set) {
	for i := range s.words {
		s.words[i] &^= o.words[i]
	}
}

// Not flips every bit.
func (s *Set) Not() {
	for i := range s.words {
		s.words[i] = ^s.words[i]
	}
	s.trim()
}

// NextSet returns the first set bit at or after i, or -1.
func (s *Set) NextSet(i int) int {
	if i < 0 {
		i = 0
	}
	if i >= s.n {
		return -1
	}
	wi := i >> 6
	w := s.words[wi] >> (uint(i) & 63)
	if w != 0 {
		return i + bits.TrailingZeros64(w)
	}
	for wi++; wi < len(s.words); wi++ {
		if s.words[wi] != 0 {
			return wi<<6 + bits.TrailingZeros64(s.words[wi])
		}
	}
	return -1
}

// ForEach calls fn for each set bit in ascending order.
func (s *Set) ForEach(fn func(i int)) {
	for wi, w := range s.words {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			fn(wi<<6 + t)
			w &= w - 1
		}
	}
}

func (s *Set) trim() {
	if r := uint(s.n) & 63; r != 0 && len(s.words) > 0 {
		s.words[len(s.words)-1] &= (1 << r) - 1
	}
}
