package expr

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/timestamptz"
)

// checker resolves names against the schema, checks types with Milvus's
// rules, folds constants and builds plan nodes.
type checker struct {
	schema    *schemapb.CollectionSchema
	text      string
	templates map[string]*schemapb.TemplateValue
	zone      string // time zone of ISO strings that name none
	// inStruct is the struct array field of the element_filter / MATCH_*
	// being checked ($[sub] refers to its sub-fields), subUsed the first
	// sub-field $[sub] named there.
	inStruct *schemapb.StructArrayFieldSchema
	subUsed  *fieldRef
}

// opKind is what a checked sub-expression is.
type opKind uint8

const (
	oConst opKind = iota // a constant value
	oField               // a field reference
	oArith               // field arith constant
	oLen                 // array_length(field)
	oBool                // a predicate node
)

// operand is a checked sub-expression.
type operand struct {
	kind    opKind
	v       value
	f       fieldRef
	arith   arithOp
	operand value
	n       node
	pos     int
	tpl     bool // a constant that came from a {template}
	iso     bool // a constant from ISO '...': microseconds, for Timestamptz fields only
	// interval is set on an INTERVAL '...' constant, and on the oArith
	// operand `ts ± INTERVAL '...'` built from it.
	interval *interval
}

// plainError is reported without the "cannot parse expression" prefix, as
// Milvus reports a filter that parses but is not boolean.
type plainError struct{ msg string }

func (e *plainError) Error() string { return e.msg }

func notBoolean(text, typ string) error {
	return &plainError{fmt.Sprintf("predicate is not a boolean expression: %s, data type: %s", text, typ)}
}

// nilTemplate is Milvus's ConvertToGenericValue's refusal of a template
// variable without a value.
func nilTemplate(name string) error {
	return &plainError{fmt.Sprintf("expression template variable value is nil, template name: {%s}", name)}
}

// checkTemplates converts every template value as Milvus's
// UnmarshalExpressionValues does once the expression has parsed
// (plan_parser_v2.go:144-147), used or not: a value it cannot convert
// fails the filter (keys in order; Milvus walks its map in any order).
func checkTemplates(templates map[string]*schemapb.TemplateValue) error {
	for _, k := range slices.Sorted(maps.Keys(templates)) {
		t := templates[k]
		if t == nil {
			return nilTemplate(k)
		}
		if _, err := fromTemplate(t); err != nil {
			var pe *plainError
			if errors.As(err, &pe) {
				return pe
			}
		}
	}
	return nil
}

func errAt(pos int, format string, args ...any) error {
	return &syntaxError{pos, fmt.Sprintf(format, args...)}
}

func (c *checker) src(a *ast) string {
	if a.end > a.pos && a.end <= len(c.text) {
		return c.text[a.pos:a.end]
	}
	return ""
}

// predicate checks the whole expression, which must be boolean.
func (c *checker) predicate(a *ast) (node, error) {
	o, err := c.check(a)
	if err != nil {
		return nil, err
	}
	switch o.kind {
	case oBool:
		return o.n, nil
	case oConst:
		if o.v.kind == vBool {
			return &constNode{b: o.v.b}, nil
		}
		return nil, notBoolean(c.text, o.v.typeName())
	case oField:
		return nil, notBoolean(c.text, o.f.typeName())
	}
	if o.kind == oLen {
		return nil, notBoolean(c.text, "Int64")
	}
	return nil, notBoolean(c.text, o.f.valueType().String())
}

func (c *checker) boolNode(a *ast, what string) (node, error) {
	o, err := c.check(a)
	if err != nil {
		return nil, err
	}
	if o.kind != oBool {
		return nil, errAt(a.pos, "%s", what)
	}
	return o.n, nil
}

