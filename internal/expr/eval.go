package expr

import (
	"context"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// evalCtx carries one Eval call's inputs.
type evalCtx struct {
	ctx   context.Context
	batch column.Batch
	n     int
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

// eval implements Milvus's combination: results AND/OR, validities OR.
func (n *logicNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	var res, valid *bitset.Set
	allValid := false
	for i, k := range n.kids {
		if err := ec.ctx.Err(); err != nil {
			return nil, nil, err
		}
		r, v, err := k.eval(ec)
		if err != nil {
			return nil, nil, err
		}
		if i == 0 {
			res, valid, allValid = r, v, v == nil
			continue
		}
		if n.and {
			res.And(r)
		} else {
			res.Or(r)
		}
		switch {
		case allValid:
		case v == nil:
			allValid, valid = true, nil
		default:
			valid.Or(v)
		}
	}
	return res, valid, nil
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
