package datanode

import (
	"cmp"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// pkOrder returns rows (offsets into pk) reordered by primary key, stably:
// rows of one key keep their input order. It reports false when rows are
// already in key order (nothing to move). Every compaction writes its
// outputs in this order (Milvus 2.6's sorted segments), so a segment's key
// index is its row order.
func pkOrder(pk column.Column, rows []int) bool {
	switch c := pk.(type) {
	case *column.Scalar[int64]:
		return sortRowsBy(c.Data, rows)
	case *column.Scalar[string]:
		return sortRowsBy(c.Data, rows)
	}
	return false
}

func sortRowsBy[K cmp.Ordered](keys []K, rows []int) bool {
	sorted := true
	for i := 1; i < len(rows); i++ {
		if keys[rows[i]] < keys[rows[i-1]] {
			sorted = false
			break
		}
	}
	if sorted {
		return false
	}
	// Sort (key, position) pairs: the position breaks ties, so the sort is
	// stable without slices.SortStableFunc's O(n log² n).
	type keyed struct {
		k   K
		pos int
	}
	ks := make([]keyed, len(rows))
	for i, r := range rows {
		ks[i] = keyed{keys[r], i}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := cmp.Compare(a.k, b.k); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	orig := slices.Clone(rows)
	for i, k := range ks {
		rows[i] = orig[k.pos]
	}
	return true
}

// identity returns 0..n-1.
func identity(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// sortChunksByPK puts the kept rows of a mix compaction (tsKept and, per
// field, its chunks) in primary-key order.
func sortChunksByPK(pkField int64, tsKept []int64, chunks map[int64][]column.Column) []int64 {
	pk := column.Concat(chunks[pkField])
	chunks[pkField] = []column.Column{pk}
	rows := identity(pk.Len())
	if !pkOrder(pk, rows) {
		return tsKept
	}
	ts := make([]int64, len(rows))
	for i, r := range rows {
		ts[i] = tsKept[r]
	}
	for fid, cs := range chunks {
		chunks[fid] = []column.Column{column.Concat(cs).Take(rows)}
	}
	return ts
}

// flushOrder is the order that writes a flushing segment's rows by primary
// key: nil when they already are in key order (auto IDs arrive so), and
// sorted false when the segment has no primary-key column to sort by.
func flushOrder(schema *schemapb.CollectionSchema, buf *segBuffer) (order []int, sorted bool) {
	for _, f := range schema.GetFields() {
		if !f.GetIsPrimaryKey() {
			continue
		}
		chunks, ok := buf.cols[f.GetFieldID()]
		if !ok {
			return nil, false
		}
		pk := column.Concat(chunks)
		// The concatenation replaces the chunks, as flushSegment does for
		// every field: it then writes this column without concatenating
		// again.
		buf.cols[f.GetFieldID()] = []column.Column{pk}
		if pk.Len() != len(buf.ts) {
			return nil, false
		}
		rows := identity(pk.Len())
		switch pk.(type) {
		case *column.Scalar[int64], *column.Scalar[string]:
		default:
			return nil, false
		}
		if !pkOrder(pk, rows) {
			return nil, true
		}
		return rows, true
	}
	return nil, false
}
