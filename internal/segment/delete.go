package segment

// Delete implements Segment.
//
// A delete (pk, D) hides the rows with that key whose insert timestamp is
// strictly less than D, for reads at D or later. Strictly: Milvus's upsert
// writes the delete and the new row with the same timestamp, and the new row
// must survive. Each row keeps only the smallest such D (the first delete
// that hides it); later deletes of the same row change nothing a read can
// observe. Deletes of keys the segment does not hold are ignored: within a
// channel the log orders deletes after the inserts they hit.
func (c *core) Delete(intPKs []int64, strPKs []string, ts []uint64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	hit := 0
	changed := false
	apply := func(d uint64) func(off int32) {
		return func(off int32) {
			if c.ts[off] >= d {
				return
			}
			if c.deletedAt == nil {
				// Most sealed segments are never deleted from: pay the
				// 8 bytes a row only once one is.
				c.deletedAt = make([]uint64, c.n, max(c.n, cap(c.ts)))
			}
			switch cur := c.deletedAt[off]; {
			case cur == 0:
				c.deletedAt[off] = d
				c.maxDelTs = max(c.maxDelTs, d)
				c.numDeleted++
				hit++
				changed = true
			case d < cur:
				c.deletedAt[off] = d
				changed = true
			}
		}
	}
	keys := len(strPKs)
	if c.intPK() {
		keys = len(intPKs)
	}
	for i := range min(keys, len(ts)) {
		c.eachRow(intPKs, strPKs, i, apply(ts[i]))
	}
	if changed {
		c.delVersion++
	}
	return hit
}
