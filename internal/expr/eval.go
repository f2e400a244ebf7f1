package expr

import (
	"context"
	"fmt"
	"math/bits"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// evalCtx carries one Eval call's inputs.
type evalCtx struct {
	ctx   context.Context
	batch column.Batch
	n     int
	// cand, when not nil, holds the only rows whose results matter: an `and`
	// sets it to the rows its earlier operands left true, so expensive leaves
	// (JSON, arrays, general like) skip the rest. Results outside cand are
	// unspecified; validity is always computed for every row.
	cand *bitset.Set
}

// forEachCand calls fn for every row of [0, n) in ec.cand (every row when
// cand is nil), skipping 64 rows at a time where cand is empty. It checks
// the context every 1024 rows: these are the slow loops.
func (ec *evalCtx) forEachCand(fn func(i int)) error {
	var cw []uint64
	if ec.cand != nil {
		cw = ec.cand.Words()
	}
	for wi := 0; wi*64 < ec.n; wi++ {
		if wi&15 == 0 {
			if err := ec.ctx.Err(); err != nil {
				return err
			}
		}
		m := ^uint64(0)
		if cw != nil {
			m = cw[wi]
		}
		if rem := ec.n - wi*64; rem < 64 {
			m &= 1<<uint(rem) - 1
		}
		for m != 0 {
			j := bits.TrailingZeros64(m)
			m &= m - 1
			fn(wi*64 + j)
		}
	}
	return nil
}

// column fetches field id and checks its length.
func (ec *evalCtx) column(f fieldRef) (column.Column, error) {
	if err := ec.ctx.Err(); err != nil {
		return nil, err
	}
	c, err := ec.batch.Column(f.ID)
	if err != nil {
		return nil, fmt.Errorf("field %s: %w", f.Name, err)
	}
	if c.Len() != ec.n {
		return nil, fmt.Errorf("field %s has %d rows, batch has %d", f.Name, c.Len(), ec.n)
	}
	return c, nil
}

// validOf is the validity bitset of a column, nil when no row is null.
func validOf(c column.Column, n int) *bitset.Set {
	var valid []bool
	switch s := c.(type) {
	case *column.Scalar[bool]:
		valid = s.Valid
	case *column.Scalar[int8]:
		valid = s.Valid
	case *column.Scalar[int16]:
		valid = s.Valid
	case *column.Scalar[int32]:
		valid = s.Valid
	case *column.Scalar[int64]:
		valid = s.Valid
	case *column.Scalar[float32]:
		valid = s.Valid
	case *column.Scalar[float64]:
		valid = s.Valid
	case *column.Scalar[string]:
		valid = s.Valid
	case *column.Scalar[[]byte]:
		valid = s.Valid
	case *column.Scalar[*schemapb.ScalarField]:
		valid = s.Valid
	}
	if valid == nil {
		return nil
	}
	v := bitset.New(n)
	w := v.Words()
	for base := 0; base < len(valid); base += 64 {
		var word uint64
		for j, ok := range valid[base:min(base+64, len(valid))] {
			word |= b2u(ok) << uint(j)
		}
		w[base>>6] = word
	}
	return v
}

// finish masks res with the column's validity and returns both.
func finish(res *bitset.Set, c column.Column, n int) (*bitset.Set, *bitset.Set, error) {
	valid := validOf(c, n)
	if valid != nil {
		res.And(valid)
	}
	return res, valid, nil
}

// finishNot flips res (for !=, not in) and masks with validity.
func finishNot(res *bitset.Set, c column.Column, n int) (*bitset.Set, *bitset.Set, error) {
	res.Not()
	return finish(res, c, n)
}

func (n *constNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	if n.b {
		return bitset.NewFull(ec.n), nil, nil
	}
	return bitset.New(ec.n), nil, nil
}

// eval implements Milvus's three-valued (Kleene) logic: false and null is
// false, true or null is true, otherwise a null operand makes the result
// null. It tracks the rows definitely true (res) and, once an operand has
// nulls, the rows definitely false (fals); validity is their union.
// Operands run cheapest first (n.order); an `and` narrows ec.cand to the rows
// not yet definitely false, an `or` to the rows not yet true, for the
// operands after the first.
func (n *logicNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	var res, fals *bitset.Set
	exact := true // no operand so far had nulls: fals is the complement of res
	outer := ec.cand
	defer func() { ec.cand = outer }()
	for i, k := range n.order {
		if err := ec.ctx.Err(); err != nil {
			return nil, nil, err
		}
		r, v, err := k.eval(ec)
		if err != nil {
			return nil, nil, err
		}
		if v != nil && exact && i > 0 {
			fals = res.Clone()
			fals.Not()
			exact = false
		}
		var f *bitset.Set // rows where this operand is definitely false
		if !exact || v != nil {
			f = r.Clone()
			f.Not()
			if v != nil {
				f.And(v)
			}
		}
		switch {
		case i == 0:
			res = r
			if v != nil {
				fals, exact = f, false
			}
		case n.and:
			res.And(r)
			if !exact {
				fals.Or(f)
			}
		default:
			res.Or(r)
			if !exact {
				fals.And(f)
			}
		}
		if i == len(n.order)-1 {
			break
		}
		if n.and {
			if exact {
				if i == 0 && outer != nil {
					res.And(outer) // rows outside outer do not matter to the caller
				}
				ec.cand = res
			} else {
				c := fals.Clone()
				c.Not()
				if outer != nil {
					c.And(outer)
				}
				ec.cand = c
			}
		} else if costOf(n.order[i+1]) >= 3 {
			// Before an expensive operand of an `or`, only rows not yet true matter.
			c := res.Clone()
			c.Not()
			if outer != nil {
				c.And(outer)
			}
			ec.cand = c
		}
	}
	if exact {
		return res, nil, nil
	}
	valid := fals
	valid.Or(res)
	return res, valid, nil
}

// costOf ranks nodes by evaluation cost, to run cheap `and`/`or` operands first.
func costOf(n node) int {
	switch n := n.(type) {
	case *constNode:
		return 0
	case *notNode:
		return costOf(n.kid)
	case *logicNode:
		c := 0
		for _, k := range n.kids {
			c = max(c, costOf(k))
		}
		return c
	case *fieldCmpNode:
		return 2
	case *existsNode, *containsNode:
		return 5
	case *elementNode:
		return 6
	}
	var f fieldRef
	switch n := n.(type) {
	case *cmpNode:
		f = n.f
	case *rangeNode:
		f = n.f
	case *termNode:
		f = n.f
	case *nullNode:
		return 1
	case *likeNode:
		f = n.f
		if n.m.kind == likeGeneral {
			return max(3, fieldCost(f))
		}
	case *arithNode:
		f = n.f
	case *lenNode:
		f = n.f
	}
	return fieldCost(f)
}

func fieldCost(f fieldRef) int {
	switch f.Type {
	case schemapb.DataType_JSON:
		return 5
	case schemapb.DataType_Array:
		return 4
	}
	return 1
}

func (n *notNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	res, valid, err := n.kid.eval(ec)
	if err != nil {
		return nil, nil, err
	}
	res.Not()
	if valid != nil {
		res.And(valid)
	}
	return res, valid, nil
}

func (n *nullNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	valid := validOf(c, ec.n)
	var res *bitset.Set // rows that are not null
	if valid == nil {
		res = bitset.NewFull(ec.n)
	} else {
		res = valid.Clone()
	}
	if n.isNull {
		res.Not()
	}
	return res, nil, nil
}
