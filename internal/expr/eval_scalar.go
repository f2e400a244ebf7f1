package expr

import (
	"cmp"
	"fmt"
	"math"
	"strings"

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
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	switch n.f.Type {
	case schemapb.DataType_JSON:
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
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	switch n.f.Type {
	case schemapb.DataType_JSON:
		return evalJSON(ec, c, n.f, func(r jsonVal) bool {
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

func (n *termNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	var res, valid *bitset.Set
	switch n.f.Type {
	case schemapb.DataType_JSON:
		res, valid, err = evalJSON(ec, c, n.f, func(r jsonVal) bool { return n.set.hasJSON(r) })
	case schemapb.DataType_Array:
		res, valid, err = evalArrayElem(ec, c, n.f, func(e elemVal) bool { return n.set.hasElem(e) })
	default:
		res = bitset.New(ec.n)
		w := res.Words()
		switch s := c.(type) {
		case *column.Scalar[bool]:
			termLoop(s.Data, w, n.set.hasBool)
		case *column.Scalar[int8]:
			termInts(s.Data, n.set, w)
		case *column.Scalar[int16]:
			termInts(s.Data, n.set, w)
		case *column.Scalar[int32]:
			termInts(s.Data, n.set, w)
		case *column.Scalar[int64]:
			termInts(s.Data, n.set, w)
		case *column.Scalar[float32]:
			termLoop(s.Data, w, func(x float32) bool { return n.set.hasFloat(float64(x)) })
		case *column.Scalar[float64]:
			termLoop(s.Data, w, n.set.hasFloat)
		case *column.Scalar[string]:
			termStrings(s.Data, n.set, w)
		default:
			return nil, nil, fmt.Errorf("field %s: unexpected column type %T", n.f.Name, c)
		}
		res, valid, err = finish(res, c, ec.n)
	}
	if err != nil || !n.neg {
		return res, valid, err
	}
	// `not in` is `not (in)`: flip and keep valid rows.
	res.Not()
	if valid != nil {
		res.And(valid)
	}
	return res, valid, nil
}

func termLoop[T any](data []T, w []uint64, has func(T) bool) {
	for i, x := range data {
		if has(x) {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	}
}

func termInts[T integer](data []T, s *termSet, w []uint64) {
	switch {
	case s.bitmap != nil:
		// Dense sets: one bounds check and one bit test per row.
		lo, span, bm := s.bitLo, uint64(len(s.bitmap))*64, s.bitmap
		for base := 0; base < len(data); base += 64 {
			var word uint64
			for j, x := range data[base:min(base+64, len(data))] {
				d := uint64(int64(x) - lo)
				if d < span {
					word |= (bm[d>>6] >> (d & 63) & 1) << uint(j)
				}
			}
			w[base>>6] = word
		}
	case s.intMap == nil:
		for base := 0; base < len(data); base += 64 {
			var word uint64
			for j, x := range data[base:min(base+64, len(data))] {
				v := int64(x)
				var hit uint64
				for _, c := range s.ints {
					hit |= b2u(v == c)
				}
				word |= hit << uint(j)
			}
			w[base>>6] = word
		}
	default:
		for i, x := range data {
			if _, ok := s.intMap[int64(x)]; ok {
				w[i>>6] |= 1 << (uint(i) & 63)
			}
		}
	}
}

func termStrings(data []string, s *termSet, w []uint64) {
	if s.strMap == nil {
		// Few values: only values of the row's length are compared.
		for i, x := range data {
			if len(x) >= len(s.byLen) {
				continue
			}
			for _, c := range s.byLen[len(x)] {
				if x == c {
					w[i>>6] |= 1 << (uint(i) & 63)
					break
				}
			}
		}
		return
	}
	for i, x := range data {
		if _, ok := s.strMap[x]; ok {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	}
}

// termSet is the value list of an `in`, indexed for the column type.
type termSet struct {
	ints    []int64
	intMap  map[int64]struct{}
	bitmap  []uint64 // dense integer sets: bit v-bitLo
	bitLo   int64
	floats  map[float64]struct{}
	strs    []string
	strMap  map[string]struct{}
	byLen   [][]string // small string sets: values by length
	hasT    bool
	hasF    bool
	vals    []value
	nonInts bool // an integral float matched ints already; non-integral floats never match
}

func newTermSet(t schemapb.DataType, vals []value) *termSet {
	s := &termSet{vals: vals, floats: map[float64]struct{}{}}
	for _, v := range vals {
		if t == schemapb.DataType_Float && v.kind == vFloat {
			// A Float column compares in float32, as Milvus does.
			v.f = float64(float32(v.f))
		}
		switch v.kind {
		case vInt:
			s.ints = append(s.ints, v.i)
			s.floats[float64(v.i)] = struct{}{}
		case vFloat:
			if v.f == math.Trunc(v.f) && math.Abs(v.f) < 9.2e18 {
				s.ints = append(s.ints, int64(v.f))
			}
			s.floats[v.f] = struct{}{}
		case vString:
			s.strs = append(s.strs, v.s)
		case vBool:
			if v.b {
				s.hasT = true
			} else {
				s.hasF = true
			}
		}
	}
	if len(s.ints) > 1 {
		lo, hi := s.ints[0], s.ints[0]
		for _, i := range s.ints {
			lo, hi = min(lo, i), max(hi, i)
		}
		// A bitmap of up to 4 Mbit (512 KiB) beats a map lookup per row.
		if span := uint64(hi - lo); hi-lo >= 0 && span < 1<<22 {
			s.bitLo = lo
			s.bitmap = make([]uint64, span/64+1)
			for _, i := range s.ints {
				d := uint64(i - lo)
				s.bitmap[d>>6] |= 1 << (d & 63)
			}
		} else if len(s.ints) > 8 {
			s.intMap = make(map[int64]struct{}, len(s.ints))
			for _, i := range s.ints {
				s.intMap[i] = struct{}{}
			}
		}
	}
	if len(s.strs) <= 64 {
		for _, x := range s.strs {
			for len(s.byLen) <= len(x) {
				s.byLen = append(s.byLen, nil)
			}
			s.byLen[len(x)] = append(s.byLen[len(x)], x)
		}
	} else {
		s.strMap = make(map[string]struct{}, len(s.strs))
		for _, x := range s.strs {
			s.strMap[x] = struct{}{}
		}
	}
	return s
}

func (s *termSet) hasBool(b bool) bool {
	if b {
		return s.hasT
	}
	return s.hasF
}

func (s *termSet) hasFloat(f float64) bool {
	_, ok := s.floats[f]
	return ok
}

func (s *termSet) hasInt(i int64) bool {
	if s.bitmap != nil {
		d := uint64(i - s.bitLo)
		return d < uint64(len(s.bitmap))*64 && s.bitmap[d>>6]>>(d&63)&1 != 0
	}
	if s.intMap != nil {
		_, ok := s.intMap[i]
		return ok
	}
	for _, c := range s.ints {
		if c == i {
			return true
		}
	}
	return false
}

func (s *termSet) hasString(x string) bool {
	if s.strMap != nil {
		_, ok := s.strMap[x]
		return ok
	}
	if len(x) >= len(s.byLen) {
		return false
	}
	for _, c := range s.byLen[len(x)] {
		if c == x {
			return true
		}
	}
	return false
}

func (s *termSet) hasJSON(r jsonVal) bool {
	switch r.kind {
	case jInt:
		return s.hasInt(r.i)
	case jFloat:
		return s.hasFloat(r.f)
	case jString:
		return s.hasString(r.s)
	case jBool:
		return s.hasBool(r.b)
	case jArray:
		for _, v := range s.vals {
			if v.kind == vArray && jsonEqualsValue(r, v) {
				return true
			}
		}
	}
	return false
}

func (s *termSet) hasElem(e elemVal) bool {
	switch e.kind {
	case vInt:
		return s.hasInt(e.i)
	case vFloat:
		return s.hasFloat(e.f)
	case vString:
		return s.hasString(e.s)
	case vBool:
		return s.hasBool(e.b)
	}
	return false
}

func (n *likeNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	switch n.f.Type {
	case schemapb.DataType_JSON:
		return evalJSON(ec, c, n.f, func(r jsonVal) bool { return r.kind == jString && n.m.match(r.s) })
	case schemapb.DataType_Array:
		return evalArrayElem(ec, c, n.f, func(e elemVal) bool { return e.kind == vString && n.m.match(e.s) })
	}
	s, ok := c.(*column.Scalar[string])
	if !ok {
		return nil, nil, fmt.Errorf("field %s: unexpected column type %T", n.f.Name, c)
	}
	res := bitset.New(ec.n)
	w := res.Words()
	m := n.m
	switch m.kind {
	case likeExact:
		cmpOrdered(s.Data, opEQ, m.lit, w)
	case likePrefix:
		if m.lit == "" {
			res.SetAll()
			break
		}
		// The first byte rejects most rows without a memequal call.
		p, p0 := m.lit, m.lit[0]
		for i, x := range s.Data {
			if len(x) >= len(p) && x[0] == p0 && x[:len(p)] == p {
				w[i>>6] |= 1 << (uint(i) & 63)
			}
		}
	case likeSuffix:
		for i, x := range s.Data {
			if strings.HasSuffix(x, m.lit) {
				w[i>>6] |= 1 << (uint(i) & 63)
			}
		}
	case likeContains:
		for i, x := range s.Data {
			if strings.Contains(x, m.lit) {
				w[i>>6] |= 1 << (uint(i) & 63)
			}
		}
	default:
		for i, x := range s.Data {
			if m.match(x) {
				w[i>>6] |= 1 << (uint(i) & 63)
			}
		}
	}
	return finish(res, c, ec.n)
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

func (n *arithNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	if n.f.Type == schemapb.DataType_JSON {
		return evalJSON(ec, c, n.f, func(r jsonVal) bool {
			var x value
			switch r.kind {
			case jInt:
				x = value{kind: vInt, i: r.i}
			case jFloat:
				x = value{kind: vFloat, f: r.f}
			default:
				return false
			}
			return arithHolds(x, n)
		})
	}
	if n.f.Type == schemapb.DataType_Array {
		return evalArrayElem(ec, c, n.f, func(e elemVal) bool {
			return (e.kind == vInt || e.kind == vFloat) && arithHolds(value(e), n)
		})
	}
	res := bitset.New(ec.n)
	w := res.Words()
	intOnly := n.operand.kind == vInt && n.v.kind == vInt
	switch s := c.(type) {
	case *column.Scalar[int8]:
		arithInts(s.Data, n, intOnly, w)
	case *column.Scalar[int16]:
		arithInts(s.Data, n, intOnly, w)
	case *column.Scalar[int32]:
		arithInts(s.Data, n, intOnly, w)
	case *column.Scalar[int64]:
		arithInts(s.Data, n, intOnly, w)
	case *column.Scalar[float32]:
		arithFloats(s.Data, n, w)
	case *column.Scalar[float64]:
		arithFloats(s.Data, n, w)
	default:
		return nil, nil, fmt.Errorf("field %s: unexpected column type %T", n.f.Name, c)
	}
	return finish(res, c, ec.n)
}

func arithInts[T integer](data []T, n *arithNode, intOnly bool, w []uint64) {
	if !intOnly {
		for i, x := range data {
			if arithHolds(value{kind: vInt, i: int64(x)}, n) {
				w[i>>6] |= 1 << (uint(i) & 63)
			}
		}
		return
	}
	r, c := n.operand.i, n.v.i
	for i, x := range data {
		y := int64(x)
		switch n.arith {
		case arAdd:
			y += r
		case arSub:
			y -= r
		case arMul:
			y *= r
		case arDiv:
			y /= r
		case arMod:
			y %= r
		}
		if opHolds(n.op, cmp.Compare(y, c)) {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	}
}

func arithFloats[T float32 | float64](data []T, n *arithNode, w []uint64) {
	r, c := n.operand.num(), n.v.num()
	for i, x := range data {
		y := float64(x)
		switch n.arith {
		case arAdd:
			y += r
		case arSub:
			y -= r
		case arMul:
			y *= r
		case arDiv:
			y /= r
		}
		if opHolds(n.op, cmpFloat(y, c)) {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	}
}

// cmpFloat is a three-way compare where NaN compares unequal to everything
// (so only != holds).
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	return 2 // NaN: only != holds
}

// arithHolds evaluates `x arith operand op v` for one number: integers stay
// integers when everything is an integer, else float64.
func arithHolds(x value, n *arithNode) bool {
	if x.kind == vInt && n.operand.kind == vInt && n.v.kind == vInt {
		y, r := x.i, n.operand.i
		switch n.arith {
		case arAdd:
			y += r
		case arSub:
			y -= r
		case arMul:
			y *= r
		case arDiv:
			y /= r
		case arMod:
			y %= r
		}
		return opHolds(n.op, cmp.Compare(y, n.v.i))
	}
	y, r := x.num(), n.operand.num()
	switch n.arith {
	case arAdd:
		y += r
	case arSub:
		y -= r
	case arMul:
		y *= r
	case arDiv:
		y /= r
	case arMod:
		if x.kind != vInt || n.operand.kind != vInt {
			return false
		}
		y = float64(x.i % n.operand.i)
	}
	return opHolds(n.op, cmpFloat(y, n.v.num()))
}
