package segment

import (
	"fmt"
	"sync"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

// core is the engine shared by Growing and Sealed: rows, primary-key index,
// deletes and the read paths. Rows are only ever appended (Growing) and
// never modified once published; deletes only touch deletedAt.
type core struct {
	*layout
	id          int64
	partitionID int64
	sealed      bool
	indexes     map[int64]index.Index // field ID -> index; immutable; nil for growing
	// indexMinAllowed is the fewest allowed rows for which an index is
	// asked instead of a scan (bfMaxAllowed; tests lower it).
	indexMinAllowed int

	// mu guards n through pkStrs (sealed segments use pkSorted instead of
	// the maps). Row data at offsets < n never changes:
	// a reader takes mu only to read n and the column headers, then works on
	// slices capped at n without the lock.
	mu         sync.RWMutex
	n          int
	ts         []uint64
	cols       map[int64]column.Column
	deletedAt  []uint64 // per row: smallest delete ts that hides it, 0 if none; nil until the first delete hits
	numDeleted int
	delVersion uint64         // bumped whenever deletedAt changes
	maxTs      uint64         // largest insert ts
	maxDelTs   uint64         // largest deletedAt
	pkInts     *pkMap[int64]  // growing, Int64 key
	pkStrs     *pkMap[string] // growing, VarChar key

	vis      visCache
	norms    map[int64]*normCache // vector field -> row norms (COSINE) or lengths (BM25); map immutable
	pkSorted pkOrder              // sealed only: offsets sorted by primary key, the key index
	stats    statsTable           // sealed only
	ranked   rankings             // search iterator pages: rankings of recent queries
	spatial  spatialTrees         // sealed only: R-trees of Geometry fields (rtree.go)
	scalar   []ScalarIndex        // sealed only: built scalar indexes (scalaridx.go); immutable once published
	bm25     bm25Totals           // BM25 corpus statistics per sparse field (bm25stats.go)
	text     textIndexes          // inverted indexes of enable_match fields (textindex.go)
	interim  *interimSet          // growing only: interim indexes of dense vector fields (interim.go); nil when off
}

func newCore(id, partitionID int64, l *layout, sealed bool) *core {
	c := &core{
		layout:      l,
		id:          id,
		partitionID: partitionID,
		cols:        make(map[int64]column.Column, len(l.fields)),
		norms:       map[int64]*normCache{},

		indexMinAllowed: bfMaxAllowed,
		sealed:          sealed,
	}
	switch {
	case sealed:
		// Keys are looked up by binary search over pkSorted: 4 bytes a row
		// instead of a hash map's ~40.
	case l.pk.typ == schemapb.DataType_Int64:
		c.pkInts = newPKMap[int64]()
	default:
		c.pkStrs = newPKMap[string]()
	}
	for _, fi := range l.order {
		switch fi.typ {
		case schemapb.DataType_FloatVector, schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector,
			schemapb.DataType_Int8Vector, schemapb.DataType_SparseFloatVector:
			c.norms[fi.id] = &normCache{}
		}
	}
	return c
}

// ID is the segment ID.
func (c *core) ID() int64 { return c.id }

// PartitionID is the partition the segment belongs to.
func (c *core) PartitionID() int64 { return c.partitionID }

// Schema is the collection schema the segment was created with.
func (c *core) Schema() *schemapb.CollectionSchema { return c.schema }

// NumRows implements Segment.
func (c *core) NumRows() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.n
}

// NumDeleted implements Segment.
func (c *core) NumDeleted() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.numDeleted
}

// Len implements column.Batch.
func (c *core) Len() int { return c.NumRows() }

// Column implements column.Batch over the rows present at the call.
func (c *core) Column(fieldID int64) (column.Column, error) {
	return c.snapshot().Column(fieldID)
}

// indexPK records the rows of pk, starting at offset lo, in a growing
// segment's primary-key index; the key column holds them already. Caller
// holds mu.
func (c *core) indexPK(pk column.Column, lo int) {
	if c.pkInts != nil {
		keys := c.cols[c.pk.id].(*column.Scalar[int64]).Data
		for i := range pk.Len() {
			c.pkInts.add(keys, int32(lo+i))
		}
		return
	}
	keys := c.cols[c.pk.id].(*column.Scalar[string]).Data
	for i := range pk.Len() {
		c.pkStrs.add(keys, int32(lo+i))
	}
}

