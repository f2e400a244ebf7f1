package segment

// pkMap maps a primary key to the offsets of the rows holding it. Most keys
// are unique in a segment, so the first offset lives in a flat map and only
// duplicates pay for a slice.
type pkMap[K comparable] struct {
	first map[K]int32
	more  map[K][]int32
}

func newPKMap[K comparable]() *pkMap[K] {
	return &pkMap[K]{first: map[K]int32{}, more: map[K][]int32{}}
}

func (m *pkMap[K]) add(k K, off int32) {
	if _, ok := m.first[k]; !ok {
		m.first[k] = off
		return
	}
	m.more[k] = append(m.more[k], off)
}

// each calls fn for every offset holding k, in ascending order.
func (m *pkMap[K]) each(k K, fn func(off int32)) {
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
func (m *pkMap[K]) len() int { return len(m.first) }