func (c *checker) check(a *ast) (operand, error) {
	switch a.kind {
	case aInt:
		i, err := strconv.ParseInt(a.text, 0, 64)
		if err != nil {
			return operand{}, errAt(a.pos, "invalid integer %s", a.text)
		}
		return operand{kind: oConst, v: value{kind: vInt, i: i}, pos: a.pos}, nil
	case aFloat:
		f, err := strconv.ParseFloat(a.text, 64)
		if err != nil || math.IsInf(f, 0) {
			return operand{}, errAt(a.pos, "invalid float %s", a.text)
		}
		return operand{kind: oConst, v: value{kind: vFloat, f: f}, pos: a.pos}, nil
	case aString:
		return operand{kind: oConst, v: value{kind: vString, s: a.text}, pos: a.pos}, nil
	case aISO:
		us, err := timestamptz.Parse(a.text, c.zone)
		if err != nil {
			return operand{}, errAt(a.pos, "%v", err)
		}
		return operand{kind: oConst, v: value{kind: vInt, i: us}, pos: a.pos, iso: true}, nil
	case aInterval:
		iv, err := parseInterval(a.text)
		if err != nil {
			return operand{}, errAt(a.pos, "%v", err)
		}
		return operand{kind: oConst, v: value{kind: vString, s: a.text}, pos: a.pos, interval: &iv}, nil
	case aBool:
		return operand{kind: oConst, v: value{kind: vBool, b: a.b}, pos: a.pos}, nil
	case aTemplate:
		t, ok := c.templates[a.text]
		if !ok {
			return operand{}, errAt(a.pos, "the value of expression template variable name {%s} is not found", a.text)
		}
		if t == nil {
			return operand{}, nilTemplate(a.text)
		}
		v, err := fromTemplate(t)
		if err != nil {
			var pe *plainError
			if errors.As(err, &pe) {
				return operand{}, pe // Milvus's value conversion, outside the parser
			}
			return operand{}, errAt(a.pos, "template variable {%s}: %v", a.text, err)
		}
		return operand{kind: oConst, v: v, pos: a.pos, tpl: true}, nil
	case aArray:
		arr := value{kind: vArray, arr: make([]value, 0, len(a.kids))}
		for _, k := range a.kids {
			o, err := c.check(k)
			if err != nil {
				return operand{}, err
			}
			if o.kind != oConst {
				return operand{}, errAt(k.pos, "array element type must be generic value, but got: %s", c.src(k))
			}
			arr.arr = append(arr.arr, o.v)
		}
		return operand{kind: oConst, v: arr, pos: a.pos}, nil
	case aParen:
		o, err := c.check(a.kids[0])
		o.pos = a.pos
		return o, err
	case aIdent:
		f, err := c.resolve(a)
		if err != nil {
			return operand{}, err
		}
		return operand{kind: oField, f: f, pos: a.pos}, nil
	case aUnary:
		return c.unary(a)
	case aBinary:
		switch a.op {
		case tEQ, tNE, tLT, tLE, tGT, tGE:
			return c.compare(a)
		case tAdd, tSub, tMul, tDiv, tMod:
			return c.arith(a)
		case tPow:
			l, err := c.check(a.kids[0])
			if err != nil {
				return operand{}, err
			}
			r, err := c.check(a.kids[1])
			if err != nil {
				return operand{}, err
			}
			if l.kind != oConst || r.kind != oConst || !l.v.isNum() || !r.v.isNum() {
				return operand{}, errAt(a.pos, "power can only apply on constants: %s", c.src(a))
			}
			f := math.Pow(l.v.num(), r.v.num())
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return operand{}, errAt(a.pos, "power result is not a finite number: %s", c.src(a))
			}
			return operand{kind: oConst, v: value{kind: vFloat, f: f}, pos: a.pos}, nil
		case tShl, tShr:
			return operand{}, errAt(a.pos, "shift is not supported: %s", c.src(a))
		case tBitAnd:
			return operand{}, errAt(a.pos, "BitAnd is not supported: %s", c.src(a))
		case tBitOr:
			return operand{}, errAt(a.pos, "BitOr is not supported: %s", c.src(a))
		case tBitXor:
			return operand{}, errAt(a.pos, "BitXor is not supported: %s", c.src(a))
		}
	case aLogic:
		and := a.op == tAnd
		name := "'or' can only be used between boolean expressions"
		if and {
			name = "'and' can only be used between boolean expressions"
		}
		var kids []node
		for _, k := range a.kids {
			kn, err := c.boolNode(k, name)
			if err != nil {
				return operand{}, err
			}
			// Flatten nested same-operator groups: (a and (b and c)).
			if kl, ok := kn.(*logicNode); ok && kl.and == and {
				kids = append(kids, kl.kids...)
			} else {
				kids = append(kids, kn)
			}
		}
		return operand{kind: oBool, n: newLogic(and, kids), pos: a.pos}, nil
	case aRange:
		return c.rangeExpr(a)
	case aIn:
		return c.term(a)
	case aLike:
		return c.like(a)
	case aIsNull:
		return c.isNull(a)
	case aExists:
		o, err := c.check(a.kids[0])
		if err != nil {
			return operand{}, err
		}
		if o.kind != oField {
			return operand{}, errAt(a.pos, "exists operations are only supported on single fields now, got: %s", c.src(a.kids[0]))
		}
		if o.f.Type != schemapb.DataType_JSON {
			return operand{}, errAt(a.pos, "exists operations are only supportted on json field, got:%s", o.f.Type)
		}
		if len(o.f.Path) == 0 {
			return operand{}, errAt(a.pos, "exists operations are only supportted on json key")
		}
		return operand{kind: oBool, n: &existsNode{f: o.f}, pos: a.pos}, nil
	case aCall:
		return c.call(a)
	case aStructSub:
		return c.structSub(a)
	}
	return operand{}, errAt(a.pos, "unsupported expression: %s", c.src(a))
}

