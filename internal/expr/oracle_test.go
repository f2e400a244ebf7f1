package expr

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// The oracle test generates random filters over random rows and checks the
// engine against refExpr, a row-at-a-time reference interpreter that shares
// no code with the engine: JSON is decoded with encoding/json, like patterns
// become regular expressions, and null handling is written out per node.

// refRow is one row of the test schema, decoded for the reference.
type refRow struct {
	id, i64 int64
	i8      int8
	i32     int32
	i32Null bool
	f       float32
	d       float64
	dNull   bool
	b       bool
	s       string
	sNull   bool
	j       any // decoded JSON; nil with jNull
	jRaw    []byte
	jNull   bool
	ai      []int64
	as      []string
	asNull  bool
	ad      []float64
	meta    any
	metaRaw []byte
}

// refExpr is a generated filter: its text and its per-row meaning.
type refExpr struct {
	text string
	eval func(r *refRow) (res, valid bool)
}

type gen struct {
	r   *rand.Rand
	tpl map[string]*schemapb.TemplateValue // placeholders used by the current filter
}

// maybeTemplate sometimes replaces a constant's text by a {placeholder}
// bound to the same value.
func (g *gen) maybeTemplate(text string, c any) string {
	if g.r.IntN(4) != 0 {
		return text
	}
	var tv *schemapb.TemplateValue
	switch v := c.(type) {
	case int64:
		tv = &schemapb.TemplateValue{Val: &schemapb.TemplateValue_Int64Val{Int64Val: v}}
	case float64:
		tv = &schemapb.TemplateValue{Val: &schemapb.TemplateValue_FloatVal{FloatVal: v}}
	case string:
		tv = &schemapb.TemplateValue{Val: &schemapb.TemplateValue_StringVal{StringVal: v}}
	case bool:
		tv = &schemapb.TemplateValue{Val: &schemapb.TemplateValue_BoolVal{BoolVal: v}}
	default:
		return text
	}
	name := fmt.Sprintf("t%d", len(g.tpl))
	g.tpl[name] = tv
	return "{" + name + "}"
}

func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

var jsonKeys = []string{"a", "b", "k.1", "tags", "n"}
var words = []string{"", "a", "ab", "abc", "b", "ba", "red", "Red", "a%b", "a_b", "xyz", "héllo"}

func (g *gen) jsonScalar(depth int) any {
	switch g.r.IntN(7) {
	case 0:
		return json.Number(strconv.Itoa(g.r.IntN(7) - 3))
	case 1:
		return json.Number(strconv.FormatFloat(float64(g.r.IntN(13)-6)/2, 'f', -1, 64) + "")
	case 2:
		return words[g.r.IntN(len(words))]
	case 3:
		return g.r.IntN(2) == 0
	case 4:
		return nil
	case 5:
		if depth > 0 {
			n := g.r.IntN(4)
			arr := make([]any, n)
			for i := range arr {
				arr[i] = g.jsonScalar(depth - 1)
			}
			return arr
		}
		return json.Number("1")
	default:
		if depth > 0 {
			return g.jsonObject(depth - 1)
		}
		return "a"
	}
}

func (g *gen) jsonObject(depth int) map[string]any {
	m := map[string]any{}
	for _, k := range jsonKeys {
		if g.r.IntN(3) > 0 {
			m[k] = g.jsonScalar(depth)
		}
	}
	return m
}

func decodeJSON(raw []byte) any {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		panic(err)
	}
	return x
}

