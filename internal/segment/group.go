package segment

import (
	"context"
	"fmt"
	"math/bits"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
)

// Grouping search (Milvus's group_by_field): the K best groups of rows
// sharing a value of a scalar field, ranked by their best hit, each with up
// to Size hits. Every group keeps its own Size best hits while the rows
// stream by, so brute force is exact whatever the field's cardinality. An
// index is asked for ever more hits until every query has K full groups or
// the allowed rows run out.

// GroupBy asks Search for grouped results.
type GroupBy struct {
	FieldID int64
	Size    int // hits per group (group_size); 0 means 1
}

// groupable reports whether a field of type t can be grouped by.
func groupable(t schemapb.DataType) bool {
	switch t {
	case schemapb.DataType_Bool, schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32,
		schemapb.DataType_Int64, schemapb.DataType_VarChar, schemapb.DataType_String:
		return true
	}
	return false
}

// iterable reports whether Milvus's index of type typ has the knowhere
// iterators a grouping search walks: knowhere's IVF_PQ and BIN_IVF_FLAT
// have none ("only IvfFlat, IvfFlatCC, IVF_SQ, IVF_SQ_CC and ScaNN support
// Iterator" among the IVF family).
func iterable(typ string) bool {
	switch typ {
	case index.TypeIVFPQ, index.TypeBinIVFFlat:
		return false
	}
	return true
}

// groupKey is a group value in a comparable, allocation-free form.
type groupKey struct {
	i    int64
	s    string
	null bool
}

// groupKeyer reads row i's group value of a supported field type.
type groupKeyer func(i int) groupKey

func newGroupKeyer(fi *fieldInfo, col column.Column) (groupKeyer, error) {
	null := func(i int) bool { return col.IsNull(i) }
	switch c := col.(type) {
	case *column.Scalar[bool]:
		return func(i int) groupKey {
			if null(i) {
				return groupKey{null: true}
			}
			if c.Data[i] {
				return groupKey{i: 1}
			}
			return groupKey{}
		}, nil
	case *column.Scalar[int8]:
		return intKeyer(c.Data, null), nil
	case *column.Scalar[int16]:
		return intKeyer(c.Data, null), nil
	case *column.Scalar[int32]:
		return intKeyer(c.Data, null), nil
	case *column.Scalar[int64]:
		return intKeyer(c.Data, null), nil
	case *column.Scalar[string]:
		return func(i int) groupKey {
			if null(i) {
				return groupKey{null: true}
			}
			return groupKey{s: c.Data[i]}
		}, nil
	}
	return nil, errs.InvalidParameter("unsupported data type %s for group by operator (field %q; supported: [Bool Int8 Int16 Int32 Int64 VarChar])", fi.typ, fi.schema.GetName())
}

func intKeyer[T int8 | int16 | int32 | int64](data []T, null func(int) bool) groupKeyer {
	return func(i int) groupKey {
		if null(i) {
			return groupKey{null: true}
		}
		return groupKey{i: int64(data[i])}
	}
}

// value turns a key back into the field's Go value (nil for null).
func (k groupKey) value(t schemapb.DataType) any {
	switch {
	case k.null:
		return nil
	case t == schemapb.DataType_Bool:
		return k.i != 0
	case t == schemapb.DataType_VarChar || t == schemapb.DataType_String:
		return k.s
	}
	return k.i
}

// grouper collects, for one query, every group's best hits.
type grouper struct {
	size   int
	groups map[groupKey]*collector
}

func newGrouper(size int) *grouper {
	return &grouper{size: size, groups: map[groupKey]*collector{}}
}

func (g *grouper) offer(k groupKey, key float32, off int64) {
	c := g.groups[k]
	if c == nil {
		c = newCollector(g.size)
		g.groups[k] = c
	}
	if c.accepts(key) {
		c.push(key, off)
	}
}

// full reports whether the best k groups all hold size hits.
func (g *grouper) full(k int) bool {
	if len(g.groups) < k {
		return false
	}
	best := g.ranked()
	for _, r := range best[:k] {
		if len(g.groups[r.k].keys) < g.size {
			return false
		}
	}
	return true
}

