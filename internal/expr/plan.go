package expr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/timestamptz"
)

// Expr is an immutable typed filter plan, safe for concurrent use.
type Expr struct {
	root   node
	fields []int64
	casts  []JSONCast // the JSON casts applied (WithJSONCasts)
}

// Parse parses a Milvus boolean expression against a collection schema into
// a typed plan. templates fills {name} placeholders from the request's
// expr_template_values (may be nil). An empty text selects every row.
// Errors wrap errs.ErrParameterInvalid and read "cannot parse expression:
// <text>, error: <detail>" (or, as in Milvus, "predicate is not a boolean
// expression: <text>, data type: <type>").
func Parse(schema *schemapb.CollectionSchema, text string, templates map[string]*schemapb.TemplateValue) (*Expr, error) {
	return ParseInZone(schema, text, templates, timestamptz.DefaultZone)
}

// ParseInZone is Parse with the time zone (an IANA name) in which
// `ISO '...'` strings without an offset are read.
func ParseInZone(schema *schemapb.CollectionSchema, text string, templates map[string]*schemapb.TemplateValue, zone string) (*Expr, error) {
	e, err := parse(schema, text, templates, zone)
	var pe *plainError
	if errors.As(err, &pe) {
		return nil, errs.InvalidParameter("%s", pe.msg)
	}
	if err != nil {
		shown := text
		if len(shown) > 1024 { // long pk lists would make huge messages
			shown = shown[:1024] + "..."
		}
		return nil, errs.InvalidParameter("cannot parse expression: %s, error: %s", shown, err)
	}
	return e, nil
}

func parse(schema *schemapb.CollectionSchema, text string, templates map[string]*schemapb.TemplateValue, zone string) (*Expr, error) {
	if strings.TrimSpace(text) == "" {
		// As Milvus: an empty filter selects every row.
		return newExpr(&constNode{b: true}), nil
	}
	a, err := parseText(text)
	if err != nil {
		// Milvus says "invalid expression" when its parser stops early;
		// clients match on it.
		var se *syntaxError
		if errors.As(err, &se) {
			err = &syntaxError{se.pos, "invalid expression: " + se.msg}
		}
		return nil, positioned(text, err)
	}
	c := &checker{schema: schema, text: text, templates: templates, zone: zone}
	root, err := c.predicate(a)
	if err != nil {
		// Milvus 2.6 positions only the parser's syntax errors ("line
		// 1:N ..."); its visitor's semantic errors carry no position, and
		// clients match on their text ending there.
		return nil, unpositioned(err)
	}
	if err := checkTemplates(templates); err != nil {
		return nil, err
	}
	return newExpr(root), nil
}

func newExpr(root node) *Expr {
	var ids []int64
	root.fields(func(id int64) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	})
	slices.Sort(ids)
	return &Expr{root: root, fields: ids}
}

// positioned appends "at column N" (1-based, in characters) to errors that
// carry a position.
func positioned(text string, err error) error {
	var se *syntaxError
	if errors.As(err, &se) {
		col := len([]rune(text[:min(se.pos, len(text))])) + 1
		return fmt.Errorf("%s (at column %d)", se.msg, col)
	}
	return err
}

// unpositioned drops the position of a semantic error.
func unpositioned(err error) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return errors.New(se.msg)
	}
	return err
}

// Eval evaluates the filter over every row of b: bit i is set when row i
// matches. It allocates per call, never per row.
func (e *Expr) Eval(ctx context.Context, b column.Batch) (*bitset.Set, error) {
	ec := &evalCtx{ctx: ctx, batch: b, n: b.Len()}
	res, _, err := e.root.eval(ec)
	if err != nil {
		return nil, fmt.Errorf("evaluate filter %s: %w", e, err)
	}
	return res, nil
}

// AlwaysTrue reports whether the filter selects every row (an empty filter,
// `true`, `1 < 2`), so that callers can skip evaluation.
func (e *Expr) AlwaysTrue() bool {
	c, ok := e.root.(*constNode)
	return ok && c.b
}

// Fields returns the IDs of the fields the plan reads, ascending, so that
// segments load only those. The caller must not modify the slice.
func (e *Expr) Fields() []int64 { return e.fields }

// String returns the canonical, deterministic form of the plan. Parsing it
// again against the same schema yields the same plan.
func (e *Expr) String() string {
	var b strings.Builder
	e.root.format(&b)
	return b.String()
}

