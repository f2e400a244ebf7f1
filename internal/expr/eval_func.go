package expr

import (
	"cmp"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// Functions: array_length and json_contains / array_contains (+ _all, _any)
// over JSON arrays and Array fields.

func (n *lenNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := c.(*column.Scalar[[]byte]); ok {
		// As segcore: a missing path or a value that is no array has
		// length 0 (only a null row is never selected).
		return evalJSON(ec, c, n.f, func(r jsonVal) bool {
			k := int64(0)
			if r.kind == jArray {
				forEachElem(r.raw, func([]byte) bool { k++; return true })
			}
			return opHolds(n.op, cmp.Compare(k, n.v.i))
		})
	}
	s, err := arrayColumn(c, n.f)
	if err != nil {
		return nil, nil, err
	}
	res := bitset.New(ec.n)
	w := res.Words()
	row := arrayRow{elem: n.f.Elem}
	for i, sf := range s.Data {
		if s.Valid != nil && !s.Valid[i] || sf == nil {
			continue
		}
		row.sf = sf
		w[i>>6] |= b2u(opHolds(n.op, cmp.Compare(int64(row.len()), n.v.i))) << (uint(i) & 63)
	}
	return res, validOf(c, ec.n), nil
}

// evalArrayAny is the fast path of array_contains / _any on integer and
// string arrays: typed element loops against the indexed value set.
func (n *containsNode) evalArrayAny(ec *evalCtx, c column.Column) (*bitset.Set, *bitset.Set, bool, error) {
	s, err := arrayColumn(c, n.f)
	if err != nil {
		return nil, nil, false, err
	}
	res := bitset.New(ec.n)
	w := res.Words()
	set := n.set
	switch n.f.Elem {
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
		for i, sf := range s.Data {
			if s.Valid != nil && !s.Valid[i] {
				continue
			}
			for _, x := range sf.GetIntData().GetData() {
				if set.hasInt(int64(x)) {
					w[i>>6] |= 1 << (uint(i) & 63)
					break
				}
			}
		}
	case schemapb.DataType_Int64:
		for i, sf := range s.Data {
			if s.Valid != nil && !s.Valid[i] {
				continue
			}
			for _, x := range sf.GetLongData().GetData() {
				if set.hasInt(x) {
					w[i>>6] |= 1 << (uint(i) & 63)
					break
				}
			}
		}
	case schemapb.DataType_VarChar, schemapb.DataType_String:
		for i, sf := range s.Data {
			if s.Valid != nil && !s.Valid[i] {
				continue
			}
			for _, x := range sf.GetStringData().GetData() {
				if set.hasString(x) {
					w[i>>6] |= 1 << (uint(i) & 63)
					break
				}
			}
		}
	default:
		return nil, nil, false, nil
	}
	return res, validOf(c, ec.n), true, nil
}

func (n *containsNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	if res, valid, ok, err := n.evalIndexed(ec); ok || err != nil {
		return res, valid, err
	}
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	if n.op != containsAll && n.set != nil {
		if res, valid, ok, err := n.evalArrayAny(ec, c); ok || err != nil {
			return res, valid, err
		}
	}
	if len(n.vals) > 64 && n.op == containsAll {
		// Deduplicate-free fallback for long lists: a []bool per call.
		found := make([]bool, len(n.vals))
		return n.evalWith(ec, c, func(k int) { found[k] = true }, func() bool {
			for _, f := range found {
				if !f {
					return false
				}
			}
			return true
		}, func() { clear(found) })
	}
	var mask uint64
	full := uint64(1)<<uint(min(len(n.vals), 64)) - 1
	if len(n.vals) >= 64 {
		full = ^uint64(0)
	}
	return n.evalWith(ec, c, func(k int) { mask |= 1 << uint(k&63) }, func() bool {
		switch n.op {
		case containsAll:
			return mask == full
		default:
			return mask != 0
		}
	}, func() { mask = 0 })
}

// evalWith walks each row's elements, marks which wanted values were seen
// and asks done whether the row matches.
func (n *containsNode) evalWith(ec *evalCtx, c column.Column, mark func(int), done func() bool, reset func()) (*bitset.Set, *bitset.Set, error) {
	if _, ok := c.(*column.Scalar[[]byte]); ok {
		return evalJSON(ec, c, n.f, func(r jsonVal) bool {
			if r.kind != jArray {
				return false
			}
			reset()
			forEachElem(r.raw, func(e []byte) bool {
				ev := parseJSONVal(e)
				for k, v := range n.vals {
					if jsonEqualsValue(ev, v) {
						mark(k)
					}
				}
				return !(n.op != containsAll && done())
			})
			if len(n.vals) == 0 {
				return n.op == containsAll
			}
			return done()
		})
	}
	return evalArrayRows(ec, c, n.f, func(a arrayRow) bool {
		reset()
		for j := 0; j < a.len(); j++ {
			e := a.at(j)
			for k, v := range n.vals {
				if elemCompare(e, opEQ, v) {
					mark(k)
				}
			}
		}
		if len(n.vals) == 0 {
			return n.op == containsAll
		}
		return done()
	})
}
