package expr

import (
	"cmp"
	"fmt"
	"math"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// Typed loops write whole bitset words: one word per 64 rows, no call and
// no allocation per row.

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64
}

// inRangeInt sets bit i when lo <= data[i] <= hi (int64 bounds, clamped to T).
func inRangeInt[T integer](data []T, lo, hi int64, w []uint64) {
	minT, maxT := intLimits[T]()
	lo, hi = max(lo, minT), min(hi, maxT)
	if lo > hi {
		return
	}
	// x in [lo, hi] iff uint64(x-lo) <= uint64(hi-lo) (modular arithmetic):
	// one compare, no branch.
	span := uint64(hi - lo)
	for base := 0; base < len(data); base += 64 {
		blk := data[base:min(base+64, len(data))]
		var word uint64
		for j, x := range blk {
			word |= b2u(uint64(int64(x)-lo) <= span) << uint(j)
		}
		w[base>>6] = word
	}
}

// b2u is 1 for true: compiles to a zero-extension, not a branch.
func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func intLimits[T integer]() (int64, int64) {
	var z T
	switch any(z).(type) {
	case int8:
		return math.MinInt8, math.MaxInt8
	case int16:
		return math.MinInt16, math.MaxInt16
	case int32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// cmpOrdered sets bit i when data[i] op c.
func cmpOrdered[T cmp.Ordered](data []T, op cmpOp, c T, w []uint64) {
	for base := 0; base < len(data); base += 64 {
		blk := data[base:min(base+64, len(data))]
		var word uint64
		switch op {
		case opEQ:
			for j, x := range blk {
				word |= b2u(x == c) << uint(j)
			}
		case opNE:
			for j, x := range blk {
				word |= b2u(x != c) << uint(j)
			}
		case opLT:
			for j, x := range blk {
				word |= b2u(x < c) << uint(j)
			}
		case opLE:
			for j, x := range blk {
				word |= b2u(x <= c) << uint(j)
			}
		case opGT:
			for j, x := range blk {
				word |= b2u(x > c) << uint(j)
			}
		case opGE:
			for j, x := range blk {
				word |= b2u(x >= c) << uint(j)
			}
		}
		w[base>>6] = word
	}
}

// rangeOrdered sets bit i when lo <(=) data[i] <(=) hi.
func rangeOrdered[T cmp.Ordered](data []T, lo, hi T, loInc, hiInc bool, w []uint64) {
	for base := 0; base < len(data); base += 64 {
		blk := data[base:min(base+64, len(data))]
		var word uint64
		switch {
		case loInc && hiInc:
			for j, x := range blk {
				word |= (b2u(x >= lo) & b2u(x <= hi)) << uint(j)
			}
		case loInc:
			for j, x := range blk {
				word |= (b2u(x >= lo) & b2u(x < hi)) << uint(j)
			}
		case hiInc:
			for j, x := range blk {
				word |= (b2u(x > lo) & b2u(x <= hi)) << uint(j)
			}
		default:
			for j, x := range blk {
				word |= (b2u(x > lo) & b2u(x < hi)) << uint(j)
			}
		}
		w[base>>6] = word
	}
}

func cmpBool(data []bool, op cmpOp, c bool, w []uint64) {
	for i, x := range data {
		var ok bool
		switch op {
		case opEQ:
			ok = x == c
		case opNE:
			ok = x != c
		case opLT:
			ok = !x && c
		case opLE:
			ok = !x || c
		case opGT:
			ok = x && !c
		case opGE:
			ok = x || !c
		}
		if ok {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	}
}

// intLower is the smallest integer x with x > v (x >= v when inc); ok is
// false when there is none.
func intLower(v value, inc bool) (int64, bool) {
	if v.kind == vInt {
		if inc {
			return v.i, true
		}
		if v.i == math.MaxInt64 {
			return 0, false
		}
		return v.i + 1, true
	}
	if math.IsNaN(v.f) {
		return 0, false // NaN compares false with every integer
	}
	c := math.Ceil(v.f)
	if !inc && c == v.f {
		c++
	}
	if c >= 9.223372036854775807e18 {
		return 0, false
	}
	if c < -9.223372036854775807e18 {
		return math.MinInt64, true
	}
	return int64(c), true
}

// intUpper is the largest integer x with x < v (x <= v when inc).
func intUpper(v value, inc bool) (int64, bool) {
	if v.kind == vInt {
		if inc {
			return v.i, true
		}
		if v.i == math.MinInt64 {
			return 0, false
		}
		return v.i - 1, true
	}
	if math.IsNaN(v.f) {
		return 0, false
	}
	f := math.Floor(v.f)
	if !inc && f == v.f {
		f--
	}
	if f < -9.223372036854775807e18 {
		return 0, false
	}
	if f >= 9.223372036854775807e18 {
		return math.MaxInt64, true
	}
	return int64(f), true
}

// intBounds turns `x op v` over integers into lo <= x <= hi; neg means the
// answer is the complement (for !=); ok false means no integer matches.
func intBounds(op cmpOp, v value) (lo, hi int64, neg, ok bool) {
	lo, hi = math.MinInt64, math.MaxInt64
	switch op {
	case opEQ, opNE:
		neg = op == opNE
		l, ok1 := intLower(v, true)
		h, ok2 := intUpper(v, true)
		if !ok1 || !ok2 || l > h {
			return 0, 0, neg, false
		}
		return l, h, neg, true
	case opLT, opLE:
		h, ok := intUpper(v, op == opLE)
		return lo, h, false, ok
	default:
		l, ok := intLower(v, op == opGE)
		return l, hi, false, ok
	}
}

// evalIntRange fills w for lo <= x <= hi over any integer column.
func evalIntRange(c column.Column, lo, hi int64, w []uint64) bool {
	switch s := c.(type) {
	case *column.Scalar[int8]:
		inRangeInt(s.Data, lo, hi, w)
	case *column.Scalar[int16]:
		inRangeInt(s.Data, lo, hi, w)
	case *column.Scalar[int32]:
		inRangeInt(s.Data, lo, hi, w)
	case *column.Scalar[int64]:
		inRangeInt(s.Data, lo, hi, w)
	default:
		return false
	}
	return true
}

func (n *cmpNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	if res, valid, ok, err := n.evalIndexed(ec); ok || err != nil {
		return res, valid, err
	}
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	switch n.f.Type {
	case schemapb.DataType_JSON:
		if n.f.Cast != castNone && n.v.isNum() {
			return evalJSON(ec, c, n.f, func(r jsonVal) bool { return jsonCompare(castNumeric(n.f.Cast, r), n.op, n.v) })
		}
		return evalJSON(ec, c, n.f, func(r jsonVal) bool { return jsonCompare(r, n.op, n.v) })
	case schemapb.DataType_Array:
		return evalArrayCmp(ec, c, n)
	}
	res := bitset.New(ec.n)
	w := res.Words()
	switch s := c.(type) {
	case *column.Scalar[bool]:
		cmpBool(s.Data, n.op, n.v.b, w)
	case *column.Scalar[float32]:
		cmpOrdered(s.Data, n.op, float32(n.v.num()), w)
	case *column.Scalar[float64]:
		cmpOrdered(s.Data, n.op, n.v.num(), w)
	case *column.Scalar[string]:
		cmpOrdered(s.Data, n.op, n.v.s, w)
	default:
		lo, hi, neg, ok := intBounds(n.op, n.v)
		if ok && !evalIntRange(c, lo, hi, w) {
			return nil, nil, fmt.Errorf("field %s: unexpected column type %T", n.f.Name, c)
		}
		if neg {
			return finishNot(res, c, ec.n)
		}
	}
	return finish(res, c, ec.n)
}

func (n *rangeNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	if res, valid, ok, err := n.evalIndexed(ec); ok || err != nil {
		return res, valid, err
	}
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	switch n.f.Type {
	case schemapb.DataType_JSON:
		return evalJSON(ec, c, n.f, func(r jsonVal) bool {
			if n.lo.isNum() && n.hi.isNum() {
				r = castNumeric(n.f.Cast, r)
			}
			return jsonCompare(r, loOp(n.loInc), n.lo) && jsonCompare(r, hiOp(n.hiInc), n.hi)
		})
	case schemapb.DataType_Array:
		return evalArrayElem(ec, c, n.f, func(e elemVal) bool {
			return elemCompare(e, loOp(n.loInc), n.lo) && elemCompare(e, hiOp(n.hiInc), n.hi)
		})
	}
	res := bitset.New(ec.n)
	w := res.Words()
	switch s := c.(type) {
	case *column.Scalar[float32]:
		rangeOrdered(s.Data, float32(n.lo.num()), float32(n.hi.num()), n.loInc, n.hiInc, w)
	case *column.Scalar[float64]:
		rangeOrdered(s.Data, n.lo.num(), n.hi.num(), n.loInc, n.hiInc, w)
	case *column.Scalar[string]:
		rangeOrdered(s.Data, n.lo.s, n.hi.s, n.loInc, n.hiInc, w)
	default:
		lo, ok1 := intLower(n.lo, n.loInc)
		hi, ok2 := intUpper(n.hi, n.hiInc)
		if ok1 && ok2 && !evalIntRange(c, lo, hi, w) {
			return nil, nil, fmt.Errorf("field %s: unexpected column type %T", n.f.Name, c)
		}
	}
	return finish(res, c, ec.n)
}

// loOp is the operator `x op lo` for a lower bound.
func loOp(inc bool) cmpOp {
	if inc {
		return opGE
	}
	return opGT
}

func hiOp(inc bool) cmpOp {
	if inc {
		return opLE
	}
	return opLT
}

func (n *fieldCmpNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	lc, err := ec.column(n.l)
	if err != nil {
		return nil, nil, err
	}
	rc, err := ec.column(n.r)
	if err != nil {
		return nil, nil, err
	}
	lv, err := elemReader(lc, n.l)
	if err != nil {
		return nil, nil, err
	}
	rv, err := elemReader(rc, n.r)
	if err != nil {
		return nil, nil, err
	}
	res := bitset.New(ec.n)
	w := res.Words()
	// Fast path: two plain int64 or float64 columns.
	if a, ok := lc.(*column.Scalar[int64]); ok && len(n.l.Path) == 0 {
		if b, ok := rc.(*column.Scalar[int64]); ok && len(n.r.Path) == 0 {
			cmpColumns(a.Data, b.Data, n.op, w)
			return finishBoth(res, lc, rc, ec.n)
		}
	}
	for i := 0; i < ec.n; i++ {
		x, okx := lv(i)
		y, oky := rv(i)
		if okx && oky && elemCompareElem(x, n.op, y) {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	}
	return finishBoth(res, lc, rc, ec.n)
}

func cmpColumns[T cmp.Ordered](a, b []T, op cmpOp, w []uint64) {
	for i := range a {
		if opHolds(op, cmp.Compare(a[i], b[i])) {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	}
}

func finishBoth(res *bitset.Set, a, b column.Column, n int) (*bitset.Set, *bitset.Set, error) {
	va, vb := validOf(a, n), validOf(b, n)
	switch {
	case va == nil:
		va = vb
	case vb != nil:
		va.And(vb)
	}
	if va != nil {
		res.And(va)
	}
	return res, va, nil
}