// PrimaryKeyIn reports the primary keys when the whole filter is `pk == c`
// or `pk in [...]`, so that segments can use their primary-key index and
// bloom filter instead of scanning.
func (e *Expr) PrimaryKeyIn() (ints []int64, strs []string, ok bool) {
	var f fieldRef
	var vals []value
	switch n := e.root.(type) {
	case *cmpNode:
		if n.op != opEQ {
			return nil, nil, false
		}
		f, vals = n.f, []value{n.v}
	case *termNode:
		if n.neg {
			return nil, nil, false
		}
		f, vals = n.f, n.vals
	default:
		return nil, nil, false
	}
	if !f.PK || len(f.Path) > 0 {
		return nil, nil, false
	}
	switch f.Type {
	case schemapb.DataType_Int64:
		ints = make([]int64, 0, len(vals))
		for _, v := range vals {
			if v.kind == vInt {
				ints = append(ints, v.i)
			}
		}
		return ints, nil, true
	case schemapb.DataType_VarChar, schemapb.DataType_String:
		strs = make([]string, 0, len(vals))
		for _, v := range vals {
			strs = append(strs, v.s)
		}
		return nil, strs, true
	}
	return nil, nil, false
}

// fieldRef is a resolved reference to a field, a JSON path inside a JSON
// field (the dynamic field included) or an element of an Array field.
type fieldRef struct {
	ID       int64
	Name     string
	Type     schemapb.DataType
	Elem     schemapb.DataType // Array element type
	Nullable bool
	PK       bool
	Dynamic  bool
	Path     []string // JSON keys; for an Array field one decimal index
	// Sub, inside element_filter / MATCH_*, is the sub-field name of
	// $[Sub]: one element of the struct sub-field ID, of type Type.
	Sub string
	// Cast is the json_cast_function applied to a JSON path's values in
	// numeric comparisons (WithJSONCasts).
	Cast castFn
}

// elemIndex is the Array element index, or -1 for the whole array.
func (f fieldRef) elemIndex() int {
	if f.Type != schemapb.DataType_Array || len(f.Path) == 0 {
		return -1
	}
	i, _ := strconv.Atoi(f.Path[0])
	return i
}

// valueType is the type a comparison sees: the element type for an indexed
// Array, else the field type.
func (f fieldRef) valueType() schemapb.DataType {
	if f.Type == schemapb.DataType_Array && len(f.Path) > 0 {
		return f.Elem
	}
	return f.Type
}

func (f fieldRef) typeName() string {
	if f.Type == schemapb.DataType_Array && len(f.Path) == 0 {
		return fmt.Sprintf("Array[%s]", f.Elem)
	}
	return f.valueType().String()
}

func (f fieldRef) String() string {
	if f.Sub != "" {
		return "$[" + f.Sub + "]"
	}
	var b strings.Builder
	b.WriteString(f.Name)
	for _, p := range f.Path {
		b.WriteByte('[')
		if f.Type == schemapb.DataType_Array {
			b.WriteString(p)
		} else {
			b.WriteString(quote(p))
		}
		b.WriteByte(']')
	}
	return b.String()
}

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEQ cmpOp = iota
	opNE
	opLT
	opLE
	opGT
	opGE
)

var cmpOpText = [...]string{"==", "!=", "<", "<=", ">", ">="}

func (o cmpOp) String() string { return cmpOpText[o] }

// reverse is the operator with its operands swapped (1 < a is a > 1).
func (o cmpOp) reverse() cmpOp {
	switch o {
	case opLT:
		return opGT
	case opLE:
		return opGE
	case opGT:
		return opLT
	case opGE:
		return opLE
	}
	return o
}

func cmpOpOf(k tokKind) cmpOp {
	switch k {
	case tEQ:
		return opEQ
	case tNE:
		return opNE
	case tLT:
		return opLT
	case tLE:
		return opLE
	case tGT:
		return opGT
	}
	return opGE
}

// arithOp is an arithmetic operator applied to a field before comparing.
type arithOp uint8

const (
	arAdd arithOp = iota
	arSub
	arMul
	arDiv
	arMod
)

var arithOpText = [...]string{"+", "-", "*", "/", "%"}

func (o arithOp) String() string { return arithOpText[o] }

// containsOp is the flavour of json_contains / array_contains.
type containsOp uint8

const (
	containsOne containsOp = iota
	containsAll
	containsAny
)

var containsFunc = [...]string{"json_contains", "json_contains_all", "json_contains_any"}

// node is one node of a typed plan.
type node interface {
	// eval returns the rows where the node is true and the rows where it is
	// valid (not null); valid == nil means every row is valid.
	eval(ec *evalCtx) (res, valid *bitset.Set, err error)
	format(b *strings.Builder)
	fields(add func(int64))
}

// cmpNode is `field op constant`.
type cmpNode struct {
	f  fieldRef
	op cmpOp
	v  value
}

// arithNode is `field arith operand op constant`.
type arithNode struct {
	f       fieldRef
	arith   arithOp
	operand value
	op      cmpOp
	v       value
}

// lenNode is `array_length(field) op constant`.
type lenNode struct {
	f  fieldRef
	op cmpOp
	v  value
}

// rangeNode is `lo <(=) field <(=) hi`.
type rangeNode struct {
	f            fieldRef
	lo, hi       value
	loInc, hiInc bool
}

// fieldCmpNode is `field op field`.
type fieldCmpNode struct {
	l, r fieldRef
	op   cmpOp
}

