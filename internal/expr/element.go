package expr

import (
	"context"
	"fmt"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// Element-level filters on struct array fields (Milvus's ElementFilterExpr
// and MatchExpr, planparserv2 VisitElementFilter / VisitMatchSimple /
// VisitMatchThreshold):
//
//	element_filter(structA, $[color] == "Red" && $[size] > 2)
//	MATCH_ANY(structA, ...), MATCH_ALL(structA, ...)
//	MATCH_LEAST(structA, ..., threshold=N), MATCH_MOST(...), MATCH_EXACT(...)
//
// Inside the call, $[sub] is one element's value of the struct's sub-field
// sub, so every predicate is about the same element. The element predicate
// is an ordinary plan evaluated over an elementBatch: a batch whose rows are
// the struct's elements (row r's elements are the ones at offs[r]..offs[r+1])
// and whose columns are the sub-fields' Array columns flattened to their
// element type. A row then matches by how many of its elements matched:
// element_filter and MATCH_ANY at least one, MATCH_ALL every one (a row with
// no elements included), MATCH_LEAST at least N, MATCH_MOST at most N,
// MATCH_EXACT exactly N.

// matchKind is the row rule of an element-level filter.
type matchKind uint8

const (
	matchElementFilter matchKind = iota
	matchAny
	matchAll
	matchLeast
	matchMost
	matchExact
)

var matchNames = [...]string{"element_filter", "MATCH_ANY", "MATCH_ALL", "MATCH_LEAST", "MATCH_MOST", "MATCH_EXACT"}

func matchKindOf(name string) (matchKind, bool) {
	switch name {
	case "element_filter":
		return matchElementFilter, true
	case "match_any":
		return matchAny, true
	case "match_all":
		return matchAll, true
	case "match_least":
		return matchLeast, true
	case "match_most":
		return matchMost, true
	case "match_exact":
		return matchExact, true
	}
	return 0, false
}

// elementNode is an element-level filter over the struct array field
// structName.
type elementNode struct {
	structName string
	match      matchKind
	count      int64 // threshold of MATCH_LEAST/MOST/EXACT
	kid        node  // evaluated per element
	// counter is the sub-field whose Array lengths give each row's number
	// of elements: the first sub-field kid reads, else the struct's first
	// sub-field.
	counter fieldRef
}

func (n *elementNode) fields(add func(int64)) {
	add(n.counter.ID)
	n.kid.fields(add)
}

func (n *elementNode) format(b *strings.Builder) {
	fmt.Fprintf(b, "%s(%s, ", matchNames[n.match], n.structName)
	n.kid.format(b)
	switch n.match {
	case matchLeast, matchMost, matchExact:
		fmt.Fprintf(b, ", threshold=%d", n.count)
	}
	b.WriteByte(')')
}

// holds reports whether a row with hits matching elements out of total
// matches.
func (n *elementNode) holds(hits, total int) bool {
	switch n.match {
	case matchAll:
		return hits == total
	case matchLeast:
		return int64(hits) >= n.count
	case matchMost:
		return int64(hits) <= n.count
	case matchExact:
		return int64(hits) == n.count
	}
	return hits > 0
}

func (n *elementNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	eb, elems, err := n.elements(ec)
	if err != nil {
		return nil, nil, err
	}
	res := bitset.New(ec.n)
	for r := 0; r < ec.n; r++ {
		hits := 0
		for e := eb.offs[r]; e < eb.offs[r+1]; e++ {
			if elems.Test(e) {
				hits++
			}
		}
		if n.holds(hits, eb.offs[r+1]-eb.offs[r]) {
			res.Set(r)
		}
	}
	return res, nil, nil
}

// elements evaluates the element predicate over every element of every row
// of ec: bit e of the result is set when element e matches (null elements
// never do).
func (n *elementNode) elements(ec *evalCtx) (*elementBatch, *bitset.Set, error) {
	c, err := ec.column(n.counter)
	if err != nil {
		return nil, nil, err
	}
	offs := make([]int, ec.n+1)
	for r := 0; r < ec.n; r++ {
		k, err := elementCount(c, r)
		if err != nil {
			return nil, nil, fmt.Errorf("field %s: %w", n.counter.Name, err)
		}
		offs[r+1] = offs[r] + k
	}
	eb := &elementBatch{parent: ec.batch, offs: offs, cols: map[int64]column.Column{}}
	sub := &evalCtx{ctx: ec.ctx, batch: eb, n: offs[ec.n]}
	res, valid, err := n.kid.eval(sub)
	if err != nil {
		return nil, nil, err
	}
	if valid != nil {
		res.And(valid)
	}
	return eb, res, nil
}

// elementCount is the number of elements of row r of a sub-field column.
func elementCount(c column.Column, r int) (int, error) {
	switch s := c.(type) {
	case *column.Scalar[*schemapb.ScalarField]:
		if s.IsNull(r) || s.Data[r] == nil {
			return 0, nil
		}
		return max(column.ScalarLen(s.Data[r]), 0), nil
	case *column.Scalar[*schemapb.VectorField]:
		if s.IsNull(r) || s.Data[r] == nil {
			return 0, nil
		}
		v := s.Data[r]
		if v.GetDim() <= 0 {
			return 0, nil
		}
		return len(v.GetFloatVector().GetData()) / int(v.GetDim()), nil
	}
	return 0, fmt.Errorf("not a struct array sub-field column (%s)", c.DataType())
}

// elementBatch is a batch whose rows are the elements of a struct array
// field: Column flattens a sub-field's Array column to one value per
// element.
type elementBatch struct {
	parent column.Batch
	offs   []int // row r's elements are [offs[r], offs[r+1])
	cols   map[int64]column.Column
}

func (b *elementBatch) Len() int { return b.offs[len(b.offs)-1] }

func (b *elementBatch) Column(id int64) (column.Column, error) {
	if c, ok := b.cols[id]; ok {
		return c, nil
	}
	pc, err := b.parent.Column(id)
	if err != nil {
		return nil, err
	}
	arr, ok := pc.(*column.Scalar[*schemapb.ScalarField])
	if !ok {
		return nil, fmt.Errorf("field %d is not an array sub-field", id)
	}
	if arr.Len() != len(b.offs)-1 {
		return nil, fmt.Errorf("field %d has %d rows, batch has %d", id, arr.Len(), len(b.offs)-1)
	}
	c, err := flattenArray(arr, b.offs)
	if err != nil {
		return nil, fmt.Errorf("field %d: %w", id, err)
	}
	b.cols[id] = c
	return c, nil
}

// flattenArray concatenates the elements of every row of arr into one
// column of the element type; each row must hold offs[r+1]-offs[r] of them
// (every sub-field of a struct has as many elements as the others).
func flattenArray(arr *column.Scalar[*schemapb.ScalarField], offs []int) (column.Column, error) {
	total := offs[len(offs)-1]
	et := arr.ElementType
	for r, sf := range arr.Data {
		want := offs[r+1] - offs[r]
		got := 0
		if sf != nil && !arr.IsNull(r) {
			got = max(column.ScalarLen(sf), 0)
		}
		if got != want {
			return nil, fmt.Errorf("row %d has %d elements where the struct has %d", r, got, want)
		}
	}
	rows := func(r int) *schemapb.ScalarField {
		if arr.IsNull(r) {
			return nil
		}
		return arr.Data[r]
	}
	switch et {
	case schemapb.DataType_Bool:
		return flat(et, total, len(arr.Data), func(r int) []bool { return rows(r).GetBoolData().GetData() }, func(x bool) bool { return x }), nil
	case schemapb.DataType_Int8:
		return flat(et, total, len(arr.Data), func(r int) []int32 { return rows(r).GetIntData().GetData() }, func(x int32) int8 { return int8(x) }), nil
	case schemapb.DataType_Int16:
		return flat(et, total, len(arr.Data), func(r int) []int32 { return rows(r).GetIntData().GetData() }, func(x int32) int16 { return int16(x) }), nil
	case schemapb.DataType_Int32:
		return flat(et, total, len(arr.Data), func(r int) []int32 { return rows(r).GetIntData().GetData() }, func(x int32) int32 { return x }), nil
	case schemapb.DataType_Int64:
		return flat(et, total, len(arr.Data), func(r int) []int64 { return rows(r).GetLongData().GetData() }, func(x int64) int64 { return x }), nil
	case schemapb.DataType_Timestamptz:
		return flat(et, total, len(arr.Data), func(r int) []int64 { return rows(r).GetTimestamptzData().GetData() }, func(x int64) int64 { return x }), nil
	case schemapb.DataType_Float:
		return flat(et, total, len(arr.Data), func(r int) []float32 { return rows(r).GetFloatData().GetData() }, func(x float32) float32 { return x }), nil
	case schemapb.DataType_Double:
		return flat(et, total, len(arr.Data), func(r int) []float64 { return rows(r).GetDoubleData().GetData() }, func(x float64) float64 { return x }), nil
	case schemapb.DataType_VarChar, schemapb.DataType_String:
		return flat(et, total, len(arr.Data), func(r int) []string { return rows(r).GetStringData().GetData() }, func(x string) string { return x }), nil
	}
	return nil, fmt.Errorf("array element type %s is not supported in element filters", et)
}

func flat[S, T any](t schemapb.DataType, total, n int, row func(int) []S, conv func(S) T) *column.Scalar[T] {
	out := &column.Scalar[T]{Type: t, Data: make([]T, 0, total)}
	for r := 0; r < n; r++ {
		for _, x := range row(r) {
			out.Data = append(out.Data, conv(x))
		}
	}
	return out
}

// ElementMask evaluates the element_filter on struct array field
// structName that the filter holds at its top (the whole filter, or one
// operand of its top-level `and`) over every element of b: row r's
// elements are bits offs[r] to offs[r+1]-1 of mask. found is false when
// there is no such element_filter. An element-level search scores each row
// by its best element among those kept.
func (e *Expr) ElementMask(ctx context.Context, b column.Batch, structName string) (offs []int, mask *bitset.Set, found bool, err error) {
	var n *elementNode
	switch r := e.root.(type) {
	case *elementNode:
		n = r
	case *logicNode:
		if r.and {
			for _, k := range r.kids {
				if en, ok := k.(*elementNode); ok && en.structName == structName && en.match == matchElementFilter {
					n = en
					break
				}
			}
		}
	}
	if n == nil || n.structName != structName || n.match != matchElementFilter {
		return nil, nil, false, nil
	}
	ec := &evalCtx{ctx: ctx, batch: b, n: b.Len()}
	eb, elems, err := n.elements(ec)
	if err != nil {
		return nil, nil, false, fmt.Errorf("evaluate element filter %s: %w", e, err)
	}
	return eb.offs, elems, true, nil
}

// ---- checking ----

// structField is the struct array field named name, or nil.
func (c *checker) structField(name string) *schemapb.StructArrayFieldSchema {
	for _, sf := range c.schema.GetStructArrayFields() {
		if sf.GetName() == name {
			return sf
		}
	}
	return nil
}

// structSubName is the stored name of a struct's sub-field: struct[sub].
func structSubName(structName, sub string) string { return structName + "[" + sub + "]" }

// subFieldSchema finds sub-field sub of sf (stored as struct[sub], or under
// its own name in a schema that was not flattened).
func subFieldSchema(sf *schemapb.StructArrayFieldSchema, sub string) *schemapb.FieldSchema {
	full := structSubName(sf.GetName(), sub)
	for _, f := range sf.GetFields() {
		if f.GetName() == full || f.GetName() == sub {
			return f
		}
	}
	return nil
}

// elementCall checks element_filter(...) and MATCH_*(...).
func (c *checker) elementCall(a *ast, kind matchKind) (operand, error) {
	name := matchNames[kind]
	if c.inStruct != nil {
		if kind == matchElementFilter {
			return operand{}, errAt(a.pos, "nested ElementFilter is not supported, already inside ElementFilter for field: %s", c.inStruct.GetName())
		}
		return operand{}, errAt(a.pos, "nested %s is not supported, already inside match expression for field: %s", name, c.inStruct.GetName())
	}
	want := 2
	if kind >= matchLeast {
		want = 3
	}
	if len(a.kids) != want {
		return operand{}, errAt(a.pos, "%s takes %d arguments, got %d", name, want, len(a.kids))
	}
	id := a.kids[0]
	if id.kind != aIdent || len(id.kids) > 0 {
		return operand{}, errAt(id.pos, "the first argument of %s must be a struct array field name, got: %s", name, c.src(id))
	}
	sf := c.structField(id.text)
	if sf == nil {
		return operand{}, errAt(id.pos, "struct array field not found: %s", id.text)
	}
	n := &elementNode{structName: sf.GetName(), match: kind}
	if want == 3 {
		t := a.kids[2]
		if t.kind != aNamedArg || t.text != "threshold" || t.kids[0].kind != aInt {
			return operand{}, errAt(t.pos, "%s expects threshold=N as its third argument, got: %s", name, c.src(t))
		}
		o, err := c.check(t.kids[0])
		if err != nil {
			return operand{}, err
		}
		n.count = o.v.i
		switch {
		case kind == matchLeast && n.count <= 0:
			return operand{}, errAt(t.pos, "count in MATCH_LEAST must be positive, got: %d", n.count)
		case n.count < 0:
			return operand{}, errAt(t.pos, "count in %s cannot be negative, got: %d", name, n.count)
		}
	}
	c.inStruct, c.subUsed = sf, nil
	pred, err := c.check(a.kids[1])
	used := c.subUsed
	c.inStruct, c.subUsed = nil, nil
	if err != nil {
		what := "element expression"
		if kind != matchElementFilter {
			what = "predicate expression"
		}
		return operand{}, errAt(a.pos, "cannot parse %s: %s, error: %s", what, c.src(a.kids[1]), unpositioned(err))
	}
	switch {
	case pred.kind == oBool:
		n.kid = pred.n
	case pred.kind == oConst && pred.v.kind == vBool:
		n.kid = &constNode{b: pred.v.b}
	default:
		return operand{}, errAt(a.kids[1].pos, "invalid element expression: %s", c.src(a.kids[1]))
	}
	if used != nil {
		n.counter = *used
	} else {
		var first *schemapb.FieldSchema
		for _, f := range sf.GetFields() {
			if f.GetDataType() == schemapb.DataType_Array {
				first = f
				break
			}
		}
		if first == nil && len(sf.GetFields()) > 0 {
			first = sf.GetFields()[0]
		}
		if first == nil {
			return operand{}, errAt(id.pos, "struct array field %s has no sub-fields", sf.GetName())
		}
		n.counter = fieldRef{ID: first.GetFieldID(), Name: first.GetName(), Type: first.GetDataType(), Elem: first.GetElementType()}
	}
	return operand{kind: oBool, n: n, pos: a.pos}, nil
}

// structSub resolves $[sub] inside an element-level filter: one element's
// value of the sub-field, typed as the sub-field's element type.
func (c *checker) structSub(a *ast) (operand, error) {
	if c.inStruct == nil {
		return operand{}, errAt(a.pos, "$[%s] syntax can only be used inside ElementFilter or MATCH_*", a.text)
	}
	f := subFieldSchema(c.inStruct, a.text)
	if f == nil {
		return operand{}, errAt(a.pos, "array field not found: %s", structSubName(c.inStruct.GetName(), a.text))
	}
	if f.GetDataType() != schemapb.DataType_Array {
		return operand{}, errAt(a.pos, "element filters support only scalar sub-fields, %s is %s", structSubName(c.inStruct.GetName(), a.text), f.GetDataType())
	}
	ref := fieldRef{ID: f.GetFieldID(), Name: f.GetName(), Type: f.GetElementType(), Sub: a.text}
	if c.subUsed == nil {
		arr := fieldRef{ID: f.GetFieldID(), Name: f.GetName(), Type: schemapb.DataType_Array, Elem: f.GetElementType()}
		c.subUsed = &arr
	}
	return operand{kind: oField, f: ref, pos: a.pos}, nil
}
