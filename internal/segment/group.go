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
	"github.com/milvago/milvago/internal/expr"
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
	// A JSON field (or the dynamic field) groups by the value at JSONPath
	// (object keys / array indexes; nil: the whole document) read as
	// JSONType: Bool, Int8..Int64 (integers, cast by truncation as
	// Milvus's segcore does) or VarChar (strings); DataType_None groups by
	// the value's JSON text. A row whose path is absent or holds another
	// type is in the null group, or fails the search with StrictCast.
	JSONPath   []string
	JSONType   schemapb.DataType
	StrictCast bool
}

// ValueType is the type of the group values a search by g returns for a
// field of type t: the JSON cast type (VarChar for none) for JSON.
func (g *GroupBy) ValueType(t schemapb.DataType) schemapb.DataType {
	if t != schemapb.DataType_JSON {
		return t
	}
	if g.JSONType == schemapb.DataType_None {
		return schemapb.DataType_VarChar
	}
	return g.JSONType
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

func newGroupKeyer(fi *fieldInfo, col column.Column, gb *GroupBy) (groupKeyer, *jsonKeyErr, error) {
	null := func(i int) bool { return col.IsNull(i) }
	if c, ok := col.(*column.Scalar[[]byte]); ok && fi.typ == schemapb.DataType_JSON {
		return newJSONKeyer(c, null, gb)
	}
	k, err := newScalarKeyer(fi, col, null)
	return k, nil, err
}

func newScalarKeyer(fi *fieldInfo, col column.Column, null func(int) bool) (groupKeyer, error) {
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

// jsonKeyErr holds the first strict-cast failure of a JSON keyer (a
// keyer cannot return errors: it runs inside the scans).
type jsonKeyErr struct{ err error }

// check returns the failure, if any, for the segment's error.
func (e *jsonKeyErr) check() error {
	if e == nil {
		return nil
	}
	return e.err
}

// newJSONKeyer reads group keys from JSON documents as Milvus's segcore
// does (SearchGroupByOperator's JSON data getters).
func newJSONKeyer(c *column.Scalar[[]byte], null func(int) bool, gb *GroupBy) (groupKeyer, *jsonKeyErr, error) {
	var cast func(v expr.JSONValue) (groupKey, bool)
	failure := "failed to cast json value to %s, wrong json data inner type"
	target := ""
	switch gb.JSONType {
	case schemapb.DataType_Bool:
		target = "bool"
		cast = func(v expr.JSONValue) (groupKey, bool) {
			if v.Kind != expr.JSONBool {
				return groupKey{}, false
			}
			if v.Bool {
				return groupKey{i: 1}, true
			}
			return groupKey{}, true
		}
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32, schemapb.DataType_Int64:
		t := gb.JSONType
		target = map[schemapb.DataType]string{schemapb.DataType_Int8: "int8_t", schemapb.DataType_Int16: "int16_t",
			schemapb.DataType_Int32: "int32_t", schemapb.DataType_Int64: "int64_t"}[t]
		cast = func(v expr.JSONValue) (groupKey, bool) {
			if v.Kind != expr.JSONInt {
				return groupKey{}, false
			}
			switch t {
			case schemapb.DataType_Int8:
				return groupKey{i: int64(int8(v.Int))}, true
			case schemapb.DataType_Int16:
				return groupKey{i: int64(int16(v.Int))}, true
			case schemapb.DataType_Int32:
				return groupKey{i: int64(int32(v.Int))}, true
			}
			return groupKey{i: v.Int}, true
		}
	case schemapb.DataType_VarChar:
		failure = "failed to cast json string to string, wrong json data inner type"
		cast = func(v expr.JSONValue) (groupKey, bool) {
			if v.Kind != expr.JSONString {
				return groupKey{}, false
			}
			return groupKey{s: v.Str}, true
		}
	case schemapb.DataType_None:
		failure = "failed to cast json object node to string, wrong json data inner type"
		cast = func(v expr.JSONValue) (groupKey, bool) {
			if v.Kind == expr.JSONMissing {
				return groupKey{}, false
			}
			return groupKey{s: string(v.Raw)}, true
		}
	default:
		return nil, nil, errs.InvalidParameter("unsupported data type JSON for group by operator (json_type %s; supported: [Bool Int8 Int16 Int32 Int64 VarChar])", gb.JSONType)
	}
	if target != "" {
		failure = fmt.Sprintf(failure, target)
	}
	fail := &jsonKeyErr{}
	path := gb.JSONPath
	return func(i int) groupKey {
		if null(i) {
			return groupKey{null: true}
		}
		if k, ok := cast(expr.JSONAt(c.Data[i], path)); ok {
			return k
		}
		if gb.StrictCast && fail.err == nil {
			fail.err = errs.Plain("%s", failure)
		}
		return groupKey{null: true}
	}, fail, nil
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
	keyOf, castErr, err := newGroupKeyer(gfi, gcol, gb)
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
	if err := castErr.check(); err != nil {
		return fmt.Errorf("segment %d: group by: %w", c.id, err)
	}
	slots := k * size
	for q, g := range groupers {
		g.drain(k, gb.ValueType(gfi.typ), res.Scores[q*slots:(q+1)*slots], res.Offsets[q*slots:(q+1)*slots], res.GroupValues[q*slots:(q+1)*slots])
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