// fillPKs writes the primary key and insert timestamp of each row of
// offsets (skipping -1) into the same slot of ints or strs and ts.
func (s *snapshot) fillPKs(offsets []int64, ints []int64, strs []string, ts []uint64) {
	pk := s.pkColumn
	for i, off := range offsets {
		if off < 0 {
			continue
		}
		ts[i] = s.ts[off]
		switch v := pk.(type) {
		case *column.Scalar[int64]:
			ints[i] = v.Data[off]
		case *column.Scalar[string]:
			strs[i] = v.Data[off]
		}
	}
}

// snapshot is a consistent view of the first n rows of a segment. It
// implements column.Batch for the filter engine.
type snapshot struct {
	c        *core
	n        int
	ts       []uint64
	pkColumn column.Column
}

func (c *core) snapshot() *snapshot {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return &snapshot{c: c, n: c.n, ts: c.ts[:c.n:c.n], pkColumn: c.columnLocked(c.pk.id, c.n)}
}

// columnLocked returns field id over rows [0, n). Caller holds mu.
func (c *core) columnLocked(id int64, n int) column.Column {
	col := c.cols[id]
	if c.sealed {
		return col
	}
	return col.Slice(0, n) // capped at n: nobody can append into our storage
}

// Len implements column.Batch.
func (s *snapshot) Len() int { return s.n }

// Column implements column.Batch.
func (s *snapshot) Column(fieldID int64) (column.Column, error) {
	if fieldID == TimestampFieldID {
		return timestampColumn(s.ts, nil), nil
	}
	if _, err := s.c.field(fieldID); err != nil {
		return nil, fmt.Errorf("segment %d: %w", s.c.id, err)
	}
	if fieldID == s.c.pk.id {
		return s.pkColumn, nil
	}
	if s.c.sealed {
		return s.c.cols[fieldID], nil
	}
	s.c.mu.RLock()
	defer s.c.mu.RUnlock()
	return s.c.columnLocked(fieldID, s.n), nil
}

// timestampColumn returns insert timestamps as an Int64 column: rows idx,
// or every row when idx is nil.
func timestampColumn(ts []uint64, idx []int) column.Column {
	if idx == nil {
		out := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, len(ts))}
		for i, t := range ts {
			out.Data[i] = int64(t)
		}
		return out
	}
	out := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, len(idx))}
	for j, i := range idx {
		out.Data[j] = int64(ts[i])
	}
	return out
}

// intPK reports whether the primary key is Int64 (else VarChar).
func (c *core) intPK() bool { return c.pk.typ == schemapb.DataType_Int64 }

// duplicates is an upper bound on how many of the first n rows repeat a key
// seen before: rows minus distinct keys, over the whole segment.
func (c *core) duplicates(n int) int {
	if c.sealed {
		return c.sorted().dups
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.pkInts != nil {
		return c.n - c.pkInts.len()
	}
	return c.n - c.pkStrs.len()
}

// sorted returns a sealed segment's rows sorted by key, building them on
// first use.
func (c *core) sorted() *pkOrder { return c.pkSorted.get(c.cols[c.pk.id]) }

// eachRow calls fn for every row holding key k (ints[i] or strs[i] by key
// type), offsets ascending. Growing: caller holds mu.
func (c *core) eachRow(ints []int64, strs []string, i int, fn func(off int32)) {
	switch {
	case c.sealed && c.intPK():
		sortedEach(c.cols[c.pk.id].(*column.Scalar[int64]).Data, c.sorted().order, ints[i], fn)
	case c.sealed:
		sortedEach(c.cols[c.pk.id].(*column.Scalar[string]).Data, c.sorted().order, strs[i], fn)
	case c.pkInts != nil:
		c.pkInts.each(c.cols[c.pk.id].(*column.Scalar[int64]).Data, ints[i], fn)
	default:
		c.pkStrs.each(c.cols[c.pk.id].(*column.Scalar[string]).Data, strs[i], fn)
	}
}