func (g *gen) rows(n int) ([]refRow, *memBatch) {
	rs := make([]refRow, n)
	for i := range rs {
		r := &rs[i]
		r.id = int64(i)
		r.i8 = int8(g.r.IntN(256) - 128)
		if g.r.IntN(3) == 0 {
			r.i8 = int8(g.r.IntN(7) - 3)
		}
		r.i32 = int32(g.r.IntN(11) - 5)
		r.i32Null = g.r.IntN(5) == 0
		r.i64 = int64(g.r.IntN(11) - 5)
		r.f = float32(g.r.IntN(13)-6) / 2
		if g.r.IntN(4) == 0 {
			r.f = 0.1
		}
		r.d = float64(g.r.IntN(13)-6) / 2
		r.dNull = g.r.IntN(5) == 0
		r.b = g.r.IntN(2) == 0
		r.s = words[g.r.IntN(len(words))]
		r.sNull = g.r.IntN(5) == 0
		r.jNull = g.r.IntN(6) == 0
		if !r.jNull {
			r.jRaw, _ = json.Marshal(g.jsonObject(2))
			r.j = decodeJSON(r.jRaw)
		}
		for range g.r.IntN(4) {
			r.ai = append(r.ai, int64(g.r.IntN(7)-3))
		}
		r.asNull = g.r.IntN(5) == 0
		for range g.r.IntN(3) {
			r.as = append(r.as, words[g.r.IntN(len(words))])
		}
		for range g.r.IntN(3) {
			r.ad = append(r.ad, float64(g.r.IntN(7)-3)/2)
		}
		meta := map[string]any{}
		if g.r.IntN(4) > 0 {
			meta["color"] = g.pick("red", "blue", "Red")
		}
		if g.r.IntN(4) > 0 {
			meta["n"] = g.jsonScalar(1)
		}
		r.metaRaw, _ = json.Marshal(meta)
		r.meta = decodeJSON(r.metaRaw)
	}
	b := &memBatch{n: n, cols: map[int64]column.Column{}}
	id := &column.Scalar[int64]{Type: schemapb.DataType_Int64}
	i8 := &column.Scalar[int8]{Type: schemapb.DataType_Int8}
	i32 := &column.Scalar[int32]{Type: schemapb.DataType_Int32, Valid: []bool{}}
	i64 := &column.Scalar[int64]{Type: schemapb.DataType_Int64}
	f := &column.Scalar[float32]{Type: schemapb.DataType_Float}
	d := &column.Scalar[float64]{Type: schemapb.DataType_Double, Valid: []bool{}}
	bo := &column.Scalar[bool]{Type: schemapb.DataType_Bool}
	s := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Valid: []bool{}}
	j := &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Valid: []bool{}}
	ai := &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64}
	as := &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_VarChar, Valid: []bool{}}
	ad := &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Double}
	meta := &column.Scalar[[]byte]{Type: schemapb.DataType_JSON}
	for _, r := range rs {
		id.Data = append(id.Data, r.id)
		i8.Data = append(i8.Data, r.i8)
		i32.Data, i32.Valid = append(i32.Data, r.i32), append(i32.Valid, !r.i32Null)
		i64.Data = append(i64.Data, r.i64)
		f.Data = append(f.Data, r.f)
		d.Data, d.Valid = append(d.Data, r.d), append(d.Valid, !r.dNull)
		bo.Data = append(bo.Data, r.b)
		s.Data, s.Valid = append(s.Data, r.s), append(s.Valid, !r.sNull)
		j.Data, j.Valid = append(j.Data, r.jRaw), append(j.Valid, !r.jNull)
		ai.Data = append(ai.Data, longArray(r.ai...))
		as.Data, as.Valid = append(as.Data, strArray(r.as...)), append(as.Valid, !r.asNull)
		ad.Data = append(ad.Data, doubleArray(r.ad...))
		meta.Data = append(meta.Data, r.metaRaw)
	}
	for k, c := range map[int64]column.Column{fID: id, fI8: i8, fI32: i32, fI64: i64, fF: f, fD: d, fB: bo, fS: s, fJ: j, fAI: ai, fAS: as, fAD: ad, fMeta: meta} {
		b.cols[k] = c
	}
	return rs, b
}

// Constants in the reference: int64, float64, string, bool or []any.

func (g *gen) intConst() (string, any) {
	if g.r.IntN(4) == 0 {
		x := float64(g.r.IntN(21)-10) / 2
		return formatFloat(x), x
	}
	x := int64(g.r.IntN(13) - 6)
	if g.r.IntN(10) == 0 {
		x = int64(g.r.IntN(400) - 200)
	}
	return strconv.FormatInt(x, 10), x
}

func (g *gen) strConst() (string, any) {
	w := words[g.r.IntN(len(words))]
	return quote(w), w
}

func (g *gen) anyConst() (string, any) {
	switch g.r.IntN(4) {
	case 0, 1:
		return g.intConst()
	case 2:
		return g.strConst()
	}
	b := g.r.IntN(2) == 0
	return strconv.FormatBool(b), b
}