func (c *checker) unary(a *ast) (operand, error) {
	o, err := c.check(a.kids[0])
	if err != nil {
		return operand{}, err
	}
	switch a.op {
	case tBitNot:
		return operand{}, errAt(a.pos, "BitNot is not supported: %s", c.src(a))
	case tNot:
		switch {
		case o.kind == oBool:
			if inner, ok := o.n.(*notNode); ok {
				// not not x is x: results are always within valid rows.
				return operand{kind: oBool, n: inner.kid, pos: a.pos}, nil
			}
			return operand{kind: oBool, n: &notNode{kid: o.n}, pos: a.pos}, nil
		case o.kind == oConst && o.v.kind == vBool:
			o.v.b = !o.v.b
			return o, nil
		case o.kind == oConst:
			return operand{}, errAt(a.pos, "not op can only be applied on boolean value: %s", c.src(a))
		}
		return operand{}, errAt(a.pos, "not op can only be applied on boolean expression")
	case tAdd:
		if o.kind == oConst && !o.v.isNum() {
			return operand{}, errAt(a.pos, "unary plus can only be applied on numbers: %s", c.src(a))
		}
		if o.kind == oBool {
			return operand{}, errAt(a.pos, "unary plus cannot be applied on boolean expression: %s", c.src(a))
		}
		return o, nil
	case tSub:
		if o.kind != oConst {
			return operand{}, errAt(a.pos, "unary minus can only be applied on constants: %s", c.src(a))
		}
		switch o.v.kind {
		case vInt:
			o.v.i = -o.v.i
		case vFloat:
			o.v.f = -o.v.f
		default:
			return operand{}, errAt(a.pos, "unary minus can only be applied on numbers: %s", c.src(a))
		}
		o.pos = a.pos
		return o, nil
	}
	return operand{}, errAt(a.pos, "unexpected unary operator")
}

// resolve turns an identifier with optional [key] suffixes into a field reference.
func (c *checker) resolve(a *ast) (fieldRef, error) {
	name := a.text
	if len(a.kids) > 0 && a.kids[0].kind == aIdent {
		// struct[sub]: the sub-field's whole Array (array_contains(structA[x], 1)).
		k := a.kids[0]
		if c.structField(name) == nil {
			col := len([]rune(c.text[:min(k.pos, len(c.text))])) + 1
			return fieldRef{}, fmt.Errorf("invalid expression: json key must be enclosed in double quotes or single quotes, found identifier %q (at column %d)", k.text, col)
		}
		if len(a.kids) > 1 {
			return fieldRef{}, errAt(a.kids[1].pos, "struct sub-field %s takes no further index", structSubName(name, k.text))
		}
		a = &ast{kind: aIdent, pos: a.pos, text: structSubName(name, k.text), end: a.end}
		name = a.text
	}
	var fs *schemapb.FieldSchema
	var dyn *schemapb.FieldSchema
	for _, f := range c.schema.GetFields() {
		if f.GetName() == name {
			fs = f
		}
		if f.GetIsDynamic() && f.GetDataType() == schemapb.DataType_JSON {
			dyn = f
		}
	}
	var path []string
	if name == "$meta" && fs == nil {
		if dyn == nil {
			return fieldRef{}, errAt(a.pos, "there is no dynamic json field in schema, need to specified field name")
		}
		fs = dyn
	}
	if fs == nil {
		if dyn == nil || !c.schema.GetEnableDynamicField() && !dyn.GetIsDynamic() {
			return fieldRef{}, errAt(a.pos, "field %s not exist", name)
		}
		fs = dyn
		path = append(path, name)
	}
	f := fieldRef{
		ID: fs.GetFieldID(), Name: fs.GetName(), Type: fs.GetDataType(), Elem: fs.GetElementType(),
		Nullable: fs.GetNullable(), PK: fs.GetIsPrimaryKey(), Dynamic: fs.GetIsDynamic(),
	}
	switch f.Type {
	case schemapb.DataType_Text:
		return fieldRef{}, errAt(a.pos, "filter on text field (%s) is not supported yet", f.Name)
	}
	if len(a.kids) > 0 && f.Type != schemapb.DataType_JSON && f.Type != schemapb.DataType_Array {
		return fieldRef{}, errAt(a.pos, "%s data type not supported accessed with []", f.Type)
	}
	for _, k := range a.kids {
		if f.Type == schemapb.DataType_Array {
			if k.kind != aInt {
				return fieldRef{}, errAt(k.pos, "can only access array field with integer index")
			}
			if len(path) > 0 {
				return fieldRef{}, errAt(k.pos, "array field %s has only one level of index", f.Name)
			}
			i, err := strconv.ParseInt(k.text, 0, 64)
			if err != nil || i < 0 || i > math.MaxInt32 {
				return fieldRef{}, errAt(k.pos, "invalid array index %s", k.text)
			}
			path = append(path, strconv.FormatInt(i, 10))
			continue
		}
		if k.kind == aInt {
			i, err := strconv.ParseInt(k.text, 0, 64)
			if err != nil {
				return fieldRef{}, errAt(k.pos, "invalid JSON index %s", k.text)
			}
			path = append(path, strconv.FormatInt(i, 10))
		} else {
			path = append(path, k.text)
		}
	}
	f.Path = path
	return f, nil
}