// termNode is `field in [...]` (neg: `not in`).
type termNode struct {
	f    fieldRef
	vals []value
	neg  bool
	set  *termSet
}

// likeNode is `field like "pattern"`.
type likeNode struct {
	f       fieldRef
	pattern string
	m       *matcher
}

// nullNode is `field is null` / `field is not null`.
type nullNode struct {
	f      fieldRef
	isNull bool
}

// existsNode is `exists json["path"]` (`json["path"] is null` is its negation).
type existsNode struct {
	f fieldRef
}

// containsNode is json_contains / array_contains and their _all/_any forms.
type containsNode struct {
	f    fieldRef
	op   containsOp
	vals []value  // one value for containsOne
	set  *termSet // vals indexed for Array element types
}

// logicNode is `and` / `or` over two or more operands.
type logicNode struct {
	and   bool
	kids  []node // as written, for String
	order []node // kids by ascending cost, for eval
}

func newLogic(and bool, kids []node) *logicNode {
	n := &logicNode{and: and, kids: kids, order: slices.Clone(kids)}
	slices.SortStableFunc(n.order, func(a, b node) int { return costOf(a) - costOf(b) })
	return n
}

// notNode is `not x`.
type notNode struct{ kid node }

// constNode is a constant predicate (`true`, `1 < 2`).
type constNode struct{ b bool }

func (n *cmpNode) fields(add func(int64))      { add(n.f.ID) }
func (n *arithNode) fields(add func(int64))    { add(n.f.ID) }
func (n *lenNode) fields(add func(int64))      { add(n.f.ID) }
func (n *rangeNode) fields(add func(int64))    { add(n.f.ID) }
func (n *fieldCmpNode) fields(add func(int64)) { add(n.l.ID); add(n.r.ID) }
func (n *termNode) fields(add func(int64))     { add(n.f.ID) }
func (n *likeNode) fields(add func(int64))     { add(n.f.ID) }
func (n *nullNode) fields(add func(int64))     { add(n.f.ID) }
func (n *existsNode) fields(add func(int64))   { add(n.f.ID) }
func (n *containsNode) fields(add func(int64)) { add(n.f.ID) }
func (n *notNode) fields(add func(int64))      { n.kid.fields(add) }
func (n *constNode) fields(func(int64))        {}
func (n *logicNode) fields(add func(int64)) {
	for _, k := range n.kids {
		k.fields(add)
	}
}

func (n *cmpNode) format(b *strings.Builder) {
	fmt.Fprintf(b, "%s %s %s", n.f, n.op, n.v)
}

func (n *arithNode) format(b *strings.Builder) {
	fmt.Fprintf(b, "%s %s %s %s %s", n.f, n.arith, n.operand, n.op, n.v)
}

func (n *lenNode) format(b *strings.Builder) {
	fmt.Fprintf(b, "array_length(%s) %s %s", n.f, n.op, n.v)
}

func (n *rangeNode) format(b *strings.Builder) {
	lo, hi := "<", "<"
	if n.loInc {
		lo = "<="
	}
	if n.hiInc {
		hi = "<="
	}
	fmt.Fprintf(b, "%s %s %s %s %s", n.lo, lo, n.f, hi, n.hi)
}

func (n *fieldCmpNode) format(b *strings.Builder) {
	fmt.Fprintf(b, "%s %s %s", n.l, n.op, n.r)
}

func (n *termNode) format(b *strings.Builder) {
	op := "in"
	if n.neg {
		op = "not in"
	}
	fmt.Fprintf(b, "%s %s %s", n.f, op, value{kind: vArray, arr: n.vals})
}

func (n *likeNode) format(b *strings.Builder) {
	fmt.Fprintf(b, "%s like %s", n.f, quote(n.pattern))
}

func (n *nullNode) format(b *strings.Builder) {
	if n.isNull {
		fmt.Fprintf(b, "%s is null", n.f)
	} else {
		fmt.Fprintf(b, "%s is not null", n.f)
	}
}

func (n *existsNode) format(b *strings.Builder) { fmt.Fprintf(b, "exists %s", n.f) }

func (n *containsNode) format(b *strings.Builder) {
	arg := value{kind: vArray, arr: n.vals}
	if n.op == containsOne {
		arg = n.vals[0]
	}
	fmt.Fprintf(b, "%s(%s, %s)", containsFunc[n.op], n.f, arg)
}

func (n *logicNode) format(b *strings.Builder) {
	sep := " or "
	if n.and {
		sep = " and "
	}
	b.WriteByte('(')
	for i, k := range n.kids {
		if i > 0 {
			b.WriteString(sep)
		}
		k.format(b)
	}
	b.WriteByte(')')
}

func (n *notNode) format(b *strings.Builder) {
	b.WriteString("not (")
	n.kid.format(b)
	b.WriteByte(')')
}

func (n *constNode) format(b *strings.Builder) { b.WriteString(strconv.FormatBool(n.b)) }
