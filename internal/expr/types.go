package expr

import (
	"fmt"
	"math"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// Type rules (Milvus planparserv2's canBeComparedDataType and castValue)
// and constant folding.

// compatible reports whether a field of type t can be compared with v.
// Milvus's rule (canBeComparedDataType) plus an integer field against a
// float constant, which we allow and evaluate exactly.
func compatible(t schemapb.DataType, v value) bool {
	switch {
	case t == schemapb.DataType_JSON:
		return true
	case t == schemapb.DataType_Bool:
		return v.kind == vBool
	case isInteger(t) || isFloat(t):
		return v.isNum()
	case isString(t):
		return v.kind == vString
	}
	return false
}

func isInteger(t schemapb.DataType) bool {
	switch t {
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32, schemapb.DataType_Int64,
		schemapb.DataType_Timestamptz: // microseconds since the epoch, compared as Int64 (as Milvus)
		return true
	}
	return false
}

func isFloat(t schemapb.DataType) bool {
	return t == schemapb.DataType_Float || t == schemapb.DataType_Double
}

func isString(t schemapb.DataType) bool {
	return t == schemapb.DataType_VarChar || t == schemapb.DataType_String
}

func isNumeric(t schemapb.DataType) bool { return isInteger(t) || isFloat(t) }

// foldCompare evaluates a comparison of two constants.
func foldCompare(l value, op cmpOp, r value) (bool, bool) {
	var c int
	switch {
	case l.isNum() && r.isNum():
		if l.kind == vInt && r.kind == vInt {
			c = cmp3(l.i, r.i)
		} else {
			c = cmpFloat(l.num(), r.num()) // NaN: only != holds
		}
	case l.kind == vString && r.kind == vString:
		c = cmp3(l.s, r.s)
	case l.kind == vBool && r.kind == vBool && (op == opEQ || op == opNE):
		if l.b != r.b {
			c = 1
		}
	default:
		return false, false
	}
	return opHolds(op, c), true
}

func cmp3[T int64 | float64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// opHolds reports whether op holds for a three-way comparison result c;
// c == 2 means unordered (NaN), where only != holds.
func opHolds(op cmpOp, c int) bool {
	if c == 2 {
		return op == opNE
	}
	switch op {
	case opEQ:
		return c == 0
	case opNE:
		return c != 0
	case opLT:
		return c < 0
	case opLE:
		return c <= 0
	case opGT:
		return c > 0
	}
	return c >= 0
}

func arithOpOf(k tokKind) arithOp {
	switch k {
	case tAdd:
		return arAdd
	case tSub:
		return arSub
	case tMul:
		return arMul
	case tDiv:
		return arDiv
	}
	return arMod
}

// foldArith evaluates arithmetic on two constants as Milvus does: integers
// stay integers, anything with a float becomes a float.
func foldArith(l value, op arithOp, r value) (value, error) {
	if !l.isNum() || !r.isNum() {
		return value{}, fmt.Errorf("'%s' can only be used between integer or floating expressions", op)
	}
	if (op == arDiv || op == arMod) && r.num() == 0 {
		return value{}, fmt.Errorf("division or modulus by zero")
	}
	if l.kind == vInt && r.kind == vInt {
		x, y := l.i, r.i
		var v int64
		switch op {
		case arAdd:
			v = x + y
		case arSub:
			v = x - y
		case arMul:
			v = x * y
		case arDiv:
			if x == math.MinInt64 && y == -1 {
				return value{}, fmt.Errorf("integer overflow")
			}
			v = x / y
		case arMod:
			if y == -1 {
				return value{kind: vInt}, nil
			}
			v = x % y
		}
		return value{kind: vInt, i: v}, nil
	}
	if op == arMod {
		return value{}, fmt.Errorf("modulo can only apply on integer types")
	}
	x, y := l.num(), r.num()
	var f float64
	switch op {
	case arAdd:
		f = x + y
	case arSub:
		f = x - y
	case arMul:
		f = x * y
	case arDiv:
		f = x / y
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return value{}, fmt.Errorf("arithmetic result is not a finite number")
	}
	return value{kind: vFloat, f: f}, nil
}

func toFloat(v value) value {
	if v.kind == vInt {
		return value{kind: vFloat, f: float64(v.i)}
	}
	return v
}