func (c *checker) compare(a *ast) (operand, error) {
	l, err := c.check(a.kids[0])
	if err != nil {
		return operand{}, err
	}
	r, err := c.check(a.kids[1])
	if err != nil {
		return operand{}, err
	}
	op := cmpOpOf(a.op)
	if l.kind == oConst && r.kind != oConst {
		l, r, op = r, l, op.reverse()
	}
	switch {
	case l.kind == oConst && r.kind == oConst && (l.tpl || r.tpl):
		return operand{}, errAt(a.pos, "placeholder was not supported between two constants with operator: %s", cmpOpOf(a.op))
	case l.kind == oConst && r.kind == oConst:
		b, ok := foldCompare(l.v, op, r.v)
		if !ok {
			return operand{}, errAt(a.pos, "comparison operations cannot be applied to two incompatible operands: %s", c.src(a))
		}
		return operand{kind: oConst, v: value{kind: vBool, b: b}, pos: a.pos}, nil
	case l.kind == oBool || r.kind == oBool:
		return operand{}, errAt(a.pos, "comparison operations cannot be applied to boolean expressions: %s", c.src(a))
	case l.kind == oField && r.kind == oConst:
		if err := c.isoField(a, l, r); err != nil {
			return operand{}, err
		}
		if r.tpl && !compatible(l.f.valueType(), r.v) {
			// Milvus checks template values when filling them in.
			return operand{}, errAt(a.pos, "cannot cast value to %s, value: %s", l.f.valueType(), r.v)
		}
		n, err := c.fieldConst(a, l.f, op, r.v)
		return operand{kind: oBool, n: n, pos: a.pos}, err
	case l.kind == oArith && l.interval != nil && r.kind == oConst:
		if r.v.kind != vInt || r.interval != nil {
			return operand{}, errAt(a.pos, "a timestamptz with an INTERVAL compares with an ISO time: %s", c.src(a))
		}
		sign := int64(1)
		if l.arith == arSub {
			sign = -1
		}
		return operand{kind: oBool, n: &tsArithNode{f: l.f, sign: sign, iv: *l.interval, op: op, v: r.v.i}, pos: a.pos}, nil
	case l.kind == oArith && r.kind == oConst:
		if !r.v.isNum() {
			return operand{}, errAt(a.pos, "comparisons between %s and %s are not supported", l.f.typeName(), r.v.typeName())
		}
		return operand{kind: oBool, n: &arithNode{f: l.f, arith: l.arith, operand: l.operand, op: op, v: r.v}, pos: a.pos}, nil
	case l.kind == oLen && r.kind == oConst:
		if r.v.kind != vInt {
			return operand{}, errAt(a.pos, "array_length can only be compared with an integer, got %s", r.v.typeName())
		}
		return operand{kind: oBool, n: &lenNode{f: l.f, op: op, v: r.v}, pos: a.pos}, nil
	case l.kind == oField && r.kind == oField:
		return c.fieldField(a, l.f, op, r.f)
	}
	if l.kind == oArith && r.kind == oArith || l.kind == oArith && r.kind == oField || l.kind == oField && r.kind == oArith {
		return operand{}, errAt(a.pos, "not supported to combine multiple fields")
	}
	return operand{}, errAt(a.pos, "unsupported comparison: %s", c.src(a))
}

