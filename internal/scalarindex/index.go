// Package scalarindex builds, serializes and answers Milvus's scalar
// indexes of one sealed segment's field: INVERTED, BITMAP, STL_SORT, TRIE
// and NGRAM, and the JSON path indexes (json_path + json_cast_type).
//
// Every type is held as sorted distinct keys with the ascending rows of
// each (posting lists, CSR-style); NGRAM's keys are the n-grams of the
// strings. That one shape answers equality, ranges, `in` and prefixes with
// two binary searches; BITMAP and INVERTED differ in Milvus by their
// storage engine (roaring bitmaps, tantivy), not by what they answer.
// Index files use the generic index envelope (index.WriteHeader) with type
// FileType; see docs/scalar-indexes.md.
package scalarindex

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/expr"
)

// Index types this package builds.
const (
	TypeInverted = "INVERTED"
	TypeBitmap   = "BITMAP"
	TypeSort     = "STL_SORT"
	TypeTrie     = "TRIE"
	TypeNgram    = "NGRAM"
)

// Supports reports whether typ (any case) is a scalar index type this
// package builds.
func Supports(typ string) bool {
	switch strings.ToUpper(typ) {
	case TypeInverted, TypeBitmap, TypeSort, TypeTrie, TypeNgram:
		return true
	}
	return false
}

// Index is one segment's scalar index of one field (or JSON path).
type Index struct {
	typ      string
	kind     expr.KeyKind
	path     []string // JSON path keys; nil for a non-JSON field
	jsonPath string   // the json_path parameter as stored ("/a/b")
	cast     string   // json_cast_type
	castFn   string   // json_cast_function ("" or STRING_TO_DOUBLE)
	elements bool
	minGram  int
	maxGram  int
	n        int // rows in the segment
	field    int64

	ints   []int64 // KeyBool, KeyInt
	floats []float64
	strs   []string
	offs   []uint32 // len(keys)+1
	rows   []uint32

	flat map[string]*flatPath // JSON flat index: keys by relative path (flat.go)
}

// Type is the index type (INVERTED, ...).
func (x *Index) Type() string { return x.typ }

// Len is the number of rows of the segment the index was built on.
func (x *Index) Len() int { return x.n }

// Path is the JSON path the index covers (nil for a plain field).
func (x *Index) Path() []string { return x.path }

// KeyKind implements expr.ScalarIndex.
func (x *Index) KeyKind() expr.KeyKind { return x.kind }

// Elements implements expr.ScalarIndex.
func (x *Index) Elements() bool { return x.elements }

// Grams implements expr.ScalarIndex.
func (x *Index) Grams() bool { return x.typ == TypeNgram }

func (x *Index) numKeys() int { return len(x.offs) - 1 }

// span is the range [i, j) of key positions within [lo, hi].
func (x *Index) span(lo, hi expr.Bound) (int, int) {
	nk := x.numKeys()
	if nk <= 0 {
		return 0, 0
	}
	i, j := 0, nk
	switch x.kind {
	case expr.KeyBool, expr.KeyInt:
		if !lo.Open {
			i = sort.Search(nk, func(k int) bool { return x.ints[k] >= lo.I })
		}
		if !hi.Open {
			j = sort.Search(nk, func(k int) bool { return x.ints[k] > hi.I })
		}
	case expr.KeyFloat:
		if !lo.Open {
			i = sort.Search(nk, func(k int) bool { return x.floats[k] >= lo.F })
		}
		if !hi.Open {
			j = sort.Search(nk, func(k int) bool { return x.floats[k] > hi.F })
		}
	case expr.KeyString:
		if !lo.Open {
			i = sort.SearchStrings(x.strs, lo.S)
		}
		if !hi.Open {
			j = sort.Search(nk, func(k int) bool { return x.strs[k] > hi.S })
		}
	default:
		return 0, 0
	}
	if j < i {
		j = i
	}
	return i, j
}

