package expr

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// Scalar indexes (INVERTED, BITMAP, STL_SORT, TRIE, NGRAM and JSON path
// indexes) in the filter engine. A sealed segment that has one for a
// field (or a JSON path) implements ScalarIndexes. A comparison, range,
// `in` or `like` leaf then asks the index for a superset of the rows it can
// match (its candidates), and, when the cost model prefers it, runs its own
// scan code on those rows only. So the result is the scan's by
// construction, whatever the index's key rounding: the index only has to
// never leave out a row the scan would select.

// KeyKind is the type of a scalar index's keys.
type KeyKind uint8

// Key kinds.
const (
	KeyNone   KeyKind = iota // nothing the engine can use (e.g. a JSON "flat" index)
	KeyBool                  // Bound.I is 0 or 1
	KeyInt                   // Bound.I
	KeyFloat                 // Bound.F
	KeyString                // Bound.S
	// KeyAny is a JSON flat index's view of one path: keys of every
	// scalar kind (bools, numbers as float64, strings), a Bound's Kind
	// naming the kind a lookup reads. Array elements are keys of the
	// array's path, so it serves json_contains too.
	KeyAny
)

// Bound is one end of a closed key keySpan; Open means unbounded. Kind is
// the key kind read from a KeyAny index (set on both ends).
type Bound struct {
	Open bool
	I    int64
	F    float64
	S    string
	Kind KeyKind
}

// ScalarIndex is one built scalar index of a sealed segment: sorted keys
// with the rows holding each (null rows and JSON rows whose value at the
// path is not of the cast type hold none).
type ScalarIndex interface {
	KeyKind() KeyKind
	// Elements reports that keys are array elements (Array fields and
	// ARRAY_* JSON casts): a row is listed under each of its elements.
	Elements() bool
	// Grams reports an NGRAM index: its keys are n-grams of the values,
	// so it serves only like (NgramRows).
	Grams() bool
	// Count is the number of postings of the keys in [lo, hi], an upper
	// bound of the rows Rows sets (the engine's cost estimate).
	Count(lo, hi Bound) int
	// Rows sets in out the rows holding a key in [lo, hi].
	Rows(lo, hi Bound, out *bitset.Set)
	// Prefix is Count and Rows for the string keys starting with p.
	CountPrefix(p string) int
	RowsPrefix(p string, out *bitset.Set)
	// NgramRows sets in out a superset of the rows whose string contains
	// every literal of lits (an NGRAM index); false when it cannot tell
	// (no literal is as long as the index's smallest gram, or the index
	// is not an NGRAM index).
	NgramRows(lits []string, out *bitset.Set) bool
}

// ScalarIndexes is optionally implemented by the column.Batch a filter is
// evaluated on: the scalar index of a field, or of a JSON field at a path
// (nil path for the field itself), or nil.
type ScalarIndexes interface {
	ScalarIndex(fieldID int64, path []string) ScalarIndex
}

// indexRowCost is the cost of one candidate row on the index path besides
// evaluating it (reading its posting, gathering, scattering), in the unit
// of scanRowCost.
const indexRowCost = 8

// indexCheaper is the cost model: the index path reads hits postings and
// evaluates the leaf on each candidate; the scan evaluates every row, or,
// for the leaves whose scan skips rows outside ec.cand (JSON, like), the
// rows an `and` or `or` left open. Measured on 1M rows the index path
// costs about twice this estimate per candidate (bitset scatter, column
// gather), hence the factor 2.
func indexCheaper(ec *evalCtx, f fieldRef, hits int, like bool) bool {
	per := scanRowCost(f, like)
	rows := ec.n
	if ec.cand != nil && (f.Type == schemapb.DataType_JSON || like) {
		rows = ec.cand.Count()
	}
	return 2*hits*(per+indexRowCost) < rows*per
}

func scanRowCost(f fieldRef, like bool) int {
	switch f.Type {
	case schemapb.DataType_JSON:
		return 60
	case schemapb.DataType_Array:
		return 10
	case schemapb.DataType_VarChar, schemapb.DataType_String, schemapb.DataType_Text:
		if like {
			return 10
		}
		return 4
	}
	return 1
}

// indexOf returns the index ec's batch holds for f, or nil.
func indexOf(ec *evalCtx, f fieldRef, like bool) ScalarIndex {
	si, ok := ec.batch.(ScalarIndexes)
	if !ok {
		return nil
	}
	path := f.Path
	if f.Type != schemapb.DataType_JSON {
		if len(path) > 0 {
			return nil // an Array element a[i]
		}
		path = nil
	}
	idx := si.ScalarIndex(f.ID, path)
	if idx == nil || idx.KeyKind() == KeyNone || idx.Elements() || idx.Grams() && !like {
		return nil
	}
	if f.Cast != castNone && castOfIndex(idx) != f.Cast {
		// The plan casts but the index was built without the cast (it
		// lacks the strings the cast turns into numbers).
		return nil
	}
	return idx
}