// fieldConst builds `f op v` after Milvus's type checks.
func (c *checker) fieldConst(a *ast, f fieldRef, op cmpOp, v value) (node, error) {
	t := f.valueType()
	if f.Type == schemapb.DataType_Array && len(f.Path) == 0 {
		if op != opEQ && op != opNE {
			return nil, errAt(a.pos, "can not comparisons array fields directly")
		}
		if v.kind != vArray {
			return nil, errAt(a.pos, "comparisons between %s and %s are not supported", f.typeName(), v.typeName())
		}
		for _, e := range v.arr {
			if !compatible(f.Elem, e) {
				return nil, errAt(a.pos, "comparisons between %s and Array[%s] are not supported", f.typeName(), e.typeName())
			}
		}
		return &cmpNode{f: f, op: op, v: v}, nil
	}
	if !compatible(t, v) {
		return nil, errAt(a.pos, "comparisons between %s and %s are not supported", f.typeName(), v.typeName())
	}
	if v.kind == vArray && (op != opEQ && op != opNE) {
		return nil, errAt(a.pos, "comparisons between %s and %s are not supported", f.typeName(), v.typeName())
	}
	if isFloat(t) && v.kind == vInt {
		v = value{kind: vFloat, f: float64(v.i)}
	}
	return &cmpNode{f: f, op: op, v: v}, nil
}

func (c *checker) fieldField(a *ast, l fieldRef, op cmpOp, r fieldRef) (operand, error) {
	if l.Type == schemapb.DataType_JSON || r.Type == schemapb.DataType_JSON {
		return operand{}, errAt(a.pos, "two column comparison with JSON type is not supported")
	}
	if l.Type == schemapb.DataType_Array && len(l.Path) == 0 || r.Type == schemapb.DataType_Array && len(r.Path) == 0 {
		return operand{}, errAt(a.pos, "can not comparisons array fields directly")
	}
	lt, rt := l.valueType(), r.valueType()
	ok := lt == schemapb.DataType_Bool && rt == schemapb.DataType_Bool ||
		isNumeric(lt) && isNumeric(rt) || isString(lt) && isString(rt)
	if !ok {
		return operand{}, errAt(a.pos, "comparisons between %s and %s are not supported", l.typeName(), r.typeName())
	}
	return operand{kind: oBool, n: &fieldCmpNode{l: l, r: r, op: op}, pos: a.pos}, nil
}

func (c *checker) arith(a *ast) (operand, error) {
	l, err := c.check(a.kids[0])
	if err != nil {
		return operand{}, err
	}
	r, err := c.check(a.kids[1])
	if err != nil {
		return operand{}, err
	}
	op := arithOpOf(a.op)
	if l.interval != nil || r.interval != nil {
		if l.kind != oField || r.interval == nil {
			return operand{}, errAt(a.pos, "an INTERVAL can only be added to or subtracted from a timestamptz field: %s", c.src(a))
		}
		return c.tsInterval(a, l.f, op, *r.interval)
	}
	if l.kind == oConst && r.kind == oConst && (l.tpl || r.tpl) {
		return operand{}, errAt(a.pos, "placeholder was not supported between two constants with operator: %s", op)
	}
	if l.kind == oConst && r.kind == oConst {
		v, err := foldArith(l.v, op, r.v)
		if err != nil {
			return operand{}, errAt(a.pos, "%v", err)
		}
		return operand{kind: oConst, v: v, pos: a.pos}, nil
	}
	if l.kind == oConst && r.kind == oField {
		if op != arAdd && op != arMul {
			return operand{}, errAt(a.pos, "module field is not yet supported")
		}
		l, r = r, l
	}
	switch {
	case l.kind == oField && r.kind == oConst:
	case l.kind == oField && r.kind == oField:
		return operand{}, errAt(a.pos, "not supported to do arithmetic operations between multiple fields")
	case l.kind == oBool || r.kind == oBool:
		return operand{}, errAt(a.pos, "'%s' can only be used between numbers: %s", op, c.src(a))
	default:
		return operand{}, errAt(a.pos, "complicated arithmetic operations are not supported")
	}
	t := l.f.valueType()
	if l.f.Type == schemapb.DataType_Array && len(l.f.Path) == 0 {
		return operand{}, errAt(a.pos, "can not comparisons array fields directly")
	}
	// Milvus's canArithmeticDataType: integer fields take integer operands,
	// floating and JSON fields any number.
	if !isNumeric(t) && t != schemapb.DataType_JSON || !r.v.isNum() || isInteger(t) && r.v.kind != vInt {
		return operand{}, errAt(a.pos, "'%s' cannot perform arithmetic between %s field and %s", op, t, r.v.typeName())
	}
	if op == arMod && (isFloat(t) || r.v.kind == vFloat) {
		return operand{}, errAt(a.pos, "modulo can only apply on integer types")
	}
	if (op == arDiv || op == arMod) && r.v.num() == 0 {
		return operand{}, errAt(a.pos, "division or modulus by zero")
	}
	return operand{kind: oArith, f: l.f, arith: op, operand: r.v, pos: a.pos}, nil
}