func (x *Index) countSpan(i, j int) int { return int(x.offs[j] - x.offs[i]) }

func (x *Index) setSpan(i, j int, out *bitset.Set) {
	w := out.Words()
	n := out.Len()
	for _, r := range x.rows[x.offs[i]:x.offs[j]] {
		if int(r) < n {
			w[r>>6] |= 1 << (r & 63)
		}
	}
}

// Count implements expr.ScalarIndex.
func (x *Index) Count(lo, hi expr.Bound) int {
	if x.typ == TypeNgram {
		return 0
	}
	i, j := x.span(lo, hi)
	return x.countSpan(i, j)
}

// Rows implements expr.ScalarIndex.
func (x *Index) Rows(lo, hi expr.Bound, out *bitset.Set) {
	if x.typ == TypeNgram {
		return
	}
	i, j := x.span(lo, hi)
	x.setSpan(i, j, out)
}

func (x *Index) prefixSpan(p string) (int, int) {
	if x.kind != expr.KeyString || x.typ == TypeNgram {
		return 0, 0
	}
	nk := x.numKeys()
	i := sort.SearchStrings(x.strs, p)
	j := i + sort.Search(nk-i, func(k int) bool { return !strings.HasPrefix(x.strs[i+k], p) })
	return i, j
}

// CountPrefix implements expr.ScalarIndex.
func (x *Index) CountPrefix(p string) int {
	i, j := x.prefixSpan(p)
	return x.countSpan(i, j)
}

// RowsPrefix implements expr.ScalarIndex.
func (x *Index) RowsPrefix(p string, out *bitset.Set) {
	i, j := x.prefixSpan(p)
	x.setSpan(i, j, out)
}

// NgramRows implements expr.ScalarIndex: the rows holding every gram of
// every literal. A literal of at least max_gram characters gives its
// max_gram-grams; a shorter one of at least min_gram characters is itself
// a gram; a literal shorter than min_gram cannot be looked up.
func (x *Index) NgramRows(lits []string, out *bitset.Set) bool {
	if x.typ != TypeNgram {
		return false
	}
	var grams []string
	for _, l := range lits {
		switch n := utf8.RuneCountInString(l); {
		case n >= x.maxGram:
			grams = appendGrams(grams, l, x.maxGram)
		case n >= x.minGram:
			grams = append(grams, l)
		}
	}
	if len(grams) == 0 {
		return false
	}
	// Rarest gram first, then intersect.
	type g struct{ i, j int }
	spans := make([]g, 0, len(grams))
	for _, gr := range grams {
		i, j := x.span(expr.Bound{S: gr}, expr.Bound{S: gr})
		if i == j {
			return true // a gram no row has: out stays empty
		}
		spans = append(spans, g{i, j})
	}
	sort.Slice(spans, func(a, b int) bool { return x.countSpan(spans[a].i, spans[a].j) < x.countSpan(spans[b].i, spans[b].j) })
	x.setSpan(spans[0].i, spans[0].j, out)
	tmp := bitset.New(out.Len())
	for _, s := range spans[1:] {
		tmp.ClearAll()
		x.setSpan(s.i, s.j, tmp)
		out.And(tmp)
	}
	return true
}

// appendGrams appends the distinct n-character substrings of s.
func appendGrams(out []string, s string, n int) []string {
	starts := make([]int, 0, len(s)+1)
	for i := range s {
		starts = append(starts, i)
	}
	starts = append(starts, len(s))
	for k := 0; k+n < len(starts); k++ {
		out = append(out, s[starts[k]:starts[k+n]])
	}
	return out
}

// CastFunction implements expr.CastIndex: the json_cast_function the
// index was built with ("" for none).
func (x *Index) CastFunction() string { return x.castFn }

// FieldID is the field the index covers (set by the loader, SetFieldID).
func (x *Index) FieldID() int64 { return x.field }

// SetFieldID records the field the index covers.
func (x *Index) SetFieldID(id int64) { x.field = id }
