package expr

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// JSON values are read per row with the scanner in jsonscan.go, only at the
// paths the plan uses; strings without escapes point into the row.

type jKind uint8

const (
	jNone jKind = iota // path absent
	jNull
	jBool
	jInt
	jFloat
	jString
	jArray
	jObject
)

// jsonVal is the JSON value found at a path in one row.
type jsonVal struct {
	kind jKind
	b    bool
	i    int64
	f    float64
	s    string
	raw  []byte
}

// lookup finds the value at f's path in one JSON document.
func lookup(doc []byte, f fieldRef) jsonVal {
	if len(f.Path) == 0 {
		i := skipWS(doc, 0)
		if i >= len(doc) {
			return jsonVal{}
		}
		return parseJSONVal(doc[i:skipValue(doc, i)])
	}
	raw, ok := jsonLookup(doc, f.Path)
	if !ok {
		return jsonVal{}
	}
	return parseJSONVal(raw)
}

// evalJSON runs pred on the value at f's path for every valid row.
func evalJSON(ec *evalCtx, c column.Column, f fieldRef, pred func(jsonVal) bool) (*bitset.Set, *bitset.Set, error) {
	s, ok := c.(*column.Scalar[[]byte])
	if !ok {
		return nil, nil, fmt.Errorf("field %s: unexpected column type %T for JSON", f.Name, c)
	}
	if err := ec.ctx.Err(); err != nil {
		return nil, nil, err
	}
	res := bitset.New(ec.n)
	w := res.Words()
	err := ec.forEachCand(func(i int) {
		if s.Valid != nil && !s.Valid[i] {
			return
		}
		if pred(lookup(s.Data[i], f)) {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return res, validOf(c, ec.n), nil
}

// jsonCompare compares a JSON value with a constant by JSON type: numbers
// numerically, strings with strings, bools with bools, arrays by equality.
// A missing path or a type mismatch is false, except for != with a scalar
// constant, which is true (as in Milvus). != with an array constant, like
// ==, holds only for an array (segcore's UnaryRangeFilterExpr reads the
// path as an array and answers false when it is not one).
func jsonCompare(r jsonVal, op cmpOp, v value) bool {
	if op == opNE {
		if v.kind == vArray {
			return r.kind == jArray && !jsonEqualsValue(r, v)
		}
		return !jsonCompare(r, opEQ, v)
	}
	switch v.kind {
	case vInt, vFloat:
		switch r.kind {
		case jInt:
			if v.kind == vInt {
				return opHolds(op, cmp.Compare(r.i, v.i))
			}
			return opHolds(op, cmpFloat(float64(r.i), v.f))
		case jFloat:
			return opHolds(op, cmpFloat(r.f, v.num()))
		}
	case vString:
		if r.kind == jString {
			return opHolds(op, strings.Compare(r.s, v.s))
		}
	case vBool:
		if r.kind == jBool {
			return opHolds(op, cmpBools(r.b, v.b))
		}
	case vArray:
		if r.kind == jArray && op == opEQ {
			return jsonEqualsValue(r, v)
		}
	}
	return false
}

func cmpBools(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// jsonEqualsValue reports whether a JSON value equals a constant.
func jsonEqualsValue(r jsonVal, v value) bool {
	switch v.kind {
	case vArray:
		if r.kind != jArray {
			return false
		}
		i, eq := 0, true
		forEachElem(r.raw, func(e []byte) bool {
			if i >= len(v.arr) || !jsonEqualsValue(parseJSONVal(e), v.arr[i]) {
				eq = false
				return false
			}
			i++
			return true
		})
		return eq && i == len(v.arr)
	default:
		return jsonCompare(r, opEQ, v)
	}
}

func (n *existsNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	// Always valid, as in Milvus (a null JSON row has no key): so
	// not exists j["k"] and j["k"] is null select null rows.
	res, _, err := evalJSON(ec, c, n.f, func(r jsonVal) bool { return r.kind != jNone })
	return res, nil, err
}