// isoField rejects an ISO '...' constant compared with anything but a
// Timestamptz field, with Milvus's text.
func (c *checker) isoField(a *ast, field, v operand) error {
	if v.iso && (field.f.Type != schemapb.DataType_Timestamptz || len(field.f.Path) > 0) {
		return errAt(a.pos, "field '%s' is not a timestamptz datatype", field.f)
	}
	return nil
}

func (c *checker) rangeExpr(a *ast) (operand, error) {
	var lo, mid, hi *ast
	var loInc, hiInc bool
	if a.op == tLT || a.op == tLE { // lo < f < hi
		lo, mid, hi = a.kids[0], a.kids[1], a.kids[2]
		loInc, hiInc = a.op == tLE, a.op2 == tLE
	} else { // hi > f > lo
		hi, mid, lo = a.kids[0], a.kids[1], a.kids[2]
		hiInc, loInc = a.op == tGE, a.op2 == tGE
	}
	m, err := c.check(mid)
	if err != nil {
		return operand{}, err
	}
	if m.kind != oField {
		return operand{}, errAt(mid.pos, "range operations are only supported on single fields now, got: %s", c.src(mid))
	}
	if m.f.Type == schemapb.DataType_Array && len(m.f.Path) == 0 {
		return operand{}, errAt(mid.pos, "can not comparisons array fields directly")
	}
	for _, b := range []struct {
		a    *ast
		name string
	}{{lo, "lower"}, {hi, "upper"}} {
		if b.a.kind == aTemplate && c.templates[b.a.text] == nil {
			return operand{}, errAt(b.a.pos, "the %s value of expression template variable name {%s} is not found", b.name, b.a.text)
		}
	}
	lv, err := c.check(lo)
	if err != nil {
		return operand{}, err
	}
	hv, err := c.check(hi)
	if err != nil {
		return operand{}, err
	}
	if lv.kind != oConst {
		return operand{}, errAt(lo.pos, "lowerbound cannot be a non-const expression: %s", c.src(lo))
	}
	for _, b := range []operand{lv, hv} {
		if err := c.isoField(a, m, b); err != nil {
			return operand{}, err
		}
	}
	if hv.kind != oConst {
		return operand{}, errAt(hi.pos, "upperbound cannot be a non-const expression: %s", c.src(hi))
	}
	t := m.f.valueType()
	for _, v := range []value{lv.v, hv.v} {
		ok := compatible(t, v) && v.kind != vBool && v.kind != vArray
		if t == schemapb.DataType_JSON {
			ok = v.isNum() || v.kind == vString
		}
		switch {
		case ok:
		case t == schemapb.DataType_Bool:
			return operand{}, errAt(a.pos, "invalid range operations on boolean expr")
		default:
			return operand{}, errAt(a.pos, "invalid range operations: %s field with bound %s", t, v)
		}
	}
	if isFloat(t) {
		lv.v, hv.v = toFloat(lv.v), toFloat(hv.v)
	}
	if t == schemapb.DataType_JSON && lv.v.isNum() != hv.v.isNum() {
		return operand{}, errAt(a.pos, "range bounds %s and %s have different types", lv.v, hv.v)
	}
	gt, ok := foldCompare(lv.v, opGT, hv.v)
	ge, _ := foldCompare(lv.v, opGE, hv.v)
	if ok && (loInc && hiInc && gt || !(loInc && hiInc) && ge) {
		return operand{}, errAt(a.pos, "invalid range: lowerbound is greater than upperbound")
	}
	return operand{kind: oBool, n: &rangeNode{f: m.f, lo: lv.v, hi: hv.v, loInc: loInc, hiInc: hiInc}, pos: a.pos}, nil
}

