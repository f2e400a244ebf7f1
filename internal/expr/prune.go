package expr

import (
	"math"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// MayMatch reports false only if no row of a segment can match, given
// per-field min/max statistics (stats returns ok=false when it has none).
// Min and max are int64, float64 or string for numeric and string fields.
// It is conservative: anything it cannot reason about may match.
func (e *Expr) MayMatch(stats func(fieldID int64) (min, max any, ok bool)) bool {
	return mayMatch(e.root, stats)
}

func mayMatch(n node, stats func(int64) (any, any, bool)) bool {
	switch n := n.(type) {
	case *constNode:
		return n.b
	case *logicNode:
		for _, k := range n.kids {
			m := mayMatch(k, stats)
			if n.and && !m {
				return false
			}
			if !n.and && m {
				return true
			}
		}
		return n.and
	case *cmpNode:
		if n.op == opNE || len(n.f.Path) > 0 || n.v.kind == vArray {
			return true
		}
		lo, hi, ok := statBounds(n.f, stats)
		if !ok {
			return true
		}
		return overlaps(lo, hi, n.op, pruneVal(n.f, n.v))
	case *rangeNode:
		if len(n.f.Path) > 0 {
			return true
		}
		lo, hi, ok := statBounds(n.f, stats)
		if !ok {
			return true
		}
		return overlaps(lo, hi, loOp(n.loInc), pruneVal(n.f, n.lo)) && overlaps(lo, hi, hiOp(n.hiInc), pruneVal(n.f, n.hi))
	case *termNode:
		if n.neg || len(n.f.Path) > 0 {
			return true
		}
		lo, hi, ok := statBounds(n.f, stats)
		if !ok {
			return true
		}
		for _, v := range n.vals {
			if overlaps(lo, hi, opEQ, pruneVal(n.f, v)) {
				return true
			}
		}
		return false
	}
	return true
}

// pruneVal rounds a constant the way evaluation sees it: a Float (float32)
// column compares in float32.
func pruneVal(f fieldRef, v value) value {
	if f.Type == schemapb.DataType_Float && v.isNum() {
		return value{kind: vFloat, f: float64(float32(v.num()))}
	}
	return v
}

// statBounds converts stats for a plain numeric or string field into values.
func statBounds(f fieldRef, stats func(int64) (any, any, bool)) (value, value, bool) {
	if !(isNumeric(f.Type) || isString(f.Type)) {
		return value{}, value{}, false
	}
	mn, mx, ok := stats(f.ID)
	if !ok {
		return value{}, value{}, false
	}
	lo, ok1 := statValue(mn)
	hi, ok2 := statValue(mx)
	return lo, hi, ok1 && ok2
}

func statValue(x any) (value, bool) {
	switch v := x.(type) {
	case int64:
		return value{kind: vInt, i: v}, true
	case int32:
		return value{kind: vInt, i: int64(v)}, true
	case int16:
		return value{kind: vInt, i: int64(v)}, true
	case int8:
		return value{kind: vInt, i: int64(v)}, true
	case int:
		return value{kind: vInt, i: int64(v)}, true
	case float64:
		if math.IsNaN(v) {
			return value{}, false
		}
		return value{kind: vFloat, f: v}, true
	case float32:
		if math.IsNaN(float64(v)) {
			return value{}, false
		}
		return value{kind: vFloat, f: float64(v)}, true
	case string:
		return value{kind: vString, s: v}, true
	}
	return value{}, false
}

// overlaps reports whether some x in [lo, hi] may satisfy x op v.
func overlaps(lo, hi value, op cmpOp, v value) bool {
	le := func(a, b value) bool { r, ok := foldCompare(a, opLE, b); return r || !ok }
	lt := func(a, b value) bool { r, ok := foldCompare(a, opLT, b); return r || !ok }
	switch op {
	case opEQ:
		return le(lo, v) && le(v, hi)
	case opLT:
		return lt(lo, v)
	case opLE:
		return le(lo, v)
	case opGT:
		return lt(v, hi)
	case opGE:
		return le(v, hi)
	}
	return true
}

// MustMatch reports true only if every row of a segment matches, given
// per-field min/max statistics (as MayMatch): a segment a clustering
// compaction cut inside a filter's key range then needs no evaluation.
// Only non-nullable integer and string fields are used (a null or a NaN,
// which statistics leave out, matches no comparison).
func (e *Expr) MustMatch(stats func(fieldID int64) (min, max any, ok bool)) bool {
	return mustMatch(e.root, stats)
}

func mustMatch(n node, stats func(int64) (any, any, bool)) bool {
	switch n := n.(type) {
	case *constNode:
		return n.b
	case *logicNode:
		for _, k := range n.kids {
			m := mustMatch(k, stats)
			if n.and && !m {
				return false
			}
			if !n.and && m {
				return true
			}
		}
		return n.and
	case *cmpNode:
		lo, hi, ok := exactStatBounds(n.f, stats)
		if !ok || n.v.kind == vArray {
			return false
		}
		return allHold(lo, hi, n.op, n.v)
	case *rangeNode:
		lo, hi, ok := exactStatBounds(n.f, stats)
		if !ok {
			return false
		}
		return allHold(lo, hi, loOp(n.loInc), n.lo) && allHold(lo, hi, hiOp(n.hiInc), n.hi)
	case *termNode:
		lo, hi, ok := exactStatBounds(n.f, stats)
		if !ok {
			return false
		}
		if n.neg {
			// Every value lies outside [lo, hi].
			for _, v := range n.vals {
				if overlaps(lo, hi, opEQ, v) {
					return false
				}
			}
			return true
		}
		// One key in the segment, and it is listed.
		for _, v := range n.vals {
			if allHold(lo, hi, opEQ, v) {
				return true
			}
		}
	}
	return false
}

// exactStatBounds is statBounds for a non-nullable integer or string
// field read whole (no JSON path, no element).
func exactStatBounds(f fieldRef, stats func(int64) (any, any, bool)) (value, value, bool) {
	if f.Nullable || len(f.Path) > 0 || f.Sub != "" || !(isInteger(f.Type) || isString(f.Type)) {
		return value{}, value{}, false
	}
	return statBounds(f, stats)
}

// allHold reports whether every x in [lo, hi] satisfies x op v.
func allHold(lo, hi value, op cmpOp, v value) bool {
	holds := func(a value, op cmpOp, b value) bool { r, ok := foldCompare(a, op, b); return r && ok }
	switch op {
	case opEQ:
		return holds(lo, opEQ, v) && holds(hi, opEQ, v)
	case opNE:
		return holds(v, opLT, lo) || holds(hi, opLT, v)
	case opLT, opLE:
		return holds(hi, op, v)
	case opGT, opGE:
		return holds(lo, op, v)
	}
	return false
}
