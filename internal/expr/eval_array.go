package expr

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// elemVal is one Array element or scalar cell, typed like a constant.
type elemVal = value

// arrayRow is one row of an Array column, read by element type.
type arrayRow struct {
	elem schemapb.DataType
	sf   *schemapb.ScalarField
}

func (a arrayRow) len() int {
	switch a.elem {
	case schemapb.DataType_Bool:
		return len(a.sf.GetBoolData().GetData())
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
		return len(a.sf.GetIntData().GetData())
	case schemapb.DataType_Int64:
		return len(a.sf.GetLongData().GetData())
	case schemapb.DataType_Float:
		return len(a.sf.GetFloatData().GetData())
	case schemapb.DataType_Double:
		return len(a.sf.GetDoubleData().GetData())
	case schemapb.DataType_VarChar, schemapb.DataType_String:
		return len(a.sf.GetStringData().GetData())
	}
	return 0
}

func (a arrayRow) at(j int) elemVal {
	switch a.elem {
	case schemapb.DataType_Bool:
		return value{kind: vBool, b: a.sf.GetBoolData().GetData()[j]}
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
		return value{kind: vInt, i: int64(a.sf.GetIntData().GetData()[j])}
	case schemapb.DataType_Int64:
		return value{kind: vInt, i: a.sf.GetLongData().GetData()[j]}
	case schemapb.DataType_Float:
		return value{kind: vFloat, f: float64(a.sf.GetFloatData().GetData()[j]), f32: true}
	case schemapb.DataType_Double:
		return value{kind: vFloat, f: a.sf.GetDoubleData().GetData()[j]}
	case schemapb.DataType_VarChar, schemapb.DataType_String:
		return value{kind: vString, s: a.sf.GetStringData().GetData()[j]}
	}
	return value{}
}

func arrayColumn(c column.Column, f fieldRef) (*column.Scalar[*schemapb.ScalarField], error) {
	s, ok := c.(*column.Scalar[*schemapb.ScalarField])
	if !ok {
		return nil, fmt.Errorf("field %s: unexpected column type %T for Array", f.Name, c)
	}
	return s, nil
}

// evalArrayRows runs pred on every valid row of an Array column.
func evalArrayRows(ec *evalCtx, c column.Column, f fieldRef, pred func(arrayRow) bool) (*bitset.Set, *bitset.Set, error) {
	s, err := arrayColumn(c, f)
	if err != nil {
		return nil, nil, err
	}
	res := bitset.New(ec.n)
	w := res.Words()
	err = ec.forEachCand(func(i int) {
		sf := s.Data[i]
		if s.Valid != nil && !s.Valid[i] || sf == nil {
			return
		}
		if pred(arrayRow{elem: f.Elem, sf: sf}) {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return res, validOf(c, ec.n), nil
}

// evalArrayElem runs pred on element f.elemIndex() of every valid row; a row
// too short for the index does not match.
func evalArrayElem(ec *evalCtx, c column.Column, f fieldRef, pred func(elemVal) bool) (*bitset.Set, *bitset.Set, error) {
	idx := f.elemIndex()
	return evalArrayRows(ec, c, f, func(a arrayRow) bool {
		return idx >= 0 && idx < a.len() && pred(a.at(idx))
	})
}

// evalArrayCmp handles `arr[i] op v` and whole-array `arr == [..]` / `!=`.
func evalArrayCmp(ec *evalCtx, c column.Column, n *cmpNode) (*bitset.Set, *bitset.Set, error) {
	if len(n.f.Path) > 0 {
		return evalArrayElem(ec, c, n.f, func(e elemVal) bool { return elemCompare(e, n.op, n.v) })
	}
	return evalArrayRows(ec, c, n.f, func(a arrayRow) bool {
		eq := a.len() == len(n.v.arr)
		for j := 0; eq && j < len(n.v.arr); j++ {
			eq = elemCompare(a.at(j), opEQ, n.v.arr[j])
		}
		return eq == (n.op == opEQ)
	})
}

// elemCompare compares a typed element with a constant; Float elements
// compare in float32 like Float columns.
func elemCompare(e elemVal, op cmpOp, v value) bool {
	switch {
	case e.kind == vInt && v.kind == vInt:
		return opHolds(op, cmp.Compare(e.i, v.i))
	case e.isNum() && v.isNum():
		if e.f32 {
			return opHolds(op, cmpFloat(float64(float32(e.f)), float64(float32(v.num()))))
		}
		return opHolds(op, cmpFloat(e.num(), v.num()))
	case e.kind == vString && v.kind == vString:
		return opHolds(op, strings.Compare(e.s, v.s))
	case e.kind == vBool && v.kind == vBool:
		return opHolds(op, cmpBools(e.b, v.b))
	}
	return op == opNE
}

// elemCompareElem compares two cells (field-vs-field): integers exactly,
// other numbers in float64.
func elemCompareElem(x elemVal, op cmpOp, y elemVal) bool {
	if x.isNum() && y.isNum() && !(x.kind == vInt && y.kind == vInt) {
		return opHolds(op, cmpFloat(x.num(), y.num()))
	}
	y.f32 = false
	x.f32 = false
	return elemCompare(x, op, y)
}

// elemReader returns a reader of one cell per row for field-vs-field
// comparisons: a scalar column or an Array element.
func elemReader(c column.Column, f fieldRef) (func(i int) (elemVal, bool), error) {
	switch s := c.(type) {
	case *column.Scalar[bool]:
		return func(i int) (elemVal, bool) { return value{kind: vBool, b: s.Data[i]}, true }, nil
	case *column.Scalar[int8]:
		return func(i int) (elemVal, bool) { return value{kind: vInt, i: int64(s.Data[i])}, true }, nil
	case *column.Scalar[int16]:
		return func(i int) (elemVal, bool) { return value{kind: vInt, i: int64(s.Data[i])}, true }, nil
	case *column.Scalar[int32]:
		return func(i int) (elemVal, bool) { return value{kind: vInt, i: int64(s.Data[i])}, true }, nil
	case *column.Scalar[int64]:
		return func(i int) (elemVal, bool) { return value{kind: vInt, i: s.Data[i]}, true }, nil
	case *column.Scalar[float32]:
		return func(i int) (elemVal, bool) { return value{kind: vFloat, f: float64(s.Data[i])}, true }, nil
	case *column.Scalar[float64]:
		return func(i int) (elemVal, bool) { return value{kind: vFloat, f: s.Data[i]}, true }, nil
	case *column.Scalar[string]:
		return func(i int) (elemVal, bool) { return value{kind: vString, s: s.Data[i]}, true }, nil
	case *column.Scalar[*schemapb.ScalarField]:
		idx := f.elemIndex()
		return func(i int) (elemVal, bool) {
			if s.Valid != nil && !s.Valid[i] || s.Data[i] == nil {
				return value{}, false
			}
			a := arrayRow{elem: f.Elem, sf: s.Data[i]}
			if idx < 0 || idx >= a.len() {
				return value{}, false
			}
			return a.at(idx), true
		}, nil
	}
	return nil, fmt.Errorf("field %s: unexpected column type %T", f.Name, c)
}