func (c *checker) term(a *ast) (operand, error) {
	l, err := c.check(a.kids[0])
	if err != nil {
		return operand{}, err
	}
	if l.kind == oConst {
		return operand{}, errAt(a.pos, "'term' can only be used on non-const expression, but got: %s", c.src(a.kids[0]))
	}
	if l.kind != oField {
		return operand{}, errAt(a.pos, "'term' can only be used on single field, but got: %s", c.src(a.kids[0]))
	}
	r, err := c.check(a.kids[1])
	if err != nil {
		return operand{}, err
	}
	if r.kind != oConst {
		return operand{}, errAt(a.kids[1].pos, "value '%s' in list cannot be a non-const expression", c.src(a.kids[1]))
	}
	if r.v.kind != vArray && r.tpl {
		// Milvus's FillTermExpressionValue (fill_expression_value.go:55-58).
		return operand{}, &plainError{fmt.Sprintf("the value of term expression template variable {%s} is not array", a.kids[1].text)}
	}
	if r.v.kind != vArray {
		return operand{}, errAt(a.kids[1].pos, "the right-hand side of 'in' must be a list, but got: %s", c.src(a.kids[1]))
	}
	t := l.f.valueType()
	if l.f.Type == schemapb.DataType_Array && len(l.f.Path) == 0 {
		t = schemapb.DataType_None
	}
	vals := make([]value, 0, len(r.v.arr))
	for _, v := range r.v.arr {
		if !compatible(t, v) || v.kind == vArray && t != schemapb.DataType_JSON {
			return operand{}, errAt(a.kids[1].pos, "value '%s' in list cannot be casted to %s", v, t)
		}
		if isFloat(t) {
			v = toFloat(v)
		}
		vals = append(vals, v)
	}
	n := &termNode{f: l.f, vals: vals, neg: a.neg}
	n.set = newTermSet(t, vals)
	return operand{kind: oBool, n: n, pos: a.pos}, nil
}

func (c *checker) like(a *ast) (operand, error) {
	l, err := c.check(a.kids[0])
	if err != nil {
		return operand{}, err
	}
	if l.kind != oField {
		return operand{}, errAt(a.pos, "like operation on complicated expr is unsupported")
	}
	if l.f.Type == schemapb.DataType_Array && len(l.f.Path) == 0 {
		return operand{}, errAt(a.pos, "can not comparisons array fields directly")
	}
	t := l.f.valueType()
	if !isString(t) && t != schemapb.DataType_JSON {
		return operand{}, errAt(a.pos, "like operation on non-string or no-json field is unsupported")
	}
	pattern := a.text
	if a.b { // like {template}: Milvus's FillUnaryRangeExpressionValue
		t, ok := c.templates[a.text]
		if !ok || t == nil {
			return operand{}, errAt(a.pos, "the value of expression template variable name {%s} is not found", a.text)
		}
		sv, ok := t.GetVal().(*schemapb.TemplateValue_StringVal)
		if !ok {
			return operand{}, errAt(a.pos, "the value of like expression template variable {%s} is not string", a.text)
		}
		pattern = sv.StringVal
	}
	m, err := compileLike(pattern)
	if err != nil {
		return operand{}, errAt(a.pos, "%v", err)
	}
	return operand{kind: oBool, n: &likeNode{f: l.f, pattern: pattern, m: m}, pos: a.pos}, nil
}

func (c *checker) isNull(a *ast) (operand, error) {
	f, err := c.resolve(a.kids[0])
	if err != nil {
		return operand{}, err
	}
	if f.Type == schemapb.DataType_JSON && len(f.Path) > 0 {
		// As Milvus: json["a"] is null is `not exists json["a"]`.
		var n node = &existsNode{f: f}
		if !a.neg {
			n = &notNode{kid: n}
		}
		return operand{kind: oBool, n: n, pos: a.pos}, nil
	}
	if f.Type == schemapb.DataType_Array && len(f.Path) > 0 {
		return operand{}, errAt(a.pos, "is null is not supported on array elements")
	}
	return operand{kind: oBool, n: &nullNode{f: f, isNull: !a.neg}, pos: a.pos}, nil
}

// unknownFunction reports a call Milvus would not find in its function
// registry, in Milvus's words: "function f(json, int64_t) not found.".
func (c *checker) unknownFunction(a *ast) error {
	var types []string
	for _, k := range a.kids {
		o, err := c.check(k)
		if err != nil {
			return err
		}
		types = append(types, signatureType(o))
	}
	return errAt(a.pos, "function %s(%s) not found.", a.text, strings.Join(types, ", "))
}