type rankedGroup struct {
	k    groupKey
	best float32
	off  int64 // the best hit's offset, for a deterministic tie-break
}

// ranked lists the groups by their best hit.
func (g *grouper) ranked() []rankedGroup {
	out := make([]rankedGroup, 0, len(g.groups))
	for k, c := range g.groups {
		key, off := c.best()
		out = append(out, rankedGroup{k: k, best: key, off: off})
	}
	slices.SortFunc(out, func(a, b rankedGroup) int {
		if a.best != b.best {
			if a.best < b.best {
				return -1
			}
			return 1
		}
		if a.off != b.off {
			if a.off < b.off {
				return -1
			}
			return 1
		}
		return 0
	})
	return out
}

// drain writes the best k groups into k*size slots: group by group, each
// group's hits best first, empty slots -1.
func (g *grouper) drain(k int, t schemapb.DataType, keys []float32, offs []int64, values []any) {
	for i := range offs {
		offs[i], keys[i] = -1, 0
	}
	for gi, r := range g.ranked() {
		if gi == k {
			break
		}
		lo, hi := gi*g.size, (gi+1)*g.size
		g.groups[r.k].drain(keys[lo:hi], offs[lo:hi])
		for j := lo; j < hi; j++ {
			if offs[j] >= 0 {
				values[j] = r.k.value(t)
			}
		}
	}
}

// searchGrouped answers a grouping search into res (NQ queries of K*Size
// slots).
func (c *core) searchGrouped(ctx context.Context, s *snapshot, fi *fieldInfo, metric index.Metric, win index.RangeWindow, req *SearchRequest, allowed *bitset.Set, res *SearchResult) error {
	gb := req.GroupBy
	gfi, err := c.field(gb.FieldID)
	if err != nil {
		return fmt.Errorf("segment %d: group by: %w", c.id, err)
	}
	gcol, err := s.Column(gb.FieldID)
	if err != nil {
		return err
	}
	keyOf, err := newGroupKeyer(gfi, gcol)
	if err != nil {
		return fmt.Errorf("segment %d: %w", c.id, err)
	}
	if idx := c.indexes[fi.id]; idx != nil && !iterable(idx.Spec().Type) {
		// Milvus groups through the index's knowhere iterators, and
		// refuses an index without them whatever the filter leaves.
		return fmt.Errorf("segment %d: %w", c.id, errs.Plain("Failed to group_by, current index:%s doesn't support", idx.Spec().Type))
	}
	k, size := req.Params.K, res.GroupSize
	groupers := make([]*grouper, res.NQ)
	for q := range groupers {
		groupers[q] = newGrouper(size)
	}
	if idx := c.indexes[fi.id]; idx != nil && !req.Exact && req.After == nil && useIndex(allowed, s.n, c.indexMinAllowed) {
		done, err := c.groupIndex(ctx, idx, req, allowed, keyOf, groupers)
		if err != nil {
			return err
		}
		if !done {
			for q := range groupers {
				groupers[q] = newGrouper(size)
			}
			if err := c.groupBrute(ctx, s, fi, metric, win, req, allowed, keyOf, groupers); err != nil {
				return err
			}
		}
	} else if err := c.groupBrute(ctx, s, fi, metric, win, req, allowed, keyOf, groupers); err != nil {
		return err
	}
	slots := k * size
	for q, g := range groupers {
		g.drain(k, gfi.typ, res.Scores[q*slots:(q+1)*slots], res.Offsets[q*slots:(q+1)*slots], res.GroupValues[q*slots:(q+1)*slots])
	}
	if metric.HigherIsBetter() {
		for i, off := range res.Offsets {
			if off >= 0 {
				res.Scores[i] = -res.Scores[i]
			}
		}
	}
	return nil
}

// groupBrute streams every allowed row of every query into the groupers.
func (c *core) groupBrute(ctx context.Context, s *snapshot, fi *fieldInfo, metric index.Metric, win index.RangeWindow, req *SearchRequest, allowed *bitset.Set, keyOf groupKeyer, groupers []*grouper) error {
	b, err := c.newScan(s, fi, metric, win, req.Queries, bruteParams(c.indexes[fi.id], req.Params.Params), allowed)
	if err != nil {
		return err
	}
	return b.each(ctx, len(groupers), func(q int, key float32, i int) {
		groupers[q].offer(keyOf(i), key, int64(i))
	})
}

