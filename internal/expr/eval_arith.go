package expr

import (
	"cmp"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// `field arith constant op constant`.

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
		arithFloat32(s.Data, n, w)
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

// arithFloat32 computes in float32 on a Float column, as segcore does: its
// ArithHighPrecisionType<float> is float, so the operand, the arithmetic
// and the compared value are all float32 (f * 10 == 33 holds for a stored
// float32(3.3), which float64 arithmetic would miss).
func arithFloat32(data []float32, n *arithNode, w []uint64) {
	r, c := float32(n.operand.num()), float64(float32(n.v.num()))
	for i, x := range data {
		y := x
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
		if opHolds(n.op, cmpFloat(float64(y), c)) {
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