// CastIndex is implemented by a JSON path index built with a
// json_cast_function.
type CastIndex interface {
	CastFunction() string
}

func castOfIndex(idx ScalarIndex) castFn {
	if c, ok := idx.(CastIndex); ok {
		return castOf(c.CastFunction())
	}
	return castNone
}

// keyRange is the closed key keySpan holding every key that can be equal
// to v under the scan's comparison (lo > hi: none), ok false when v's type
// is not comparable with the keys.
func keyRange(k KeyKind, v value) (lo, hi Bound, ok bool) {
	switch k {
	case KeyAny:
		kk := KeyFloat
		switch v.kind {
		case vBool:
			kk = KeyBool
		case vString:
			kk = KeyString
		}
		lo, hi, ok = keyRange(kk, v)
		lo.Kind, hi.Kind = kk, kk
		return lo, hi, ok
	case KeyBool:
		if v.kind != vBool {
			return lo, hi, false
		}
		i := int64(b2u(v.b))
		return Bound{I: i}, Bound{I: i}, true
	case KeyInt:
		switch v.kind {
		case vInt:
			return Bound{I: v.i}, Bound{I: v.i}, true
		case vFloat:
			if math.IsNaN(v.f) {
				return lo, hi, false
			}
			return Bound{I: clampInt(math.Ceil(v.f))}, Bound{I: clampInt(math.Floor(v.f))}, true
		}
	case KeyFloat:
		if !v.isNum() || math.IsNaN(v.num()) {
			return lo, hi, false
		}
		// Float columns compare in float32; JSON and Double columns in
		// float64: take both roundings.
		a := v.num()
		b := float64(float32(a))
		if math.IsInf(b, 0) && !math.IsInf(a, 0) {
			b = a
		}
		return Bound{F: min(a, b)}, Bound{F: max(a, b)}, true
	case KeyString:
		if v.kind == vString {
			return Bound{S: v.s}, Bound{S: v.s}, true
		}
	}
	return lo, hi, false
}