func num(x any) (float64, bool) {
	switch v := x.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

func isIntLike(x any) (int64, bool) {
	switch v := x.(type) {
	case int64:
		return v, true
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return 0, false
		}
		i, err := v.Int64()
		return i, err == nil
	}
	return 0, false
}

// holds applies op to a three-way comparison; c == 2 is unordered.
func holds(op string, c int) bool {
	if c == 2 {
		return op == "!="
	}
	switch op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

func three[T int64 | float64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	return 2
}

// refCompare compares a typed cell or JSON value x with constant c, by type.
// ok is false on a type mismatch.
func refCompare(x any, op string, c any) (bool, bool) {
	if xi, ok := isIntLike(x); ok {
		if ci, ok := c.(int64); ok {
			return holds(op, three(xi, ci)), true
		}
	}
	if xf, ok := num(x); ok {
		if cf, ok := num(c); ok {
			return holds(op, three(xf, cf)), true
		}
		return false, false
	}
	switch xv := x.(type) {
	case string:
		if cs, ok := c.(string); ok {
			return holds(op, three(xv, cs)), true
		}
	case bool:
		if cb, ok := c.(bool); ok {
			a, b := int64(0), int64(0)
			if xv {
				a = 1
			}
			if cb {
				b = 1
			}
			return holds(op, three(a, b)), true
		}
	case []any:
		if ca, ok := c.([]any); ok && (op == "==" || op == "!=") {
			eq := len(xv) == len(ca)
			for i := 0; eq && i < len(ca); i++ {
				eq = refEqual(xv[i], ca[i])
			}
			return eq == (op == "=="), true
		}
	}
	return false, false
}

func refEqual(x, c any) bool {
	r, ok := refCompare(x, "==", c)
	return ok && r
}

// refJSON compares a JSON value as Milvus does: a mismatch or a missing
// path is false, except != which is the negation of ==.
func refJSON(x any, present bool, op string, c any) bool {
	if op == "!=" {
		return !refJSON(x, present, "==", c)
	}
	if !present {
		return false
	}
	r, ok := refCompare(x, op, c)
	return ok && r
}

func jsonAt(doc any, path []string) (any, bool) {
	cur := doc
	for _, p := range path {
		switch v := cur.(type) {
		case map[string]any:
			x, ok := v[p]
			if !ok {
				return nil, false
			}
			cur = x
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func likeRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '\\':
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

// jsonTarget is a JSON location the generator filters on.
type jsonTarget struct {
	text string
	get  func(r *refRow) (x any, present, valid bool)
}

func (g *gen) jsonTarget() jsonTarget {
	switch g.r.IntN(4) {
	case 0:
		k := g.pick("color", "n")
		return jsonTarget{k, func(r *refRow) (any, bool, bool) {
			x, ok := jsonAt(r.meta, []string{k})
			return x, ok, true
		}}
	case 1:
		k := g.pick("color", "n", "zz")
		return jsonTarget{`$meta[` + quote(k) + `]`, func(r *refRow) (any, bool, bool) {
			x, ok := jsonAt(r.meta, []string{k})
			return x, ok, true
		}}
	}
	path := []string{g.pick(jsonKeys...)}
	if g.r.IntN(2) == 0 {
		path = append(path, g.pick("a", "b", "0", "1"))
	}
	text := "j"
	for _, p := range path {
		if _, err := strconv.Atoi(p); err == nil && g.r.IntN(2) == 0 {
			text += "[" + p + "]"
		} else {
			text += "[" + quote(p) + "]"
		}
	}
	return jsonTarget{text, func(r *refRow) (any, bool, bool) {
		if r.jNull {
			return nil, false, false
		}
		x, ok := jsonAt(r.j, path)
		return x, ok, true
	}}
}

// scalarTarget is a plain or array-element cell.
type scalarTarget struct {
	text string
	kind string // int, float32, float64, string, bool
	get  func(r *refRow) (x any, valid, present bool)
}

func (g *gen) scalarTarget() scalarTarget {
	switch g.r.IntN(11) {
	case 10:
		i := g.r.IntN(2)
		return scalarTarget{fmt.Sprintf("ad[%d]", i), "float64", func(r *refRow) (any, bool, bool) {
			if i >= len(r.ad) {
				return nil, true, false
			}
			return r.ad[i], true, true
		}}
	case 0:
		return scalarTarget{"id", "int", func(r *refRow) (any, bool, bool) { return r.id, true, true }}
	case 1:
		return scalarTarget{"i8", "int", func(r *refRow) (any, bool, bool) { return int64(r.i8), true, true }}
	case 2:
		return scalarTarget{"i32", "int", func(r *refRow) (any, bool, bool) { return int64(r.i32), !r.i32Null, true }}
	case 3:
		return scalarTarget{"i64", "int", func(r *refRow) (any, bool, bool) { return r.i64, true, true }}
	case 4:
		return scalarTarget{"f", "float32", func(r *refRow) (any, bool, bool) { return float64(r.f), true, true }}
	case 5:
		return scalarTarget{"d", "float64", func(r *refRow) (any, bool, bool) { return r.d, !r.dNull, true }}
	case 6:
		return scalarTarget{"b", "bool", func(r *refRow) (any, bool, bool) { return r.b, true, true }}
	case 7:
		return scalarTarget{"s", "string", func(r *refRow) (any, bool, bool) { return r.s, !r.sNull, true }}
	case 8:
		i := g.r.IntN(3)
		return scalarTarget{fmt.Sprintf("ai[%d]", i), "int", func(r *refRow) (any, bool, bool) {
			if i >= len(r.ai) {
				return nil, true, false
			}
			return r.ai[i], true, true
		}}
	default:
		i := g.r.IntN(2)
		return scalarTarget{fmt.Sprintf("as[%d]", i), "string", func(r *refRow) (any, bool, bool) {
			if i >= len(r.as) {
				return nil, !r.asNull, false
			}
			return r.as[i], !r.asNull, true
		}}
	}
}

func (g *gen) constFor(kind string) (string, any) {
	switch kind {
	case "int", "float32", "float64":
		return g.intConst()
	case "string":
		return g.strConst()
	}
	b := g.r.IntN(2) == 0
	return strconv.FormatBool(b), b
}

// cellCompare compares a scalar target with a constant with the engine's
// documented rules: Float columns in float32, integers exactly.
func cellCompare(kind string, x any, op string, c any) bool {
	if kind == "float32" {
		cf, _ := num(c)
		a, b := float32(x.(float64)), float32(cf)
		return holds(op, three(float64(a), float64(b)))
	}
	if kind == "int" {
		if cf, ok := c.(float64); ok {
			// Exact: integers here are small, so float64 is exact.
			return holds(op, three(float64(x.(int64)), cf))
		}
	}
	r, _ := refCompare(x, op, c)
	return r
}

var cmpOps = []string{"==", "!=", "<", "<=", ">", ">="}

func (g *gen) leaf() refExpr {
	switch g.r.IntN(14) {
	case 0, 1: // scalar comparison
		t := g.scalarTarget()
		op := g.pick(cmpOps...)
		ct, c := g.constFor(t.kind)
		ct = g.maybeTemplate(ct, c)
		text := t.text + " " + op + " " + ct
		if g.r.IntN(3) == 0 {
			text = ct + " " + reverseOp(op) + " " + t.text
		}
		return refExpr{text, func(r *refRow) (bool, bool) {
			x, valid, present := t.get(r)
			if !valid {
				return false, false
			}
			return present && cellCompare(t.kind, x, op, c), true
		}}
	case 2: // range
		t := g.scalarTarget()
		if t.kind == "bool" {
			t = scalarTarget{"i64", "int", func(r *refRow) (any, bool, bool) { return r.i64, true, true }}
		}
		lt, lo := g.constFor(t.kind)
		ht, hi := g.constFor(t.kind)
		if r, ok := refCompare(lo, ">", hi); ok && r {
			lt, lo, ht, hi = ht, hi, lt, lo
		}
		if r, ok := refCompare(lo, "==", hi); ok && r {
			return refExpr{t.text + " <= " + lt + " and " + t.text + " >= " + ht, func(r *refRow) (bool, bool) {
				x, valid, present := t.get(r)
				if !valid {
					return false, false
				}
				return present && cellCompare(t.kind, x, "<=", lo) && cellCompare(t.kind, x, ">=", hi), true
			}}
		}
		o1, o2 := g.pick("<", "<="), g.pick("<", "<=")
		return refExpr{lt + " " + o1 + " " + t.text + " " + o2 + " " + ht, func(r *refRow) (bool, bool) {
			x, valid, present := t.get(r)
			if !valid {
				return false, false
			}
			return present && cellCompare(t.kind, x, reverseOp(o1), lo) && cellCompare(t.kind, x, o2, hi), true
		}}
	case 3: // in / not in
		t := g.scalarTarget()
		var texts []string
		var cs []any
		for range g.r.IntN(12) {
			ct, c := g.constFor(t.kind)
			if t.kind == "int" {
				if _, ok := c.(float64); ok {
					continue
				}
			}
			texts, cs = append(texts, ct), append(cs, c)
		}
		neg := g.r.IntN(2) == 0
		op := " in "
		if neg {
			op = " not in "
		}
		return refExpr{t.text + op + "[" + strings.Join(texts, ", ") + "]", func(r *refRow) (bool, bool) {
			x, valid, present := t.get(r)
			if !valid {
				return false, false
			}
			in := false
			for _, c := range cs {
				if present && cellCompare(t.kind, x, "==", c) {
					in = true
				}
			}
			return in != neg, true
		}}
	case 4: // like
		pat := ""
		for range g.r.IntN(5) {
			pat += g.pick("a", "b", "%", "_", "r", "e", "\\\\%", "é")
		}
		re := likeRegexp(strings.ReplaceAll(pat, `\\`, `\`))
		if g.r.IntN(3) == 0 {
			jt := g.jsonTarget()
			return refExpr{jt.text + " like " + `"` + pat + `"`, func(r *refRow) (bool, bool) {
				x, present, valid := jt.get(r)
				if !valid {
					return false, false
				}
				s, ok := x.(string)
				return present && ok && re.MatchString(s), true
			}}
		}
		return refExpr{`s like "` + pat + `"`, func(r *refRow) (bool, bool) {
			if r.sNull {
				return false, false
			}
			return re.MatchString(r.s), true
		}}
	case 5: // is null
		neg := g.r.IntN(2) == 0
		suffix := g.pick(" is null", " IS NULL")
		if neg {
			suffix = g.pick(" is not null", " IS NOT NULL")
		}
		field := g.pick("i32", "d", "s", "j", "as", "id")
		return refExpr{field + suffix, func(r *refRow) (bool, bool) {
			null := map[string]bool{"i32": r.i32Null, "d": r.dNull, "s": r.sNull, "j": r.jNull, "as": r.asNull}[field]
			return null != neg, true
		}}
	case 6, 7: // JSON comparison
		jt := g.jsonTarget()
		op := g.pick(cmpOps...)
		ct, c := g.anyConst()
		ct = g.maybeTemplate(ct, c)
		return refExpr{jt.text + " " + op + " " + ct, func(r *refRow) (bool, bool) {
			x, present, valid := jt.get(r)
			if !valid {
				return false, false
			}
			return refJSON(x, present, op, c), true
		}}
	case 8: // exists / JSON is null
		jt := g.jsonTarget()
		switch g.r.IntN(3) {
		case 0:
			return refExpr{"exists " + jt.text, func(r *refRow) (bool, bool) {
				_, present, valid := jt.get(r)
				return valid && present, true
			}}
		case 1:
			return refExpr{jt.text + " is null", func(r *refRow) (bool, bool) {
				_, present, valid := jt.get(r)
				return !valid || !present, true
			}}
		}
		return refExpr{jt.text + " is not null", func(r *refRow) (bool, bool) {
			_, present, valid := jt.get(r)
			return valid && present, true
		}}
	case 9: // JSON in
		jt := g.jsonTarget()
		var texts []string
		var cs []any
		for range 1 + g.r.IntN(4) {
			ct, c := g.anyConst()
			texts, cs = append(texts, ct), append(cs, c)
		}
		return refExpr{jt.text + " in [" + strings.Join(texts, ", ") + "]", func(r *refRow) (bool, bool) {
			x, present, valid := jt.get(r)
			if !valid {
				return false, false
			}
			for _, c := range cs {
				if present && refEqual(x, c) {
					return true, true
				}
			}
			return false, true
		}}
	case 10: // contains
		fn := g.pick("contains", "contains_all", "contains_any")
		var texts []string
		var cs []any
		useArr := g.r.IntN(2) == 0
		n := 1
		if fn != "contains" {
			n = g.r.IntN(4)
		}
		for range n {
			var ct string
			var c any
			if useArr {
				x := int64(g.r.IntN(7) - 3)
				ct, c = strconv.FormatInt(x, 10), x
			} else {
				ct, c = g.anyConst()
			}
			texts, cs = append(texts, ct), append(cs, c)
		}
		arg := "[" + strings.Join(texts, ", ") + "]"
		if fn == "contains" {
			arg = texts[0]
		}
		match := func(elems []any) bool {
			found := 0
			for _, c := range cs {
				for _, e := range elems {
					if refEqual(e, c) {
						found++
						break
					}
				}
			}
			if fn == "contains_all" {
				return found == len(cs)
			}
			return found > 0
		}
		if useArr {
			if g.r.IntN(2) == 0 {
				return refExpr{g.pick("array_", "json_") + fn + "(ad, " + arg + ")", func(r *refRow) (bool, bool) {
					elems := make([]any, len(r.ad))
					for i, x := range r.ad {
						elems[i] = x
					}
					return match(elems), true
				}}
			}
			return refExpr{g.pick("array_", "json_") + fn + "(ai, " + arg + ")", func(r *refRow) (bool, bool) {
				elems := make([]any, len(r.ai))
				for i, x := range r.ai {
					elems[i] = x
				}
				return match(elems), true
			}}
		}
		jt := g.jsonTarget()
		return refExpr{"json_" + fn + "(" + jt.text + ", " + arg + ")", func(r *refRow) (bool, bool) {
			x, present, valid := jt.get(r)
			if !valid {
				return false, false
			}
			elems, ok := x.([]any)
			return present && ok && match(elems), true
		}}
	case 11: // array_length
		op := g.pick(cmpOps...)
		k := int64(g.r.IntN(4))
		if g.r.IntN(2) == 0 {
			return refExpr{fmt.Sprintf("array_length(ai) %s %d", op, k), func(r *refRow) (bool, bool) {
				return holds(op, three(int64(len(r.ai)), k)), true
			}}
		}
		return refExpr{fmt.Sprintf("array_length(j[\"tags\"]) %s %d", op, k), func(r *refRow) (bool, bool) {
			if r.jNull {
				return false, false
			}
			// segcore: a missing or non-array value has length 0.
			x, _ := jsonAt(r.j, []string{"tags"})
			arr, _ := x.([]any)
			return holds(op, three(int64(len(arr)), k)), true
		}}
	case 12: // arithmetic
		field := g.pick("id", "i8", "i32", "i64", "d", "f")
		ar := g.pick("+", "-", "*", "/", "%")
		if (field == "d" || field == "f") && ar == "%" {
			ar = "*"
		}
		operand := int64(g.r.IntN(5) + 1)
		op := g.pick(cmpOps...)
		ct, c := g.intConst()
		return refExpr{fmt.Sprintf("%s %s %d %s %s", field, ar, operand, op, ct), func(r *refRow) (bool, bool) {
			var x any
			valid := true
			switch field {
			case "id":
				x = r.id
			case "i8":
				x = int64(r.i8)
			case "i32":
				x, valid = int64(r.i32), !r.i32Null
			case "i64":
				x = r.i64
			case "d":
				x, valid = r.d, !r.dNull
			case "f":
				x = float64(r.f)
			}
			if !valid {
				return false, false
			}
			if xi, ok := x.(int64); ok {
				if ci, ok := c.(int64); ok {
					y := map[string]int64{"+": xi + operand, "-": xi - operand, "*": xi * operand, "/": xi / operand, "%": xi % operand}[ar]
					return holds(op, three(y, ci)), true
				}
				x = float64(xi)
			}
			xf := x.(float64)
			y := map[string]float64{"+": xf + float64(operand), "-": xf - float64(operand), "*": xf * float64(operand), "/": xf / float64(operand)}[ar]
			if ar == "%" {
				y = float64(int64(xf) % operand)
			}
			cf, _ := num(c)
			return holds(op, three(y, cf)), true
		}}
	default: // field vs field
		pairs := [][2]string{{"id", "i64"}, {"i32", "i64"}, {"i8", "d"}, {"d", "i64"}, {"i32", "ai[0]"}}
		p := pairs[g.r.IntN(len(pairs))]
		op := g.pick(cmpOps...)
		get := func(name string, r *refRow) (float64, bool, bool) {
			switch name {
			case "id":
				return float64(r.id), true, true
			case "i64":
				return float64(r.i64), true, true
			case "i32":
				return float64(r.i32), !r.i32Null, true
			case "i8":
				return float64(r.i8), true, true
			case "d":
				return r.d, !r.dNull, true
			}
			if len(r.ai) == 0 {
				return 0, true, false
			}
			return float64(r.ai[0]), true, true
		}
		return refExpr{p[0] + " " + op + " " + p[1], func(r *refRow) (bool, bool) {
			x, v1, ok1 := get(p[0], r)
			y, v2, ok2 := get(p[1], r)
			if !v1 || !v2 {
				return false, false
			}
			return ok1 && ok2 && holds(op, three(x, y)), true
		}}
	}
}

func reverseOp(op string) string {
	return map[string]string{"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
}

func (g *gen) expr(depth int) refExpr {
	if depth <= 0 || g.r.IntN(3) == 0 {
		return g.leaf()
	}
	switch g.r.IntN(3) {
	case 0:
		x := g.expr(depth - 1)
		return refExpr{g.pick("not ", "!", "NOT ") + "(" + x.text + ")", func(r *refRow) (bool, bool) {
			res, valid := x.eval(r)
			return !res && valid, valid
		}}
	case 1:
		a, b := g.expr(depth-1), g.expr(depth-1)
		return refExpr{"(" + a.text + g.pick(" and ", " && ", " AND ") + b.text + ")", func(r *refRow) (bool, bool) {
			r1, v1 := a.eval(r)
			r2, v2 := b.eval(r)
			// Kleene: false and anything is false; else null if either is.
			if (v1 && !r1) || (v2 && !r2) {
				return false, true
			}
			return r1 && r2, v1 && v2
		}}
	}
	a, b := g.expr(depth-1), g.expr(depth-1)
	return refExpr{"(" + a.text + g.pick(" or ", " || ", " OR ") + b.text + ")", func(r *refRow) (bool, bool) {
		r1, v1 := a.eval(r)
		r2, v2 := b.eval(r)
		// Kleene: true or anything is true; else null if either is.
		if r1 || r2 {
			return true, true
		}
		return false, v1 && v2
	}}
}

func TestOracle(t *testing.T) {
	schema := testSchema()
	exprs := 3000
	if testing.Short() || raceEnabled {
		exprs = 1000
	}
	for seed := uint64(1); seed <= 4; seed++ {
		g := &gen{r: rand.New(rand.NewPCG(seed, 42))}
		rs, batch := g.rows(300)
		for range exprs / 4 {
			g.tpl = map[string]*schemapb.TemplateValue{}
			x := g.expr(3)
			e, err := Parse(schema, x.text, g.tpl)
			if err != nil {
				t.Fatalf("seed %d: Parse(%s): %v", seed, x.text, err)
			}
			got, err := e.Eval(context.Background(), batch)
			if err != nil {
				t.Fatalf("seed %d: Eval(%s): %v", seed, x.text, err)
			}
			for i := range rs {
				want, _ := x.eval(&rs[i])
				if got.Test(i) != want {
					t.Fatalf("seed %d: %s\nplan %s\nrow %d (id %d): engine %v, reference %v\nrow: %+v\nj: %s\nmeta: %s",
						seed, x.text, e, i, rs[i].id, got.Test(i), want, rs[i], rs[i].jRaw, rs[i].metaRaw)
				}
			}
			// The canonical form and the serialized plan evaluate the same.
			data, err := e.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			e2, err := Unmarshal(schema, data)
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", data, err)
			}
			got2, err := e2.Eval(context.Background(), batch)
			if err != nil {
				t.Fatal(err)
			}
			if e2.String() != e.String() || got2.Count() != got.Count() {
				t.Fatalf("round trip of %s changed the plan: %s", e, e2)
			}
		}
	}
}
