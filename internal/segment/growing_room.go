package segment

import "github.com/milvago/milvago/internal/column"

// makeRoom gives a growing segment's vector column room for n more rows
// before they are appended, growing it by half its length when it must
// reallocate: column.Append would double it. A growing segment's vectors
// are most of its memory, and doubling left a 60 MB insert holding a
// 96 MB buffer plus, while it was copied, the 48 MB one before it (the
// largest holder of the insert's peak heap); at 1.5x the buffer ends
// within half a batch of the data and the copy costs 2.5x, not 3x. The
// extra copying (each row is copied twice in all on average, once at
// doubling) is small next to decoding it from the log.
func makeRoom(c column.Column, n int) {
	switch v := c.(type) {
	case *column.FloatVector:
		v.Data = grownBy(v.Data, n*v.Dim)
	case *column.ByteVector:
		v.Data = grownBy(v.Data, n*v.RowBytes())
	}
}

// grownBy returns s with room for extra more elements, reallocated to
// len(s)*1.5 (or just enough, if more) when it has no room. Existing
// elements are copied, never modified: snapshots of s stay valid.
func grownBy[T any](s []T, extra int) []T {
	need := len(s) + extra
	if need <= cap(s) {
		return s
	}
	out := make([]T, len(s), max(need, len(s)+len(s)/2))
	copy(out, s)
	return out
}