func clampInt(f float64) int64 {
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// keySpan is a key range to read from an index; prefix, when set, is a
// string prefix instead.
type keySpan struct {
	lo, hi Bound
	prefix *string
}

func (iv keySpan) count(idx ScalarIndex) int {
	if iv.prefix != nil {
		return idx.CountPrefix(*iv.prefix)
	}
	return idx.Count(iv.lo, iv.hi)
}

func (iv keySpan) rows(idx ScalarIndex, out *bitset.Set) {
	if iv.prefix != nil {
		idx.RowsPrefix(*iv.prefix, out)
		return
	}
	idx.Rows(iv.lo, iv.hi, out)
}

// cmpIntervals is the candidate key range of `field op v`; neg is set for
// != (the engine computes == and flips).
func cmpIntervals(k KeyKind, op cmpOp, v value) (ivs []keySpan, ok bool) {
	lo, hi, ok := keyRange(k, v)
	if !ok {
		return nil, false
	}
	switch op {
	case opEQ, opNE:
		return []keySpan{{lo: lo, hi: hi}}, true
	case opLT, opLE:
		return []keySpan{{lo: Bound{Open: true, Kind: lo.Kind}, hi: hi}}, true
	}
	return []keySpan{{lo: lo, hi: Bound{Open: true, Kind: hi.Kind}}}, true
}

// indexed evaluates leaf n over the candidate rows of ivs only, or reports
// ok false when the scan is cheaper (or the index cannot serve n). pos is
// n's positive form (== for !=, in for not in) and neg tells to flip it.
func indexed(ec *evalCtx, f fieldRef, idx ScalarIndex, ivs []keySpan, pos node, neg, like bool) (res, valid *bitset.Set, ok bool, err error) {
	hits := 0
	for _, iv := range ivs {
		hits += iv.count(idx)
	}
	if !indexCheaper(ec, f, hits, like) {
		return nil, nil, false, nil
	}
	cand := bitset.New(ec.n)
	for _, iv := range ivs {
		iv.rows(idx, cand)
	}
	res, valid, err = evalOn(ec, f, cand, pos)
	if err != nil || !neg {
		return res, valid, true, err
	}
	res.Not()
	if valid != nil {
		res.And(valid)
	}
	return res, valid, true, nil
}

// evalOn runs the scan of leaf n on the rows of cand only: it gathers them
// into a batch of their own, evaluates n there and scatters the result.
// Validity is the column's, for every row.
func evalOn(ec *evalCtx, f fieldRef, cand *bitset.Set, n node) (*bitset.Set, *bitset.Set, error) {
	c, err := ec.column(f)
	if err != nil {
		return nil, nil, err
	}
	rows := make([]int, 0, cand.Count())
	cand.ForEach(func(i int) { rows = append(rows, i) })
	sub := &takenBatch{id: f.ID, col: c.Take(rows), n: len(rows)}
	sres, _, err := n.eval(&evalCtx{ctx: ec.ctx, batch: sub, n: len(rows)})
	if err != nil {
		return nil, nil, err
	}
	res := bitset.New(ec.n)
	sres.ForEach(func(j int) { res.Set(rows[j]) })
	return res, validOf(c, ec.n), nil
}

// takenBatch is one column's candidate rows, for evalOn.
type takenBatch struct {
	id  int64
	col column.Column
	n   int
}

var errUnexpectedField = errors.New("field not in the candidate batch")

func (b *takenBatch) Len() int { return b.n }

func (b *takenBatch) Column(id int64) (column.Column, error) {
	if id != b.id {
		return nil, errUnexpectedField
	}
	return b.col, nil
}

func (n *cmpNode) evalIndexed(ec *evalCtx) (*bitset.Set, *bitset.Set, bool, error) {
	idx := indexOf(ec, n.f, false)
	if idx == nil {
		return nil, nil, false, nil
	}
	if n.op == opNE && n.v.kind == vArray {
		return nil, nil, false, nil
	}
	ivs, ok := cmpIntervals(idx.KeyKind(), n.op, n.v)
	if !ok {
		return nil, nil, false, nil
	}
	pos := node(n)
	if n.op == opNE {
		pos = &cmpNode{f: n.f, op: opEQ, v: n.v}
	}
	return indexed(ec, n.f, idx, ivs, pos, n.op == opNE, false)
}

func (n *rangeNode) evalIndexed(ec *evalCtx) (*bitset.Set, *bitset.Set, bool, error) {
	idx := indexOf(ec, n.f, false)
	if idx == nil {
		return nil, nil, false, nil
	}
	lo, _, ok1 := keyRange(idx.KeyKind(), n.lo)
	_, hi, ok2 := keyRange(idx.KeyKind(), n.hi)
	if !ok1 || !ok2 || lo.Kind != hi.Kind {
		return nil, nil, false, nil
	}
	return indexed(ec, n.f, idx, []keySpan{{lo: lo, hi: hi}}, n, false, false)
}

func (n *termNode) evalIndexed(ec *evalCtx) (*bitset.Set, *bitset.Set, bool, error) {
	idx := indexOf(ec, n.f, false)
	if idx == nil {
		return nil, nil, false, nil
	}
	ivs := make([]keySpan, 0, len(n.vals))
	for _, v := range n.vals {
		lo, hi, ok := keyRange(idx.KeyKind(), v)
		if !ok {
			if n.f.Type == schemapb.DataType_JSON {
				return nil, nil, false, nil // the scan may match it
			}
			continue
		}
		ivs = append(ivs, keySpan{lo: lo, hi: hi})
	}
	pos := node(n)
	if n.neg {
		pos = &termNode{f: n.f, vals: n.vals, set: n.set}
	}
	return indexed(ec, n.f, idx, ivs, pos, n.neg, false)
}

func (n *likeNode) evalIndexed(ec *evalCtx) (*bitset.Set, *bitset.Set, bool, error) {
	idx := indexOf(ec, n.f, true)
	if idx == nil || idx.KeyKind() != KeyString && idx.KeyKind() != KeyAny {
		return nil, nil, false, nil
	}
	m := n.m
	switch {
	case idx.Grams():
	case m.kind == likeExact:
		return indexed(ec, n.f, idx, []keySpan{{lo: Bound{S: m.lit, Kind: KeyString}, hi: Bound{S: m.lit, Kind: KeyString}}}, n, false, true)
	case m.kind == likePrefix:
		if m.lit != "" {
			p := m.lit
			if res, valid, ok, err := indexed(ec, n.f, idx, []keySpan{{prefix: &p}}, n, false, true); ok || err != nil {
				return res, valid, ok, err
			}
		}
	}
	var lits []string
	for _, t := range m.toks {
		if !t.any && !t.one && t.text != "" {
			lits = append(lits, t.text)
		}
	}
	if m.kind != likeGeneral && m.lit != "" {
		lits = []string{m.lit}
	}
	if len(lits) == 0 {
		return nil, nil, false, nil
	}
	// Longest literals first: they have the rarest grams.
	slices.SortFunc(lits, func(a, b string) int { return utf8.RuneCountInString(b) - utf8.RuneCountInString(a) })
	cand := bitset.New(ec.n)
	if !idx.NgramRows(lits, cand) {
		return nil, nil, false, nil
	}
	if !indexCheaper(ec, n.f, cand.Count(), true) {
		return nil, nil, false, nil
	}
	res, valid, err := evalOn(ec, n.f, cand, n)
	return res, valid, true, err
}

// JSONScalarAt reads the value at path of a JSON document as the filter
// engine does (so an index built with it holds what the scan compares):
// a bool (KeyBool, i 0 or 1), a number (KeyFloat, as float64), a string
// (KeyString), or KeyNone for anything else or a missing path.
func JSONScalarAt(doc []byte, path []string) (kind KeyKind, i int64, f float64, s string) {
	return jsonScalar(lookup(doc, fieldRef{Path: path}))
}

func jsonScalar(r jsonVal) (kind KeyKind, i int64, f float64, s string) {
	switch r.kind {
	case jBool:
		return KeyBool, int64(b2u(r.b)), 0, ""
	case jInt:
		return KeyFloat, 0, float64(r.i), ""
	case jFloat:
		return KeyFloat, 0, r.f, ""
	case jString:
		return KeyString, 0, 0, r.s
	}
	return KeyNone, 0, 0, ""
}

// JSONElementsAt calls fn for every element of the array at path of a JSON
// document (nothing when the value there is not an array).
func JSONElementsAt(doc []byte, path []string, fn func(kind KeyKind, i int64, f float64, s string)) {
	r := lookup(doc, fieldRef{Path: path})
	if r.kind != jArray {
		return
	}
	forEachElem(r.raw, func(e []byte) bool {
		fn(jsonScalar(parseJSONVal(e)))
		return true
	})
}

// ParseIdentifier resolves a field identifier as a filter reads it
// (`field`, `json_field["a"]["b"]`, a dynamic key `a`): the field's ID and
// the JSON keys (Milvus's planparserv2.ParseIdentifier, as used for an
// index's json_path).
func ParseIdentifier(schema *schemapb.CollectionSchema, identifier string) (fieldID int64, path []string, err error) {
	a, err := parseText(identifier)
	if err != nil {
		return 0, nil, fmt.Errorf("cannot parse identifier: %s, error: %w", identifier, positioned(identifier, err))
	}
	if a.kind != aIdent {
		return 0, nil, fmt.Errorf("cannot parse identifier: %s", identifier)
	}
	c := &checker{schema: schema, text: identifier}
	f, err := c.resolve(a)
	if err != nil {
		return 0, nil, fmt.Errorf("cannot parse identifier: %s, error: %w", identifier, unpositioned(err))
	}
	return f.ID, f.Path, nil
}

// evalIndexed serves array_contains / json_contains and their _any and
// _all forms from an index of array elements (INVERTED or BITMAP on an
// Array field, ARRAY_* casts of a JSON path): the rows holding one of the
// values (_all: the rarest value) are the candidates.
func (n *containsNode) evalIndexed(ec *evalCtx) (*bitset.Set, *bitset.Set, bool, error) {
	si, ok := ec.batch.(ScalarIndexes)
	if !ok || len(n.vals) == 0 {
		return nil, nil, false, nil
	}
	path := n.f.Path
	switch {
	case n.f.Type == schemapb.DataType_JSON:
	case n.f.Type == schemapb.DataType_Array && len(path) == 0:
		path = nil
	default:
		return nil, nil, false, nil
	}
	idx := si.ScalarIndex(n.f.ID, path)
	if idx == nil || !idx.Elements() && idx.KeyKind() != KeyAny || idx.Grams() || idx.KeyKind() == KeyNone {
		return nil, nil, false, nil
	}
	spans := make([]keySpan, 0, len(n.vals))
	for _, v := range n.vals {
		lo, hi, ok := keyRange(idx.KeyKind(), v)
		if !ok {
			return nil, nil, false, nil // the scan may match it
		}
		spans = append(spans, keySpan{lo: lo, hi: hi})
	}
	if n.op == containsAll {
		best := 0
		for i := range spans {
			if spans[i].count(idx) < spans[best].count(idx) {
				best = i
			}
		}
		spans = spans[best : best+1]
	}
	return indexed(ec, n.f, idx, spans, n, false, false)
}