func signatureType(o operand) string {
	t := schemapb.DataType_None
	switch o.kind {
	case oConst:
		switch o.v.kind {
		case vBool:
			return "bool"
		case vInt:
			return "int64_t"
		case vFloat:
			return "double"
		case vString:
			return "string"
		}
		return "array"
	case oField, oArith:
		t = o.f.valueType()
	case oLen:
		return "int64_t"
	default:
		return "bool"
	}
	switch t {
	case schemapb.DataType_Bool:
		return "bool"
	case schemapb.DataType_Int8:
		return "int8_t"
	case schemapb.DataType_Int16:
		return "int16_t"
	case schemapb.DataType_Int32:
		return "int32_t"
	case schemapb.DataType_Int64:
		return "int64_t"
	case schemapb.DataType_Float:
		return "float"
	case schemapb.DataType_Double:
		return "double"
	case schemapb.DataType_VarChar, schemapb.DataType_String:
		return "string"
	case schemapb.DataType_JSON:
		return "json"
	case schemapb.DataType_Array:
		return "array"
	}
	return strings.ToLower(t.String())
}

func (c *checker) call(a *ast) (operand, error) {
	var op containsOp
	switch a.text {
	case "json_contains", "array_contains":
		op = containsOne
	case "json_contains_all", "array_contains_all":
		op = containsAll
	case "json_contains_any", "array_contains_any":
		op = containsAny
	case "array_length":
		if len(a.kids) != 1 {
			return operand{}, errAt(a.pos, "array_length takes 1 argument, got %d", len(a.kids))
		}
		o, err := c.check(a.kids[0])
		if err != nil {
			return operand{}, err
		}
		if o.kind != oField || o.f.Type != schemapb.DataType_JSON && !(o.f.Type == schemapb.DataType_Array && len(o.f.Path) == 0) {
			return operand{}, errAt(a.pos, "array_length operation are only supported on json or array fields now, got: %s", c.src(a))
		}
		return operand{kind: oLen, f: o.f, pos: a.pos}, nil
	default:
		if k, ok := matchKindOf(a.text); ok {
			return c.elementCall(a, k)
		}
		if o, ok, err := c.geoCall(a); ok {
			return o, err
		}
		if o, ok, err := c.textMatchCall(a); ok {
			return o, err
		}
		return operand{}, c.unknownFunction(a)
	}
	name := []string{"contains", "contains_all", "contains_any"}[op]
	opName := []string{"Contains", "ContainsAll", "ContainsAny"}[op] // Milvus's JSONContainsExpr_JSONOp
	if len(a.kids) != 2 {
		return operand{}, errAt(a.pos, "%s takes 2 arguments, got %d", a.text, len(a.kids))
	}
	o, err := c.check(a.kids[0])
	if err != nil {
		return operand{}, err
	}
	if o.kind != oField || o.f.Type != schemapb.DataType_JSON && !(o.f.Type == schemapb.DataType_Array && len(o.f.Path) == 0) {
		return operand{}, errAt(a.pos, "%s operation are only supported on json or array fields now, got: %s", name, c.src(a.kids[0]))
	}
	e, err := c.check(a.kids[1])
	if err != nil {
		return operand{}, err
	}
	if e.kind != oConst {
		return operand{}, errAt(a.kids[1].pos, "%s operation are only supported explicitly specified element, got: %s", name, c.src(a.kids[1]))
	}
	var vals []value
	if op == containsOne {
		vals = []value{e.v}
	} else {
		if e.v.kind != vArray {
			return operand{}, errAt(a.kids[1].pos, "%s operation element must be an array", opName)
		}
		vals = e.v.arr
	}
	if o.f.Type == schemapb.DataType_Array {
		for i, v := range vals {
			if !compatible(o.f.Elem, v) || v.kind == vArray {
				return operand{}, errAt(a.kids[1].pos, "%s operation can't compare between array element type: %s and %s", opName, o.f.Elem, v.typeName())
			}
			if isFloat(o.f.Elem) {
				vals[i] = toFloat(v)
			}
		}
	}
	n := &containsNode{f: o.f, op: op, vals: vals}
	if o.f.Type == schemapb.DataType_Array {
		n.set = newTermSet(o.f.Elem, vals)
	}
	return operand{kind: oBool, n: n, pos: a.pos}, nil
}
