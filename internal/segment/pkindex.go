package segment

import (
	"cmp"
	"slices"
)

// pkMap maps a growing segment's primary keys to the offsets of the rows
// holding them. The leading rows whose keys strictly ascend (auto IDs, or
// keys inserted in order: the usual case) are not in the maps at all: a
// lookup binary-searches the key column itself over them, so such a
// segment's key index costs nothing beyond the column, where a map costs
// ~35 bytes a row (35 MB of a 1M-row segment's 560 MB in use). The maps
// hold the rows from the first key that breaks the order on. Most keys are
// unique in a segment, so there the first offset lives in a flat map and
// only duplicates pay for a slice.
//
// Every method takes keys, the segment's key column (row i's key at i),
// which must cover every row added.
type pkMap[K cmp.Ordered] struct {
	asc    int  // rows 0..asc-1: strictly ascending keys, not in the maps
	sorted bool // every row added so far is in the ascending prefix
	first  map[K]int32
	more   map[K][]int32
	inAsc  int // keys in first that also occur in the ascending prefix
}

func newPKMap[K cmp.Ordered]() *pkMap[K] {
	return &pkMap[K]{sorted: true, first: map[K]int32{}, more: map[K][]int32{}}
}

// add records row off, whose key is keys[off]; rows are added in offset
// order.
func (m *pkMap[K]) add(keys []K, off int32) {
	k := keys[off]
	if m.sorted && int(off) == m.asc && (off == 0 || keys[off-1] < k) {
		m.asc++
		return
	}
	m.sorted = false
	if _, ok := m.first[k]; ok {
		m.more[k] = append(m.more[k], off)
		return
	}
	m.first[k] = off
	if _, ok := slices.BinarySearch(keys[:m.asc], k); ok {
		m.inAsc++
	}
}

// each calls fn for every offset holding k, in ascending order.
func (m *pkMap[K]) each(keys []K, k K, fn func(off int32)) {
	if i, ok := slices.BinarySearch(keys[:m.asc], k); ok {
		fn(int32(i))
	}
	off, ok := m.first[k]
	if !ok {
		return
	}
	fn(off)
	for _, o := range m.more[k] {
		fn(o)
	}
}

// len is the number of distinct keys.
func (m *pkMap[K]) len() int { return m.asc + len(m.first) - m.inAsc }

// mapped is the number of keys the maps hold (what the index costs).
func (m *pkMap[K]) mapped() int { return len(m.first) }