// groupIndex asks the index for K' hits per query, K' growing until every
// query has K full groups. It reports false when the index cannot be
// asked for enough hits (the caller scans instead).
func (c *core) groupIndex(ctx context.Context, idx index.Index, req *SearchRequest, allowed *bitset.Set, keyOf groupKeyer, groupers []*grouper) (bool, error) {
	skip := allowed.Clone() // allowed stays intact for a fallback scan
	skip.Not()
	k, size := req.Params.K, max(req.GroupBy.Size, 1)
	avail := allowed.Len() - skip.Count()
	if avail == 0 {
		return true, nil
	}
	higher := idx.Spec().Metric.HigherIsBetter()
	for want := min(k*size*4, avail); ; want = min(want*4, avail) {
		if want > groupIndexMaxK {
			return false, nil
		}
		p := req.Params
		p.K, p.Filter = want, skip
		r, err := idx.Search(ctx, req.Queries, p)
		if err != nil {
			return false, fmt.Errorf("segment %d: index search: %w", c.id, err)
		}
		complete := true
		for q := range groupers {
			g := newGrouper(size)
			for i := q * r.K; i < (q+1)*r.K; i++ {
				l := r.Labels[i]
				if l < 0 || l >= int64(skip.Len()) || skip.Test(int(l)) {
					continue
				}
				key := r.Distances[i]
				if higher {
					key = -key
				}
				g.offer(keyOf(int(l)), key, l)
			}
			groupers[q] = g
			complete = complete && g.full(k)
		}
		if complete || want >= avail {
			return true, nil
		}
	}
}

// groupIndexMaxK bounds how many hits a grouping search asks an index
// for; beyond it a scan is cheaper.
const groupIndexMaxK = 1 << 16

// each calls fn for every allowed row (inside the range window) and every
// query, block by block.
func (b *bfScan) each(ctx context.Context, nq int, fn func(q int, key float32, i int)) error {
	words := b.allowed.Words()
	bw := b.blockWords()
	blk := &block{rows: make([]int, 0, bw*64)}
	keys := make([]func(j int) float32, nq)
	for q := range keys {
		keys[q] = b.keyFunc(q, blk)
	}
	for wb := 0; wb < len(words); wb += bw {
		if err := ctx.Err(); err != nil {
			return err
		}
		blk.rows = blk.rows[:0]
		for wi := wb; wi < min(wb+bw, len(words)); wi++ {
			for w := words[wi]; w != 0; w &= w - 1 {
				blk.rows = append(blk.rows, wi<<6|bits.TrailingZeros64(w))
			}
		}
		if len(blk.rows) == 0 {
			continue
		}
		b.runs(blk, func(s, e int) {
			for q, key := range keys {
				for j := s; j < e; j++ {
					if kv := key(j); b.win.Keep(kv) {
						fn(q, kv, blk.rows[j])
					}
				}
			}
		})
	}
	return ctx.Err()
}

// PickGroups selects, from hits ranked best first, the hits of groups
// skip+1 .. skip+k in rank order (a group ranks by its best hit), at most
// size of each, and returns them group after group, each group's hits best
// first. value(h) is a hit's group value as SearchResult holds it (int64,
// bool, string, or nil for null). Query nodes merge segments' grouped
// results with it, and the proxy merges shards' (skip is the request's
// offset, which Milvus counts in groups).
func PickGroups[H any](hits []H, value func(H) any, skip, k, size int) []H {
	size = max(size, 1)
	rank := map[any]int{}
	var groups [][]H
	for _, h := range hits {
		v := value(h)
		r, ok := rank[v]
		if !ok {
			r = len(groups)
			rank[v] = r
			groups = append(groups, nil)
		}
		if r < skip || r >= skip+k || len(groups[r]) >= size {
			continue
		}
		groups[r] = append(groups[r], h)
	}
	var out []H
	for r := skip; r < min(len(groups), skip+k); r++ {
		out = append(out, groups[r]...)
	}
	return out
}
