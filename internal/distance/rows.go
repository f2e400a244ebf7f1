package distance

import "unsafe"

// L2SqRows writes into out[i] the squared L2 distance between q and row
// ids[i] of base, a row-major slab of rows of len(q) values. It is the graph
// indexes' inner loop: one call scores all of a node's unvisited neighbours,
// prefetching each next row while the current one is scored, and every
// out[i] equals L2Sq(q, row) bit for bit. It panics if an id is outside base
// or out is shorter than ids.
func L2SqRows(q, base []float32, ids []uint32, out []float32) {
	d := checkRows(q, base, ids, out)
	if hasAVX512 && d > 0 {
		l2sqRowsAVX512(unsafe.SliceData(q), unsafe.SliceData(base), unsafe.SliceData(ids), len(ids), d, unsafe.SliceData(out))
		return
	}
	if hasAVX2 && d > 0 {
		l2sqRowsAVX2(unsafe.SliceData(q), unsafe.SliceData(base), unsafe.SliceData(ids), len(ids), d, unsafe.SliceData(out))
		return
	}
	for i, id := range ids {
		o := int(id) * d
		out[i] = L2Sq(q, base[o:o+d])
	}
}

// DotRows is L2SqRows for the inner product: out[i] = Dot(q, row ids[i]).
func DotRows(q, base []float32, ids []uint32, out []float32) {
	d := checkRows(q, base, ids, out)
	if hasAVX512 && d > 0 {
		dotRowsAVX512(unsafe.SliceData(q), unsafe.SliceData(base), unsafe.SliceData(ids), len(ids), d, unsafe.SliceData(out))
		return
	}
	if hasAVX2 && d > 0 {
		dotRowsAVX2(unsafe.SliceData(q), unsafe.SliceData(base), unsafe.SliceData(ids), len(ids), d, unsafe.SliceData(out))
		return
	}
	for i, id := range ids {
		o := int(id) * d
		out[i] = Dot(q, base[o:o+d])
	}
}

// checkRows validates a rows call (every id addresses a whole row of base,
// out has room) and returns the row length.
func checkRows(q, base []float32, ids []uint32, out []float32) int {
	d := len(q)
	_ = out[:len(ids)]
	if d == 0 {
		return 0
	}
	rows := uint32(min(len(base)/d, 1<<32-1))
	for _, id := range ids {
		if id >= rows {
			panic("distance: row id out of range")
		}
	}
	return d
}
